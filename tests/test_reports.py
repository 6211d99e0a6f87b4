"""Reports and comparisons of runs made against sim profiles."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import longhaul
from longhaul.dryrun import Price
from longhaul.report import write_report
from longhaul.report.compare import compare, render
from longhaul.report.results import compute
from longhaul.report.stats import wilson
from longhaul.store import read_trials
from longhaul.suite import parse_suite

FIXTURES = Path(__file__).parent / "fixtures"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env=env)


def run(tmp_path: Path, name: str, body: str, **kw) -> Path:
    out = tmp_path / name
    longhaul.run(parse_suite(body), out=out, **kw)
    return out


MIXED = """
name = "mixed"
models = ["sim/diligent", "sim/lazy?k=8", "sim/drifter?at=12", "sim/hedger"]
strategies = ["direct", "continue", "nudge"]
samples = 3
max_tokens = 3000

[[tasks]]
task = "count"
end = [10, 40]

[[tasks]]
task = "sha256_digests"
end = 5
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    run_dir = run(tmp, "run", MIXED)
    write_report(run_dir)
    return run_dir


def test_results_json_matches_counts_taken_from_the_store(mixed):
    results = json.loads((mixed / "results.json").read_text())
    db = sqlite3.connect(mixed / "trials.sqlite")
    assert results["trials"] == db.execute("SELECT count(*) FROM trials").fetchone()[0] == 4 * 3 * 3 * 3
    for cell in results["cells"]:
        counts = dict(
            db.execute(
                "SELECT outcome, count(*) FROM trials WHERE model=? AND task=? AND size=? AND strategy=? GROUP BY outcome",
                (cell["model"], cell["task"], cell["size"], cell["strategy"]),
            ).fetchall()
        )
        assert cell["trials"] == sum(counts.values())
        for outcome, share in cell["outcomes"].items():
            assert share["count"] == counts.get(outcome, 0)
            if share["of"]:
                assert share["low"] <= share["share"] <= share["high"]
    totals = dict(db.execute("SELECT outcome, count(*) FROM trials GROUP BY outcome").fetchall())
    assert {k: v for k, v in results["outcomes"].items() if v} == totals


def test_elasticity_and_joint_rates(mixed):
    results = json.loads((mixed / "results.json").read_text())
    models = {m["model"]: m for m in results["models"]}
    lazy = models["sim/lazy?k=8"]
    # count (end 10 and 40) balks at 8 items for every sample; continue and nudge both finish it.
    assert lazy["elasticity"]["of"] == lazy["elasticity"]["count"] == 2 * 2 * 3 and lazy["median_turns_to_complete"] >= 2
    assert models["sim/drifter?at=12"]["cant_do_rate"]["count"] > 0
    # the hedger declines the digests it should decline: no over-refusal counted for them
    hedger = models["sim/hedger"]
    assert hedger["over_refusal"]["count"] == 0 and hedger["overconfidence"]["count"] == 0
    # diligent computes digests it should have declined: that is not overconfidence (they are right)
    elastic = [e for e in results["elasticity"] if e["model"] == "sim/lazy?k=8" and e["size"] == 40]
    assert {e["strategy"] for e in elastic} == {"continue", "nudge"}
    assert all(e["direct_wont_do"]["share"] == 1.0 for e in elastic)


def test_html_is_self_contained_and_labels_simulations(mixed):
    html = (mixed / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and not re.search(r"url\((?!#)", html)  # only references inside the page
    # count has two sizes: four figures (the first-error one as there are errors); the digests have one size: none, and it says so
    assert html.count("<svg") == 4
    digests = html[html.index("<h2 id='task-sha256_digests'>") : html.index("<h2 id=trials>")]
    assert "<svg" not in digests and "One size (end 5): see the table." in digests
    assert "(simulated)" in html and "never a real model" in html
    md = (mixed / "summary.md").read_text()
    assert "(simulated)" in md and "Refusal elasticity" in md


def test_results_streamed_from_the_store_are_those_of_the_trials_held_at_once(mixed):
    """The aggregates made trial by trial as the store streams them (`Aggregator`) against the same
    numbers computed the way the report did when it held every trial: medians, costs (summed in
    the order the trials were stored), elasticity and the per-model rates."""
    prices = {"sim/diligent": Price(input=1.5, output=7.0), "sim/lazy?k=8": Price(input=0.3, output=1.1)}
    results = compute(mixed, prices)
    trials = read_trials(mixed)

    def median(values):
        values = [v for v in values if v is not None]
        return float(statistics.median(values)) if values else None

    def cost(t, price):
        return (t.input_tokens * price.input + t.output_tokens * price.output) / 1e6

    by_cell = defaultdict(list)
    for t in trials:
        by_cell[(t.spec.model, t.spec.task, t.spec.size, t.spec.strategy)].append(t)
    assert [(c.model, c.task, c.size, c.strategy) for c in results.cells] == sorted(by_cell)
    for c in results.cells:
        group = by_cell[(c.model, c.task, c.size, c.strategy)]
        judged = [t for t in group if t.outcome != "error"]
        price = prices.get(c.model)
        assert (c.params, c.expectation, c.items_expected) == (
            group[0].spec.params,
            group[0].verdict.expectation,
            group[0].verdict.items_expected,
        )
        assert c.median_items_correct == median(t.verdict.items_correct for t in judged)
        assert c.median_first_error == median(t.verdict.first_error.index for t in judged if t.verdict.first_error)
        assert c.median_input_tokens == median(t.input_tokens for t in judged)
        assert c.median_output_tokens == median(t.output_tokens for t in judged)
        assert c.median_turns == median(len(t.turns) for t in judged)
        assert c.median_seconds == median(t.seconds for t in judged)
        assert c.retries == sum(t.retries for t in group)
        assert c.cost_usd == (None if price is None else sum(cost(t, price) for t in group))
    balked = {k: [t for t in g if t.outcome != "error" and t.turns[0].verdict.outcome == "wont_do"] for k, g in by_cell.items()}
    assert results.follow_up_strategies == ["continue", "nudge"]
    for e in results.elasticity:
        mine = balked[(e.model, e.task, e.size, e.strategy)]
        direct = [t for t in by_cell[(e.model, e.task, e.size, "direct")] if t.outcome != "error"]
        assert e.first_turn_wont_do == len(mine) and e.became_complete.count == sum(t.outcome == "complete" for t in mine)
        assert e.median_turns_to_complete == median(len(t.turns) for t in mine if t.outcome == "complete")
        assert e.direct_wont_do is not None and e.direct_wont_do.count == sum(t.outcome == "wont_do" for t in direct)
    for m in results.models:
        mine = [t for t in trials if t.spec.model == m.model]
        judged = [t for t in mine if t.outcome != "error"]
        followed = [t for k, ts in balked.items() if k[0] == m.model and k[3] in ("continue", "nudge") for t in ts]
        yielded = [t for t in followed if t.outcome == "complete"]
        assert (m.elasticity.count, m.elasticity.of) == (len(yielded), len(followed))
        assert m.median_turns_to_complete == median(len(t.turns) for t in yielded)
        answerable = [t for t in judged if t.verdict.expectation == "should_answer"]
        assert (m.over_refusal.count, m.over_refusal.of) == (sum(t.outcome == "wont_do" for t in answerable), len(answerable))
        assert m.cant_do_rate.count == sum(t.outcome == "cant_do" for t in judged)
        over = [
            t
            for t in judged
            if (t.outcome == "cant_do" and t.verdict.expectation == "should_abstain")
            or (t.verdict.claims_complete and t.outcome != "complete")
        ]
        assert m.overconfidence.count == len(over)
        price = prices.get(m.model)
        assert m.cost_usd == (None if price is None else sum(cost(t, price) or 0 for t in mine))


def test_a_one_size_report_has_no_figure_says_why_and_never_loads_matplotlib(tmp_path):
    body = 'name = "one"\nmodels = ["sim/diligent", "sim/drifter?at=12"]\nsamples = 2\n[[tasks]]\ntask = "count"\nend = 40\n'
    run_dir = run(tmp_path, "run", body)
    write_report(run_dir)  # counts the reference answer once: the cache has it for the process below
    code = (
        "import sys; from pathlib import Path; from longhaul.report import write_report; from longhaul import tokens; "
        f"write_report(Path({str(run_dir)!r}), Path({str(tmp_path / 'again')!r})); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'PIL'}), tokens.encoding.cache_info().currsize)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["[]", "0"]  # no matplotlib, no vocabulary loaded
    html = (tmp_path / "again" / "report.html").read_text()
    assert "<svg" not in html and "One size (end 40): see the table." in html
    # the table gives what the figures would: each outcome's count and share with its interval
    assert re.search(r"<span class=o-complete>2 · 100% <span class=ci>\[\d+%–100%\]</span></span>", html)
    assert re.search(r"<span class=o-cant_do>2 · 100% <span class=ci>\[\d+%–100%\]</span></span>", html)
    assert json.loads((tmp_path / "again" / "results.json").read_text())["cells"][0]["needed_tokens"] > 0


def test_model_output_is_escaped_in_the_html(tmp_path):
    body = 'name = "x"\nmodels = ["sim/lazy?k=3"]\nstrategies = ["direct"]\n[[tasks]]\ntask = "shout"\nend = 9\n'
    run_dir = run(tmp_path, "run", body, tasks_dir=FIXTURES / "shout")
    write_report(run_dir)  # the run's manifest says where its tasks are
    html = (run_dir / "report.html").read_text()
    assert "alert(1)" in html  # the answer is shown ...
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # ... as text


def test_schema_prints_the_results_model():
    r = cli("schema", "results")
    schema = json.loads(r.stdout)
    assert r.returncode == 0 and {"cells", "models", "elasticity", "outcomes"} <= set(schema["properties"])


@pytest.mark.slow
def test_every_run_writes_its_report(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('models = ["sim/diligent"]\n[[tasks]]\ntask = "count"\nend = 5\n')
    r = cli("run", str(suite), "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    assert {"report.html", "summary.md", "results.json"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert "report.html" in r.stdout


def test_wilson_intervals():
    low, high = wilson(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-3)
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 0) is None


# -- compare ---------------------------------------------------------------------------------------

CMP = """
name = "cmp"
models = ["{model}"]
strategies = ["direct"]
samples = {samples}
seed = {seed}

[[tasks]]
task = "hanoi"
disks = [3, 6]

[[tasks]]
task = "count"
end = 60
"""


@pytest.fixture(scope="module")
def cmp_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    good = run(tmp, "good", CMP.format(model="sim/diligent", samples=15, seed=0))
    bad = run(tmp, "bad", CMP.format(model="sim/drifter?at=40", samples=15, seed=0))
    again = run(tmp, "again", CMP.format(model="sim/drifter?at=40", samples=15, seed=1000))
    small = run(tmp, "small", CMP.format(model="sim/drifter?at=40", samples=3, seed=0))
    return good, bad, again, small


@pytest.mark.slow
def test_drifter_against_diligent_is_flagged_and_fails_the_job(cmp_runs):
    good, bad, _, _ = cmp_runs
    c = compare([good, bad])
    flagged = {(x.task, x.size) for x in c.regressions}
    assert ("count", 60) in flagged and ("hanoi", 6) in flagged and ("hanoi", 3) not in flagged
    r = cli("compare", str(good), str(bad), "--fail-on-regression")
    assert r.returncode == 1 and "REGRESSION" in r.stdout
    assert cli("compare", str(good), str(bad)).returncode == 0  # without the flag it only reports


@pytest.mark.slow
def test_two_seeds_of_one_profile_are_not_a_regression(cmp_runs):
    _, bad, again, _ = cmp_runs
    c = compare([bad, again])
    assert c.pairs[0].cells and not c.regressions
    assert cli("compare", str(bad), str(again), "--fail-on-regression").returncode == 0


def test_small_cells_say_too_few_trials(cmp_runs):
    good, _, _, small = cmp_runs
    c = compare([good, small])
    assert {x.flag for x in c.pairs[0].cells} == {"too_few_trials"} and not c.regressions


def test_runs_of_different_suites_compare_on_shared_cells_and_say_which_not(cmp_runs, tmp_path):
    good, _, _, _ = cmp_runs
    other = run(tmp_path, "other", 'models = ["sim/diligent"]\nsamples = 5\n[[tasks]]\ntask = "count"\nend = [60, 70]\n')
    c = compare([good, other])
    p = c.pairs[0]
    assert [(x.task, x.size) for x in p.cells] == [("count", 60)]
    assert any("hanoi" in x for x in p.only_before) and any("size=70" in x for x in p.only_after)
    md = render(c, "md")
    assert "only in" in md and "side by side" in md
    html = render(c, "html")
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert json.loads(render(c, "json"))["pairs"][0]["only_after"]


def test_one_run_with_several_models_is_one_table_with_models_as_columns(mixed):
    c = compare([mixed])
    md = render(c, "md")
    header = next(line for line in md.splitlines() if line.startswith("| task size strategy"))
    for model in ("sim/diligent", "sim/lazy?k=8", "sim/drifter?at=12", "sim/hedger"):
        assert model in header


def test_wilson_agrees_with_scipy():
    from scipy.stats import binomtest

    for k, n in [(0, 1), (1, 1), (3, 7), (12, 40), (99, 100), (250, 1000)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_the_intervals_z_is_scipys_without_scipy():
    from scipy.stats import norm

    from longhaul import interval

    z = interval._Z
    assert z == pytest.approx(float(norm.ppf(1 - (1 - interval.CONFIDENCE) / 2)), rel=1e-15)


def test_the_example_nightly_workflow_uses_commands_that_exist():
    import shlex

    from longhaul.cli import build_parser

    workflow = (Path(__file__).parent.parent / "examples" / "nightly.yml").read_text()
    # Each line that starts a `longhaul` command, as the shell passes it: the workflow's variables
    # filled in, up to a redirection or `||`.
    shell = {'"$SUITE"': "nightly", '"${prices[@]}"': "--prices prices.toml"}
    commands = []
    for line in workflow.splitlines():
        command = line.strip().removeprefix("run:").strip()
        if command.startswith("longhaul "):
            for var, value in shell.items():
                command = command.replace(var, value)
            commands.append(re.split(r"\s(?:>|\|\|)\s", command)[0])
    assert len(commands) >= 5
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit as exc:  # 2 on anything it does not know; 0 for --version
            assert exc.code == 0, command
    assert "--fail-on-regression" in workflow and "secrets.OPENAI_API_KEY" in workflow


def test_a_price_file_whose_keys_match_no_model_says_so_in_the_report_and_on_stderr(tmp_path):
    # The sim served on its own, reached as OpenAI: the address keeps its query string, and a key without it prices nothing.
    model = "openai/lazy?k=50&cache_min=256"
    sim = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().split(" at ")[1].split(" ")[0]
        suite = tmp_path / "s.toml"
        suite.write_text(
            f'name = "p"\nmodels = ["{model}"]\nstrategies = ["direct"]\nmax_tokens = 2000\n\n[[tasks]]\ntask = "count"\nend = 20\n'
        )
        env = {**os.environ, "OPENAI_API_KEY": "any", "OPENAI_BASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--out", str(tmp_path / "run"), "--plain"],
            env=env,
            capture_output=True,
        )
        assert done.returncode == 0
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/lazy"]\ninput = 2.0\noutput = 8.0\n')
    said = f"no price given for: {model} (a price key is the exact model address, query string included"
    r = cli("report", str(tmp_path / "run"), "--prices", str(prices))
    assert r.returncode == 0 and said in r.stderr and len(r.stderr.splitlines()) == 1
    assert said in (tmp_path / "run" / "report.html").read_text().replace("&amp;", "&")
    dry = cli("run", str(suite), "--dry-run", "--prices", str(prices)).stdout
    assert said in dry and "cost ceiling for the priced models" not in dry  # the dry run says the same; no ceiling of 0.00 USD
    prices.write_text(f'["{model}"]\ninput = 2.0\noutput = 8.0\n')
    r = cli("report", str(tmp_path / "run"), "--prices", str(prices))
    assert r.stderr == "" and "no price given" not in (tmp_path / "run" / "report.html").read_text()
