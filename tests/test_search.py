"""Adaptive sweeps (`[tasks.search]`): the collapse found, sizes above a failure never run, the
token budget respected, resume mid-search, bad search tables."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from longhaul.catalog import Catalog
from longhaul.display.protocol import NullDisplay
from longhaul.errors import BadInput
from longhaul.report.results import compute
from longhaul.runner import plan, resume_plan, run
from longhaul.search import Search, SearchSpec
from longhaul.store import read_index
from longhaul.trial import TrialRecord

SUITE = """
name = "search"
models = ["{model}"]
max_tokens = {max_tokens}

[[tasks]]
task = "hanoi"
[tasks.search]
param = "disks"
low = 3
high = 20
"""


def suite(tmp_path: Path, model: str = "sim/drifter?at=60", max_tokens: int = 16000) -> Path:
    path = tmp_path / "search.toml"
    path.write_text(SUITE.format(model=model, max_tokens=max_tokens))
    return path


def disks_run(run_dir: Path) -> Counter[int]:
    """Trials stored per disk count (hanoi's size is its disks)."""
    return Counter(size for _, _, _, size, _, _ in read_index(run_dir))


def test_search_finds_the_collapse_of_a_drifter_and_runs_nothing_above_the_first_failure(tmp_path):
    # Decided before running: the drifter completes n items with chance exp(-(n/60)^2); hanoi has
    # 2^d - 1 moves, so 5 disks (31 moves) complete 77% of the time and 6 disks (63 moves) 33%:
    # the collapse is at 5 disks, the first failure at 6, and its misses are wrong moves.
    result = run(suite(tmp_path), out=tmp_path / "run")
    [found] = compute(result.run_dir).searches or []
    assert (found.status, found.collapse, found.first_failure, found.collapse_kind) == ("collapse", 5, 6, "cant_do")
    tried = disks_run(result.run_dir)
    assert max(tried) == 6, tried  # nothing above the failed size
    assert sorted(tried) == [s.value for s in found.sizes]
    assert found.trials == result.stored == sum(tried.values())
    assert all(sum(s.outcomes.values()) == s.trials for s in found.sizes)  # the outcome mix of every size tried
    assert not result.interrupted


def _walk_to_the_end(search: Search, complete_up_to: int) -> tuple[list[int], Search]:
    """Run a search against a model that completes every size up to `complete_up_to` and nothing
    above it, answering each round at once; the values of every trial asked for, in order."""
    outcomes: dict[str, str] = {}
    asked: list[int] = []
    while True:
        todo, _ = search.walk(outcomes.get)  # type: ignore[arg-type]
        if not todo:
            return asked, search
        for spec in todo:
            value = spec.params["disks"]
            asked.append(value)
            outcomes[spec.key] = "complete" if value <= complete_up_to else "cant_do"


@pytest.mark.parametrize("collapse", [3, 4, 7, 9, 13])
def test_no_size_above_a_confident_failure_is_ever_asked_for(collapse):
    hanoi = Catalog().tasks["hanoi"]
    spec = SearchSpec(param="disks", low=3, high=14, samples=4, max_samples=12)
    search = Search("sim/diligent", "direct", hanoi, {}, spec, 0, 1_000_000)
    asked, _ = _walk_to_the_end(search, collapse)
    failed: set[int] = set()
    for value in asked:
        assert not any(value > f for f in failed), (value, failed, asked)
        if value > collapse:
            failed.add(value)  # 4 of 4 wrong: an interval below 0.5, a confident failure
    result = search.walk({search.trial(v, s).key: "complete" if v <= collapse else "cant_do" for v in asked for s in range(12)}.get)[1]  # type: ignore[arg-type]
    assert (result.collapse, result.first_failure) == (collapse, collapse + 1 if collapse < 14 else None)
    assert len(asked) == 4 * len(set(asked)) < 4 * (14 - 3 + 1)  # 4 a size (all agree: none added), fewer than a sweep's


def test_sizes_whose_answer_does_not_fit_max_tokens_are_beyond_budget_and_never_run(tmp_path):
    # 3000 tokens: hanoi's complete answer fits up to some disks d and not d + 1 (counted offline).
    hanoi = Catalog().tasks["hanoi"]
    from longhaul.tokens import needed_tokens

    fits = [d for d in range(3, 21) if needed_tokens(hanoi, hanoi.params({"disks": d}), "sim/diligent") <= 3000]
    assert fits and max(fits) < 20
    result = run(suite(tmp_path, "sim/diligent", max_tokens=3000), out=tmp_path / "run")
    [found] = compute(result.run_dir).searches or []
    assert found.status == "holds_to_high"
    assert found.collapse == max(fits)
    assert found.beyond_budget == list(range(max(fits) + 1, 21))
    assert max(disks_run(result.run_dir)) == max(fits)  # not one trial beyond the budget


class _StopAfter(NullDisplay):
    """A display whose Ctrl-C comes after `n` finished trials."""

    def __init__(self, n: int) -> None:
        self.left = n

    def trial_finished(self, record: TrialRecord) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_resume_mid_search_finishes_with_the_same_answer_and_repeats_no_trial(tmp_path):
    whole = run(suite(tmp_path), out=tmp_path / "whole")
    expected = compute(whole.run_dir).searches
    with pytest.raises(KeyboardInterrupt):
        run(suite(tmp_path), out=tmp_path / "cut", display=_StopAfter(6))  # mid-search: the first rounds are 4 trials each
    cut = tmp_path / "cut"
    partial = compute(cut).searches or []
    assert 0 < sum(disks_run(cut).values()) < whole.stored
    assert partial[0].status == "in_progress"
    import asyncio

    from longhaul.runner import arun

    resumed = asyncio.run(arun(resume_plan(cut), resume=cut))
    keys = [key for key, *_ in read_index(cut)]
    assert len(keys) == len(set(keys)) == whole.stored  # nothing run twice, nothing more than an uninterrupted run
    assert set(keys) == {key for key, *_ in read_index(whole.run_dir)}
    got = compute(cut).searches
    assert [r.model_dump() for r in got or []] == [r.model_dump() for r in expected or []]
    assert not resumed.interrupted


def test_the_report_says_where_the_search_found_the_collapse(tmp_path):
    from longhaul.report import write_report

    result = run(suite(tmp_path), out=tmp_path / "run")
    write_report(result.run_dir, tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert data["searches"][0]["collapse"] == 5
    md = (tmp_path / "rep" / "summary.md").read_text()
    assert "up to disks = 5, below it at disks = 6, mostly can't-do" in md
    assert "disks = 6: 0/" in md
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Adaptive searches" in page
    assert f"{data['trials']} trials (1 search, planned round by round)" in page and " of 0 trials" not in page + md


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('disks = 5\n[tasks.search]\nparam = "disks"\nlow = 3\nhigh = 9', "disks is searched"),
        ('[tasks.search]\nparam = "disks"\nlow = 9\nhigh = 3', "high (3) is below low (9)"),
        ('[tasks.search]\nparam = "disks"\nlow = 3\nhigh = 30', "disks"),
        ('[tasks.search]\nparam = "pegs"\nlow = 3\nhigh = 9', "pegs"),
        ('[tasks.search]\nparam = "disks"\nlow = 3\nhigh = 9\nsamples = 8\nmax_samples = 4', "max_samples (4) is below samples (8)"),
    ],
)
def test_a_bad_search_table_is_one_line_naming_the_field(tmp_path, table, expected):
    path = tmp_path / "bad.toml"
    path.write_text(f'models = ["sim/diligent"]\n[[tasks]]\ntask = "hanoi"\n{table}\n')
    with pytest.raises(BadInput) as err:
        plan(path)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_search_cannot_be_sharded(tmp_path):
    from longhaul.shard import parse_shard

    with pytest.raises(BadInput, match="cannot be sharded"):
        plan(suite(tmp_path), shard=parse_shard("1/2"))


def test_the_builtin_illusion_search_suite_plans_one_search_per_model_strategy_and_task():
    p = plan("illusion-search")
    assert not p.trials and len(p.searches) == 2 * 2 * 4  # the four puzzles, river crossing included
    assert {s.spec.param for s in p.searches} == {"disks", "checkers", "pairs", "blocks"}
    river = [s for s in p.searches if s.task.name == "river_crossing"]
    assert all(s.fits() == (20, []) and all(s.task.solvable(s.task_params(v)) for v in range(2, 21)) for s in river)


def test_a_search_suites_dry_run_bounds_its_trials_and_cost(tmp_path):
    # Decided before running: disks 3-5 all fit 16,000 tokens (5 disks: 31 moves), so the bound is
    # 3 values x 12 (max_samples) = 36 trials; one direct turn each, at 1 USD per million output
    # tokens and nothing for input, each trial at most 16,000 x 1e-6 = 0.016 USD: 0.576 USD in all.
    from longhaul.dryrun import dry_run

    path = tmp_path / "search.toml"
    path.write_text(SUITE.format(model="sim/diligent", max_tokens=16000).replace("high = 20", "high = 5"))
    prices = tmp_path / "prices.toml"
    prices.write_text('["sim/diligent"]\ninput = 0\noutput = 1\n')
    text = dry_run(plan(path), prices)
    assert "1 search (at most 36 trials in all)" in text, text
    assert "| sim/diligent | direct | hanoi | disks | 3-5 | none | 36 | 0.5760 |" in text, text
    assert "cost ceiling for the priced models: 0.58 USD (an upper bound" in text, text


def test_a_search_dry_run_lists_the_values_beyond_budget_and_leaves_them_out_of_the_bound(tmp_path):
    hanoi = Catalog().tasks["hanoi"]
    from longhaul.dryrun import dry_run
    from longhaul.tokens import needed_tokens

    fits = [d for d in range(3, 21) if needed_tokens(hanoi, hanoi.params({"disks": d}), "sim/diligent") <= 3000]
    text = dry_run(plan(suite(tmp_path, "sim/diligent", max_tokens=3000)))
    row = f"| sim/diligent | direct | hanoi | disks | 3-{max(fits)} | {max(fits) + 1}-20 | {len(fits) * 12} | 0 (simulated) |"
    assert row in text, text


def test_a_search_runs_printed_lines_say_searches_not_a_wrong_total(tmp_path):
    import io

    from longhaul.display.plain import PlainDisplay

    out = io.StringIO()
    result = run(suite(tmp_path), out=tmp_path / "run", display=PlainDisplay(out))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("suite search, 0 trials and 1 search (simulated models: not measurements of real ones)"), lines[0]
    assert lines[1].startswith("[1] sim/drifter?at=60 hanoi"), lines[1]
    assert not any("/0" in line for line in lines), lines
    assert lines[-1].startswith(f"run finished: {result.stored} trials (searches) stored in"), lines[-1]
