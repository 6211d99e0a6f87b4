"""Failures a user meets outside the happy path: each is one line and a known exit code (2 for a
file, flag or folder longhaul cannot use, 130 for Ctrl-C), never a Python traceback; a run that
stops keeps what it stored and says how to resume.

Already covered in test_cli.py: `verify` on a file that is not UTF-8
(test_verify_file_not_utf8_is_one_line_exit_2) and `verify --jsonl` with `params` a string (line 3
of test_verify_jsonl_judges_good_lines_around_bad_ones)."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import longhaul
from longhaul import runner
from longhaul.cli import main
from longhaul.errors import StoreError
from longhaul.providers import Providers
from longhaul.store import RunStore

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
"""Seconds a bounded poll waits for a subprocess to reach the state a test needs."""


def env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return {**base, "PYTHONPATH": str(ROOT)}  # this checkout's longhaul, whatever is installed


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env=env(), cwd=ROOT)


def popen(*args: str, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT, **kw
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def suite(tmp_path: Path, model: str = "sim/diligent", ends: str = "[5, 6, 7, 8, 9, 10]", concurrency: int = 3, samples: int = 1) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        f'name = "hard"\nmodels = ["{model}"]\nstrategies = ["direct"]\nsamples = {samples}\n'
        f'concurrency = {concurrency}\n\n[[tasks]]\ntask = "count"\nend = {ends}\n'
    )
    return path


def stored(run_dir: Path) -> list[str]:
    db = sqlite3.connect(run_dir / "trials.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [k for (k,) in db.execute("SELECT key FROM trials")]
    finally:
        db.close()


@pytest.fixture()
def no_requests(monkeypatch):
    """Fails the test if any provider is asked for (nothing may be sent to a model)."""
    asked: list[str] = []

    async def get(self, model):
        asked.append(model)
        raise AssertionError(f"a provider was asked for: {model}")

    monkeypatch.setattr(Providers, "get", get)
    return asked


# -- --out ---------------------------------------------------------------------------------------


def test_out_under_a_regular_file_is_one_line_exit_2_and_nothing_is_sent(tmp_path, no_requests, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = suite(tmp_path)
    r = cli("run", str(path), "--out", str(blocker / "run"), "--plain")
    assert r.returncode == 2 and r.stdout == ""
    line = one_line(r.stderr)
    assert line.startswith("longhaul: error: --out ") and str(blocker / "run") in line and "Not a directory" in line
    # In-process too, so that no provider is even asked for.
    assert main(["run", str(path), "--out", str(blocker / "run"), "--plain"]) == 2
    assert "--out" in one_line(capsys.readouterr().err) and no_requests == []
    with pytest.raises(StoreError, match="--out"):
        longhaul.run(path, out=blocker)  # --out the file itself
    assert blocker.read_text() == "not a folder"


def test_out_on_a_read_only_disk_is_one_line_exit_2_and_nothing_is_sent(tmp_path, no_requests, monkeypatch, capsys):
    # The tests run as root, whom a chmod does not stop; a read-only disk answers mkdir with
    # EROFS (EACCES for a folder without write permission), so that answer is given here.
    def mkdir(self, *a, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "ro" / "run"
    assert main(["run", str(suite(tmp_path)), "--out", str(out), "--plain"]) == 2
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert (
        line == f"longhaul: error: --out {out}: cannot make the run folder there (Read-only file system); choose a folder you can write to"
    )
    assert captured.out == "" and no_requests == [] and not out.exists()


# -- folders that are not runs, stores that are damaged ------------------------------------------


@pytest.mark.slow
def test_compare_on_a_folder_that_is_not_a_run_is_one_line_exit_2(tmp_path):
    run_dir = tmp_path / "run"
    longhaul.run(suite(tmp_path, ends="[5]"), out=run_dir)
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    for runs in ([str(folder), str(run_dir)], [str(run_dir), str(folder)]):
        r = cli("compare", *runs)
        assert r.returncode == 2 and r.stdout == ""
        assert one_line(r.stderr) == f"longhaul: error: {folder}: not a longhaul run folder (no manifest.json and trials.sqlite)"


@pytest.mark.parametrize("command", ["export", "report", "resume"])
def test_a_damaged_trials_sqlite_is_one_line_exit_2(tmp_path, command):
    run_dir = tmp_path / "run"
    longhaul.run(suite(tmp_path, ends="[5, 6]"), out=run_dir)
    for extra in run_dir.glob("trials.sqlite-*"):
        extra.unlink()
    (run_dir / "trials.sqlite").write_bytes(b"\x00garbage, not SQLite\xff" * 200)
    r = cli(command, str(run_dir), *(["--plain"] if command == "resume" else []))
    assert r.returncode == 2 and r.stdout == ""
    assert one_line(r.stderr) == (
        f"longhaul: error: {run_dir / 'trials.sqlite'}: not a trial store longhaul can read "
        "(file is not a database); it is damaged, or was not written by longhaul"
    )


# -- sim serve -----------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_sim_serve_port_out_of_range_is_one_line_exit_2(port):
    r = cli("sim", "serve", "--port", port)
    assert r.returncode == 2 and r.stdout == ""
    assert one_line(r.stderr) == f"longhaul: error: --port {port}: a port must be 0-65535 (0 picks a free one)"


# -- a run that cannot go on ---------------------------------------------------------------------


class _Spy:
    """Records when the providers and the store are closed, and which trials were cancelled."""

    def __init__(self, monkeypatch) -> None:
        self.events: list[str] = []
        providers_close, store_close = Providers.aclose, RunStore.close

        async def aclose(providers):
            self.events.append("providers closing")
            await providers_close(providers)
            assert providers._providers == {} and providers._sim is None
            self.events.append("providers closed")

        def close(store):
            self.events.append("store closed")
            store_close(store)

        monkeypatch.setattr(Providers, "aclose", aclose)
        monkeypatch.setattr(RunStore, "close", close)


@pytest.mark.parametrize(
    "failure",
    [sqlite3.OperationalError("database or disk is full"), OSError(errno.ENOSPC, "No space left on device")],
    ids=["sqlite", "oserror"],
)
def test_a_disk_that_fills_mid_run_stops_every_trial_keeps_what_was_stored_and_says_how_to_resume(tmp_path, monkeypatch, capsys, failure):
    path = suite(tmp_path, model="sim/diligent?speed=2000", ends="[20, 21, 22, 23, 24, 25]", concurrency=3)
    write = RunStore._write
    writes = {"n": 0}

    def filling(store, trial):
        writes["n"] += 1
        if writes["n"] > 2:
            raise failure
        write(store, trial)

    monkeypatch.setattr(RunStore, "_write", filling)
    spy = _Spy(monkeypatch)

    # The API: the store's error, after every other trial was cancelled and everything closed.
    run_dir = tmp_path / "api"

    async def api() -> set[asyncio.Task]:
        with pytest.raises(StoreError) as caught:
            await runner.arun(runner.plan(path), out=run_dir)
        assert "the disk is full" in str(caught.value) and f"longhaul resume {run_dir}" in str(caught.value)
        # The SDK leaves its own stream generators to the collector, whose finalizer schedules their
        # aclose() as tasks (asyncio's async-generator hook): cleanup, not trials.
        return {t for t in asyncio.all_tasks() - {asyncio.current_task()} if type(t.get_coro()).__name__ != "async_generator_athrow"}

    assert asyncio.run(api()) == set()  # no trial left running
    assert spy.events == ["providers closing", "providers closed", "store closed"]
    assert len(stored(run_dir)) == 2

    # The command line: one line, exit 2, the two trials kept; then resume finishes the run.
    writes["n"] = 0
    run_dir = tmp_path / "cli"
    assert main(["run", str(path), "--out", str(run_dir), "--plain"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line == (
        f"longhaul: error: {run_dir / 'trials.sqlite'}: the disk is full; the trials stored before this one are "
        f"kept. Free some space, then resume with: longhaul resume {run_dir}"
    )
    kept = stored(run_dir)
    assert len(kept) == 2
    monkeypatch.setattr(RunStore, "_write", write)
    assert main(["resume", str(run_dir), "--plain"]) == 0
    assert "2 already stored" in capsys.readouterr().out
    after = stored(run_dir)
    assert len(after) == len(set(after)) == 6 and set(kept) <= set(after)


def test_a_trial_that_fails_cancels_the_others_and_the_providers_close_in_order(tmp_path, monkeypatch, capsys):
    path = suite(tmp_path, ends="[5, 6, 7, 8]", concurrency=4)
    started: list[str] = []
    cancelled: list[str] = []
    sync = {"others started": asyncio.Event()}

    async def run_trial(spec, provider, *rest):
        started.append(spec.key)
        if len(started) == 4:
            sync["others started"].set()
        if spec.params["end"] == 5:
            await sync["others started"].wait()
            raise RuntimeError("a bug in one trial")
        try:
            await asyncio.Event().wait()  # a trial that would never end by itself
        except asyncio.CancelledError:
            cancelled.append(spec.key)
            raise

    monkeypatch.setattr(runner, "run_trial", run_trial)
    spy = _Spy(monkeypatch)

    async def go() -> set[asyncio.Task]:
        with pytest.raises(RuntimeError, match="a bug in one trial"):
            await runner.arun(runner.plan(path), out=tmp_path / "run")
        return asyncio.all_tasks() - {asyncio.current_task()}

    assert asyncio.run(go()) == set()
    assert len(started) == 4 and len(cancelled) == 3
    assert spy.events == ["providers closing", "providers closed", "store closed"]
    # On the command line a bug keeps its traceback (main does not catch it), after one line
    # saying where the stored trials are and how to resume.
    started.clear()
    sync["others started"] = asyncio.Event()  # one for the new loop
    with pytest.raises(RuntimeError, match="a bug in one trial"):
        main(["run", str(path), "--out", str(tmp_path / "cli"), "--plain"])
    assert capsys.readouterr().err == (
        f"longhaul: the run stopped on an unexpected error; every finished trial is stored in "
        f"{tmp_path / 'cli'}. Resume with: longhaul resume {tmp_path / 'cli'}\n"
    )


def test_providers_close_each_once_in_order_even_when_one_is_made_while_closing():
    closed: list[str] = []

    async def go() -> None:
        providers = Providers()

        def spy(provider, name: str, asks_for: str | None = None) -> None:
            original = provider.aclose

            async def aclose() -> None:
                closed.append(name)
                if asks_for:  # a trial still running asks for another provider meanwhile
                    spy(await providers.get(asks_for), asks_for)
                await original()

            provider.aclose = aclose

        spy(await providers.get("sim/diligent"), "sim/diligent", asks_for="sim/refuser")
        spy(await providers.get("sim/lazy?k=3"), "sim/lazy?k=3")
        await providers.aclose()
        assert providers._providers == {} and providers._sim is None

    asyncio.run(go())
    assert closed == ["sim/diligent", "sim/lazy?k=3", "sim/refuser"]


# -- Ctrl-C --------------------------------------------------------------------------------------


def interrupt(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=DEADLINE)


@pytest.mark.slow
def test_ctrl_c_in_ask_is_one_line_exit_130():
    proc = popen("ask", "sim/diligent?speed=200", "count", "--param", "end=2000")
    assert proc.stdout.read(1), proc.stderr.read()  # the answer is streaming
    _out, err = interrupt(proc)
    assert proc.returncode == 130
    assert one_line(err) == "longhaul: interrupted"


def blocked_reading(pid: int) -> bool:
    """Whether the process sleeps in a read of a pipe, as Linux says; elsewhere (no /proc), yes."""
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return True
    return "pipe_read" in wchan or "pipe_wait" in wchan


@pytest.mark.slow
def test_ctrl_c_in_verify_is_one_line_exit_130(tmp_path):
    fifo = tmp_path / "answer.txt"
    os.mkfifo(fifo)
    proc = popen("verify", "count", "--param", "end=3", str(fifo))
    deadline = time.monotonic() + DEADLINE
    while True:  # opening the writing end succeeds once verify has opened the file to read it
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "verify never opened its answer file"
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            assert exc.errno == errno.ENXIO
    try:
        # Interrupt it only once it waits in read(): a signal that lands between two reads of one
        # C call is seen only when the next read returns, and this one never would. Where the
        # kernel does not say (no /proc), the window left is a few instructions wide; nothing is
        # written, so the first read is the one that waits.
        while not blocked_reading(proc.pid):
            assert time.monotonic() < deadline, "verify never waited for its answer"
        out, err = interrupt(proc)
    finally:
        os.close(writer)
    assert proc.returncode == 130 and out == ""
    assert one_line(err) == "longhaul: interrupted"


@pytest.mark.slow
def test_ctrl_c_in_run_is_one_line_exit_130_and_resume_completes(tmp_path):
    path = suite(tmp_path, model="sim/diligent?speed=300", ends="[40, 41, 42, 43, 44, 45]", concurrency=4, samples=2)
    run_dir = tmp_path / "run"
    proc = popen("run", str(path), "--out", str(run_dir), "--plain")
    while not proc.stdout.readline().startswith("[1/"):  # a trial is stored, others are in flight
        assert proc.poll() is None, proc.communicate()
    _out, err = interrupt(proc)
    assert proc.returncode == 130
    assert one_line(err) == f"longhaul: interrupted; every finished trial is stored in {run_dir}. Resume with: longhaul resume {run_dir}"
    kept = stored(run_dir)
    assert 1 <= len(kept) < 12
    r = cli("resume", str(run_dir), "--plain")
    assert r.returncode == 0 and f"{len(kept)} already stored" in r.stdout and "Traceback" not in r.stderr
    after = stored(run_dir)
    assert len(after) == len(set(after)) == 12 and set(kept) <= set(after)


# -- the terminal UI -----------------------------------------------------------------------------


def test_the_tui_repaint_timer_stops_before_its_widgets_go(tmp_path):
    from textual.css.query import NoMatches

    from longhaul.tui.app import LonghaulApp

    the_plan = runner.plan(suite(tmp_path, model="sim/diligent?speed=400", ends="[30, 31, 32, 33]", concurrency=2))
    missing: list[NoMatches] = []
    ticks = {"n": 0}

    async def scenario() -> LonghaulApp:
        app = LonghaulApp(tmp_path / "run", the_plan)
        app.REPAINT = 0.001  # a repaint on nearly every turn of the loop, so one falls in the shutdown
        refresh = app._refresh

        def counted(force: bool = False) -> None:
            ticks["n"] += 1
            try:
                refresh(force)
            except NoMatches as exc:
                missing.append(exc)
                raise

        app._refresh = counted
        async with app.run_test(size=(100, 30)) as pilot:
            deadline = time.monotonic() + DEADLINE
            while ticks["n"] < 20 or app.state.started == 0:  # the timer runs and the run is going
                assert time.monotonic() < deadline
                await pilot.pause(0.01)
            # leaving the block shuts the app down with the run and the timer still going
        return app

    app = asyncio.run(scenario())
    assert missing == [] and app._exception is None
    assert app.repaint._task is None
