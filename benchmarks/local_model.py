"""Benchmark: a real local model's output tokens per second through longhaul, against a bare
openai-SDK loop on the same llama.cpp server and prompt: longhaul's overhead on a real stream.

One server (SmolLM2-135M, started as longhaul starts it) serves both, alternately, `ROUNDS` times
each at temperature 0 with the same seed and max_tokens, so both stream the same kind of answer.
Tokens per second is the text chunks streamed (llama.cpp's server sends one token a chunk), counted
the same way in both loops, over the wall time from sending the request to the stream's end. Needs the `local` extra.
Figures go to benchmarks/results/local_model.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import openai

from longhaul.providers.address import parse_address
from longhaul.providers.llamacpp import LlamaCppChat, LocalServer
from longhaul.providers.local_model import Sampling, find_gguf, sha256_of, split
from longhaul.providers.request import Completion, Message, Request

RESULTS = Path(__file__).resolve().parent / "results" / "local_model.json"
MODEL = "llamacpp/smollm2"
PROMPT = "Print every integer from 1 to 300, one per line, with nothing else on the line."
MAX_TOKENS = 400
ROUNDS = 5


async def through_longhaul(provider: LlamaCppChat) -> tuple[int, float]:
    request = Request(messages=[Message(role="user", content=PROMPT)], max_tokens=MAX_TOKENS, temperature=0, seed=0)
    start = time.perf_counter()
    tokens = 0
    completion: Completion | None = None
    async for event in provider.stream(request):
        if isinstance(event, Completion):
            completion = event
        elif isinstance(event, str):
            tokens += 1  # one text delta a token, counted as the bare loop counts them
    seconds = time.perf_counter() - start
    assert completion is not None
    return tokens, seconds


async def bare(client: openai.AsyncOpenAI, body: dict[str, Any]) -> tuple[int, float]:
    start = time.perf_counter()
    tokens = 0
    stream = await client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": PROMPT}], stream=True, seed=0, extra_body=body
    )
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                tokens += 1  # llama.cpp's server sends one token a chunk
    return tokens, time.perf_counter() - start


async def main() -> None:
    from asyncio import Semaphore

    from pydantic import SecretStr

    from longhaul.providers.address import Endpoint
    from longhaul.providers.base import RetrySettings

    address = parse_address(MODEL)
    gguf = find_gguf(address)
    server = await LocalServer.start(gguf, split(address.model)[1])
    try:
        sampling = Sampling(temperature=0)
        provider = LlamaCppChat(
            address, Endpoint(base_url=server.url, api_key=SecretStr("local")), limit=Semaphore(1), retry=RetrySettings(), sampling=sampling
        )
        client = openai.AsyncOpenAI(base_url=server.url, api_key="local", max_retries=0)
        body = {**sampling.model_dump(), "max_tokens": MAX_TOKENS}
        await bare(client, body)  # warm-up: the model's first request loads its caches
        rows: dict[str, list[tuple[int, float]]] = {"longhaul": [], "bare": []}
        for _ in range(ROUNDS):
            rows["longhaul"].append(await through_longhaul(provider))
            rows["bare"].append(await bare(client, body))
        await provider.aclose()
        await client.close()
    finally:
        await server.aclose()
    figures = {
        name: {
            "median_tokens_per_second": statistics.median(t / s for t, s in runs),
            "median_seconds": statistics.median(s for _, s in runs),
            "tokens": [t for t, _ in runs],
        }
        for name, runs in rows.items()
    }
    overhead = 1 - figures["longhaul"]["median_tokens_per_second"] / figures["bare"]["median_tokens_per_second"]
    result = {
        "model": gguf.name,
        "sha256": sha256_of(gguf),
        "prompt": PROMPT,
        "max_tokens": MAX_TOKENS,
        "rounds": ROUNDS,
        "figures": figures,
        "longhaul_overhead": overhead,
        "rounds_tokens_per_second": {name: [round(t / s, 1) for t, s in runs] for name, runs in rows.items()},
        # The two loops alternate, so load from other processes falls on both; it still moves every
        # figure (llama.cpp's threads wait on each other), so the load is recorded beside them.
        "load_average": os.getloadavg(),
        "machine": platform.platform(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    for name, f in figures.items():
        print(
            f"{name:9} {f['median_tokens_per_second']:7.1f} tokens/s (median of {ROUNDS}, {f['median_seconds']:.2f} s, tokens {f['tokens']})"
        )
    print(f"longhaul's overhead: {overhead:+.1%} of the bare loop's rate")


if __name__ == "__main__":
    asyncio.run(main())
