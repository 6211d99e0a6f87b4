"""Past one machine: a model served by several replicas, and a suite split over several runners
(`--shard i/n`, `longhaul merge`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import longhaul
from longhaul.cli import main
from longhaul.display.protocol import NullDisplay
from longhaul.errors import BadInput
from longhaul.providers import Providers
from longhaul.providers.address import parse_address, resolve_endpoint
from longhaul.providers.replicas import FAIL_AFTER, Replica, ReplicaSet
from longhaul.runner import arun, plan
from longhaul.shard import parse_shard, shard_of
from longhaul.store import read_manifest, read_trials
from longhaul.trial import TrialRecord

VERDICTS = {"complete", "cant_do", "wont_do", "budget_exhausted", "unparseable"}


# -- replicas: the rule that picks one -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replica_set(n: int = 3, clock: Clock | None = None) -> ReplicaSet:
    replicas = [Replica(url=f"http://r{i}/v1", provider=None, limit=asyncio.Semaphore(8)) for i in range(n)]  # type: ignore[arg-type]
    return ReplicaSet(replicas, clock=clock or Clock())


def test_each_attempt_goes_to_the_replica_with_fewest_outstanding():
    rs = replica_set()
    a, b, c = rs.replicas
    a.outstanding, b.outstanding, c.outstanding = 3, 1, 2
    assert rs.choose() is b
    b.outstanding = 5
    assert rs.choose() is c


def test_a_retry_goes_to_a_replica_the_request_has_not_failed_on():
    rs = replica_set()
    a, b, c = rs.replicas
    assert rs.choose() is a  # all idle: the one that has served least, in order
    rs.failed(a, 500)
    assert rs.choose(tried=[a.url]) is b
    b.outstanding = 4
    assert rs.choose(tried=[a.url]) is c
    # Every replica tried: the least loaded again (ties: the fewest attempts so far), rather than none.
    assert rs.choose(tried=[a.url, b.url, c.url]) is c


def test_repeated_5xx_sets_a_replica_aside_for_a_while_and_a_success_restores_it():
    clock = Clock()
    rs = replica_set(clock=clock)
    a, b, c = rs.replicas
    b.outstanding = c.outstanding = 1
    rs.failed(a, 503)
    assert rs.choose() is a  # one failure is not a pattern: still the least loaded
    rs.failed(a, None)  # the connection broke: counts as much as a 5xx
    assert a.aside_until == clock.now + 10.0 and rs.choose() is b
    clock.now = a.aside_until + 0.01
    assert rs.choose() is a  # back after the pause: the next request is its health check
    rs.failed(a, 500)
    assert a.aside_until == clock.now + 20.0  # failed on its return: set aside twice as long
    rs.succeeded(a)
    assert a.aside_until == 0 and a.pause == 10.0 and a.failures_in_a_row == 0


def test_rate_limits_never_set_a_replica_aside():
    rs = replica_set()
    a = rs.replicas[0]
    rs.replicas[1].outstanding = rs.replicas[2].outstanding = 1
    for _ in range(5):
        rs.failed(a, 429)
    assert a.aside_until == 0 and rs.choose() is a


def test_when_every_replica_is_aside_the_one_due_back_first_is_used():
    clock = Clock()
    rs = replica_set(clock=clock)
    for i, r in enumerate(rs.replicas):
        r.aside_until = clock.now + 30 - i
    assert rs.choose() is rs.replicas[2]


def test_base_url_lists_replicas_and_a_bad_entry_is_one_line_naming_the_variable():
    address = parse_address("openai-api/vllm/llama")
    env = {"VLLM_BASE_URL": "http://a:8000/v1, http://b:8000/v1", "VLLM_API_KEY": "x"}
    assert resolve_endpoint(address, env).replicas == ["http://a:8000/v1", "http://b:8000/v1"]
    with pytest.raises(BadInput, match=r"^VLLM_BASE_URL: each comma-separated base URL must start with http"):
        resolve_endpoint(address, {**env, "VLLM_BASE_URL": "http://a:8000/v1,b:8000"})
    with pytest.raises(BadInput, match="listed twice"):
        resolve_endpoint(address, {**env, "VLLM_BASE_URL": "http://a/v1,http://a/v1"})


async def _served_by(env: dict[str, str], n: int) -> list[str | None]:
    from longhaul.providers import Message, Request

    async with Providers(env=env) as providers:
        provider = await providers.get("openai-api/reps/diligent")
        ends = []
        for i in range(n):
            request = Request(messages=[Message(role="user", content=f"Print every integer from 1 to {5 + i}, one per line.")])
            async for event in provider.stream(request):
                if not isinstance(event, str) and event.kind == "completion":
                    ends.append(event.endpoint)
        return ends


def test_a_model_with_several_base_urls_records_the_replica_of_each_answer(tmp_path):
    from longhaul.sim.server import start

    async def go() -> list[str | None]:
        sims = [await start({}) for _ in range(2)]
        try:
            urls = [s.url for s in sims]
            served = await _served_by({"REPS_BASE_URL": ",".join(urls), "REPS_API_KEY": "none"}, 4)
            assert [s.server.requests for s in sims] == [2, 2]  # one at a time: spread evenly
            assert set(served) == set(urls)
            return served
        finally:
            for s in sims:
                await s.aclose()

    asyncio.run(go())


def test_a_replica_refusing_the_model_is_set_aside_once_another_has_answered_and_stops_it_before():
    from aiohttp import web

    from longhaul.providers import Message, ModelUnavailable, Request, RetrySettings
    from longhaul.sim.server import start

    hits = 0

    async def not_here(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response({"error": {"message": "model not loaded", "type": "NotFoundError", "code": 404}}, status=404)

    async def ask(provider, n: int) -> list[str | None]:
        ends = []
        for i in range(n):
            request = Request(messages=[Message(role="user", content=f"Print every integer from 1 to {5 + i}, one per line.")])
            async for event in provider.stream(request):
                if not isinstance(event, str) and event.kind == "completion":
                    ends.append(event.endpoint)
        return ends

    async def go() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", not_here)
        stub = web.AppRunner(app)
        await stub.setup()
        site = web.TCPSite(stub, "127.0.0.1", 0)
        await site.start()
        bad = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
        sim = await start({})
        retry = RetrySettings(initial_wait=0, max_wait=0)
        try:
            # The sim answers first; then the stub's 404 is the stub's: set aside, retried on the sim.
            env = {"REPS_BASE_URL": f"{sim.url},{bad}", "REPS_API_KEY": "none"}
            async with Providers(env=env, retry=retry) as providers:
                provider = await providers.get("openai-api/reps/diligent")
                assert await ask(provider, 4) == [sim.url] * 4
                assert hits == 1 and provider.unavailable is None
            # The stub first, nothing answered yet: the refusal stops the model.
            env = {"REPS_BASE_URL": f"{bad},{sim.url}", "REPS_API_KEY": "none"}
            async with Providers(env=env, retry=retry) as providers:
                provider = await providers.get("openai-api/reps/diligent")
                with pytest.raises(ModelUnavailable):
                    await ask(provider, 1)
                assert hits == 2 and provider.unavailable is not None
        finally:
            await sim.aclose()
            await stub.cleanup()

    asyncio.run(go())


# -- replicas: one killed mid-run ------------------------------------------------------------------


def serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split(" at ")[1].split(" ")[0]


class KillAfter(NullDisplay):
    """Kills one replica once `after` trials are stored: the store is written before a display
    hears of a trial, so they are there."""

    def __init__(self, after: int, victim: subprocess.Popen[str]) -> None:
        self.after, self.victim, self.finished, self.killed_at = after, victim, 0, -1

    def trial_finished(self, record: TrialRecord) -> None:
        self.finished += 1
        if self.finished == self.after:
            os.kill(self.victim.pid, signal.SIGKILL)
            self.killed_at = self.finished


SUITE = """
name = "replicas"
models = ["openai-api/reps/diligent?speed=600"]
samples = 10
max_tokens = 2000
concurrency = 12
max_connections = 8
retry = {{ initial_wait = 0.05, max_wait = 0.2 }}

[[tasks]]
task = "count"
end = [{ends}]
"""


@pytest.mark.slow
def test_a_replica_killed_mid_run_costs_no_trial_and_its_load_goes_to_the_others(tmp_path):
    servers = [serve() for _ in range(3)]
    try:
        urls = [url for _, url in servers]
        path = tmp_path / "s.toml"
        path.write_text(SUITE.format(ends=", ".join(str(e) for e in range(30, 36))))  # 60 trials
        display = KillAfter(12, servers[0][0])
        env = {"REPS_BASE_URL": ",".join(urls), "REPS_API_KEY": "none"}
        result = asyncio.run(arun(plan(path), out=tmp_path / "run", display=display, env=env))
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    assert display.killed_at == 12 and servers[0][0].returncode == -signal.SIGKILL
    trials = read_trials(result.run_dir)
    assert len(trials) == 60
    assert {t.outcome for t in trials} <= VERDICTS  # none is `error`: the retries went to live replicas
    by_replica = Counter(t.endpoint for t in trials)
    assert set(by_replica) <= set(urls)
    killed, alive = by_replica[urls[0]], [by_replica[u] for u in urls[1:]]
    assert killed < min(alive), by_replica
    # Streams that broke on the killed replica were retried, and the retry records name it.
    retried = [r for t in trials for turn in t.turns for r in turn.retries]
    assert retried and all(r.error.startswith(urls[0]) for r in retried)
    # Each retry went to a live replica at once, and the dead one was set aside: at most the
    # attempts in flight on it when it died (its connection limit) and the failures that set it aside.
    assert max(t.retries for t in trials) == 1
    assert len(retried) <= 8 + FAIL_AFTER
    assert all(t.endpoint != urls[0] for t in trials if t.retries)


# -- shards ----------------------------------------------------------------------------------------


def test_shards_split_the_keys_so_each_trial_is_run_exactly_once():
    keys = [f"{i:024x}" for i in range(3000)]
    owners = [[s for s in range(1, 4) if parse_shard(f"{s}/3").owns(k)] for k in keys]
    assert all(len(o) == 1 for o in owners)
    sizes = Counter(o[0] for o in owners)
    assert min(sizes.values()) > 900  # about a third each
    assert shard_of(keys[0], 3) == shard_of(keys[0], 3)  # stable: nothing but the key


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_bad_shard_is_one_line_naming_the_flag(text):
    with pytest.raises(BadInput, match=r"^--shard .*: write i/n with 1 <= i <= n"):
        parse_shard(text)


SHARDED = """
name = "sharded"
models = ["sim/diligent", "sim/lazy?k=12", "sim/drifter?at=20"]
strategies = ["direct", "continue"]
samples = 2
max_tokens = 400

[[tasks]]
task = "count"
end = [15, 30]

[[tasks]]
task = "hanoi"
disks = [3, 4]
"""


def outcomes(run: Path) -> dict[str, str]:
    return {t.spec.key: t.outcome for t in read_trials(run)}


def test_three_shards_merged_are_the_unsharded_run(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SHARDED)
    whole = longhaul.run(path, out=tmp_path / "whole")
    assert len(set(outcomes(whole.run_dir).values())) >= 3  # a suite of several outcomes, not all one
    shards = [longhaul.run(path, out=tmp_path / f"shard{i}", shard=f"{i}/3") for i in (1, 2, 3)]
    assert sum(s.total for s in shards) == whole.total == 48 and all(s.total < 48 for s in shards)
    assert read_manifest(shards[1].run_dir).shard == parse_shard("2/3")
    assert main(["merge", *(str(s.run_dir) for s in shards), "--out", str(tmp_path / "merged")]) == 0
    assert "(48/48 trials)" in capsys.readouterr().out
    assert outcomes(tmp_path / "merged") == outcomes(whole.run_dir)
    merged = read_manifest(tmp_path / "merged")
    assert merged.shard is None and merged.trials_total == 48 and merged.merged_from == ["shard1", "shard2", "shard3"]
    # Reports and compare read the merged run as any other.
    assert main(["report", str(tmp_path / "merged")]) == 0
    results = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert results["trials_planned"] == results["trials"] == 48
    capsys.readouterr()
    assert main(["compare", str(whole.run_dir), str(tmp_path / "merged"), "--format", "json", "--fail-on-regression"]) == 0


def test_merge_refuses_runs_of_different_suites_and_duplicate_keys_writing_nothing(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SHARDED)
    other = tmp_path / "o.toml"
    other.write_text(SHARDED.replace("samples = 2", "samples = 1"))
    a = longhaul.run(path, out=tmp_path / "a", shard="1/2").run_dir
    b = longhaul.run(other, out=tmp_path / "b", shard="2/2").run_dir
    assert main(["merge", str(a), str(b), "--out", str(tmp_path / "m1")]) == 2
    err = capsys.readouterr().err
    assert "ran another suite" in err and "samples: 2 -> 1" in err and err.count("\n") == 1
    assert main(["merge", str(a), str(a), "--out", str(tmp_path / "m2")]) == 2
    assert "is in both" in capsys.readouterr().err
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


def test_a_merge_missing_a_shard_is_unfinished_and_resume_runs_the_rest(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SHARDED)
    runs = [longhaul.run(path, out=tmp_path / f"shard{i}", shard=f"{i}/3").run_dir for i in (1, 2)]
    assert main(["merge", *map(str, runs), "--out", str(tmp_path / "merged")]) == 0
    out = capsys.readouterr().out
    assert "/48 trials" in out and "runs the" in out
    assert main(["resume", str(tmp_path / "merged"), "--plain", "--no-report"]) == 0
    assert len(read_trials(tmp_path / "merged")) == 48


SHOUTED = """
name = "shouted"
models = ["sim/diligent", "sim/diligent?faults=401:1"]
strategies = ["direct"]
samples = 3

[[tasks]]
task = "shout"
end = [5, 6]
"""


def test_merge_of_shards_whose_tasks_dir_moved_takes_tasks_dir_and_keeps_every_shards_stops(tmp_path, capsys):
    import shutil

    mine = tmp_path / "mytasks"
    shutil.copytree(Path(__file__).parent / "fixtures" / "shout", mine)
    path = tmp_path / "s.toml"
    path.write_text(SHOUTED)
    runs = [longhaul.run(path, out=tmp_path / f"shard{i}", shard=f"{i}/2", tasks_dir=mine) for i in (1, 2)]
    assert all(len(r.stops) == 1 for r in runs)  # the refused model has trials in both shards
    moved = tmp_path / "elsewhere"
    mine.rename(moved)  # the CI artifacts are merged on another machine
    assert main(["merge", *(str(r.run_dir) for r in runs), "--out", str(tmp_path / "m0")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tasks-dir" in err and not (tmp_path / "m0").exists()
    merged_dir = tmp_path / "merged"
    assert main(["merge", *(str(r.run_dir) for r in runs), "--out", str(merged_dir), "--tasks-dir", str(moved)]) == 0
    merged = read_manifest(merged_dir)
    assert merged.trials_total == 12 and merged.catalog.tasks_dir == str(moved.resolve())
    assert [s.message for s in merged.stops] == [r.stops[0].message for r in runs]
    assert main(["report", str(merged_dir)]) == 0  # the merged run reads its tasks where they are now


def test_merge_refuses_a_run_still_being_written_and_warns_of_other_versions(tmp_path, capsys):
    from longhaul.store import lock_run

    path = tmp_path / "s.toml"
    path.write_text(SHARDED.replace("samples = 2", "samples = 1"))
    a, b = (longhaul.run(path, out=tmp_path / f"shard{i}", shard=f"{i}/2").run_dir for i in (1, 2))
    lock = lock_run(b)  # as a `resume` of it would, still running
    try:
        assert main(["merge", str(a), str(b), "--out", str(tmp_path / "m1")]) == 2
    finally:
        os.close(lock)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(b) in err and f"pid {os.getpid()}" in err and not (tmp_path / "m1").exists()
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["longhaul_version"] = "0.0.1"
    (b / "manifest.json").write_text(json.dumps(manifest))
    assert main(["merge", str(a), str(b), "--out", str(tmp_path / "m2")]) == 0
    [line] = capsys.readouterr().err.splitlines()
    assert "different longhaul versions" in line and "0.0.1" in line and longhaul.__version__ in line


def test_a_shards_dry_run_tables_and_prices_only_its_share(tmp_path):
    from longhaul.dryrun import dry_run

    path = tmp_path / "s.toml"
    path.write_text(SHARDED.replace('models = ["sim/diligent"', 'models = ["openai/gpt-4.1"'))
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n')

    def ceiling(text: str) -> float:
        return float(text.split("cost ceiling for the priced models: ")[1].split(" USD")[0])

    def rows(text: str) -> int:
        return sum(int(line.split("|")[5]) for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model"))

    whole = dry_run(plan(path), prices)
    shards = [dry_run(plan(path, shard=f"{i}/3"), prices) for i in (1, 2, 3)]
    assert rows(whole) == 48 and [rows(s) for s in shards] == [len(plan(path, shard=f"{i}/3").trials) for i in (1, 2, 3)]
    assert sum(ceiling(s) for s in shards) == pytest.approx(ceiling(whole), abs=0.02) and all(ceiling(s) < ceiling(whole) for s in shards)
    assert "(shard 2/3 of the suite's trials)" in shards[1]


def test_resuming_a_shard_runs_only_its_share(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SHARDED)
    run = longhaul.run(path, out=tmp_path / "shard", shard="2/3")
    db = sqlite3.connect(run.run_dir / "trials.sqlite")
    db.execute("DELETE FROM trials WHERE rowid IN (SELECT rowid FROM trials LIMIT 3)")
    db.commit()
    db.close()
    assert main(["resume", str(run.run_dir), "--plain", "--no-report"]) == 0
    assert set(outcomes(run.run_dir)) == {t.key for t in plan(path, shard=parse_shard("2/3")).trials}
    assert main(["run", str(path), "--resume", str(run.run_dir), "--shard", "1/3", "--plain", "--no-report"]) == 2
    assert "ran shard 2/3, not 1/3" in capsys.readouterr().err


def test_runs_stored_before_endpoints_and_shards_still_load(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SHARDED.replace("samples = 2", "samples = 1"))
    run = longhaul.run(path, out=tmp_path / "run").run_dir
    record = json.loads(json.dumps(read_trials(run)[0].model_dump(mode="json")))
    assert record["endpoint"].startswith("http://127.0.0.1:")  # the in-process sim's URL
    del record["endpoint"]
    for turn in record["turns"]:
        del turn["endpoint"]
    assert TrialRecord.model_validate(record).endpoint is None
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["shard"], manifest["merged_from"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(run).shard is None


def test_a_replicated_model_takes_its_rate_limit_once_per_request_across_its_replicas(tmp_path):
    from longhaul.providers import Message, Request
    from longhaul.providers.ratelimit import RateLimits
    from longhaul.sim.server import start

    async def go() -> tuple[list[int], int]:
        sims = [await start({}) for _ in range(2)]
        try:
            env = {"REPS_BASE_URL": ",".join(s.url for s in sims), "REPS_API_KEY": "none"}
            model = "openai-api/reps/diligent"
            async with Providers(env=env, limits={model: RateLimits(rpm=1000)}) as providers:
                provider = await providers.get(model)
                for i in range(4):
                    request = Request(messages=[Message(role="user", content=f"Print every integer from 1 to {5 + i}, one per line.")])
                    async for _ in provider.stream(request):
                        pass
                (status,) = providers.rates()  # one limiter for the model, not one per replica
                return [s.server.requests for s in sims], status.admitted
        finally:
            for s in sims:
                await s.aclose()

    served, admitted = asyncio.run(go())
    assert served == [2, 2] and admitted == 4  # each request counted once, wherever it went


def test_a_recorded_endpoint_carries_no_userinfo_nor_query(tmp_path):
    from longhaul.providers.address import shown_url
    from longhaul.sim.server import start

    assert shown_url("https://user:tok3n@gpu1:8000/v1?api-key=tok3n#x") == "https://gpu1:8000/v1"
    assert shown_url("http://gpu1:8000/v1") == "http://gpu1:8000/v1"

    async def go() -> tuple[list[str | None], str]:
        sims = [await start({}) for _ in range(2)]
        try:
            urls = [s.url.replace("http://", "http://someone:s3cret-token@") for s in sims]
            return await _served_by({"REPS_BASE_URL": ",".join(urls), "REPS_API_KEY": "none"}, 2), sims[0].url
        finally:
            for s in sims:
                await s.aclose()

    served, plain = asyncio.run(go())
    assert plain in served and all(e is not None and "s3cret" not in e and "@" not in e for e in served)
