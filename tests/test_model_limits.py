"""Model limits: the table (built-in and --model-limits), the check before a run and in --dry-run
(refuse or clamp), the effective max_tokens each trial records, and a provider's "max tokens too
large" 400, from the simulated model through the real SDKs."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from contextlib import aclosing
from pathlib import Path

import pytest

from longhaul.errors import BadInput
from longhaul.model_limits import find, read_table
from longhaul.providers import Providers
from longhaul.providers.base import status_error
from longhaul.providers.request import Message, Request
from longhaul.providers.retry import ModelUnavailable, OutputLimitExceeded, ProviderError
from longhaul.runner import arun, plan, run
from longhaul.sim.server import start
from longhaul.store import read_manifest

ROOT = Path(__file__).resolve().parent.parent

OPENAI_400 = "max_tokens is too large: 64000. This model supports at most 32768 completion tokens, whereas you provided 64000."
ANTHROPIC_400 = "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929"


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, cwd=cwd, env=env)


def suite_file(tmp_path: Path, models: list[str], max_tokens: int = 4000, extra: str = "", samples: int = 2) -> Path:
    path = tmp_path / "limits.toml"
    quoted = ", ".join(f'"{m}"' for m in models)
    path.write_text(
        f'name = "limits"\nmodels = [{quoted}]\nsamples = {samples}\nmax_tokens = {max_tokens}\n{extra}\n'
        '[[tasks]]\ntask = "count"\nend = 20\n',
        encoding="utf-8",
    )
    return path


# -- the classification -------------------------------------------------------------------------------


RESPONSES_400 = "Invalid 'max_output_tokens': integer above maximum value. Expected a value <= 100000, but got 128000 instead."


@pytest.mark.parametrize(
    ("message", "limit", "asked"), [(OPENAI_400, 32768, 64000), (ANTHROPIC_400, 64000, 64001), (RESPONSES_400, 100000, 128000)]
)
def test_max_tokens_too_large_is_bad_input_for_the_model_never_transient(message, limit, asked):
    err = status_error(400, message, None)
    assert isinstance(err, OutputLimitExceeded) and isinstance(err, ModelUnavailable)
    assert (err.limit, err.asked, err.status) == (limit, asked, 400)


def test_other_bad_requests_stay_plain_provider_errors():
    err = status_error(400, "messages: the last message must be the user's", None)
    assert type(err) is ProviderError


# -- the sim's own limit, through both SDKs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("via", "words"),
    [
        ("openai", "supports at most 100 completion tokens"),
        ("anthropic", "> 100, which is the maximum"),
        ("openai-responses", "Expected a value <= 100"),
    ],
)
def test_sim_answers_a_request_above_max_output_with_the_providers_400_once(tasks, via, words):
    async def go() -> None:
        sim = await start(tasks)
        env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": sim.root}
        try:
            async with Providers(env=env, tasks=tasks) as providers:
                provider = await providers.get(f"{via}/diligent?max_output=100")
                request = Request(messages=[Message(role="user", content="Count from 1 to 20.")], max_tokens=101)
                with pytest.raises(OutputLimitExceeded) as caught:
                    async with aclosing(provider.stream(request)) as events:
                        async for _ in events:
                            pass
                assert words in str(caught.value)
                assert (caught.value.limit, caught.value.asked) == (100, 101)
                assert sim.server.requests == 1  # never retried
                reason = provider.unavailable_reason()
                assert reason is not None and "output limit of 100 tokens" in reason and "max_tokens" in reason
                # At its limit, it answers.
                fine = Providers(env=env, tasks=tasks)
                async with fine:
                    ok = await fine.get(f"{via}/diligent?max_output=100")
                    async with aclosing(ok.stream(request.model_copy(update={"max_tokens": 100}))) as events:
                        async for _ in events:
                            pass
        finally:
            await sim.aclose()

    asyncio.run(go())


# -- the check before a run ------------------------------------------------------------------------------


def test_refused_before_the_run_in_one_line_and_no_folder(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent?max_output=1000", "sim/diligent"])
    done = cli("run", str(path), "--plain", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "model 'sim/diligent?max_output=1000': max_tokens 4000 is above its output limit of 1,000 tokens" in lines[0]
    assert 'over_model_limit = "clamp"' in lines[0] and str(path) in lines[0]
    assert not (tmp_path / "reports").exists()


def test_clamp_sends_and_records_each_models_own_limit(tmp_path, tasks):
    path = suite_file(tmp_path, ["sim/diligent?max_output=300", "sim/diligent"], extra='over_model_limit = "clamp"')
    result = run(path, out=tmp_path / "run")
    by_model = {t.spec.model: t for t in result.trials}
    # Had the sim been sent 4000, it would have refused (HTTP 400) and no trial of it would be stored.
    assert result.stored == 4 and not result.stops
    assert by_model["sim/diligent?max_output=300"].max_tokens == 300
    assert by_model["sim/diligent"].max_tokens == 4000
    assert {t.outcome for t in result.trials} == {"complete"}


def test_clamp_keeps_the_thinking_budget_below_the_limit(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent?max_output=1000"], extra='over_model_limit = "clamp"\nthinking_budget = 2000')
    with pytest.raises(BadInput, match=r"thinking_budget 2000 is not below the max_tokens it is sent \(1,000"):
        from longhaul.runner import check_limits

        check_limits(plan(path))


def test_a_400_mid_run_stops_that_models_cells_without_retries_while_others_finish(tmp_path, tasks):
    """A model with no known limit (an OpenAI-compatible server) refuses max_tokens at its first
    request: its trials stay missing for a resume, the stop names the model, the limit and the setting."""

    async def go() -> None:
        sim = await start(tasks)
        env = {"LOCAL_API_KEY": "k", "LOCAL_BASE_URL": sim.url}
        try:
            path = suite_file(tmp_path, ["openai-api/local/diligent?max_output=500", "sim/diligent"], samples=3)
            the_plan = plan(path, concurrency=1)
            assert the_plan.fits[0].limit is None  # no known limit: nothing to refuse before the run
            result = await arun(the_plan, out=tmp_path / "run", env=env)
        finally:
            await sim.aclose()
        assert sim.server.requests == 1  # one request, never retried; the model's other trials never sent
        assert [t.spec.model for t in result.trials] == ["sim/diligent"] * 3
        (stop,) = result.stops
        assert stop.model == "openai-api/local/diligent?max_output=500" and stop.not_sent == 3
        assert "output limit of 500 tokens" in stop.message and "max_tokens" in stop.message
        assert read_manifest(result.run_dir).stops == result.stops

    asyncio.run(go())


# -- the table ---------------------------------------------------------------------------------------------


def test_user_file_overrides_the_builtin_entry(tmp_path):
    path = suite_file(tmp_path, ["openai/gpt-4.1"], max_tokens=64000)
    builtin = plan(path).fits[0]
    assert builtin.limit is not None and builtin.limit.output == 32768 and builtin.problem is not None
    mine = tmp_path / "mine.toml"
    mine.write_text('["openai/gpt-4.1"]\noutput = 65536\nsource = "my own test"\nread = 2026-01-02\n', encoding="utf-8")
    fit = plan(path, model_limits=mine).fits[0]
    assert fit.problem is None and fit.sent == 64000
    assert fit.limit is not None and fit.limit.where == "my own test, read 2026-01-02"
    # openai-responses/<m> is the same model as openai/<m>; an Anthropic snapshot is its alias.
    table = read_table()
    assert find(table, "openai-responses/gpt-4.1") == builtin.limit
    assert find(table, "anthropic/claude-sonnet-4-5-20250929") == find(table, "anthropic/claude-sonnet-4-5") is not None


def test_a_bad_limits_file_is_one_line_naming_the_file_and_field(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent"])
    bad = tmp_path / "bad.toml"
    bad.write_text('["sim/diligent"]\noutput = "lots"\nsource = "x"\nread = 2026-01-02\n', encoding="utf-8")
    done = cli("run", str(path), "--dry-run", "--model-limits", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"--model-limits {bad}" in done.stderr and '["sim/diligent"].output' in done.stderr
    bad.write_text('["sim/diligent"]\noutput = 5\nsource = "x"\n', encoding="utf-8")
    done = cli("run", str(path), "--dry-run", "--model-limits", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and '["sim/diligent"].read' in done.stderr


def test_dry_run_says_each_models_limit_and_exits_2_when_refused(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent?max_output=1000&context=5000", "sim/lazy"])
    done = cli("run", str(path), "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert "sim/lazy: no known limit" in done.stdout
    assert "REFUSED: model 'sim/diligent?max_output=1000&context=5000'" in done.stdout
    assert "model-limit check: FAILED" in done.stdout
    clamped = suite_file(tmp_path, ["sim/diligent?max_output=1000&context=5000"], extra='over_model_limit = "clamp"')
    done = cli("run", str(clamped), "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "max_tokens 1,000 (clamped from 4,000); context 5,000" in done.stdout and "model-limit check: passed" in done.stdout


def test_context_window_is_checked(tmp_path):
    path = suite_file(tmp_path, ["sim/diligent?context=1000"], max_tokens=990)
    (fit,) = plan(path).fits
    assert fit.problem is not None and "exceed its context window of 1,000 tokens" in fit.problem


@pytest.mark.parametrize("suite", sorted(p.stem for p in (ROOT / "tasks").glob("*.toml")))
def test_every_builtin_suites_dry_run_passes_its_model_limit_check(suite):
    done = cli("run", suite, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "model-limit check: passed" in done.stdout


def test_dated_openai_snapshots_read_their_alias_entry(tmp_path):
    table = read_table()
    alias = find(table, "openai/gpt-4.1")
    assert alias is not None and alias.output == 32768
    assert find(table, "openai/gpt-4.1-2025-04-14") == alias
    assert find(table, "openai-responses/gpt-4.1-2025-04-14") == alias
    assert find(table, "openai/gpt-4.1-mini-2025-04-14") == find(table, "openai/gpt-4.1-mini") != alias
    assert find(table, "openai/gpt-4.1-2025-04") is None  # not a date: no guess
    # a snapshot with its own entry reads that: the first gpt-4o wrote at most 4,096 tokens
    first, later = find(table, "openai/gpt-4o-2024-05-13"), find(table, "openai/gpt-4o-2024-11-20")
    assert first is not None and later is not None and (first.output, later.output) == (4096, 16384)
    # the check refuses the snapshot as it refuses its alias, naming the snapshot
    (fit,) = plan(suite_file(tmp_path, ["openai/gpt-4.1-2025-04-14"], max_tokens=64000)).fits
    assert (
        fit.problem is not None and "model 'openai/gpt-4.1-2025-04-14': max_tokens 64000 is above its output limit of 32,768" in fit.problem
    )


@pytest.mark.parametrize(
    ("line", "field"),
    [("output = true", "output"), ('output = "50000"', "output"), ("output = 5.0", "output"), ("output = 5\ncontext = false", "context")],
)
def test_limits_are_whole_numbers_never_booleans_or_strings(tmp_path, line, field):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'["sim/diligent"]\n{line}\nsource = "x"\nread = 2026-01-02\n', encoding="utf-8")
    with pytest.raises(BadInput, match=rf'^--model-limits {bad}: \["sim/diligent"\]\.{field}: .*whole number') as err:
        read_table(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("line", "field"),
    [("cached_input = true", "cached_input"), ("cached_input = inf", "cached_input"), ("output = nan", "output"), ('input = "3"', "input")],
)
def test_prices_are_finite_numbers_never_booleans_or_strings(tmp_path, line, field):
    from longhaul.pricing import read_prices

    values = {"input": "1.0", "output": "2"} | dict([line.split(" = ")])
    bad = tmp_path / "prices.toml"
    bad.write_text('["sim/diligent"]\n' + "".join(f"{k} = {v}\n" for k, v in values.items()), encoding="utf-8")
    with pytest.raises(BadInput, match=rf"^--prices {bad}: \[sim/diligent\] {field}: ") as err:
        read_prices(bad)
    assert "\n" not in str(err.value)
    good = tmp_path / "good.toml"
    good.write_text('["sim/diligent"]\ninput = 1\noutput = 2.5\ncached_input = 0\n', encoding="utf-8")
    assert read_prices(good)["sim/diligent"].input == 1.0  # an integer is a number


@pytest.mark.parametrize("flag", ["--model-limits", "--prices"])
def test_a_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path, flag):
    path = suite_file(tmp_path, ["sim/diligent"])
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('# café\n["sim/diligent"]\n'.encode("latin-1"))
    done = cli("run", str(path), "--dry-run", flag, str(bad), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"longhaul: error: {flag} {bad}: not UTF-8 text (a TOML file is UTF-8)"


# -- a provider's 400 mid-run, and the resume that works -----------------------------------------------------


@pytest.fixture
def sim_url():
    server = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        yield server.stdout.readline().split(" at ")[1].split(" ")[0]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def max_tokens_by_model(run_dir: Path) -> dict[str, set[int | None]]:
    from longhaul.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return store.max_tokens_sent()
    finally:
        store.close()


def test_the_stop_after_a_400_names_the_resume_that_works_and_resumes_keep_its_limits(tmp_path, sim_url):
    local = "openai-api/local/diligent?max_output=500"
    env = {"LOCAL_API_KEY": "k", "LOCAL_BASE_URL": sim_url}
    path = suite_file(tmp_path, [local, "sim/diligent"], samples=3)
    run_dir = tmp_path / "run"
    done = cli("run", str(path), "--out", str(run_dir), "--plain", "--concurrency", "1", "--no-report", cwd=tmp_path, env=env)
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "max_tokens 4000 is above its output limit of 500 tokens" in line and "its 3 remaining trials were not sent" in line
    command = f"longhaul resume {run_dir} --model-limits FILE --over-model-limit clamp"
    assert line.endswith(f"and run: {command}") and f'["{local}"] with output = 500' in line
    assert "run stopped: 3/6 trials" in done.stdout and f"{local}'s 3 not sent" in done.stdout

    # The command it names, as it names it: the model's trials go out at 500, the others stay at 4000.
    limits = tmp_path / "lim.toml"
    limits.write_text(f'["{local}"]\noutput = 500\nsource = "the provider\'s 400"\nread = 2026-01-02\n', encoding="utf-8")
    done = cli(*command.removeprefix("longhaul ").replace("FILE", str(limits)).split(), "--plain", "--no-report", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert max_tokens_by_model(run_dir) == {local: {500}, "sim/diligent": {4000}}
    manifest = read_manifest(run_dir)
    assert list(manifest.model_limits) == [local] and manifest.suite.over_model_limit == "clamp"

    # A plain resume applies the recorded entries again: the re-run trial is sent 500, not the suite's 4000.
    db = sqlite3.connect(run_dir / "trials.sqlite")
    db.execute("DELETE FROM trials WHERE model = ?", (local,))
    db.commit()
    db.close()
    done = cli("resume", str(run_dir), "--plain", "--no-report", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert max_tokens_by_model(run_dir) == {local: {500}, "sim/diligent": {4000}}

    # A changed entry would pool two budgets in one cell: refused, naming the model and both figures.
    limits.write_text(limits.read_text(encoding="utf-8").replace("output = 500", "output = 400"), encoding="utf-8")
    db = sqlite3.connect(run_dir / "trials.sqlite")
    db.execute("DELETE FROM trials WHERE rowid = (SELECT max(rowid) FROM trials WHERE model = ?)", (local,))
    db.commit()
    db.close()
    done = cli("resume", str(run_dir), "--model-limits", str(limits), cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"longhaul: error: --resume {run_dir}: model {local!r}: its trials (stored, or in a batch still pending) were sent max_tokens 500, this resume would send 400"
        " (clamped to its output limit, the provider's 400, read 2026-01-02); budget verdicts at two budgets would be pooled in one cell;"
        " start a new run"
    )


def test_results_json_lists_each_cells_budgets_as_the_report_does(tmp_path, tasks):
    """A run resumed at another budget before resume refused it: results.json's cells say both."""
    from longhaul.report.results import compute

    result = run(suite_file(tmp_path, ["sim/diligent"], samples=2), out=tmp_path / "run")
    db = sqlite3.connect(result.run_dir / "trials.sqlite")
    db.execute("UPDATE trials SET record = json_set(record, '$.max_tokens', 1200) WHERE rowid = (SELECT min(rowid) FROM trials)")
    db.commit()
    db.close()
    results = compute(result.run_dir)
    (model,) = results.models
    (cell,) = results.cells
    assert model.max_tokens == cell.max_tokens_sent == [1200, 4000]


def test_a_resume_may_change_over_model_limit_its_budgets_are_checked_instead():
    from longhaul.suite import Suite, differences

    suite = Suite(name="s", models=["sim/diligent"], tasks=[{"task": "count", "end": 20}])
    assert differences(suite, suite.model_copy(update={"over_model_limit": "clamp"})) == []
    assert differences(suite, suite.model_copy(update={"max_tokens": 300})) == [f"max_tokens: {suite.max_tokens} -> 300"]


def test_dry_run_warns_where_a_growing_conversation_may_overflow_the_context(tmp_path):
    # 1,000 output tokens a turn in a 5,000-token window: the prompt and four answers fit, the fifth may not.
    path = suite_file(tmp_path, ["sim/diligent?context=5000"], max_tokens=1000, extra='strategies = ["continue"]\nmax_turns = 8')
    (fit,) = plan(path).fits
    assert fit.problem is None and fit.prompt is not None and fit.overflow_after == (5000 - fit.prompt) // 1000 == 4
    done = cli("run", str(path), "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a warning, not a refusal
    assert "may overflow the context after turn 4 (the check is of the first prompt only)" in done.stdout
    direct = suite_file(tmp_path, ["sim/diligent?context=5000"], max_tokens=1000, extra='strategies = ["direct"]\nmax_turns = 8')
    assert plan(direct).fits[0].overflow_after is None  # one turn: the first prompt is the whole request


def test_an_anthropic_thinking_budget_below_1024_is_refused_before_the_run(tmp_path):
    # Decided first: Anthropic refuses budget_tokens below 1,024 on every request, so the run would
    # end every trial as `error`: refused in one line (dry run: REFUSED, exit 2), any anthropic/
    # address, known to the table or not; another provider's model with the same budget is fine.
    path = suite_file(tmp_path, ["anthropic/claude-sonnet-4-5", "anthropic/some-new-model", "sim/diligent"], extra="thinking_budget = 200")
    r = cli("run", str(path), "--dry-run")
    assert r.returncode == 2
    refused = [line for line in r.stdout.splitlines() if line.strip().startswith("REFUSED:")]
    assert len(refused) == 2 and all("thinking_budget 200 is below the 1,024 tokens" in line for line in refused)
    assert "\n" not in r.stderr.strip() and "thinking_budget" in r.stderr
    ok = suite_file(tmp_path, ["anthropic/claude-sonnet-4-5", "sim/diligent"], extra="thinking_budget = 1024")
    assert cli("run", str(ok), "--dry-run").returncode == 0
