"""Benchmark: input tokens of `continue` against `resume` on a long answer.

French numbers 0..1000 (1,001 lines) against `sim/lazy?k=50`, which writes 50 lines a turn: both
strategies reach a complete answer in about 21 turns. `continue` resends the whole conversation
each turn, so its input grows quadratically with the answer; `resume` sends the task, the last
few items and "continue from item k", so its input grows linearly. With prompt caching (the sim
caches as OpenAI does: prefixes from 1,024 tokens, in 128-token steps), most of `continue`'s input
is read from the cache. Figures to benchmarks/results/continue_vs_resume.json (per-turn input and
cached tokens included).
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import longhaul
from longhaul.suite import parse_suite

RESULTS = Path(__file__).resolve().parent / "results" / "continue_vs_resume.json"

SUITE = """
name = "continue-vs-resume"
models = ["sim/lazy?k=50"]
strategies = ["continue", "resume"]
max_tokens = 16000
max_turns = 40
resume_tail = 20

[[tasks]]
task = "french_numbers"
start = 0
end = 1000
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = longhaul.run(parse_suite(SUITE), out=Path(tmp) / "run")
        seconds = time.perf_counter() - start
        figures = {}
        for trial in result.trials:  # read from the run folder: before it is removed
            figures[trial.spec.strategy] = {
                "outcome": trial.outcome,
                "items_correct": trial.verdict.items_correct,
                "turns": len(trial.turns),
                "input_tokens": trial.input_tokens,
                "cached_input_tokens": trial.cached_input_tokens,
                "cached_share": round(trial.cached_input_tokens / trial.input_tokens, 3),
                "output_tokens": trial.output_tokens,
                "input_tokens_per_turn": [t.usage.input_tokens for t in trial.turns],
                "cached_input_tokens_per_turn": [t.usage.cached_input_tokens for t in trial.turns],
            }
    c, r = figures["continue"], figures["resume"]
    out = {
        "benchmark": "continue_vs_resume",
        "task": "french_numbers start=0 end=1000",
        "model": "sim/lazy?k=50 (simulated)",
        "strategies": figures,
        "input_ratio_continue_over_resume": round(c["input_tokens"] / r["input_tokens"], 2),
        "uncached_input_ratio_continue_over_resume": round(
            (c["input_tokens"] - c["cached_input_tokens"]) / (r["input_tokens"] - r["cached_input_tokens"]), 2
        ),
        "seconds_both": round(seconds, 2),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    for name, f in figures.items():
        print(
            f"{name:9} {f['outcome']:9} turns {f['turns']:3}  input {f['input_tokens']:>9,} (cached {f['cached_input_tokens']:>9,},"
            f" {f['cached_share']:.0%})  output {f['output_tokens']:>7,}"
        )
    print(
        f"continue / resume input tokens: {out['input_ratio_continue_over_resume']}x; not from the cache:"
        f" {out['uncached_input_ratio_continue_over_resume']}x  ({seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
