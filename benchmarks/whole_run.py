"""Benchmark: a whole `longhaul run` process against a whole bare-SDK process, same requests.

What a user pays is the whole process: interpreter start, imports, the run, the report, exit.
`provider_overhead.py` times the provider layer inside one process; this times processes from
outside (`os.wait4`: the child's own user+system CPU and peak RSS, and wall time around it).

One OpenAI-compatible server (`fixed_stream_server.py`, its own process, so that its work is
charged to no client) streams the integers 1..1000 in 100 chunks to every request. Arms, each a
fresh process making N such requests at concurrency 10, every answer checked:

- `bare`: `bare_loop.py`, an `AsyncOpenAI` streaming loop with a semaphore and a cheap exact check;
- `report`: `longhaul run SUITE --out TMP` on a `count` suite (end=1000, `openai-api/fixed/count`,
  samples N, concurrency and max_connections 10, strategy direct): plan, engine, streaming
  verification, the SQLite store, the summary table and the report (html, md, json);
- `noreport`: the same command with `--no-report`: everything but the report.

The machine is noisy, so arms are run in rounds, one process each, the order reversed every round
(A B C, C B A, ...) so that drift falls on every arm alike; each round gives one pair per longhaul
arm (its figure over the round's bare figure), and the pairs' ratios are what is reported, as
medians. After the rounds: per arm and size, the median, min and max of wall, CPU and peak memory;
per size, the median ratios, checked against the targets:

- with its report, at most 1.3x the bare loop's wall time and CPU at 200 and 1,000 trials, at most
  1.6x at 1 trial;
- peak memory at most 150 MB at 1,000 trials.

    python benchmarks/whole_run.py                       # sizes 1,200,1000; 5 pairs; all arms
    python benchmarks/whole_run.py --sizes 1,200 --pairs 3 --arms bare,report
    python benchmarks/whole_run.py --quick               # smoke test: sizes 1,20, 2 pairs, no file

Figures to benchmarks/results/whole_run.json (not with --quick unless --results is given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "whole_run.json"
ARMS = ("bare", "report", "noreport")
SERVICE = "FIXED"  # openai-api/fixed/...: FIXED_BASE_URL and FIXED_API_KEY
MODEL = "openai-api/fixed/count"

# The targets: ratio of `longhaul run` (with its report) to the bare loop, by size.
RATIO_TARGETS = {1: 1.6, 200: 1.3, 1000: 1.3}
MEMORY_TARGET_MB = 150.0
MEMORY_TARGET_SIZE = 1000


@dataclass
class Sample:
    """One timed process."""

    wall_s: float
    cpu_s: float
    """User + system CPU of the process and of any child it waited for (git, for the manifest)."""
    peak_rss_mb: float
    server_cpu_s: float | None
    """CPU the server spent meanwhile (Linux only): a server near one core would cap wall time."""


def _maxrss_mb(ru: Any) -> float:
    # ru_maxrss is kilobytes on Linux, bytes on macOS.
    return ru.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru.ru_maxrss / 1024


def _proc_cpu(pid: int) -> float | None:
    """A process's user+system CPU so far, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], env: dict[str, str], log: Path, server_pid: int) -> tuple[Sample, int]:
    """Run one whole process; its figures and exit code. Output goes to a file, as in a CI log."""
    server_before = _proc_cpu(server_pid)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        # wait4, not Popen.wait: the rusage of exactly this child (and what it waited for).
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    server_after = _proc_cpu(server_pid)
    server = None if server_before is None or server_after is None else server_after - server_before
    return Sample(wall, ru.ru_utime + ru.ru_stime, _maxrss_mb(ru), server), proc.returncode


def suite_toml(n: int, concurrency: int, end: int) -> str:
    return f"""# written by benchmarks/whole_run.py
name = "whole-run"
description = "count end={end}, {n} trials, against the fixed stream server"
models = ["{MODEL}"]
strategies = ["direct"]
samples = {n}
seed = 0
concurrency = {concurrency}
max_connections = {concurrency}

[[tasks]]
task = "count"
end = {end}
"""


def outcomes(run_dir: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{run_dir / 'trials.sqlite'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT outcome, count(*) FROM trials GROUP BY outcome").fetchall())


class Bench:
    def __init__(self, url: str, server_pid: int, prompt: str, concurrency: int, end: int, work: Path) -> None:
        self.url, self.server_pid, self.prompt, self.concurrency, self.end, self.work = url, server_pid, prompt, concurrency, end, work
        self.env = {**os.environ, f"{SERVICE}_BASE_URL": url, f"{SERVICE}_API_KEY": "none"}
        # Children must not think they are on a terminal, nor pick up a user's site tweaks.
        self.env.pop("PYTHONSTARTUP", None)

    def run(self, arm: str, n: int) -> Sample:
        log = self.work / f"{arm}-{n}.log"
        out = self.work / f"run-{arm}-{n}"
        suite = self.work / f"suite-{n}.toml"
        if not suite.exists():
            suite.write_text(suite_toml(n, self.concurrency, self.end))
        if arm == "bare":
            cmd = [
                sys.executable,
                str(HERE / "bare_loop.py"),
                "--base-url",
                self.url,
                "--requests",
                str(n),
                "--concurrency",
                str(self.concurrency),
                "--end",
                str(self.end),
                "--prompt",
                self.prompt,
            ]
        elif arm == "report":
            cmd = [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--out", str(out)]
        else:
            cmd = [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--out", str(out), "--no-report"]
        try:
            sample, code = timed(cmd, self.env, log, self.server_pid)
            if code != 0:
                raise SystemExit(f"{arm} at {n} trials exited {code}:\n{log.read_text(errors='replace')[-3000:]}")
            if arm != "bare":
                # Every answer checked: each trial must be stored, and complete.
                got = outcomes(out)
                if got != {"complete": n}:
                    raise SystemExit(f"{arm} at {n} trials: outcomes {got}, expected {n} complete")
                if (out / "report.html").exists() != (arm == "report"):
                    raise SystemExit(f"{arm} at {n} trials: report.html {'missing' if arm == 'report' else 'written'}")
        finally:
            shutil.rmtree(out, ignore_errors=True)  # a fresh --out for every run
            log.unlink(missing_ok=True)
        return sample


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}


def summarise(size: int, samples: dict[str, list[Sample]], arms: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"trials": size, "arms": {}, "ratios": {}}
    for arm in arms:
        s = samples[arm]
        row["arms"][arm] = {
            "wall_s": spread([x.wall_s for x in s]),
            "cpu_s": spread([x.cpu_s for x in s]),
            "peak_rss_mb": spread([x.peak_rss_mb for x in s]),
            "server_cpu_s": spread([x.server_cpu_s for x in s]) if all(x.server_cpu_s is not None for x in s) else None,
            "all": [asdict(x) for x in s],
        }
    if "bare" not in arms:
        return row
    for arm in arms:
        if arm == "bare":
            continue
        pairs = list(zip(samples[arm], samples["bare"], strict=True))
        wall = [a.wall_s / b.wall_s for a, b in pairs]
        cpu = [a.cpu_s / b.cpu_s for a, b in pairs]
        ratio: dict[str, Any] = {
            "wall_median": round(statistics.median(wall), 3),
            "cpu_median": round(statistics.median(cpu), 3),
            "wall_pairs": [round(x, 3) for x in wall],
            "cpu_pairs": [round(x, 3) for x in cpu],
        }
        if arm == "report":
            # The targets are the report arm's: `longhaul run` as a user runs it.
            limit = RATIO_TARGETS.get(size)
            ratio["target_ratio"] = limit
            ratio["wall_pass"] = None if limit is None else ratio["wall_median"] <= limit
            ratio["cpu_pass"] = None if limit is None else ratio["cpu_median"] <= limit
            peak = row["arms"][arm]["peak_rss_mb"]["median"]
            ratio["memory_target_mb"] = MEMORY_TARGET_MB if size == MEMORY_TARGET_SIZE else None
            ratio["memory_pass"] = peak <= MEMORY_TARGET_MB if size == MEMORY_TARGET_SIZE else None
        row["ratios"][arm] = ratio
    if "report" in arms and "noreport" in arms:
        # What the report costs, pair by pair (same round).
        pairs = list(zip(samples["report"], samples["noreport"], strict=True))
        row["report_cost"] = {
            "wall_s": spread([a.wall_s - b.wall_s for a, b in pairs]),
            "cpu_s": spread([a.cpu_s - b.cpu_s for a, b in pairs]),
        }
    return row


def _mark(ok: bool | None) -> str:
    return "" if ok is None else " ok" if ok else " FAIL"


def table(rows: list[dict[str, Any]], arms: list[str]) -> str:
    lines = [
        "trials  arm       wall s (min-max)        cpu s (min-max)         peak MB       wall x      cpu x",
        "------  --------  ----------------------  ----------------------  ---------  ---------  ---------",
    ]
    for row in rows:
        for arm in arms:
            a = row["arms"][arm]
            w, c, m = a["wall_s"], a["cpu_s"], a["peak_rss_mb"]
            r = row["ratios"].get(arm, {})
            wx = f"{r['wall_median']:.2f}{_mark(r.get('wall_pass'))}" if r else "-"
            cx = f"{r['cpu_median']:.2f}{_mark(r.get('cpu_pass'))}" if r else "-"
            mem = f"{m['median']:.1f}{_mark(r.get('memory_pass'))}" if r else f"{m['median']:.1f}"
            wall = f"{w['median']:.2f} ({w['min']:.2f}-{w['max']:.2f})"
            cpu = f"{c['median']:.2f} ({c['min']:.2f}-{c['max']:.2f})"
            lines.append(f"{row['trials']:>6}  {arm:<8}  {wall:<22}  {cpu:<22}  {mem:>9}  {wx:>9}  {cx:>9}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    uptime = shutil.which("uptime")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "uptime": subprocess.run([uptime], capture_output=True, text=True).stdout.strip() if uptime else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("openai", "aiohttp", "httpx"):
        try:
            out[name] = version(name)
        except Exception:
            out[name] = None
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = ""
    out["longhaul_git"] = rev or None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,200,1000", help="trials per process, comma-separated (default 1,200,1000)")
    parser.add_argument("--pairs", type=int, default=5, help="rounds: one process per arm each (default 5)")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)} (default all)")
    parser.add_argument("--concurrency", type=int, default=10, help="requests in flight, every arm (default 10)")
    parser.add_argument("--end", type=int, default=1000, help="the answer's last integer (default 1000)")
    parser.add_argument("--chunks", type=int, default=100, help="events an answer is streamed in (default 100)")
    parser.add_argument("--quick", action="store_true", help="smoke test: sizes 1,20, 2 pairs, no results file unless --results")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first process of each arm")
    parser.add_argument("--results", type=Path, help=f"where the figures go (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.pairs = "1,20", 2
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not sizes or min(sizes) < 1 or args.pairs < 1 or not arms or set(arms) - set(ARMS):
        parser.error(f"--sizes: positive integers; --pairs: at least 1; --arms: of {', '.join(ARMS)}")
    results_path = args.results or (None if args.quick else RESULTS)

    sys.path.insert(0, str(ROOT))
    from longhaul.catalog import Catalog

    count = Catalog().task("count")
    prompt = count.prompt(count.params({"end": args.end})).user

    before = machine()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fixed_stream_server.py"), "--port", "0", "--end", str(args.end), "--chunks", str(args.chunks)],
        stdout=subprocess.PIPE,
        text=True,
    )
    rows: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("listening on "):
            raise SystemExit(f"the fixed stream server did not start: {line!r}")
        url = line.split()[-1]
        with tempfile.TemporaryDirectory(prefix="longhaul-whole-run-") as tmp:
            bench = Bench(url, server.pid, prompt, args.concurrency, args.end, Path(tmp))
            if not args.no_warmup:
                # Compiled bytecode, the page cache, the server's cached reply: none should fall on round one.
                for arm in arms:
                    bench.run(arm, min(sizes))
            for size in sizes:
                samples: dict[str, list[Sample]] = {arm: [] for arm in arms}
                for i in range(args.pairs):
                    for arm in arms if i % 2 == 0 else arms[::-1]:
                        samples[arm].append(bench.run(arm, size))
                    done = ", ".join(f"{a} {samples[a][-1].wall_s:.2f} s" for a in arms)
                    print(f"{size} trials, round {i + 1}/{args.pairs}: {done}", file=sys.stderr, flush=True)
                rows.append(summarise(size, samples, arms))
    finally:
        server.terminate()
        server.wait()

    result = {
        "benchmark": "whole_run",
        "what": "whole processes, interleaved: bare AsyncOpenAI loop vs `longhaul run` (count end=1000) with and without its report",
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine_before": before,
        "machine_after": machine(),
        "versions": versions(),
        "server": {"answer": f"1..{args.end}, one a line", "chunks": args.chunks, "own_process": True},
        "concurrency": args.concurrency,
        "pairs": args.pairs,
        "arms": arms,
        "sizes": sizes,
        "targets": {
            "ratio_by_trials": RATIO_TARGETS,
            "peak_rss_mb": MEMORY_TARGET_MB,
            "peak_rss_at_trials": MEMORY_TARGET_SIZE,
            "applies_to": "report",
        },
        "rows": rows,
    }
    print(table(rows, arms))
    if results_path is not None:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"figures: {results_path}")


if __name__ == "__main__":
    main()
