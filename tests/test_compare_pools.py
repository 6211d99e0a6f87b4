"""The gate's statistics: the exact stratified test, Tarone's count, and how `compare` pools a
model's sizes, names what moved and counts what it could test (docs/compare.md)."""

from __future__ import annotations

import json
import math
import tomllib
from fractions import Fraction
from itertools import product
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longhaul.report.compare import CellChange, Comparison, PoolChange, pair, render
from longhaul.report.results import CellResult, Results, Share
from longhaul.report.stats import ALPHA, smallest_p, stratified_worse_p, tarone_count, worse_p
from longhaul.verdict import VERDICTS

ROOT = Path(__file__).resolve().parent.parent


# -- the exact stratified test -----------------------------------------------------------------------


def brute_force_p(strata: list[tuple[int, int, int, int]]) -> Fraction:
    """P(sum of the successes before >= observed) under "no change", by enumerating every way the
    strata could fall given their margins: exact rationals, no scipy."""
    supports = []
    for kb, nb, ka, na in strata:
        k, n = kb + ka, nb + na
        total = math.comb(n, nb)
        supports.append([(x, Fraction(math.comb(k, x) * math.comb(n - k, nb - x), total)) for x in range(max(0, k - na), min(k, nb) + 1)])
    observed = sum(s[0] for s in strata)
    return sum((math.prod(p for _, p in combo) for combo in product(*supports) if sum(x for x, _ in combo) >= observed), Fraction(0))


stratum = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda n: st.tuples(st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1]))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(stratum, min_size=1, max_size=4))
def test_the_stratified_test_is_the_exact_conditional_test(strata):
    assert stratified_worse_p(strata) == pytest.approx(float(brute_force_p(strata)), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(stratum)
def test_one_stratum_is_fishers_exact_test(s):
    assert stratified_worse_p([s]) == pytest.approx(worse_p(*s), rel=1e-9, abs=1e-12)


def test_strata_without_trials_on_a_side_say_nothing():
    assert stratified_worse_p([(5, 5, 0, 5), (3, 3, 0, 0), (0, 0, 4, 4)]) == pytest.approx(1 / 252)
    assert stratified_worse_p([]) == 1.0


def test_it_agrees_with_the_cochran_mantel_haenszel_statistic_when_counts_are_large():
    """Large strata: the exact p is near the one-sided CMH normal approximation (with the
    continuity correction), which is what the exact test replaces at a nightly's small counts."""
    from scipy.stats import norm

    strata = [(80, 100, 65, 100), (70, 100, 60, 100), (90, 120, 75, 110)]
    expected = sum((kb + ka) * nb / (nb + na) for kb, nb, ka, na in strata)
    variance = sum((kb + ka) * (nb + na - kb - ka) * nb * na / ((nb + na) ** 2 * (nb + na - 1)) for kb, nb, ka, na in strata)
    z = (sum(s[0] for s in strata) - expected - 0.5) / math.sqrt(variance)
    assert stratified_worse_p(strata) == pytest.approx(float(norm.sf(z)), rel=0.1)


@settings(max_examples=100, deadline=None)
@given(st.lists(stratum, min_size=1, max_size=4))
def test_smallest_p_is_the_smallest_the_margins_allow(strata):
    """Every table with the same margins gives a p at least `smallest_p`, and one gives it."""
    floor = smallest_p(strata)
    ps = []
    for xs in product(*[range(max(0, kb + ka - na), min(kb + ka, nb) + 1) for kb, nb, ka, na in strata]):
        ps.append(stratified_worse_p([(x, nb, kb + ka - x, na) for x, (kb, nb, ka, na) in zip(xs, strata)]))
    assert min(ps) == pytest.approx(floor, rel=1e-9)


def test_smallest_p_is_one_when_nothing_can_move():
    assert smallest_p([(5, 5, 5, 5), (0, 5, 0, 5)]) == 1.0
    assert smallest_p([(5, 5, 0, 5)]) == pytest.approx(1 / 252)


def test_tarone_counts_only_the_tests_that_could_reach_the_level():
    assert tarone_count([]) == 1
    assert tarone_count([1.0] * 50) == 1  # nothing could move anywhere: nothing is counted
    assert tarone_count([1e-6] * 3 + [0.05] * 100) == 3  # the 100 can never go below 0.05 / 3
    assert tarone_count([1e-6] * 30) == 30
    # The count m is the smallest with at most m tests able to go below alpha / m.
    floors = [1e-6] * 5 + [0.004] * 10
    m = tarone_count(floors)
    assert sum(f < ALPHA / m for f in floors) <= m and sum(f < ALPHA / (m - 1) for f in floors) > m - 1


# -- compare, on made-up cells -----------------------------------------------------------------------


def cell(
    strategy: str, size: int, counts: dict[str, int], model: str = "m", task: str = "count", expectation: str = "should_answer"
) -> CellResult:
    errors = counts.get("error", 0)
    verdicts = sum(counts.get(o, 0) for o in VERDICTS)
    return CellResult.model_construct(
        model=model,
        simulated=True,
        task=task,
        size=size,
        params={"end": size},
        strategy=strategy,
        expectation=expectation,
        trials=verdicts + errors,
        verdicts=verdicts,
        provider_errors=Share.of_counts(errors, verdicts + errors),
        outcomes={o: Share.of_counts(counts.get(o, 0), verdicts) for o in VERDICTS},
    )


def results(run_id: str, cells: list[CellResult]) -> Results:
    return Results.model_construct(run_id=run_id, cells=cells)


SIZES = [250, 500, 750, 1000]


def test_three_samples_a_cell_cannot_flag_but_their_pool_can():
    """The nightly's shape at 3 samples: no cell of 3 against 3 can reach 0.05 even alone, but 4
    sizes of them pooled flag a model that stopped completing."""
    before = results("night1", [cell("direct", n, {"complete": 3}) for n in SIZES])
    after = results("night2", [cell("direct", n, {"complete": 0, "cant_do": 2, "wont_do": 1}) for n in SIZES])
    p = pair(before, after)
    assert {c.flag for c in p.cells} == {"too_few_trials"} and p.cells_tested == 0
    (pool,) = p.pools
    assert pool.flag == "regression" and pool.sizes == SIZES and pool.strata == 4 and p.pools_tested == 1
    assert pool.p_complete == pytest.approx((1 / 20) ** 4)
    assert pool.moved == ["cant_do", "wont_do"]  # the largest rise first
    assert "complete fell from 12 of 12" in pool.why and "exact stratified test over 4 sizes" in pool.why
    moved = {m.outcome: m for m in pool.outcomes}
    assert (moved["cant_do"].before.count, moved["cant_do"].after.count, moved["cant_do"].after.of) == (0, 8, 12)
    assert moved["cant_do"].after.low is not None and moved["cant_do"].after.high is not None


def test_pools_and_cells_share_one_family_where_nothing_still_is_counted():
    """Pools where every verdict was complete on both nights add no test to the family: the one
    that moved is tested at the full level."""
    quiet = [cell(s, n, {"complete": 5}, model="m", task=t) for s in ("direct", "continue") for t in ("count", "hanoi") for n in SIZES]
    before = results("a", quiet + [cell("direct", n, {"complete": 5}, task="kill_script") for n in SIZES])
    after = results("b", quiet + [cell("direct", n, {"complete": 3, "wont_do": 2}, task="kill_script") for n in SIZES])
    p = pair(before, after)
    pool = next(x for x in p.pools if x.task == "kill_script")
    assert pool.flag == "regression" and pool.moved == ["wont_do"]
    assert p.tests == 2 and p.level == ALPHA / 2  # the pool's two tests, not 2 x (20 cells + 5 pools)
    assert all(x.why.startswith("nothing could move") for x in p.pools if x.task != "kill_script")
    assert p.pools_tested == 5


def test_a_pool_of_one_size_with_verdicts_is_its_cell():
    before = results("a", [cell("direct", 250, {"complete": 10}), cell("direct", 500, {"complete": 10})])
    after = results("b", [cell("direct", 250, {"cant_do": 10}), cell("direct", 500, {"error": 10})])
    p = pair(before, after)
    (pool,) = p.pools
    assert pool.flag == "too_few_trials" and "fewer than 2 sizes" in pool.why
    assert any(c.flag == "regression" for c in p.cells)


def test_a_cell_too_small_for_the_level_says_so():
    """Five a side reach p = 1/252 at best: tested alone, not when 20 tests share the level."""
    moving = [cell("direct", n, {"complete": 20}, task=f"t{n}") for n in range(20)]
    moved = [cell("direct", n, {"complete": 10, "cant_do": 10}, task=f"t{n}") for n in range(20)]
    small_b, small_a = cell("direct", 5, {"complete": 5}, task="small"), cell("direct", 5, {"cant_do": 5}, task="small")
    p = pair(results("a", [*moving, small_b]), results("b", [*moved, small_a]))
    small = next(c for c in p.cells if c.task == "small")
    assert small.flag == "too_few_trials" and "to reach the level" in small.why and not small.tested
    assert p.cells_tested == 20


def test_an_outage_is_no_regression_and_its_pool_says_errors_rose():
    before = results("a", [cell("direct", n, {"complete": 3}) for n in SIZES])
    after = results("b", [cell("direct", n, {"complete": 1, "error": 2}) for n in SIZES])
    p = pair(before, after)
    assert not any(x.flag == "regression" for x in [*p.cells, *p.pools])
    (pool,) = p.pools
    assert pool.errors_rose and "provider errors rose from 0 of 12 to 8 of 12" in pool.errors_why
    assert pool.complete_after == 1.0  # the verdicts it had were all complete


def comparison(*pairs_) -> Comparison:
    return Comparison(runs=["a", "b"], alpha=ALPHA, min_trials=5, pairs=list(pairs_), columns=[], rows=[])


def test_the_headline_counts_what_could_be_tested_and_what_could_not():
    before = results("a", [cell("direct", n, {"complete": 3}) for n in SIZES])
    after = results("b", [cell("direct", n, {"cant_do": 3}) for n in SIZES])
    c = comparison(pair(before, after))
    assert c.regressed and not c.regressions and len(c.pool_regressions) == 1
    md = render(c, "md")
    assert "0 cell(s) and 1 pool(s) got worse beyond chance" in md
    assert "Could test 0 of 4 cells and 1 of 1 pools; could not test 4 cells and 0 pools" in md
    assert "### What moved" in md and "can't-do, 0 of 12 (0% [0%–24%]) → 12 of 12 (100% [76%–100%])" in md
    data = json.loads(render(c, "json"))
    assert data["pairs"][0]["pools"][0]["moved"] == ["cant_do"] and data["pairs"][0]["cells_tested"] == 0


def test_the_html_is_the_reports_look_with_regressions_highlighted_and_text_escaped():
    evil = "<script>alert(1)</script>"
    before = results("a<b>", [cell("direct", n, {"complete": 3}, model=evil) for n in SIZES])
    after = results("c&d", [cell("direct", n, {"wont_do": 3}, model=evil) for n in SIZES])
    html = render(comparison(pair(before, after)), "html")
    from longhaul.report.html import _CSS

    assert _CSS in html and "default-src 'none'" in html
    assert "<script" not in html and "&lt;script&gt;" in html and "a&lt;b&gt;" in html
    assert "<tr class=reg>" in html and "<b class=reg>REGRESSION</b>" in html and "class='headline bad'" in html
    assert "<span class=ci>[76%–100%]</span>" in html  # the interval beside the share, as the report shows it
    assert "<tr class=grew>" in html and "<span class=o-wont_do>" in html


def test_the_regression_lists_changes_of_both_kinds():
    before = results("a", [cell("direct", n, {"complete": 3}) for n in SIZES])
    after = results("b", [cell("direct", n, {"cant_do": 3}) for n in SIZES])
    p = pair(before, after)
    assert all(isinstance(x, CellChange) for x in p.cells) and all(isinstance(x, PoolChange) for x in p.pools)


# -- the nightly's arithmetic, as docs/compare.md states it ------------------------------------------------


def test_the_nightly_detects_what_the_docs_say():
    """tasks/nightly.toml: 4 sizes x 5 samples. With every pool test of the nightly counted (the worst
    case), 20 of 20 complete falling to 11 of 20 is flagged however the 11 spread over the sizes,
    and 12 of 20 is not always; a cell of 5 against 5 can never be flagged at that level."""
    suite = tomllib.loads((ROOT / "tasks" / "nightly.toml").read_text())
    samples = suite["samples"]
    sizes = {len(next(v for k, v in t.items() if isinstance(v, list))) for t in suite["tasks"]}
    assert samples == 5 and sizes == {4}
    should_answer = sum(t["task"] != "sha256_digests" for t in suite["tasks"])
    pools = len(suite["models"]) * len(suite["strategies"]) * len(suite["tasks"])
    tests = pools + len(suite["models"]) * len(suite["strategies"]) * should_answer
    assert tests == 36
    level = ALPHA / tests

    def worst(k: int) -> float:
        return max(stratified_worse_p([(5, 5, a, 5) for a in al]) for al in product(range(6), repeat=4) if sum(al) == k)

    assert worst(11) < level < worst(12)
    assert smallest_p([(5, 5, 0, 5)]) > level  # even 5 of 5 falling to 0 of 5: 1 / C(10, 5)


def test_side_by_side_rows_put_sizes_in_numeric_order():
    from longhaul.report.compare import _by_size

    rows = ["hanoi size=10 direct", "hanoi size=3 direct", "count size=20 continue", "hanoi size=3 continue"]
    assert sorted(rows, key=_by_size) == ["count size=20 continue", "hanoi size=3 continue", "hanoi size=3 direct", "hanoi size=10 direct"]
