"""`longhaul compare RUN_A RUN_B [RUN ...]`: the first run is the baseline; every later run is
compared with it cell by cell (model, task, parameters, strategy), pool by pool (a model, task and
strategy over the sizes both runs have), and all of them side by side with models as columns.

What is tested (docs/compare.md has the why and the power):

- A cell is flagged when its complete rate fell, or its over-refusal rate (won't-do on a task that
  should be answered) rose, beyond chance: Fisher's exact test, one-sided.
- A pool is flagged the same way by the exact stratified test over its sizes (the exact form of the
  Cochran-Mantel-Haenszel test; `stats.stratified_worse_p`): a few samples per size add up, so a
  nightly of 5 samples per cell can flag a real drop that no cell of it could.
- Cells and pools are one family at a family-wise level of 0.05, with Tarone's modified Bonferroni
  correction (`stats.tarone_count`): a test that could not go below its level whatever the outcomes
  is not made, and not counted. A cell with fewer than 5 verdicts on a side, or a pool with fewer
  over its sizes, is not tested either; both say "too few trials", never "regression".
- Rates are over the trials with a verdict on the model. For each flagged drop, the outcomes that
  grew (can't-do, won't-do, budget, unparseable) are named, with both runs' counts and intervals.

Provider errors (the provider failed after retries) are no verdict on the model: an outage or a
wrong key is not a regression. They are tested apart, cells and pools, as their own family at the
same level: where the share of provider errors rose beyond chance it says "provider errors rose",
which fails a job only when asked (`--fail-on-errors`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from longhaul.report.results import CellResult, Results, Share, compute
from longhaul.report.stats import ALPHA, MIN_TRIALS, Stratum, smallest_p, stratified_worse_p, tarone_count
from longhaul.verdict import VERDICTS, Outcome

Flag = Literal["regression", "too_few_trials", "no_change_beyond_chance"]


class Moved(BaseModel):
    """One outcome's share of the verdicts in both runs, with its 95% Wilson interval."""

    outcome: Outcome
    before: Share
    after: Share


class Change(BaseModel):
    """What cells and pools have alike: one model, task and strategy in both runs."""

    model: str
    """The model in the baseline (see `model_after` when the runs name it differently)."""
    model_after: str
    task: str
    strategy: str
    trials_before: int
    """Trials stored, provider errors included."""
    trials_after: int
    verdicts_before: int
    """Trials with a verdict on the model: the population of the rates and of the regression test."""
    verdicts_after: int
    errors_before: int
    """Trials that ended in a provider error."""
    errors_after: int
    complete_before: float | None
    """Share of complete among the verdicts (None when there are none)."""
    complete_after: float | None
    over_refusal_before: float | None
    """Share of won't-do among the verdicts, for tasks that should be answered (None for
    should-abstain tasks, or without verdicts)."""
    over_refusal_after: float | None
    outcomes: list[Moved]
    """Every verdict outcome's share in both runs, with intervals."""
    p_complete: float | None
    """One-sided p that the complete rate fell (None when the test was not made)."""
    p_over_refusal: float | None
    """One-sided p that the over-refusal rate rose (None when the test was not made)."""
    tested: bool
    """The comparison could tell whether it got worse: a test was made, or nothing could move
    (each size all complete, or none, on both sides). False with the flag "too_few_trials"."""
    flag: Flag
    why: str
    """The flag in words."""
    moved: list[Outcome]
    """For a regression: the outcomes other than complete whose share grew, the largest rise first."""
    p_errors: float | None
    """One-sided p that the share of provider errors (over all trials) rose."""
    errors_rose: bool
    """Provider errors rose beyond chance: about the provider, never a regression of the model."""
    errors_why: str
    """What the provider-error test found, in words."""


class CellChange(Change):
    """One cell present in both runs: Fisher's exact test."""

    size: int
    params: dict[str, object]


class PoolChange(Change):
    """One model, task and strategy over the sizes both runs have (two or more): the exact
    stratified test, the sizes as strata. Its shares are over all its verdicts together."""

    sizes: list[int]
    """The sizes pooled (cells in both runs)."""
    strata: int
    """Of them, the sizes with verdicts on both sides: only those carry evidence."""


class RunPair(BaseModel):
    """The baseline against one later run."""

    before: str
    """The baseline's run id (with the time it started, when both runs have the same id)."""
    after: str
    models: dict[str, str]
    """Baseline model -> later run's model, for the models compared."""
    cells: list[CellChange]
    pools: list[PoolChange]
    only_before: list[str]
    """Cells of the baseline the later run does not have."""
    only_after: list[str]
    tests: int
    """The regression tests counted in the family (Tarone): each is made at `level`."""
    level: float
    """The per-test level of the regression tests: alpha / tests."""
    error_tests: int
    error_level: float
    """The per-test level of the provider-error tests."""
    cells_tested: int
    """Cells the comparison could test (or where nothing could move)."""
    pools_tested: int


class Column(BaseModel):
    """One model of one run, in the side-by-side table."""

    label: str
    simulated: bool
    complete: dict[str, float | None]
    """Row key (task size strategy) -> complete share of the verdicts (None without any)."""
    trials: dict[str, int]
    """Row key -> trials, provider errors included."""
    verdicts: dict[str, int]
    """Row key -> trials with a verdict on the model."""
    errors: dict[str, int]
    """Row key -> provider errors."""


class Comparison(BaseModel):
    runs: list[str]
    """The runs, baseline first: their ids (with the time they started where ids repeat)."""
    alpha: float
    min_trials: int
    pairs: list[RunPair]
    columns: list[Column]
    rows: list[str]

    @property
    def regressions(self) -> list[CellChange]:
        """Cells that got worse beyond chance."""
        return [c for p in self.pairs for c in p.cells if c.flag == "regression"]

    @property
    def pool_regressions(self) -> list[PoolChange]:
        """Pools (a model, task and strategy over sizes) that got worse beyond chance."""
        return [c for p in self.pairs for c in p.pools if c.flag == "regression"]

    @property
    def error_rises(self) -> list[CellChange]:
        """Cells whose provider errors rose beyond chance (not regressions)."""
        return [c for p in self.pairs for c in p.cells if c.errors_rose]

    @property
    def pool_error_rises(self) -> list[PoolChange]:
        return [c for p in self.pairs for c in p.pools if c.errors_rose]

    @property
    def regressed(self) -> bool:
        """A cell or a pool got worse beyond chance (`--fail-on-regression`)."""
        return bool(self.regressions or self.pool_regressions)

    @property
    def errors_rose(self) -> bool:
        """Provider errors rose beyond chance in a cell or a pool (`--fail-on-errors`)."""
        return bool(self.error_rises or self.pool_error_rises)


# -- the tests ---------------------------------------------------------------------------------------


@dataclass
class _Test:
    """One one-sided test of a cell or pool: successes fell from before to after."""

    strata: list[Stratum]
    minimum: int
    """Strata with trials on both sides that a pool needs (a pool of one is its cell's test)."""
    smallest: float = 1.0
    eligible: bool = False
    p: float | None = None

    def __post_init__(self) -> None:
        both = [s for s in self.strata if s[1] and s[3]]
        self.eligible = len(both) >= self.minimum and sum(s[1] for s in both) >= MIN_TRIALS and sum(s[3] for s in both) >= MIN_TRIALS
        self.smallest = smallest_p(self.strata)

    @property
    def still(self) -> bool:
        """Nothing could move: in every stratum, every trial a success or none."""
        return self.eligible and self.smallest >= 1.0 - 1e-12


@dataclass
class _Unit:
    """A cell (one pair of cells) or a pool (several), with its tests."""

    pairs: list[tuple[CellResult, CellResult]]
    pooled: bool
    complete: _Test = field(init=False)
    over: _Test | None = field(init=False)
    errors: _Test = field(init=False)

    def __post_init__(self) -> None:
        minimum = 2 if self.pooled else 1
        self.complete = _Test(
            [(b.outcomes["complete"].count, b.verdicts, a.outcomes["complete"].count, a.verdicts) for b, a in self.pairs], minimum
        )
        answer = [(b, a) for b, a in self.pairs if b.expectation == "should_answer" and a.expectation == "should_answer"]
        self.over = (
            _Test([(b.verdicts - _wont(b), b.verdicts, a.verdicts - _wont(a), a.verdicts) for b, a in answer], minimum) if answer else None
        )
        self.errors = _Test([(b.trials - _err(b), b.trials, a.trials - _err(a), a.trials) for b, a in self.pairs], minimum)

    @property
    def tests(self) -> list[_Test]:
        return [self.complete] if self.over is None else [self.complete, self.over]


def _wont(c: CellResult) -> int:
    return c.outcomes["wont_do"].count


def _err(c: CellResult) -> int:
    return c.provider_errors.count


def _family(tests: Sequence[_Test]) -> tuple[int, float]:
    """Tarone's count over the tests that are eligible, the level, and each test's p where it is made."""
    m = tarone_count([t.smallest for t in tests if t.eligible])
    level = ALPHA / m
    for t in tests:
        if t.eligible and t.still:
            t.p = 1.0
        elif t.eligible and t.smallest < level:
            t.p = stratified_worse_p(t.strata)
    return m, level


def _total(cells: Sequence[CellResult], count: Callable[[CellResult], int], of: Callable[[CellResult], int]) -> Share:
    return Share.of_counts(sum(count(c) for c in cells), sum(of(c) for c in cells))


def _outcome(cells: Sequence[CellResult], o: Outcome) -> Share:
    return _total(cells, lambda c: c.outcomes[o].count, lambda c: c.verdicts)


def _over_share(cells: Sequence[CellResult]) -> Share | None:
    """Won't-do over the verdicts of the cells that should be answered (None without any)."""
    answer = [c for c in cells if c.expectation == "should_answer"]
    return _total(answer, _wont, lambda c: c.verdicts) if answer else None


def _ci(s: Share) -> str:
    """`k of n (x% [lo–hi%])`, for text."""
    if not s.of:
        return "no verdicts"
    return f"{s.count} of {s.of} ({_pct(s.share)} [{_pct(s.low)}–{_pct(s.high)}])"


LABELS: dict[Outcome, str] = {
    "complete": "complete",
    "cant_do": "can't-do",
    "wont_do": "won't-do",
    "budget_exhausted": "budget",
    "unparseable": "unparseable",
    "error": "provider error",
}


def _judge(unit: _Unit, level: float, error_level: float) -> dict[str, object]:
    """The fields a cell or pool shares: counts, shares, p-values, the flag and what moved."""
    bs, as_ = [b for b, _ in unit.pairs], [a for _, a in unit.pairs]
    outcomes = [Moved(outcome=o, before=_outcome(bs, o), after=_outcome(as_, o)) for o in VERDICTS]
    vb, va = sum(c.verdicts for c in bs), sum(c.verdicts for c in as_)
    tb, ta = sum(c.trials for c in bs), sum(c.trials for c in as_)
    eb, ea = sum(map(_err, bs)), sum(map(_err, as_))
    complete = outcomes[0]
    over_b, over_a = _over_share(bs), _over_share(as_)
    over = unit.over
    how = f"exact stratified test over {sum(1 for s in unit.complete.strata if s[1] and s[3])} sizes, " if unit.pooled else ""
    worse = []
    if unit.complete.p is not None and unit.complete.p < level:
        worse.append(f"complete fell from {_ci(complete.before)} to {_ci(complete.after)} ({how}p = {unit.complete.p:.2g})")
    if over is not None and over.p is not None and over.p < level:
        assert over_b is not None and over_a is not None
        worse.append(f"over-refusal rose from {_ci(over_b)} to {_ci(over_a)} ({how}p = {over.p:.2g})")
    made = [t for t in unit.tests if t.p is not None and not t.still]
    eligible = [t for t in unit.tests if t.eligible]
    moved: list[Outcome] = []
    if worse:
        flag: Flag = "regression"
        grew = [m for m in outcomes[1:] if (m.after.share or 0) > (m.before.share or 0)]
        grew.sort(key=lambda m: (m.after.share or 0) - (m.before.share or 0), reverse=True)
        moved = [m.outcome for m in grew]
        why = "; ".join(worse)
    elif made:
        flag = "no_change_beyond_chance"
        why = f"no change beyond chance at level {level:.2g}"
    elif eligible and all(t.still for t in eligible):
        flag = "no_change_beyond_chance"
        why = "nothing could move: " + _still(eligible, unit.complete)
    elif not eligible:
        flag = "too_few_trials"
        if unit.pooled and sum(1 for s in unit.complete.strata if s[1] and s[3]) < 2:
            why = "too few trials: fewer than 2 sizes have verdicts on both sides (a size's own cell is its test)"
        else:
            why = f"too few trials with a verdict ({vb} and {va}; at least {MIN_TRIALS} each are needed)"
    else:
        flag = "too_few_trials"
        why = (
            f"too few trials with a verdict to reach the level ({vb} and {va}: at best p = {min(t.smallest for t in eligible):.2g}, "
            f"and the level is {level:.2g})"
        )
    # Provider errors: "errors rose" is "trials the provider answered fell".
    e = unit.errors
    counts = f"{eb} of {tb} to {ea} of {ta}"
    if e.p is not None and e.p < error_level:
        errors_rose, errors_why = True, f"provider errors rose from {counts} (p = {e.p:.2g})"
    elif e.p is not None:
        errors_rose, errors_why = False, f"provider errors {counts}, no change beyond chance" if eb or ea else ""
    else:
        errors_rose, errors_why = False, f"provider errors {counts} (too few trials to test)" if eb or ea else ""
    return dict(
        trials_before=tb,
        trials_after=ta,
        verdicts_before=vb,
        verdicts_after=va,
        errors_before=eb,
        errors_after=ea,
        complete_before=complete.before.share,
        complete_after=complete.after.share,
        over_refusal_before=None if over_b is None else over_b.share,
        over_refusal_after=None if over_a is None else over_a.share,
        outcomes=outcomes,
        p_complete=unit.complete.p,
        p_over_refusal=None if over is None else over.p,
        tested=flag != "too_few_trials",
        flag=flag,
        why=why,
        moved=moved,
        p_errors=e.p,
        errors_rose=errors_rose,
        errors_why=errors_why,
    )


def _still(tests: list[_Test], complete: _Test) -> str:
    """Why nothing could move, in words: each test found every size all one way."""

    def ways(t: _Test, yes: str, no: str, mixed: str) -> str:
        both = [s for s in t.strata if s[1] and s[3]]
        if all(s[0] == s[1] and s[2] == s[3] for s in both):
            return yes
        return no if all(s[0] == 0 and s[2] == 0 for s in both) else mixed

    said = []
    for t in tests:
        if t is complete:
            said.append(
                ways(t, "every verdict complete on both sides", "no verdict complete on either side", "each size all complete or none")
            )
        elif said != ["every verdict complete on both sides"]:
            said.append(ways(t, "no won't-do on either side", "every verdict a won't-do", "each size all won't-do or none"))
    return "; ".join(said)


def _key(c: CellResult) -> tuple[str, str, str]:
    return (c.task, json.dumps(c.params, sort_keys=True), c.strategy)


def _name(c: CellResult) -> str:
    return f"{c.model} {c.task} size={c.size} {c.strategy}"


def pair(before: Results, after: Results, labels: tuple[str, str] | None = None) -> RunPair:
    """The baseline against one later run; `labels` name them when their run ids do not (two runs
    kept as `runs/tonight`, night after night)."""
    models_b = {c.model for c in before.cells}
    models_a = {c.model for c in after.cells}
    shared = models_b & models_a
    if shared:
        mapping = {m: m for m in sorted(shared)}
    elif len(models_b) == 1 and len(models_a) == 1:
        mapping = {next(iter(models_b)): next(iter(models_a))}  # one model each: compare them as one
    else:
        mapping = {}
    index_a = {(c.model, *_key(c)): c for c in after.cells}
    matched: list[tuple[CellResult, CellResult]] = []
    only_before = []
    for c in before.cells:
        other = index_a.get((mapping.get(c.model, ""), *_key(c)))
        if other is None:
            only_before.append(_name(c))
        else:
            matched.append((c, other))
    seen = {id(o) for _, o in matched}
    only_after = [_name(c) for c in after.cells if id(c) not in seen]

    groups: dict[tuple[str, str, str], list[tuple[CellResult, CellResult]]] = defaultdict(list)
    for b, a in matched:
        groups[(b.model, b.task, b.strategy)].append((b, a))
    cell_units = [_Unit([m], pooled=False) for m in matched]
    pool_units = [_Unit(sorted(g, key=lambda m: m[0].size), pooled=True) for g in groups.values() if len(g) > 1]
    units = cell_units + pool_units
    tests, level = _family([t for u in units for t in u.tests])
    error_tests, error_level = _family([u.errors for u in units])

    cells = []
    for u in cell_units:
        b, a = u.pairs[0]
        cells.append(
            CellChange.model_validate(
                dict(model=b.model, model_after=a.model, task=b.task, strategy=b.strategy, size=b.size, params=b.params)
                | _judge(u, level, error_level)
            )
        )
    pools = []
    for u in pool_units:
        b, a = u.pairs[0]
        pools.append(
            PoolChange.model_validate(
                dict(
                    model=b.model,
                    model_after=a.model,
                    task=b.task,
                    strategy=b.strategy,
                    sizes=[x.size for x, _ in u.pairs],
                    strata=sum(1 for s in u.complete.strata if s[1] and s[3]),
                )
                | _judge(u, level, error_level)
            )
        )
    return RunPair(
        before=labels[0] if labels else before.run_id,
        after=labels[1] if labels else after.run_id,
        models=mapping,
        cells=cells,
        pools=pools,
        only_before=only_before,
        only_after=only_after,
        tests=tests,
        level=level,
        error_tests=error_tests,
        error_level=error_level,
        cells_tested=sum(c.tested for c in cells),
        pools_tested=sum(p.tested for p in pools),
    )


def _labels(results: list[Results]) -> list[str]:
    """Each run's id, with the time it started where ids repeat (a nightly keeps every night as
    `tonight`), and its place where even that repeats."""
    ids = [r.run_id for r in results]
    labels = [i if ids.count(i) == 1 else f"{i} (started {r.started_at:%Y-%m-%d %H:%M} UTC)" for i, r in zip(ids, results)]
    return [x if labels.count(x) == 1 else f"{x} #{n + 1}" for n, x in enumerate(labels)]


def compare(run_dirs: list[Path]) -> Comparison:
    if len(run_dirs) < 1:
        raise ValueError("compare needs at least one run")
    results = [compute(d) for d in run_dirs]
    labels = _labels(results)
    pairs = [pair(results[0], r, (labels[0], label)) for r, label in zip(results[1:], labels[1:])]
    several = len(results) > 1
    columns: list[Column] = []
    rows: set[str] = set()
    for r, run in zip(results, labels):
        for model in sorted({c.model for c in r.cells}):
            mine = [c for c in r.cells if c.model == model]
            keys = {f"{c.task} size={c.size} {c.strategy}": c for c in mine}
            rows.update(keys)
            columns.append(
                Column(
                    label=f"{model} @ {run}" if several else model,
                    simulated=any(c.simulated for c in mine),
                    complete={k: c.outcomes["complete"].share for k, c in keys.items()},
                    trials={k: c.trials for k, c in keys.items()},
                    verdicts={k: c.verdicts for k, c in keys.items()},
                    errors={k: c.provider_errors.count for k, c in keys.items()},
                )
            )
    return Comparison(runs=labels, alpha=ALPHA, min_trials=MIN_TRIALS, pairs=pairs, columns=columns, rows=sorted(rows, key=_by_size))


def _by_size(row: str) -> tuple[str, int, str]:
    """A row's order: task, then size as a number (3 before 10), then strategy."""
    task, size, strategy = row.split(" ", 2)
    return task, int(size.removeprefix("size=")), strategy


# -- output ------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _rate(share: float | None, verdicts: int) -> str:
    return "no verdicts" if not verdicts else f"{_pct(share)} of {verdicts}"


def _side_by_side(col: Column, row: str) -> str:
    if row not in col.trials:
        return "–"
    errors = col.errors[row]
    return _rate(col.complete[row], col.verdicts[row]) + (f" · {errors} provider error{'s' if errors != 1 else ''}" if errors else "")


def _summary(c: Comparison) -> list[str]:
    if not c.pairs:
        return ["One run: its models side by side, nothing to test."]
    cells, pools = [x for p in c.pairs for x in p.cells], [x for p in c.pairs for x in p.pools]
    ct, pt = sum(p.cells_tested for p in c.pairs), sum(p.pools_tested for p in c.pairs)
    rc, rp = len(c.regressions), len(c.pool_regressions)
    worse = f"{rc} cell(s) and {rp} pool(s) got worse beyond chance." if rc or rp else "No cell and no pool got worse beyond chance."
    tested = (
        f"Could test {ct} of {len(cells)} cells and {pt} of {len(pools)} pools; could not test {len(cells) - ct} cells and "
        f"{len(pools) - pt} pools (too few verdicts to reach the level)."
    )
    levels = "; ".join(f"{p.tests} test(s) counted, each at {p.level:.2g}" for p in c.pairs)
    how = (
        "A cell is a model, task, size and strategy (Fisher's exact test); a pool is a model, task and strategy over the sizes both "
        "runs have (the exact stratified Cochran-Mantel-Haenszel test, sizes as strata). Both are one-sided, on the trials with a "
        f"verdict on the model, and one family at a family-wise level of {c.alpha} with Tarone's modified Bonferroni correction "
        f"({levels}); a test that could not reach its level is not made, and fewer than {c.min_trials} verdicts a side are not tested."
    )
    rises = len(c.error_rises) + len(c.pool_error_rises)
    errors = (
        f"Provider errors rose beyond chance in {rises} cell(s) or pool(s): the provider failed, which says nothing about the model and "
        "is not a regression (--fail-on-errors fails on it)."
        if rises
        else "Provider errors did not rise beyond chance."
    )
    return [worse + " " + tested, how, errors]


def _size(x: Change) -> str:
    return ",".join(map(str, x.sizes)) if isinstance(x, PoolChange) else str(x.size) if isinstance(x, CellChange) else ""


_EXTRA_CSS = (
    "tr.reg td{background:#fdecea}tr.reg td:first-child{box-shadow:inset 4px 0 #c62828}b.reg{color:#b3261e}"
    "tr.grew td{background:#fff4e5}tr.untested td{color:#888}.headline{font-size:16px;background:#f3f7ff;border-left:4px solid #3b6fd8;"
    "padding:10px 14px;margin:10px 0}.headline.bad{background:#fdecea;border-color:#c62828}"
    ".why{display:inline-block;white-space:normal;min-width:300px;max-width:520px}"
)


def render(c: Comparison, fmt: Literal["md", "json", "html"]) -> str:
    if fmt == "json":
        return c.model_dump_json(indent=2)
    return _Writer(fmt == "md").write(c)


class _Writer:
    """Markdown or HTML from one walk over the comparison: every string from a run goes through `e`."""

    def __init__(self, md: bool) -> None:
        self.md = md
        self.out: list[str] = []

    def e(self, s: str) -> str:
        return s.replace("|", "\\|") if self.md else escape(s)

    def share(self, s: Share, outcome: Outcome | None = None) -> str:
        """`k of n · x% [lo–hi%]`, the interval as the report shows it."""
        if not s.of:
            return "no verdicts"
        ci = f"[{_pct(s.low)}–{_pct(s.high)}]"
        text = f"{s.count} of {s.of} · {_pct(s.share)} " + (ci if self.md else f"<span class=ci>{ci}</span>")
        return text if self.md or outcome is None or not s.count else f"<span class=o-{outcome}>{text}</span>"

    def heading(self, level: int, text: str) -> None:
        self.out.append(f"{'#' * level} {text}\n" if self.md else f"<h{level}>{text}</h{level}>")

    def para(self, text: str, cls: str = "") -> None:
        self.out.append(f"{text}\n" if self.md else f"<div class='{cls}'>{text}</div>" if cls else f"<p>{text}</p>")

    def table(self, head: list[str], rows: list[list[str]], classes: list[str] | None = None, left: int = 4) -> None:
        if self.md:
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
            self.out.append("\n".join(lines) + "\n")
            return
        classes = classes or [""] * len(rows)

        def td(i: int, x: str, tag: str) -> str:
            return f"<{tag} class=l>{x}</{tag}>" if i < left else f"<{tag}>{x}</{tag}>"

        th = "".join(td(i, h, "th") for i, h in enumerate(head))
        body = "".join(
            (f"<tr class={cls}>" if cls else "<tr>") + "".join(td(i, x, "td") for i, x in enumerate(r)) + "</tr>"
            for r, cls in zip(rows, classes)
        )
        self.out.append(f"<div class=scroll><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>")

    def flag(self, x: Change) -> str:
        """The flag in a table row: a regression in short (its whole story is under "What moved")."""
        if x.flag == "regression":
            grew = ", ".join(LABELS[o] for o in x.moved) or "none alone"
            return ("**REGRESSION**" if self.md else "<b class=reg>REGRESSION</b>") + f": grew {grew} (see what moved)"
        return self.e(x.why)

    def where(self, x: Change) -> str:
        size = f"sizes {_size(x)}" if isinstance(x, PoolChange) else f"size={_size(x)}"
        model = x.model if x.model == x.model_after else f"{x.model} → {x.model_after}"
        return f"{self.e(model)} {self.e(x.task)} {size} {self.e(x.strategy)}"

    def rows(self, changes: Sequence[Change]) -> tuple[list[list[str]], list[str]]:
        rows, classes = [], []
        for x in sorted(changes, key=lambda x: (x.flag != "regression", not x.tested, x.model, x.task, x.strategy, getattr(x, "size", 0))):
            complete = x.outcomes[0]
            rate = (
                f"{_rate(x.complete_before, x.verdicts_before)} → {_rate(x.complete_after, x.verdicts_after)}"
                if self.md
                else f"{self.share(complete.before)} → {self.share(complete.after)}"
            )
            rows.append(
                [
                    self.e(x.model),
                    self.e(x.task),
                    _size(x),
                    self.e(x.strategy),
                    self.flag(x) if self.md else f"<span class=why>{self.flag(x)}</span>",
                    f"{x.verdicts_before} ({x.trials_before}) → {x.verdicts_after} ({x.trials_after})",
                    rate,
                    f"{_pct(x.over_refusal_before)} → {_pct(x.over_refusal_after)}",
                    f"{x.errors_before} → {x.errors_after}",
                ]
            )
            classes.append("reg" if x.flag == "regression" else "" if x.tested else "untested")
        return rows, classes

    def moved(self, x: Change) -> None:
        """One flagged drop: every outcome in both runs, the ones that grew marked."""
        self.heading(4 if self.md else 3, ("REGRESSION: " if self.md else "<b class=reg>REGRESSION</b>: ") + self.where(x))
        self.para(self.e(x.why))
        shares = {m.outcome: m for m in x.outcomes}
        grew = [f"{LABELS[o]}, {_ci(shares[o].before)} → {_ci(shares[o].after)}" for o in x.moved]
        self.para("What grew: " + ("; ".join(grew) if grew else "no single outcome (the complete share fell while none grew)") + ".")
        rows = [
            [
                ("**" + LABELS[m.outcome] + "** ↑" if self.md else f"<b class=o-{m.outcome}>{LABELS[m.outcome]}</b> ↑")
                if m.outcome in x.moved
                else LABELS[m.outcome],
                self.share(m.before, m.outcome),
                self.share(m.after, m.outcome),
            ]
            for m in x.outcomes
        ]
        self.table(["outcome", "before", "after"], rows, ["grew" if m.outcome in x.moved else "" for m in x.outcomes], left=1)

    def write(self, c: Comparison) -> str:
        summary = _summary(c)
        self.heading(1, "longhaul compare")
        bad = c.regressed
        self.para(self.e(summary[0]), "headline bad" if bad else "headline")
        for line in summary[1:]:
            self.para(self.e(line))
        head = ["model", "task", "size", "strategy", "flag", "verdicts (of trials)", "complete", "over-refusal", "provider errors"]
        for p in c.pairs:
            mapped = ", ".join(f"{k} → {v}" if k != v else k for k, v in p.models.items()) or "no model in common"
            self.heading(2, self.e(f"{p.before} → {p.after} ({mapped})"))
            self.para(
                f"{p.tests} regression test(s) counted, each at {p.level:.2g}; {p.error_tests} provider-error test(s), each at "
                f"{p.error_level:.2g}. Could test {p.cells_tested} of {len(p.cells)} cells and {p.pools_tested} of {len(p.pools)} pools."
            )
            for side, names in ((p.before, p.only_before), (p.after, p.only_after)):
                if names:
                    self.para(
                        self.e(
                            f"only in {side} ({len(names)} cells, not compared): "
                            + "; ".join(names[:20])
                            + (" …" if len(names) > 20 else "")
                        )
                    )
            drops: list[Change] = [x for x in [*p.pools, *p.cells] if x.flag == "regression"]
            if drops:
                self.heading(3, "What moved")
                for x in drops:
                    self.moved(x)
            if p.pools:
                self.heading(3, "Pools: sizes pooled per model, task and strategy")
                self.table(head[:2] + ["sizes"] + head[3:], *self.rows(p.pools), left=5)
            self.heading(3, "Cells")
            self.table(head, *self.rows(p.cells), left=5)
        rises: list[Change] = [*c.pool_error_rises, *c.error_rises]
        if rises:
            self.heading(2, "Provider errors rose (not a regression of the model)")
            items = [f"{self.where(x)}: {self.e(x.errors_why)}" for x in rises]
            self.out.append("".join(f"- {x}\n" for x in items) if self.md else "<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>")
        self.heading(2, "Complete rate of the verdicts, side by side")
        cross_head = ["task size strategy", *(self.e(col.label) + (" (simulated)" if col.simulated else "") for col in c.columns)]
        self.table(cross_head, [[self.e(r), *(_side_by_side(col, r) for col in c.columns)] for r in c.rows], left=1)
        if self.md:
            return "\n".join(self.out)
        from longhaul.report.html import _CSS

        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>longhaul compare</title><style>{_CSS}{_EXTRA_CSS}</style></head><body>" + "".join(self.out) + "</body></html>"
        )
