"""The bare loop: the least a client can do for what `longhaul run` does on a `count` suite.

One whole process, timed from outside by `benchmarks/whole_run.py`: an `AsyncOpenAI` client
(`max_retries=0`, as longhaul's own), N streamed requests of the same prompt at a fixed
concurrency (a semaphore), each answer's text joined and checked, exit 1 if any answer is wrong.
It imports nothing of longhaul's, so its start-up, imports and per-request work are the floor that
longhaul's overhead is measured against.

The check is a cheap one, but on every answer: the text must be exactly the integers 1..END, one
a line (what longhaul's verifier calls a complete `count` answer at `end=END`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import openai


async def run(base_url: str, api_key: str, model: str, prompt: str, n: int, concurrency: int, end: int, max_tokens: int) -> int:
    """Stream N answers; the number of wrong ones."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    gate = asyncio.Semaphore(concurrency)
    want = [str(i) for i in range(1, end + 1)]
    wrong = 0

    async def one() -> None:
        nonlocal wrong
        async with gate:
            stream = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                max_completion_tokens=max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            parts: list[str] = []
            finish = None
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
            lines = "".join(parts).split()
            # Every line, not only the last: the bare loop must check what longhaul checks.
            if finish != "stop" or len(lines) != end or lines != want:
                wrong += 1

    try:
        await asyncio.gather(*(one() for _ in range(n)))
    finally:
        await client.close()
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8765/v1")
    parser.add_argument("--api-key", default="none", help="any value if the server takes none")
    parser.add_argument("--model", default="count")
    parser.add_argument("--prompt", default="Print every integer from 1 to 1000, one per line, with nothing else on the line.")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--end", type=int, default=1000, help="the last integer a right answer holds")
    parser.add_argument("--max-tokens", type=int, default=16_384, help="max_completion_tokens sent (longhaul's default)")
    args = parser.parse_args()
    wrong = asyncio.run(
        run(args.base_url, args.api_key, args.model, args.prompt, args.requests, args.concurrency, args.end, args.max_tokens)
    )
    if wrong:
        print(f"bare loop: {wrong} of {args.requests} answers wrong", file=sys.stderr)
        sys.exit(1)
    print(f"bare loop: {args.requests} answers, all right")


if __name__ == "__main__":
    main()
