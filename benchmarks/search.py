"""Benchmark: what an adaptive search (`[tasks.search]`) spends to find a collapse, against a full sweep.

Tower of Hanoi, 1 to 20 disks, `max_tokens = 64000` (the illusion suite's), against drifting
simulated models (`sim/drifter?at=N`: a complete answer of n moves has chance exp(-(n/N)^2)).
The search starts each size with 4 samples and adds 2 at a time up to 12 where the interval holds
0.5. The full sweep runs every size the search could run (those whose answer fits the budget) at
12 samples, the most the search gives a size: the same trials (same keys) the search picks from,
so the sweep's answer (the largest size whose complete rate is at least 0.5 below the first that
is not) is read off the same outcomes. Figures: trials and output tokens of each, and whether both
found the same collapse, to benchmarks/results/search.json.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import longhaul
from longhaul.report.results import compute
from longhaul.store import iter_trials

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
DRIFTERS = [60, 200, 1000]

SEARCH = """
name = "bench-search"
models = ["sim/drifter?at={at}"]
max_tokens = 64000

[[tasks]]
task = "hanoi"
[tasks.search]
param = "disks"
low = 1
high = 20
samples = 4
step = 2
max_samples = 12
"""

SWEEP = """
name = "bench-sweep"
models = ["sim/drifter?at={at}"]
max_tokens = 64000
samples = 12

[[tasks]]
task = "hanoi"
disks = {sizes}
"""


def spent(run_dir: Path) -> tuple[int, int]:
    trials = list(iter_trials(run_dir))
    return len(trials), sum(t.output_tokens for t in trials)


def sweep_collapse(run_dir: Path, threshold: float = 0.5) -> int | None:
    """The sweep's answer: the largest size passing the threshold below the first that does not."""
    rates = {c.size: c.outcomes["complete"].share or 0.0 for c in compute(run_dir).cells}
    best = None
    for size in sorted(rates):
        if rates[size] < threshold:
            break
        best = size
    return best


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for at in DRIFTERS:
            start = time.perf_counter()
            search_file = Path(tmp) / f"search-{at}.toml"
            search_file.write_text(SEARCH.format(at=at))
            searched = longhaul.run(search_file, out=Path(tmp) / f"search-{at}")
            search_seconds = time.perf_counter() - start
            [found] = compute(searched.run_dir).searches or []
            sizes = list(range(1, (found.beyond_budget or [21])[0]))
            sweep_file = Path(tmp) / f"sweep-{at}.toml"
            sweep_file.write_text(SWEEP.format(at=at, sizes=sizes))
            start = time.perf_counter()
            swept = longhaul.run(sweep_file, out=Path(tmp) / f"sweep-{at}")
            sweep_seconds = time.perf_counter() - start
            s_trials, s_tokens = spent(searched.run_dir)
            f_trials, f_tokens = spent(swept.run_dir)
            rows.append(
                {
                    "model": f"sim/drifter?at={at}",
                    "sizes": [sizes[0], sizes[-1]],
                    "beyond_budget": found.beyond_budget,
                    "search": {
                        "collapse": found.collapse,
                        "first_failure": found.first_failure,
                        "trials": s_trials,
                        "output_tokens": s_tokens,
                    },
                    "sweep": {"collapse": sweep_collapse(swept.run_dir), "trials": f_trials, "output_tokens": f_tokens},
                    "same_answer": found.collapse == sweep_collapse(swept.run_dir),
                    "trials_ratio": round(s_trials / f_trials, 3),
                    "tokens_ratio": round(s_tokens / f_tokens, 3),
                    "seconds": {"search": round(search_seconds, 2), "sweep": round(sweep_seconds, 2)},
                }
            )
            print(json.dumps(rows[-1]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"benchmark": "search", "machine": platform.platform(), "python": platform.python_version(), "runs": rows}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
