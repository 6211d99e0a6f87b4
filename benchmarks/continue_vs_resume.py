"""Benchmark: input tokens of `continue` against `resume` on a long answer, and what prompt caching
takes off them on each provider's wire.

French numbers 0..1000 (1,001 lines) against the simulated profile `lazy?k=50`, which writes 50
lines a turn: both strategies reach a complete answer in about 21 turns. `continue` resends the
whole conversation each turn, so its input grows quadratically with the answer; `resume` sends the
task, the last few items and "continue from item k", so its input grows linearly. The sim is served
over HTTP and reached as `openai/lazy?k=50` (OpenAI's automatic cache: prefixes from 1,024 tokens,
in 128-token steps) and as `anthropic/lazy?k=50` (longhaul's `cache_control` breakpoints: reads and
writes), through the real SDKs. The cost of the input is priced at example prices (USD per million:
input 3.00, cached 0.30, cache write 3.75, as Anthropic's Sonnet list prices; OpenAI's wire has no
writes). Figures to benchmarks/results/continue_vs_resume.json (per-turn input and cached tokens
included).
"""

from __future__ import annotations

import asyncio
import json
import platform
import tempfile
import time
from pathlib import Path

from longhaul.catalog import Catalog
from longhaul.pricing import Price, cost_usd
from longhaul.runner import arun, plan
from longhaul.sim.server import start
from longhaul.suite import parse_suite

RESULTS = Path(__file__).resolve().parent / "results" / "continue_vs_resume.json"

PRICE = Price(input=3.00, output=0.0, cached_input=0.30, cache_write=3.75)
"""Output left out (0): the strategies write the same answer; what differs is what they send."""

SUITE = """
name = "continue-vs-resume"
models = ["openai/lazy?k=50", "anthropic/lazy?k=50"]
strategies = ["continue", "resume"]
max_tokens = 16000
max_turns = 40
resume_tail = 20

[[tasks]]
task = "french_numbers"
start = 0
end = 1000
"""


async def measure(out: Path) -> dict[str, dict[str, dict[str, object]]]:
    sim = await start(Catalog().tasks)
    env = {"OPENAI_API_KEY": "sim", "OPENAI_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "sim", "ANTHROPIC_BASE_URL": sim.root}
    try:
        result = await arun(plan(parse_suite(SUITE)), out=out, env=env)
        figures: dict[str, dict[str, dict[str, object]]] = {}
        for trial in result.trials:  # read from the run folder: before it is removed
            wire = trial.spec.model.partition("/")[0]
            figures.setdefault(wire, {})[trial.spec.strategy] = {
                "outcome": trial.outcome,
                "items_correct": trial.verdict.items_correct,
                "turns": len(trial.turns),
                "input_tokens": trial.input_tokens,
                "cached_input_tokens": trial.cached_input_tokens,
                "cache_write_tokens": trial.cache_write_tokens,
                "cached_share": round(trial.cached_input_tokens / trial.input_tokens, 3),
                "input_usd_with_caching": round(cost_usd(PRICE, trial), 4),
                "input_usd_without_caching": round(trial.input_tokens * PRICE.input / 1e6, 4),
                "output_tokens": trial.output_tokens,
                "input_tokens_per_turn": [t.usage.input_tokens for t in trial.turns],
                "cached_input_tokens_per_turn": [t.usage.cached_input_tokens for t in trial.turns],
            }
        return figures
    finally:
        await sim.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        figures = asyncio.run(measure(Path(tmp) / "run"))
        seconds = time.perf_counter() - started
    ratios = {}
    for wire, f in figures.items():
        c, r = f["continue"], f["resume"]
        ci, cc, cw = int(c["input_tokens"]), int(c["cached_input_tokens"]), int(c["cache_write_tokens"])  # type: ignore[call-overload]
        ri, rc = int(r["input_tokens"]), int(r["cached_input_tokens"])  # type: ignore[call-overload]
        ratios[wire] = {
            "input_ratio_continue_over_resume": round(ci / ri, 2),
            "uncached_input_ratio_continue_over_resume": round((ci - cc) / (ri - rc), 2),
            "written_share_continue": round(cw / ci, 3),
        }
    out = {
        "benchmark": "continue_vs_resume",
        "task": "french_numbers start=0 end=1000",
        "model": "lazy?k=50 (simulated), as openai/ and anthropic/ through the real SDKs",
        "prices_usd_per_million": PRICE.model_dump(),
        "wires": figures,
        "ratios": ratios,
        "seconds_all": round(seconds, 2),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    for wire, f in figures.items():
        for name, g in f.items():
            print(
                f"{wire:9} {name:9} {g['outcome']:9} turns {g['turns']:3}  input {g['input_tokens']:>9,} (cached {g['cached_input_tokens']:>9,},"
                f" {g['cached_share']:.0%}; written {g['cache_write_tokens']:>7,})  input USD {g['input_usd_with_caching']:.4f} with caching,"
                f" {g['input_usd_without_caching']:.4f} without"
            )
        rr = ratios[wire]
        print(
            f"{wire}: continue / resume input tokens {rr['input_ratio_continue_over_resume']}x; not from the cache"
            f" {rr['uncached_input_ratio_continue_over_resume']}x"
        )
    print(f"({seconds:.1f} s)")


if __name__ == "__main__":
    main()
