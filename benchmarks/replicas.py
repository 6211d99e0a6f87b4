"""Benchmark: one suite against 4 replicas of the simulated model, and against 1.

Each replica is a `longhaul sim serve` process of its own; the client is a `longhaul run SUITE
--no-report` process whose user+system CPU is read with `os.wait4` (the servers' CPU, read the same
way when they stop, is charged to them, not to the client). The suite is 2,000 trials of a small
`count` task (end=60, strategy direct) at concurrency 32, addressed as `openai-api/bench/diligent`
with BENCH_BASE_URL listing the replicas; max_connections is 32, so one replica may take every
request in flight and the arms differ only in how many servers answer them.

Reported per arm: wall time, throughput (trials/s), the client's CPU per trial, the servers' CPU,
and how many trials each replica served (from the trials' recorded endpoints). Arms alternate
(1, 4, 4, 1, ...) over the rounds so that drift on a noisy machine falls on both; medians are
reported.

    python benchmarks/replicas.py              # 2,000 trials, 2 rounds per arm
    python benchmarks/replicas.py --quick      # smoke test: 200 trials, 1 round, no file

Figures to benchmarks/results/replicas.json (not with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "replicas.json"

SUITE = """
name = "replicas-bench"
models = ["openai-api/bench/diligent"]
samples = {trials}
max_tokens = 2000
concurrency = 32
max_connections = 32

[[tasks]]
task = "count"
end = 60
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True, env=_env()
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split(" at ")[1].split(" ")[0]


def _stop(proc: subprocess.Popen[str]) -> float:
    """Stop a server; its user+system CPU seconds."""
    proc.send_signal(signal.SIGINT)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped above: keep Popen from waiting again
    return usage.ru_utime + usage.ru_stime


def arm(replicas: int, trials: int, work: Path) -> dict[str, Any]:
    servers = [_serve() for _ in range(replicas)]
    urls = [url for _, url in servers]
    suite = work / "suite.toml"
    suite.write_text(SUITE.format(trials=trials))
    out = work / f"run-{replicas}-{time.monotonic_ns()}"
    env = {**_env(), "BENCH_BASE_URL": ",".join(urls), "BENCH_API_KEY": "none"}
    try:
        t0 = time.perf_counter()
        client = subprocess.Popen(
            [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--out", str(out), "--plain", "--no-report"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        _, status, usage = os.wait4(client.pid, 0)
        wall = time.perf_counter() - t0
        client.returncode = os.waitstatus_to_exitcode(status)
        if client.returncode != 0:
            raise SystemExit(f"the run failed ({client.returncode}): {client.stderr.read().decode() if client.stderr else ''}")
    finally:
        server_cpu = sum(_stop(proc) for proc, _ in servers)
    db = sqlite3.connect(out / "trials.sqlite")
    rows = [json.loads(r) for (r,) in db.execute("SELECT record FROM trials")]
    db.close()
    outcomes = Counter(r["outcome"] for r in rows)
    served = Counter(r.get("endpoint") for r in rows)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "replicas": replicas,
        "trials": len(rows),
        "outcomes": dict(outcomes),
        "wall_s": round(wall, 3),
        "trials_per_s": round(len(rows) / wall, 1),
        "client_cpu_s": round(cpu, 3),
        "client_cpu_ms_per_trial": round(1000 * cpu / len(rows), 3),
        "servers_cpu_s": round(server_cpu, 3),
        "trials_per_replica": sorted(served.values(), reverse=True),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2, help="runs of each arm")
    ap.add_argument("--quick", action="store_true", help="smoke test: 200 trials, 1 round, no results file")
    args = ap.parse_args()
    trials, rounds = (200, 1) if args.quick else (args.trials, args.rounds)
    runs: dict[int, list[dict[str, Any]]] = {1: [], 4: []}
    with tempfile.TemporaryDirectory(prefix="longhaul-replicas-") as tmp:
        for r in range(rounds):
            for n in (1, 4) if r % 2 == 0 else (4, 1):
                result = arm(n, trials, Path(tmp))
                runs[n].append(result)
                print(json.dumps(result), flush=True)

    def median(n: int, field: str) -> float:
        return round(statistics.median(run[field] for run in runs[n]), 3)

    summary = {
        n: {f: median(n, f) for f in ("wall_s", "trials_per_s", "client_cpu_ms_per_trial", "servers_cpu_s")} | {"runs": runs[n]}
        for n in runs
    }
    figures = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "trials": trials,
        "rounds": rounds,
        "suite": SUITE.format(trials=trials).strip(),
        "arms": summary,
        "speedup_4_over_1": round(summary[4]["trials_per_s"] / summary[1]["trials_per_s"], 2),
    }
    print(f"\n{'replicas':>8} {'wall s':>8} {'trials/s':>9} {'client CPU ms/trial':>20} {'servers CPU s':>14}")
    for n in (1, 4):
        s = summary[n]
        print(f"{n:>8} {s['wall_s']:>8} {s['trials_per_s']:>9} {s['client_cpu_ms_per_trial']:>20} {s['servers_cpu_s']:>14}")
    print(f"4 replicas over 1: {figures['speedup_4_over_1']}x throughput ({os.cpu_count()} CPUs)")
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures: {RESULTS}")


if __name__ == "__main__":
    main()
