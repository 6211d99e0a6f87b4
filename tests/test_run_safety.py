"""Runs that do not collide, and stop when they should: run folders, the run lock, runtime limits
on resume, models stopped by auth failures, and the spend guard."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import longhaul
from longhaul.runner import new_run_dir
from longhaul.store import RunStore
from longhaul.suite import parse_suite

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env={**base, **(env or {})}, cwd=cwd
    )


def suite_file(tmp_path: Path, models: list[str], params: str, extra: str = "", name: str = "s.toml") -> Path:
    path = tmp_path / name
    quoted = ", ".join(f'"{m}"' for m in models)
    path.write_text(f'name = "safe"\nmodels = [{quoted}]\nmax_tokens = 4000\n{extra}\n[[tasks]]\ntask = "count"\n{params}\n')
    return path


def stored(run_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(run_dir / "trials.sqlite") as db:
        return list(db.execute("SELECT model, outcome FROM trials ORDER BY rowid"))


# -- run folders and the lock ----------------------------------------------------------------------


def test_run_folders_made_at_once_are_all_different_and_all_made(tmp_path):
    suite = parse_suite('models = ["sim/diligent"]\n[[tasks]]\ntask = "count"\n')
    start = threading.Barrier(16)
    made: list[Path] = []

    def make() -> None:
        start.wait()  # all in the same second: the time alone cannot tell them apart
        made.extend(new_run_dir(tmp_path, suite) for _ in range(8))

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == len(set(made)) == 128
    assert all(p.is_dir() and not any(p.iterdir()) for p in made)


def test_a_folder_that_holds_a_run_is_refused_in_one_line(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], "end = 5")
    longhaul.run(path, out=tmp_path / "run")
    r = cli("run", str(path), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "already holds a run" in r.stderr and "longhaul resume" in r.stderr


def test_a_second_resume_of_a_run_in_use_is_refused_in_one_line(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], "end = [5, 6]")
    run_dir = tmp_path / "run"
    longhaul.run(path, out=run_dir)
    with sqlite3.connect(run_dir / "trials.sqlite") as db:
        db.execute("DELETE FROM trials WHERE rowid = (SELECT min(rowid) FROM trials)")
    first = RunStore.open(run_dir)  # the first resume, holding the lock
    try:
        r = cli("resume", str(run_dir), "--plain")
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "another longhaul process" in r.stderr and f"pid {os.getpid()}" in r.stderr
        with pytest.raises(longhaul.BadInput, match="another longhaul process"):
            RunStore.open(run_dir)
    finally:
        first.close()
    assert len(stored(run_dir)) == 1  # the refused resume ran nothing
    r = cli("resume", str(run_dir), "--plain")  # the lock is gone with its holder
    assert r.returncode == 0, r.stderr
    assert len(stored(run_dir)) == 2


@pytest.mark.slow
def test_two_runs_started_at_once_get_a_folder_each(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], "end = [5, 6, 7]")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))} | {"PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "longhaul.cli", "run", str(path), "--plain", "--no-report"], cwd=tmp_path, env=env)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    runs = sorted((tmp_path / "reports").iterdir())
    assert len(runs) == 2
    assert [len(stored(r)) for r in runs] == [3, 3]


# -- runtime limits --------------------------------------------------------------------------------


def test_resume_may_change_the_runtime_limits_but_not_the_suite(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], "end = [5, 6, 7]", extra="concurrency = 2\nmax_connections = 2")
    run_dir = tmp_path / "run"
    longhaul.run(path, out=run_dir)
    with sqlite3.connect(run_dir / "trials.sqlite") as db:
        db.execute("DELETE FROM trials WHERE rowid = (SELECT min(rowid) FROM trials)")
    r = cli("resume", str(run_dir), "--plain", "--no-report", "--concurrency", "1", "--max-connections", "1")
    assert r.returncode == 0, r.stderr
    assert "2 already stored" in r.stdout and len(stored(run_dir)) == 3
    faster = suite_file(tmp_path, ["sim/diligent"], "end = [5, 6, 7]", extra="concurrency = 16\nmax_connections = 4", name="f.toml")
    r = cli("run", str(faster), "--resume", str(run_dir), "--plain", "--no-report", "--concurrency", "3")
    assert r.returncode == 0, r.stderr  # nothing missing, and the limits are no reason to refuse
    r = cli("resume", str(run_dir), "--concurrency", "0")
    assert r.returncode == 2 and "--concurrency" in r.stderr and r.stderr.count("\n") == 1
