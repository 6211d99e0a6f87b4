"""Provider errors are never a verdict on the model: every rate, share and median a report, the
TUI or `compare` shows is over the trials with a verdict, and errors are counted beside it."""

from __future__ import annotations

import io
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

import longhaul
from longhaul.report import write_report
from longhaul.report.compare import compare
from longhaul.report.figures import accuracy, complete_point, mix_bar, outcome_mix
from longhaul.report.results import aggregate
from longhaul.store import RunStore, read_manifest, read_trials
from longhaul.suite import parse_suite
from longhaul.summary import summary_table
from longhaul.tui.app import complete_cell, summary
from longhaul.tui.state import CellState
from longhaul.verdict import error_verdict

SUITE = """
name = "outage"
models = ["{model}"]
strategies = ["direct"]
samples = {samples}

[retry]
attempts = 1

[[tasks]]
task = "count"
end = {end}
"""

HEALTHY = "sim/diligent"
BROKEN = "sim/diligent?faults=500:1"
"""Every request gets a 500: with one attempt, every trial ends in `error`."""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env=env)


def run(folder: Path, model: str, samples: int, end: str) -> Path:
    longhaul.run(parse_suite(SUITE.format(model=model, samples=samples, end=end)), out=folder)
    return folder


def outcomes(run_dir: Path) -> dict[str, int]:
    return dict(sqlite3.connect(run_dir / "trials.sqlite").execute("SELECT outcome, count(*) FROM trials GROUP BY outcome").fetchall())


@pytest.fixture(scope="module")
def before_and_outage(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outage")
    before = run(tmp / "before", HEALTHY, 5, "[10, 20]")
    outage = run(tmp / "outage", BROKEN, 5, "[10, 20]")
    assert outcomes(before) == {"complete": 10} and outcomes(outage) == {"error": 10}
    return before, outage


@pytest.fixture(scope="module")
def half_broken(tmp_path_factory):
    """One cell (count to 10, direct) of 4 trials: samples 0 and 1 complete, samples 2 and 3 the
    provider failed (the records of a broken run, stored under the healthy run's specs)."""
    tmp = tmp_path_factory.mktemp("half")
    run_dir = run(tmp / "run", HEALTHY, 4, "10")
    broken = {t.spec.sample: t for t in read_trials(run(tmp / "broken", BROKEN, 4, "10"))}
    healthy = read_trials(run_dir)
    db = sqlite3.connect(run_dir / "trials.sqlite")
    with db:
        db.execute("DELETE FROM trials WHERE sample >= 2")
    db.close()
    store = RunStore.open(run_dir)
    for t in healthy:
        if t.spec.sample >= 2:
            store.record(broken[t.spec.sample].model_copy(update={"spec": t.spec}))
    store.close()
    assert outcomes(run_dir) == {"complete": 2, "error": 2}
    write_report(run_dir)
    return run_dir


# -- compare ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_outage_is_not_a_regression_but_provider_errors_rose(before_and_outage):
    before, outage = before_and_outage
    r = cli("compare", str(before), str(outage), "--fail-on-regression")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "provider errors rose" in r.stdout.lower() and "REGRESSION" not in r.stdout
    # 0 of 5 to 5 of 5: one-sided Fisher p = 1/252, under 0.05 / 2 cells
    assert "provider errors rose from 0 of 5 to 5 of 5 (p = 0.004)" in r.stdout
    assert cli("compare", str(before), str(outage), "--fail-on-regression", "--fail-on-errors").returncode == 1
    assert cli("compare", str(before), str(outage), "--fail-on-errors").returncode == 1


def test_an_outage_compares_on_verdicts(before_and_outage):
    c = compare(list(before_and_outage))
    cells = c.pairs[0].cells
    assert len(cells) == 2 and not c.regressions and len(c.error_rises) == 2
    for x in cells:
        assert (x.trials_before, x.verdicts_before, x.errors_before) == (5, 5, 0)
        assert (x.trials_after, x.verdicts_after, x.errors_after) == (5, 0, 5)
        assert x.complete_before == 1.0 and x.complete_after is None
        assert x.flag == "too_few_trials" and x.p_complete is None
        assert x.p_errors == pytest.approx(1 / 252)
    column = c.columns[1]
    assert set(column.verdicts.values()) == {0} and set(column.errors.values()) == {5}
    assert set(column.complete.values()) == {None}


def test_the_same_healthy_run_twice_raises_no_error_flag(before_and_outage):
    before, _ = before_and_outage
    c = compare([before, before])
    assert not c.error_rises and not c.regressions
    assert all(x.p_errors == 1.0 and x.errors_why == "" for x in c.pairs[0].cells)


# -- a cell of 2 complete and 2 provider errors ------------------------------------------------------


def test_results_count_only_verdicts_in_rates_and_medians(half_broken):
    results = json.loads((half_broken / "results.json").read_text())
    (cell,) = results["cells"]
    assert (cell["trials"], cell["verdicts"]) == (4, 2)
    assert cell["provider_errors"]["count"] == 2 and cell["provider_errors"]["of"] == 4 and cell["provider_errors"]["share"] == 0.5
    assert "error" not in cell["outcomes"]
    assert cell["outcomes"]["complete"]["count"] == 2 and cell["outcomes"]["complete"]["of"] == 2
    assert cell["outcomes"]["complete"]["share"] == 1.0
    assert all(s["of"] == 2 for s in cell["outcomes"].values())
    complete = [t for t in read_trials(half_broken) if t.outcome == "complete"]
    # The errors' zero tokens and near-zero seconds are not a model's answer: the medians are the
    # complete trials' own (with the errors counted they would be halved).
    assert cell["median_output_tokens"] == sum(t.output_tokens for t in complete) / 2 > 0
    assert cell["median_seconds"] == pytest.approx(sum(t.seconds for t in complete) / 2)
    assert cell["median_items_correct"] == 10 and cell["median_turns"] == 1
    (model,) = results["models"]
    assert (model["trials"], model["verdicts"], model["provider_errors"]) == (4, 2, 2)
    assert model["cant_do_rate"]["of"] == model["over_refusal"]["of"] == model["overconfidence"]["of"] == 2
    assert results["outcomes"]["error"] == 2  # the run's counts still say so


def test_summary_md_shows_the_rate_of_the_verdicts_and_the_errors_beside_it(half_broken):
    md = (half_broken / "summary.md").read_text()
    assert "| `sim/diligent` (simulated) | direct | 100% of 2 · 2 provider errors |" in md
    assert "| `sim/diligent` (simulated) | 2 of 4 | " in md
    assert "0% [0–66] of 2" in md  # can't-do: 0 of the 2 verdicts


def test_the_html_cell_table_shows_verdicts_and_errors_apart(half_broken):
    html = (half_broken / "report.html").read_text()
    # verdicts 2 of 4 trials, complete 2 · 100% [34–100] (Wilson, 2 of 2), ..., provider errors 2 (50%)
    row = re.search(r"<td>2 of 4</td><td><span class=o-complete>2 · 100% <span class=ci>\[34%–100%\]</span></span></td>(.*?)</tr>", html)
    assert row, "the cell's row"
    assert "<span class=o-error>2 (50%)</span>" in row.group(1)
    assert "2 of 4" in html  # the per-model verdicts column


def test_figures_plot_the_share_of_the_verdicts(half_broken):
    results = aggregate(read_trials(half_broken), read_manifest(half_broken), half_broken, {})
    (cell,) = results.cells
    share, low, high = complete_point(cell)
    assert share == high == 1.0 and low == pytest.approx(0.342, abs=1e-3)
    assert mix_bar(cell) == [("complete", 1.0)]
    svg = outcome_mix("count", results.cells, "end")
    assert "provider errors" in svg


def test_the_tui_summary_and_grid_count_only_verdicts(half_broken):
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(summary(half_broken))
    shown = console.export_text()
    assert "100% of 2 +2 err" in shown
    assert "2 verdicts; 2 provider errors, in no rate" in shown
    cell = CellState(total=4, done=4, outcomes=Counter(complete=2, error=2))
    assert (cell.verdicts, cell.errors, cell.share("complete"), cell.share("cant_do")) == (2, 2, 1.0, 0.0)


def test_the_end_of_run_table_counts_verdicts_apart(half_broken):
    table = summary_table(read_trials(half_broken))
    header, _, row = table.splitlines()
    names = [c.strip() for c in header.strip("|").split("|")]
    values = dict(zip(names, (c.strip() for c in row.strip("|").split("|"))))
    assert (values["trials"], values["verdicts"], values["complete"], values["error"]) == ("4", "2", "2", "2")


# -- a cell with no verdict at all -------------------------------------------------------------------


def test_a_cell_without_verdicts_says_so_rather_than_zero(before_and_outage):
    _, outage = before_and_outage
    write_report(outage)
    results = aggregate(read_trials(outage), read_manifest(outage), outage, {})
    for cell in results.cells:
        assert cell.verdicts == 0 and cell.provider_errors.count == 5
        assert all(s.share is None and s.of == 0 for s in cell.outcomes.values())
        assert cell.median_output_tokens is None and cell.median_seconds is None
        assert all(math.isnan(x) for x in complete_point(cell)) and mix_bar(cell) == []
        assert complete_cell(cell).plain == "no verdicts +5 err"
    assert "<svg" in accuracy("count", results.cells, "end")
    (model,) = results.models
    assert model.verdicts == 0 and model.cant_do_rate.share is None and model.over_refusal.of == 0
    md = (outage / "summary.md").read_text()
    assert "no verdicts · 5 provider errors" in md and "0%" not in md
    html = (outage / "report.html").read_text()
    assert "<td>0 of 5</td><td>no verdicts</td>" in html


# -- elasticity -----------------------------------------------------------------------------------


def test_elasticity_leaves_out_trials_a_provider_error_cut_short(tmp_path):
    body = SUITE.format(model="sim/lazy?k=3", samples=2, end="10").replace('["direct"]', '["direct", "continue"]')
    run_dir = tmp_path / "run"
    longhaul.run(parse_suite(body), out=run_dir)
    trials = read_trials(run_dir)
    manifest = read_manifest(run_dir)
    results = aggregate(trials, manifest, run_dir, {})
    lazy = results.models[0]
    # lazy balks at 3 items under both strategies; "continue" finishes both of its trials
    assert (lazy.elasticity.count, lazy.elasticity.of) == (2, 2)

    # The second continue trial and the second direct trial now end in a provider error (as if
    # the follow-up request, and the direct one, had failed): neither says anything about the model.
    def failed(t):
        v = error_verdict(t.spec.task, "HTTP 500", items_expected=t.verdict.items_expected, expectation=t.verdict.expectation)
        return t.model_copy(update={"outcome": "error", "verdict": v})

    cut = [failed(t) if t.spec.sample == 1 else t for t in trials]
    results = aggregate(cut, manifest, run_dir, {})
    lazy = results.models[0]
    assert (lazy.elasticity.count, lazy.elasticity.of) == (1, 1)
    (e,) = results.elasticity
    assert (e.first_turn_wont_do, e.became_complete.count) == (1, 1)
    assert e.direct_wont_do is not None and (e.direct_wont_do.count, e.direct_wont_do.of) == (1, 1)
    assert (lazy.trials, lazy.verdicts, lazy.provider_errors) == (4, 2, 2)
    assert lazy.over_refusal.count == 1 and lazy.over_refusal.of == 2  # the direct won't-do, of the 2 verdicts
