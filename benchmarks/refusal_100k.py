"""Benchmark: the refusal detector on 100,000 answers of about 2 KB each.

Target: well under a millisecond per answer. Answers are built here (declines, disclaimers
followed by work, plain work, stories), so the benchmark needs no corpus. Figures go to
benchmarks/results/refusal_100k.json.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

# Time the detector of this checkout, not whichever one the environment happens to have installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results" / "refusal_100k.json"
N = 100_000


def answers() -> list[str]:
    body = " ".join(f"Step {i}: open the panel, choose option {i}, and confirm the change before moving on." for i in range(24))
    kinds = [
        "I cannot help with that request. " + body,
        "As an AI I have no opinions, but here are some points:\n" + body,
        "Sure! Here is the list you asked for.\n" + body.replace(". ", ".\n"),
        body + ' "I\'m sorry," she said, "but I cannot let you',
    ]
    return [(k * 2)[:2048] for k in kinds]


def main() -> None:
    from longhaul.verify.refusal import detect

    texts = answers()
    for t in texts:  # load the model and warm the caches
        detect(t)
    start = time.perf_counter()
    declined = sum(detect(texts[i % len(texts)]).refusal for i in range(N))
    seconds = time.perf_counter() - start
    report = {
        "benchmark": "refusal detector on 100,000 answers of 2 KB",
        "target": "well under 1 ms per answer",
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "answers": N,
        "answer_bytes": len(texts[0]),
        "declined": declined,
        "seconds": round(seconds, 2),
        "ms_per_answer": round(seconds / N * 1000, 4),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
