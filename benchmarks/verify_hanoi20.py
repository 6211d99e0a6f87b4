"""Benchmark: verify a complete 20-disk Tower of Hanoi answer (1,048,575 moves), whole and streamed.

Target: under 2 s and under 200 MB peak on the 2-core reference machine. Each mode runs in its own
process so that peak memory (ru_maxrss) is its own. Figures go to benchmarks/results/.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "verify_hanoi20.json"


def run(mode: str) -> dict[str, float | str | int]:
    from longhaul.catalog import Catalog
    from longhaul.verify import StreamingVerifier, verify

    task = Catalog().task("hanoi")
    params = task.params({"disks": 20})
    text = task.render(params)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "whole":
        verdict = verify(task, params, text)
    else:
        verifier = StreamingVerifier(task, params)
        for i in range(0, len(text), 4096):  # about a thousand tokens a chunk, as a fast stream
            verifier.feed(text[i : i + 4096])
        verdict = verifier.finish("end_turn")
    seconds = time.perf_counter() - start
    assert verdict.outcome == "complete" and verdict.items_correct == 2**20 - 1, verdict
    return {
        "mode": mode,
        "moves": verdict.items_correct,
        "answer_mb": round(len(text) / 1e6, 2),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_verify_mb": round(base_rss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(run(sys.argv[1])))
        return
    rows = []
    for mode in ("whole", "streamed"):
        out = subprocess.run([sys.executable, __file__, mode], check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout))
    report = {
        "benchmark": "verify a complete 20-disk Hanoi answer",
        "target": "under 2 s and under 200 MB peak",
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for r in rows:
        print(f"{r['mode']:9} {r['seconds']:6.2f} s  peak {r['peak_rss_mb']:6.1f} MB  ({r['moves']} moves, {r['answer_mb']} MB of text)")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
