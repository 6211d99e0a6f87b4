"""Runs that do not collide, and stop when they should: run folders, the run lock, runtime limits
on resume, models stopped by auth failures, and the spend guard."""

from __future__ import annotations

import asyncio
import json
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


# -- models stopped by auth failures ---------------------------------------------------------------


def test_a_refused_key_stops_its_model_at_once_and_the_exit_code_says_so(tmp_path):
    ends = "end = [5, 6, 7, 8, 9, 10, 11, 12]"
    path = suite_file(tmp_path, ["sim/diligent?faults=401:1", "sim/diligent"], ends, extra="concurrency = 2")
    run_dir = tmp_path / "run"
    r = cli("run", str(path), "--out", str(run_dir), "--plain", "--no-report")
    assert r.returncode == 3, r.stderr
    lines = [line for line in r.stderr.splitlines() if "401 Unauthorized" in line]
    assert len(lines) == 1 and lines[0].startswith("longhaul: sim/diligent?faults=401:1: 401 Unauthorized")
    trials = stored(run_dir)
    # The trials that met the refusal are not stored either: every trial of the model is left for a resume.
    assert not [outcome for model, outcome in trials if model.endswith("401:1")]
    assert [outcome for model, outcome in trials if model == "sim/diligent"] == ["complete"] * 8
    assert "its 8 remaining trials were not sent" in lines[0]
    stops = json.loads((run_dir / "manifest.json").read_text())["stops"]
    assert [(s["reason"], s["model"], s["not_sent"]) for s in stops] == [("model_unavailable", "sim/diligent?faults=401:1", 8)]


@pytest.mark.parametrize("status,words", [(401, "401 Unauthorized: check SVC_API_KEY"), (404, "404 Not Found: check the model name")])
def test_a_model_fixed_after_an_auth_failure_resumes_with_only_its_missing_trials(tmp_path, tasks, status, words):
    from aiohttp import web

    from longhaul.runner import arun, plan, resume_plan
    from longhaul.sim.server import start

    path = suite_file(tmp_path, ["openai-api/svc/diligent", "sim/diligent"], "end = [5, 6, 7, 8, 9, 10]", extra="concurrency = 2")
    run_dir = tmp_path / "run"
    hits = 0

    async def refuse(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response({"error": {"message": "no", "type": "invalid_request_error", "code": None}}, status=status)

    async def go():
        app = web.Application()
        app.router.add_post("/v1/chat/completions", refuse)
        stub = web.AppRunner(app)
        await stub.setup()
        site = web.TCPSite(stub, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        sim = await start(tasks)
        try:
            bad = {"SVC_API_KEY": "sk-wrong-0123456789", "SVC_BASE_URL": f"http://127.0.0.1:{port}/v1"}
            first = await arun(plan(path), out=run_dir, env=bad)
            second = await arun(resume_plan(run_dir), resume=run_dir, env={"SVC_API_KEY": "sk-right", "SVC_BASE_URL": sim.url})
        finally:
            await sim.aclose()
            await stub.cleanup()
        return first, second

    first, second = asyncio.run(go())
    assert 1 <= hits <= 2  # the trials in flight when the first refusal came; none after it
    assert first.interrupted and [s.model for s in first.stops] == ["openai-api/svc/diligent"]
    # The trials that got the refusal are not stored either: the refusal is about the key, not them.
    assert words in first.stops[0].message and first.stops[0].not_sent == 6
    assert first.outcomes == {"complete": 6}
    assert not second.stops and not second.interrupted and second.stored == 12
    assert second.outcomes == {"complete": 12}  # the resume ran every trial of the fixed model, the refused ones too


# -- the spend guard -------------------------------------------------------------------------------

SPEND = "end = [20, 21, 22, 23, 24, 25, 26, 27]"


def tokens(run_dir: Path) -> list[tuple[int, int]]:
    """(input, output) tokens of each stored trial."""
    with sqlite3.connect(run_dir / "trials.sqlite") as db:
        records = [json.loads(r) for (r,) in db.execute("SELECT record FROM trials ORDER BY rowid")]
    return [(t["input_tokens"], t["output_tokens"]) for t in records]


def output_tokens(run_dir: Path) -> list[int]:
    return [out for _, out in tokens(run_dir)]


def test_max_output_tokens_stops_starting_trials_and_resume_finishes_the_run(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], SPEND, extra="concurrency = 1")
    run_dir = tmp_path / "run"
    r = cli("run", str(path), "--out", str(run_dir), "--plain", "--no-report", "--max-output-tokens", "400")
    assert r.returncode == 4, r.stderr
    [line] = [line for line in r.stderr.splitlines() if "spend guard" in line]
    assert "--max-output-tokens 400" in line and "longhaul resume" in line
    spent = output_tokens(run_dir)
    assert 3 <= len(spent) < 8 and sum(spent) <= 400  # each trial is ~50 tokens out
    assert f"{8 - len(spent)} trial" in line
    [stop] = json.loads((run_dir / "manifest.json").read_text())["stops"]
    assert stop["reason"] == "spend_guard" and stop["not_sent"] == 8 - len(spent)
    r = cli("resume", str(run_dir), "--plain", "--no-report")
    assert r.returncode == 0, r.stderr
    assert len(output_tokens(run_dir)) == 8


def test_max_cost_stops_each_invocation_at_its_limit_and_resume_continues(tmp_path):
    from longhaul.dryrun import Price
    from longhaul.spend import SpendLimits

    path = suite_file(tmp_path, ["sim/diligent"], SPEND, extra="concurrency = 2")
    run_dir = tmp_path / "run"
    # One output token a cent: a trial costs about 0.5 USD.
    limits = SpendLimits(max_cost=1.6, prices={"sim/diligent": Price(input=1000, output=10_000)})
    first = longhaul.run(path, out=run_dir, limits=limits)
    assert first.interrupted and [s.reason for s in first.stops] == ["spend_guard"] and "--max-cost 1.6 USD" in first.stops[0].message
    cost = [(n_in * 1000 + n_out * 10_000) / 1e6 for n_in, n_out in tokens(run_dir)]
    assert 1 <= first.stored < 8 and sum(cost) <= 1.6
    second = longhaul.run(path, resume=run_dir, limits=limits)  # the limit is per invocation: another 1.6 USD
    assert first.stored < second.stored < 8 and second.stops
    third = longhaul.run(path, resume=run_dir)
    assert third.stored == 8 and not third.stops and not third.interrupted
    stops = json.loads((run_dir / "manifest.json").read_text())["stops"]
    assert [s["reason"] for s in stops] == ["spend_guard", "spend_guard"]


def test_max_cost_needs_a_price_for_every_real_model_and_checks_before_anything(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"], "end = 5")
    r = cli("run", str(path), "--out", str(tmp_path / "run"), "--max-cost", "1")
    assert r.returncode == 2 and "--max-cost: needs --prices" in r.stderr and not (tmp_path / "run").exists()
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n')
    real = suite_file(tmp_path, ["openai/gpt-4.1-mini", "sim/diligent"], "end = 5", name="real.toml")
    r = cli("run", str(real), "--out", str(tmp_path / "run"), "--max-cost", "1", "--prices", str(prices), env={"OPENAI_API_KEY": "sk-x"})
    assert r.returncode == 2 and "no price for openai/gpt-4.1-mini" in r.stderr and not (tmp_path / "run").exists()
    r = cli("run", str(path), "--max-output-tokens", "-3")
    assert r.returncode == 2 and "--max-output-tokens" in r.stderr
