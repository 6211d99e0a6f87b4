"""Benchmark: what longhaul's provider layer costs over a bare loop on the openai SDK.

N trials of `count` (end=1000, about 2,000 output tokens each, streamed a few tokens per event)
against the simulated model's `diligent` profile, with the same concurrency, against the same
server (`longhaul sim serve`, in its own process so that the server's work is not charged to
either client). Arms, alternated over several rounds, medians reported:

- `bare`: AsyncOpenAI, max_retries=0, a semaphore, stream with usage, join the text;
- `providers`: longhaul's `Providers(...).get(...).stream(request)`: retries, limit, deltas, the
  final `Completion` record;
- `ask`: `longhaul.ask.ask`, i.e. the provider layer plus streaming verification of every delta
  (for information: verification is not provider overhead).

Target: `providers` within 10% of `bare` in requests per second. The client's CPU time per request
is reported too: throughput can hide a client cost while the server is the bottleneck, CPU cannot.
Figures to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "provider_overhead.json"


async def bare(url: str, prompt: str, n: int, concurrency: int) -> tuple[float, float]:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            stream = await client.chat.completions.create(
                model="diligent",
                messages=[{"role": "user", "content": prompt}],
                max_completion_tokens=16_384,
                stream=True,
                stream_options={"include_usage": True},
            )
            parts = []
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
            assert "".join(parts).rstrip().endswith("1000")

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await client.close()
    return n / elapsed, 1000 * cpu / n


async def providers(url: str, prompt: str, n: int, concurrency: int, verify: bool) -> tuple[float, float]:
    from longhaul.ask import ask
    from longhaul.catalog import Catalog
    from longhaul.providers import Message, Providers, Request

    task = Catalog().task("count")
    params = task.params({"end": 1000})
    async with Providers(max_connections=concurrency, env={"BENCH_BASE_URL": url, "BENCH_API_KEY": "unused"}) as pool:
        provider = await pool.get("openai-api/bench/diligent")
        request = Request(messages=[Message(role="user", content=prompt)])

        async def one() -> None:
            if verify:
                asked = await ask(provider, task, params)
                assert asked.verdict.outcome == "complete"
                return
            async for event in provider.stream(request):
                last = event
            assert last.kind == "completion" and last.answer.rstrip().endswith("1000")

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - start), 1000 * (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from longhaul.catalog import Catalog

    prompt = Catalog().task("count").prompt(Catalog().task("count").params({"end": 1000})).user
    server = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split(" at ")[1].split(" ")[0]
        rates: dict[str, list[float]] = {"bare": [], "providers": [], "ask": []}
        cpu: dict[str, list[float]] = {"bare": [], "providers": [], "ask": []}
        asyncio.run(bare(url, prompt, 20, args.concurrency))  # warm up both sides
        for _ in range(args.rounds):
            arms = {
                "bare": lambda: bare(url, prompt, args.trials, args.concurrency),
                "providers": lambda: providers(url, prompt, args.trials, args.concurrency, verify=False),
                "ask": lambda: providers(url, prompt, args.trials, args.concurrency, verify=True),
            }
            for name, arm in arms.items():
                rate, ms = asyncio.run(arm())
                rates[name].append(rate)
                cpu[name].append(ms)
    finally:
        server.terminate()
        server.wait()
    med = {k: statistics.median(v) for k, v in rates.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    overhead = 1 - med["providers"] / med["bare"]
    result = {
        "benchmark": "provider_overhead",
        "trials": args.trials,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "requests_per_second_median": {k: round(v, 2) for k, v in med.items()},
        "requests_per_second_all": {k: [round(x, 2) for x in v] for k, v in rates.items()},
        "client_cpu_ms_per_request_median": {k: round(v, 2) for k, v in med_cpu.items()},
        "provider_overhead": round(overhead, 4),
        "provider_cpu_overhead": round(med_cpu["providers"] / med_cpu["bare"] - 1, 4),
        "target_overhead": 0.10,
        "meets_target": overhead < 0.10,
        "verification_cost_vs_providers": round(1 - med["ask"] / med["providers"], 4),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
