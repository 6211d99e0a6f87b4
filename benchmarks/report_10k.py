"""Benchmark: `longhaul report` on a run of 10,000 trials.

The run is made up here, not run (that would take many minutes): 4 models x 2 strategies x 3
tasks x 5 sizes x 84 samples = 10,080 trials, each a real verdict on a made-up answer (complete,
cut by an elision, cut at max_tokens, or with a wrong item) stored as a run would store it.
Then `longhaul report RUN` runs in a fresh process, as a user would run it, three times, timed
from outside (wall time, and the child's peak RSS from `os.wait4`). The first of the three is
the only one that may count the reference answers' tokens (loading the o200k vocabulary): the
others find the counts in the token cache, as a user's second report does.
Targets: under 10 s; peak memory under 150 MB, however many trials. Figures to
benchmarks/results/report_10k.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from longhaul import __version__
from longhaul.catalog import Catalog
from longhaul.providers import Usage
from longhaul.store import Manifest, RunStore
from longhaul.strategy import Turn
from longhaul.suite import parse_suite
from longhaul.trial import TrialRecord, TrialSpec, trial_key
from longhaul.verify import verify

RESULTS = Path(__file__).resolve().parent / "results" / "report_10k.json"
MODELS = ["sim/diligent", "sim/lazy?k=20", "sim/drifter?at=60", "sim/truncating?limit=700"]
STRATEGIES = ["direct", "continue"]
CELLS = {
    "hanoi": [{"disks": d} for d in (3, 4, 5, 6, 7)],
    "count": [{"end": e} for e in (50, 100, 200, 400, 800)],
    "french_numbers": [{"start": 0, "end": e} for e in (10, 50, 100, 200, 400)],
}
SAMPLES = 84
MEMORY_TARGET_MB = 150.0


def make_run(folder: Path) -> int:
    tasks = Catalog().tasks
    suite = parse_suite(
        'name = "bench-10k"\nmodels = '
        + json.dumps(MODELS)
        + "\nstrategies = "
        + json.dumps(STRATEGIES)
        + f"\nsamples = {SAMPLES}\n"
        + "".join(f'[[tasks]]\ntask = "{t}"\n' for t in CELLS)
    )
    store = RunStore.create(folder, Manifest(run_id=folder.name, suite=suite, longhaul_version=__version__, trials_total=0))
    rng = random.Random(0)
    n = 0
    for model in MODELS:
        for strategy in STRATEGIES:
            for name, plist in CELLS.items():
                task = tasks[name]
                for raw in plist:
                    p = task.params(raw)
                    ref = list(task.reference(p))
                    for sample in range(SAMPLES):
                        kind = rng.choice(["complete", "elided", "cut", "wrong"])
                        k = rng.randrange(1, len(ref))
                        stop = "end_turn"
                        if kind == "complete":
                            text = task.render(p, ref)
                        elif kind == "elided":
                            text = task.render(p, ref[:k]) + "\n... and so on\n"
                        elif kind == "cut":
                            text, stop = task.render(p, ref[:k]), "max_tokens"
                        else:
                            values = list(ref)
                            values[k] = task.wrong(values[k], p, rng)
                            text = task.render(p, values)
                        verdict = verify(task, p, text, stop_reason=stop)
                        usage = Usage(input_tokens=200, output_tokens=len(text) // 3)
                        turn = Turn(
                            index=0,
                            kind="initial",
                            user=task.prompt(p).user,
                            messages=1,
                            answer=text,
                            stop_reason=stop,
                            raw_stop_reason=stop,
                            usage=usage,
                            new_items=k,
                            verdict=verdict,
                            simulated=True,
                        )
                        spec = TrialSpec(
                            key=trial_key(task, p, model, strategy, sample),
                            model=model,
                            task=name,
                            params=p.model_dump(mode="json"),
                            size=task.size(p),
                            strategy=strategy,
                            sample=sample,
                            seed=sample,
                        )
                        store.record(
                            TrialRecord(
                                spec=spec,
                                outcome=verdict.outcome,
                                verdict=verdict,
                                turns=[turn],
                                stop="no_follow_up",
                                simulated=True,
                                input_tokens=200,
                                output_tokens=usage.output_tokens,
                                seconds=1.0,
                                started_at=datetime.now(UTC),
                            )
                        )
                        n += 1
    store.close()
    return n


def report(run_dir: Path) -> tuple[float, float]:
    """`longhaul report RUN` in a fresh process: its wall time, and its peak RSS in MB (wait4: this
    child's own, and that of any child it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "report", str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"longhaul report failed:\n{err.decode(errors='replace')[-3000:]}")
    # ru_maxrss is kilobytes on Linux, bytes on macOS.
    peak = ru.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru.ru_maxrss / 1024
    return seconds, round(peak, 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "bench-10k"
        t0 = time.perf_counter()
        trials = make_run(run_dir)
        built = time.perf_counter() - t0
        times, peaks = [], []
        for _ in range(3):
            seconds, peak = report(run_dir)
            times.append(seconds)
            peaks.append(peak)
        html_size = (run_dir / "report.html").stat().st_size
    out = {
        "benchmark": "report_10k",
        "trials": trials,
        "cells": len(MODELS) * len(STRATEGIES) * sum(len(v) for v in CELLS.values()),
        "seconds_to_make_the_run": round(built, 1),
        "report_seconds": [round(t, 2) for t in times],
        "report_seconds_median": round(statistics.median(times), 2),
        "target_seconds": 10,
        "meets_target": statistics.median(times) < 10,
        "report_peak_rss_mb": peaks,
        "report_peak_rss_mb_max": max(peaks),
        "target_peak_rss_mb": MEMORY_TARGET_MB,
        "meets_memory_target": max(peaks) < MEMORY_TARGET_MB,
        "report_html_bytes": html_size,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
