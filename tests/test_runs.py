"""Runs end to end against sim profiles: suites, strategies, the store, resume, export, dry runs."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import longhaul
from longhaul.export import export
from longhaul.runner import plan
from longhaul.suite import parse_suite

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env={**base, **(env or {})}, cwd=cwd
    )


def suite_file(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


SMALL = """
name = "small"
models = [{models}]
strategies = [{strategies}]
samples = {samples}
max_tokens = {max_tokens}
early_stop = {early_stop}

[[tasks]]
task = "{task}"
{params}
"""


def small(tmp_path, models, strategies, task, params, samples=1, max_tokens=4000, early_stop=False, name="s.toml"):
    body = SMALL.format(
        models=", ".join(f'"{m}"' for m in models),
        strategies=", ".join(f'"{s}"' for s in strategies),
        samples=samples,
        max_tokens=max_tokens,
        early_stop=str(early_stop).lower(),
        task=task,
        params=params,
    )
    return suite_file(tmp_path, body, name)


# -- suites ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,expected",
    [
        ('models = ["sim/diligent"]\n[[tasks]]\ntask = "hanoi"\ndisks = [3, 25]\n', "s.toml:4: tasks[0] (hanoi): disks:"),
        ('models = ["sim/diligent"]\nsampels = 3\n[[tasks]]\ntask = "count"\n', "s.toml:2: sampels: unknown field"),
        (
            'models = ["sim/diligent"]\n[[tasks]]\ntask = "count"\n[[tasks]]\ntask = "nosuch"\n',
            "s.toml:5: tasks[1].task: unknown task 'nosuch'",
        ),
        (
            'models = ["sim/diligent"]\nstrategies = ["direct", "carry-on"]\n[[tasks]]\ntask = "count"\n',
            "s.toml:2: strategies[1]: unknown strategy",
        ),
        ('models = ["gpt-4"]\n[[tasks]]\ntask = "count"\n', "s.toml:1: models: model 'gpt-4': write provider/model"),
        (
            'models = ["sim/diligent"]\nmax_tokens = 0\n[[tasks]]\ntask = "count"\n',
            "s.toml:2: max_tokens: Input should be greater than or equal to 1",
        ),
        ('models = ["sim/diligent"]\n[[tasks]]\ntask = "count"\nend = 10\nsamples = 0\n', "s.toml:5: tasks[0].samples:"),
        ('[[tasks]]\ntask = "count"\n', "s.toml: models: Field required"),
        ('models = ["sim/diligent"\n', "s.toml: not valid TOML"),
        ('models = ["sim/lazy?k=0"]\n[[tasks]]\ntask = "count"\n', "k: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_suite_is_one_line_with_file_line_and_field_and_nothing_runs(tmp_path, body, expected):
    path = suite_file(tmp_path, body)
    r = cli("run", str(path), "--out", str(tmp_path / "run"))
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["demo", "illusion-of-thinking", "refusal-problem", "nightly", "coding-boilerplate"])
def test_builtin_suites_load_by_name(name):
    p = plan(name)
    assert p.trials and p.suite.name == name
    assert len({t.key for t in p.trials}) == len(p.trials)


def test_demo_has_every_required_profile_and_every_strategy():
    p = plan("demo")
    profiles = {m.split("/")[1].split("?")[0] for m in p.suite.models}
    assert {"diligent", "lazy", "drifter", "truncating", "trigger_shy"} <= profiles
    assert set(p.suite.strategies) == {"direct", "continue", "resume", "ranges", "nudge"}


def test_command_line_choices_override_the_suite():
    p = plan("demo", models=["sim/claimer"], strategies=["direct"], max_connections=3)
    assert p.suite.models == ["sim/claimer"] and p.suite.strategies == ["direct"] and p.suite.max_connections == 3
    assert {t.model for t in p.trials} == {"sim/claimer"}


def test_trial_keys_are_stable_and_distinct():
    a, b = plan("demo"), plan("demo")
    assert [t.key for t in a.trials] == [t.key for t in b.trials]
    assert len({t.key for t in a.trials}) == len(a.trials)


# -- strategies end to end -------------------------------------------------------------------------


def outcomes_by_strategy(result):
    out = {}
    for t in result.trials:
        out.setdefault(t.spec.strategy, []).append(t)
    return out


def test_lazy_wont_do_under_direct_becomes_complete_under_continue(tmp_path):
    path = small(tmp_path, ["sim/lazy?k=15"], ["direct", "continue", "resume", "ranges", "nudge"], "french_numbers", "start = 0\nend = 60")
    result = longhaul.run(path, out=tmp_path / "run")
    by = outcomes_by_strategy(result)
    assert by["direct"][0].outcome == "wont_do" and by["direct"][0].verdict.items_correct == 15
    for name in ("continue", "resume", "ranges", "nudge"):
        trial = by[name][0]
        assert trial.outcome == "complete", (name, trial.verdict.explanation)
        assert len(trial.turns) > 1 and trial.stop == "complete"
        assert trial.input_tokens == sum(t.usage.input_tokens for t in trial.turns) > 0
        assert trial.output_tokens > 0 and all(t.usage.output_tokens > 0 for t in trial.turns)
    # continue repeats the conversation: it carries more input than resume's fresh requests
    assert by["continue"][0].input_tokens > by["resume"][0].input_tokens


def test_drifter_stays_cant_do_under_every_strategy(tmp_path):
    path = small(tmp_path, ["sim/drifter?at=5"], ["direct", "continue", "resume", "ranges", "nudge"], "hanoi", "disks = 6")
    result = longhaul.run(path, out=tmp_path / "run")
    for trial in result.trials:
        assert trial.outcome == "cant_do" and trial.stop == "wrong_item" and trial.verdict.first_error is not None


def test_truncating_is_budget_exhausted(tmp_path):
    path = small(tmp_path, ["sim/truncating"], ["direct"], "count", "end = 2000", max_tokens=300)
    [trial] = longhaul.run(path, out=tmp_path / "run").trials
    assert trial.outcome == "budget_exhausted" and trial.output_tokens == 300
    assert trial.turns[0].stop_reason == "max_tokens" and trial.turns[0].raw_stop_reason == "length"


def test_early_stop_cuts_the_stream_and_records_the_tokens_saved(tmp_path):
    body = dict(models=["sim/drifter?at=40"], strategies=["direct"], task="count", params="end = 3000", samples=3)
    late = longhaul.run(small(tmp_path, **body, max_tokens=20000, name="a.toml"), out=tmp_path / "a").trials
    early = longhaul.run(small(tmp_path, **body, max_tokens=20000, early_stop=True, name="b.toml"), out=tmp_path / "b").trials
    late_by = {t.spec.sample: t for t in late}
    for t in early:
        full = late_by[t.spec.sample]
        assert t.outcome == full.outcome == "cant_do"
        assert t.verdict.first_error.index == full.verdict.first_error.index  # the same verdict
        assert t.turns[0].stopped_early and t.turns[0].raw_stop_reason == "longhaul_early_stop"
        assert t.output_tokens < full.output_tokens and t.tokens_saved > 0


def test_refuser_yields_to_a_nudge_but_not_to_continue(tmp_path):
    path = small(tmp_path, ["sim/refuser?above=10"], ["continue", "nudge"], "count", "end = 50")
    by = outcomes_by_strategy(longhaul.run(path, out=tmp_path / "run"))
    assert by["continue"][0].outcome == "wont_do" and by["continue"][0].stop == "no_progress"
    assert by["nudge"][0].outcome == "complete" and [t.kind for t in by["nudge"][0].turns] == ["initial", "nudge"]


def test_turn_budget_stops_a_loop(tmp_path):
    text = 'models = ["sim/lazy?k=3"]\nstrategies = ["continue"]\nmax_turns = 3\n[[tasks]]\ntask = "count"\nend = 100\n'
    [trial] = longhaul.run(parse_suite(text), out=tmp_path / "run").trials
    assert trial.stop == "turn_budget" and len(trial.turns) == 3 and trial.verdict.items_correct == 9


# -- the store, resume, export ---------------------------------------------------------------------


def test_every_trial_is_stored_once_with_its_turns(tmp_path):
    path = small(tmp_path, ["sim/diligent", "sim/lazy?k=20"], ["direct", "continue"], "count", "end = [30, 60]", samples=2)
    result = longhaul.run(path, out=tmp_path / "run")
    assert result.total == len(result.trials) == 16
    db = sqlite3.connect(tmp_path / "run" / "trials.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = db.execute("SELECT key, outcome, record FROM trials").fetchall()
    assert len({r[0] for r in rows}) == 16
    record = json.loads(rows[0][2])
    assert record["turns"] and "verdict" in record["turns"][0] and "usage" in record["turns"][0]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["suite"]["models"] == ["sim/diligent", "sim/lazy?k=20"] and manifest["longhaul_version"]
    assert manifest["trials_total"] == 16 and manifest["started_at"]


def test_a_run_keeps_counts_and_reads_its_trials_from_the_store(tmp_path):
    import asyncio
    from collections import Counter

    from longhaul.runner import arun, resume_plan
    from longhaul.store import StoredTrials, iter_trials
    from longhaul.summary import judge_line, summary_table

    path = small(tmp_path, ["sim/diligent", "sim/drifter?at=5"], ["direct"], "count", "end = [10, 20]")
    run_dir = tmp_path / "run"
    longhaul.run(path, out=run_dir)
    with sqlite3.connect(run_dir / "trials.sqlite") as db:
        db.execute("DELETE FROM trials WHERE rowid IN (SELECT rowid FROM trials ORDER BY rowid LIMIT 2)")
    db.close()
    result = asyncio.run(arun(resume_plan(run_dir), resume=run_dir))
    # the counts are of every stored trial, the earlier run's included, and match the store's
    assert result.stored == len(result.trials) == result.total == 4
    assert result.tally.table() == summary_table(iter_trials(run_dir)) and "sim/drifter?at=5 (simulated)" in result.tally.table()
    assert result.tally.judge_line() == judge_line(iter_trials(run_dir)) == ""
    assert result.outcomes == Counter(t.outcome for t in iter_trials(run_dir)) and result.outcomes.total() == 4
    # the trials: a view of the store, read when asked (in the order they were stored)
    trials = result.trials
    assert isinstance(trials, StoredTrials) and "trials" not in result.model_dump()
    keys = [t.spec.key for t in trials]
    assert len(set(keys)) == 4 and [t.spec.key for t in trials[1:3]] == keys[1:3] and trials[-1].spec.key == keys[-1]
    assert [t.spec.key for t in trials[::2]] == keys[::2] and trials[0] in trials
    with pytest.raises(IndexError):
        trials[4]


def test_one_trial_cancelled_in_flight_or_before_it_starts_is_dropped_and_the_others_run(tmp_path):
    import asyncio

    from longhaul.display.protocol import NullDisplay, RunControl
    from longhaul.runner import arun

    # one worker: the trials start in order
    path = suite_file(tmp_path, 'models = ["sim/diligent"]\nconcurrency = 1\n[[tasks]]\ntask = "count"\nend = [200, 201, 202, 203]\n')
    the_plan = plan(path)
    control = RunControl()
    first, _, third, _ = (s.key for s in the_plan.trials)
    started: list[str] = []

    class Canceller(NullDisplay):
        def trial_started(self, spec):
            started.append(spec.key)
            if spec.key == first:
                control.cancel(third)  # not started yet: never starts
                # in flight (cancelled from elsewhere, as the terminal UI does): dropped, and the next one starts
                asyncio.get_running_loop().call_soon(control.cancel, first)

    result = asyncio.run(arun(the_plan, out=tmp_path / "run", display=Canceller(), control=control))
    stored = {t.spec.key for t in result.trials}
    assert started == [k for k in (s.key for s in the_plan.trials) if k != third]
    assert stored == {s.key for s in the_plan.trials} - {first, third}
    assert result.interrupted and result.stored == 2


@pytest.mark.slow
def test_resume_runs_only_what_is_missing_and_refuses_a_changed_suite(tmp_path):
    path = small(tmp_path, ["sim/diligent"], ["direct"], "count", "end = [10, 20, 30]")
    longhaul.run(path, out=tmp_path / "run")
    db = sqlite3.connect(tmp_path / "run" / "trials.sqlite")
    db.execute("DELETE FROM trials WHERE rowid = (SELECT min(rowid) FROM trials)")
    db.commit()
    db.close()
    r = cli("resume", str(tmp_path / "run"), "--plain")
    assert r.returncode == 0 and "1 trial" not in r.stderr
    assert "2 already stored" in r.stdout and r.stdout.count("[3/3]") == 1
    changed = small(tmp_path, ["sim/diligent"], ["direct"], "count", "end = [10, 20, 40]", name="changed.toml")
    r = cli("run", str(changed), "--resume", str(tmp_path / "run"))
    assert r.returncode == 2 and "the suite changed" in r.stderr and "tasks:" in r.stderr


def test_export_rows_for_pandas_duckdb_or_a_spreadsheet(tmp_path):
    path = small(tmp_path, ["sim/lazy?k=10"], ["direct", "continue"], "count", "end = 25")
    longhaul.run(path, out=tmp_path / "run")
    out = io.StringIO()
    assert export(tmp_path / "run", "csv", out=out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    required = {
        "key",
        "model",
        "task",
        "params",
        "strategy",
        "sample",
        "outcome",
        "items_correct",
        "items_expected",
        "turns",
        "input_tokens",
        "output_tokens",
        "retries",
    }
    assert required <= set(rows[0])
    assert {r["strategy"]: r["outcome"] for r in rows} == {"direct": "wont_do", "continue": "complete"}
    r = cli("export", str(tmp_path / "run"), "--format", "jsonl", "--turns")
    turns = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(turns) == 1 + 3 and {t["kind"] for t in turns} == {"initial", "continue"}
    assert turns[-1]["outcome_after"] == "complete"


@pytest.mark.parametrize(("fmt", "turns"), [("csv", False), ("csv", True), ("jsonl", False), ("jsonl", True)])
def test_export_has_the_budget_cache_and_batch_columns_last(tmp_path, fmt, turns):
    from longhaul.export import TRIAL_COLUMNS, TURN_COLUMNS

    path = small(tmp_path, ["sim/lazy?k=10&cache_min=16"], ["continue"], "count", "end = 25", max_tokens=3000)
    result = longhaul.run(path, out=tmp_path / "run")
    (record,) = result.trials
    assert record.cached_input_tokens > 0  # later turns read the first's prefix from the sim's cache
    out = io.StringIO()
    export(tmp_path / "run", fmt, turns=turns, out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue()))) if fmt == "csv" else [json.loads(line) for line in out.getvalue().splitlines()]
    added = ["max_tokens", "cached_input_tokens", "cache_write_tokens", "batch_id"]
    assert (TURN_COLUMNS if turns else TRIAL_COLUMNS)[-4:] == added
    assert list(rows[0])[-4:] == added  # the existing columns keep their places
    as_text = (lambda v: "" if v is None else str(v)) if fmt == "csv" else (lambda v: v)
    assert {r["max_tokens"] for r in rows} == {as_text(3000)} and {r["batch_id"] for r in rows} == {as_text(None)}
    cached = [r["cached_input_tokens"] for r in rows]
    expected = [t.usage.cached_input_tokens for t in record.turns] if turns else [record.cached_input_tokens]
    assert cached == [as_text(n) for n in expected]
    assert [r["cache_write_tokens"] for r in rows] == [as_text(0)] * len(rows)


@pytest.mark.slow
def test_a_canary_key_never_reaches_the_run_folder(tmp_path):
    canary = "sk-canary-7d1e0b9a4c"
    server = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split(" at ")[1].split(" ")[0]
        path = small(tmp_path, ["openai-api/canary/lazy?k=5&faults=500:0.3"], ["direct", "continue"], "count", "end = 20")
        r = cli("run", str(path), "--out", str(tmp_path / "run"), "--plain", env={"CANARY_API_KEY": canary, "CANARY_BASE_URL": url})
        assert r.returncode == 0, r.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert canary not in r.stdout + r.stderr
    for f in (tmp_path / "run").rglob("*"):
        if f.is_file():
            assert canary.encode() not in f.read_bytes(), f


@pytest.mark.slow
def test_kill_minus_9_loses_only_trials_in_flight_and_resume_finishes_exactly_once(tmp_path):
    # Slow streams (tokens a second), so the run is killed with trials both done and in flight.
    path = small(tmp_path, ["sim/diligent?speed=400"], ["direct"], "count", "end = [40, 41, 42, 43, 44, 45, 46, 47]", samples=3)
    text = path.read_text().replace("early_stop", "concurrency = 4\nearly_stop")
    path.write_text(text)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "run", str(path), "--out", str(run_dir), "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    finished = 0
    while finished < 6:  # wait for some trials to be stored, reading the plain display's lines
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        finished += line.startswith("[")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(run_dir / "trials.sqlite")
    stored = db.execute("SELECT count(*) FROM trials").fetchone()[0]
    db.close()
    assert 6 <= stored < 24
    r = cli("resume", str(run_dir), "--plain")
    assert r.returncode == 0, r.stderr
    assert f"{stored} already stored" in r.stdout
    db = sqlite3.connect(run_dir / "trials.sqlite")
    keys = [k for (k,) in db.execute("SELECT key FROM trials")]
    assert len(keys) == len(set(keys)) == 24
    assert {t.key for t in plan(path).trials} == set(keys)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    path = small(tmp_path, ["sim/diligent?speed=300"], ["direct"], "count", "end = [40, 41, 42, 43, 44, 45]", samples=2)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "run", str(path), "--out", str(run_dir), "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not proc.stdout.readline().startswith("[1/"):
        pass
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "longhaul resume" in err and str(run_dir) in err
    r = cli("resume", str(run_dir), "--plain")
    assert r.returncode == 0 and "12/12 trials stored" in r.stdout


# -- looking before leaping ------------------------------------------------------------------------


@pytest.mark.slow
def test_dry_run_sends_nothing_and_flags_cells_that_cannot_fit(tmp_path):
    path = small(tmp_path, ["openai/gpt-4.1", "sim/diligent"], ["direct", "continue"], "hanoi", "disks = [3, 10]", max_tokens=2000)
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n')
    r = cli("run", str(path), "--dry-run", "--prices", str(prices))  # no key needed to look
    assert r.returncode == 0, r.stderr
    assert "8 cells, 8 trials; nothing is sent" in r.stdout
    rows = [line for line in r.stdout.splitlines() if line.startswith("| openai/gpt-4.1 | hanoi | 10 |")]
    # one request cannot hold it: single-turn cells need more budget; a multi-turn one may still finish
    assert [("NO: needs more budget" in row, "no: not in one request" in row) for row in rows] == [(True, False), (False, True)]
    assert "cost ceiling for the priced models" in r.stdout
    assert not (ROOT / "reports").joinpath("x").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('["openai/gpt-4.1"]\ninput = -1\noutput = 8\n')
    r = cli("run", str(path), "--dry-run", "--prices", str(bad))
    assert r.returncode == 2 and "--prices" in r.stderr and "input" in r.stderr


def test_a_missing_key_stops_the_run_before_anything(tmp_path):
    path = small(tmp_path, ["anthropic/claude-sonnet-4-5", "sim/diligent"], ["direct"], "count", "end = 5")
    r = cli("run", str(path), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "ANTHROPIC_API_KEY" in r.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_plain_display_prints_one_line_per_trial_off_a_terminal(tmp_path):
    path = small(tmp_path, ["sim/diligent"], ["direct"], "count", "end = [5, 6, 7]")
    r = cli("run", str(path), "--out", str(tmp_path / "run"))
    lines = [line for line in r.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 3 and all("complete" in line for line in lines)
    assert "(simulated)" in r.stdout and "| model" in r.stdout


def test_no_report_stores_every_trial_and_report_writes_it_later(tmp_path):
    path = small(tmp_path, ["sim/diligent"], ["direct"], "count", "end = [5, 6]")
    run = tmp_path / "run"
    r = cli("run", str(path), "--out", str(run), "--no-report")
    assert r.returncode == 0, r.stderr
    assert "no report written" in r.stdout and not (run / "report.html").exists()
    with sqlite3.connect(run / "trials.sqlite") as db:
        assert db.execute("SELECT count(*) FROM trials WHERE outcome = 'complete'").fetchone() == (2,)
    r = cli("report", str(run))
    assert r.returncode == 0, r.stderr
    assert (run / "report.html").exists()
