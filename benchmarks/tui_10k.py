"""Benchmark: the terminal UI on a run of 10,000 trials.

Browse mode on the made-up run of benchmarks/report_10k.py (10,080 trials, 120 cells): time to the
first full screen, then stepping the selection through 50 cells (each reads its trial back from the
store), and the process's peak memory. Then a live stream: 200,000 text deltas fed to the UI's
state while the app runs, to count the repaints (batched at 4 a second) and see memory stay flat.
Figures to benchmarks/results/tui_10k.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report_10k import make_run

from longhaul.runner import resume_plan
from longhaul.tui.app import LonghaulApp

RESULTS = Path(__file__).resolve().parent / "results" / "tui_10k.json"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def browse(run_dir: Path) -> dict[str, float]:
    app = LonghaulApp(run_dir, resume_plan(run_dir), browse=True)
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(50):
            await pilot.press("down")
        await pilot.pause()
        stepping = time.perf_counter() - start
        # A fast stream on one trial: the state takes every delta, the screen repaints on its clock.
        from longhaul.trial import TrialSpec

        spec = TrialSpec(key="live", model="sim/x", task="count", params={"end": 10}, size=10, strategy="direct", sample=0, seed=0)
        app.state.trial_started(spec)
        app.selected, app.follow = ("sim/x", "count", 10, "direct"), True
        repaints = 0
        original = app._show

        def counted() -> None:
            nonlocal repaints
            repaints += 1
            original()

        app._show = counted
        before = rss_mb()
        start = time.perf_counter()
        for i in range(200_000):
            app.state.trial_delta(spec, "text", f"{i}\n")
            if i % 2000 == 0:
                await asyncio.sleep(0)  # the engine yields to the loop between network reads
        streamed = time.perf_counter() - start
        await pilot.pause(0.6)
        after = rss_mb()
    return {
        "first_screen_seconds": round(first, 2),
        "step_50_cells_seconds": round(stepping, 2),
        "deltas": 200_000,
        "stream_seconds": round(streamed, 2),
        "trial_view_repaints_during_stream": repaints,
        "peak_rss_mb_before_stream": round(before, 1),
        "peak_rss_mb_after_stream": round(after, 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "bench-10k"
        trials = make_run(run_dir)
        figures = asyncio.run(browse(run_dir))
    out = {
        "benchmark": "tui_10k",
        "trials": trials,
        **figures,
        "peak_rss_mb": round(rss_mb(), 1),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
