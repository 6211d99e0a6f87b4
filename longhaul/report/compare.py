"""`longhaul compare RUN_A RUN_B [RUN ...]`: the first run is the baseline; every later run is
compared with it cell by cell (model, task, parameters, strategy), and all of them side by side
with models as columns.

A cell is flagged when its complete rate fell, or its over-refusal rate (won't-do on a task that
should be answered) rose, beyond chance: Fisher's exact test, one-sided, at a family-wise level
of 0.05 with Bonferroni's correction over the tests made. Those rates are over the trials with a
verdict on the model; a cell with fewer than 5 of them on either side says "too few trials",
never "regression".

Provider errors (the provider failed after retries) are no verdict on the model: an outage or a
wrong key is not a regression. They are tested apart, as their own family at the same level:
a cell whose share of provider errors rose beyond chance says "provider errors rose", which
fails a job only when asked (`--fail-on-errors`).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from longhaul.report.results import CellResult, Results, compute
from longhaul.report.stats import ALPHA, MIN_TRIALS, worse_p

Flag = Literal["regression", "too_few_trials", "no_change_beyond_chance"]


class CellChange(BaseModel):
    """One cell present in both runs."""

    model: str
    """The model in the baseline (see `model_after` when the runs name it differently)."""
    model_after: str
    task: str
    size: int
    params: dict[str, object]
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
    p_complete: float | None
    """One-sided Fisher p that the complete rate fell."""
    p_over_refusal: float | None
    """One-sided Fisher p that the over-refusal rate rose."""
    flag: Flag
    why: str
    """The flag in words."""
    p_errors: float | None
    """One-sided Fisher p that the share of provider errors (over all trials) rose."""
    errors_rose: bool
    """Provider errors rose beyond chance: about the provider, never a regression of the model."""
    errors_why: str
    """What the provider-error test found, in words."""


class RunPair(BaseModel):
    """The baseline against one later run."""

    before: str
    after: str
    models: dict[str, str]
    """Baseline model -> later run's model, for the models compared."""
    cells: list[CellChange]
    only_before: list[str]
    """Cells of the baseline the later run does not have."""
    only_after: list[str]
    level: float
    """The per-test level of the regression tests after Bonferroni's correction."""
    error_level: float
    """The per-test level of the provider-error tests after Bonferroni's correction."""


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
    alpha: float
    min_trials: int
    pairs: list[RunPair]
    columns: list[Column]
    rows: list[str]

    @property
    def regressions(self) -> list[CellChange]:
        return [c for p in self.pairs for c in p.cells if c.flag == "regression"]

    @property
    def error_rises(self) -> list[CellChange]:
        """Cells whose provider errors rose beyond chance (not regressions)."""
        return [c for p in self.pairs for c in p.cells if c.errors_rose]


def _key(c: CellResult) -> tuple[str, str, str]:
    return (c.task, json.dumps(c.params, sort_keys=True), c.strategy)


def _name(c: CellResult) -> str:
    return f"{c.model} {c.task} size={c.size} {c.strategy}"


def _over(c: CellResult) -> tuple[int, int] | None:
    if c.expectation != "should_answer" or not c.verdicts:
        return None
    return c.outcomes["wont_do"].count, c.verdicts


def _errors_test(b: CellResult, a: CellResult, level: float) -> tuple[float | None, bool, str]:
    """Whether the share of provider errors rose beyond chance: p, the flag, and why."""
    eb, ea = b.provider_errors.count, a.provider_errors.count
    counts = f"{eb} of {b.trials} to {ea} of {a.trials}"
    if b.trials < MIN_TRIALS or a.trials < MIN_TRIALS:
        return None, False, f"provider errors {counts} (too few trials to test)" if eb or ea else ""
    # "errors rose" is "trials the provider answered fell".
    p = worse_p(b.trials - eb, b.trials, a.trials - ea, a.trials)
    if p < level:
        return p, True, f"provider errors rose from {counts} (p = {p:.2g})"
    return p, False, f"provider errors {counts}, no change beyond chance" if eb or ea else ""


def pair(before: Results, after: Results) -> RunPair:
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
    tests = sum(
        (1 + (_over(b) is not None and _over(a) is not None)) for b, a in matched if b.verdicts >= MIN_TRIALS and a.verdicts >= MIN_TRIALS
    )
    level = ALPHA / max(1, tests)
    error_level = ALPHA / max(1, sum(b.trials >= MIN_TRIALS and a.trials >= MIN_TRIALS for b, a in matched))
    cells = []
    for b, a in matched:
        cb, ca = b.outcomes["complete"], a.outcomes["complete"]
        ob, oa = _over(b), _over(a)
        p_c = p_o = None
        if b.verdicts < MIN_TRIALS or a.verdicts < MIN_TRIALS:
            flag: Flag = "too_few_trials"
            why = f"too few trials with a verdict ({b.verdicts} and {a.verdicts}; at least {MIN_TRIALS} each are needed)"
        else:
            p_c = worse_p(cb.count, cb.of, ca.count, ca.of)
            if ob is not None and oa is not None:
                p_o = worse_p(ob[1] - ob[0], ob[1], oa[1] - oa[0], oa[1])
            worse = []
            if p_c < level:
                worse.append(f"complete rate fell from {_pct(cb.share)} of {cb.of} to {_pct(ca.share)} of {ca.of} (p = {p_c:.2g})")
            if p_o is not None and p_o < level and ob is not None and oa is not None:
                worse.append(f"over-refusal rose from {ob[0] / ob[1]:.0%} to {oa[0] / oa[1]:.0%} (p = {p_o:.2g})")
            flag = "regression" if worse else "no_change_beyond_chance"
            why = "; ".join(worse) if worse else f"no change beyond chance at level {level:.2g}"
        p_e, errors_rose, errors_why = _errors_test(b, a, error_level)
        cells.append(
            CellChange(
                model=b.model,
                model_after=a.model,
                task=b.task,
                size=b.size,
                params=b.params,
                strategy=b.strategy,
                trials_before=b.trials,
                trials_after=a.trials,
                verdicts_before=b.verdicts,
                verdicts_after=a.verdicts,
                errors_before=b.provider_errors.count,
                errors_after=a.provider_errors.count,
                complete_before=cb.share,
                complete_after=ca.share,
                over_refusal_before=None if ob is None else ob[0] / ob[1],
                over_refusal_after=None if oa is None else oa[0] / oa[1],
                p_complete=p_c,
                p_over_refusal=p_o,
                flag=flag,
                why=why,
                p_errors=p_e,
                errors_rose=errors_rose,
                errors_why=errors_why,
            )
        )
    return RunPair(
        before=before.run_id,
        after=after.run_id,
        models=mapping,
        cells=cells,
        only_before=only_before,
        only_after=only_after,
        level=level,
        error_level=error_level,
    )


def compare(run_dirs: list[Path]) -> Comparison:
    if len(run_dirs) < 1:
        raise ValueError("compare needs at least one run")
    results = [compute(d) for d in run_dirs]
    pairs = [pair(results[0], r) for r in results[1:]]
    several = len(results) > 1
    columns: list[Column] = []
    rows: set[str] = set()
    for r in results:
        for model in sorted({c.model for c in r.cells}):
            mine = [c for c in r.cells if c.model == model]
            keys = {f"{c.task} size={c.size} {c.strategy}": c for c in mine}
            rows.update(keys)
            columns.append(
                Column(
                    label=f"{model} @ {r.run_id}" if several else model,
                    simulated=any(c.simulated for c in mine),
                    complete={k: c.outcomes["complete"].share for k, c in keys.items()},
                    trials={k: c.trials for k, c in keys.items()},
                    verdicts={k: c.verdicts for k, c in keys.items()},
                    errors={k: c.provider_errors.count for k, c in keys.items()},
                )
            )
    return Comparison(runs=[r.run_id for r in results], alpha=ALPHA, min_trials=MIN_TRIALS, pairs=pairs, columns=columns, rows=sorted(rows))


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
    regressions, rises = len(c.regressions), len(c.error_rises)
    tested = (
        f" (Fisher's exact test, one-sided, family-wise level {c.alpha} with Bonferroni's correction; rates are over the trials "
        f"with a verdict on the model, and cells with fewer than {c.min_trials} of them on a side are not tested)."
    )
    errors = (
        f"Provider errors rose beyond chance in {rises} cell(s): the provider failed, which says nothing about the model and is "
        "not a regression (--fail-on-errors fails on it)."
        if rises
        else "Provider errors did not rise beyond chance."
    )
    return [(f"{regressions} cell(s) got worse beyond chance" if regressions else "no cell got worse beyond chance") + tested, errors]


def render(c: Comparison, fmt: Literal["md", "json", "html"]) -> str:
    if fmt == "json":
        return c.model_dump_json(indent=2)
    md = fmt == "md"
    e = (lambda s: s) if md else escape
    out_tables: list[tuple[str, list[str], list[list[str]]]] = []
    for p in c.pairs:
        mapped = ", ".join(f"{k} → {v}" if k != v else k for k, v in p.models.items()) or "no model in common"
        title = f"{p.before} → {p.after} ({mapped})"
        head = ["model", "task", "size", "strategy", "verdicts (of trials)", "complete", "over-refusal", "provider errors", "flag"]
        rows = [
            [
                e(x.model),
                e(x.task),
                str(x.size),
                e(x.strategy),
                f"{x.verdicts_before} ({x.trials_before}) → {x.verdicts_after} ({x.trials_after})",
                f"{_rate(x.complete_before, x.verdicts_before)} → {_rate(x.complete_after, x.verdicts_after)}",
                f"{_pct(x.over_refusal_before)} → {_pct(x.over_refusal_after)}",
                f"{x.errors_before} → {x.errors_after}",
                ("**REGRESSION**: " if md else "REGRESSION: ") + e(x.why) if x.flag == "regression" else e(x.why),
            ]
            for x in sorted(p.cells, key=lambda x: (x.flag != "regression", x.model, x.task, x.size, x.strategy))
        ]
        notes = []
        if p.only_before:
            notes.append(
                f"only in {p.before} ({len(p.only_before)} cells, not compared): "
                + "; ".join(e(x) for x in p.only_before[:20])
                + (" …" if len(p.only_before) > 20 else "")
            )
        if p.only_after:
            notes.append(
                f"only in {p.after} ({len(p.only_after)} cells, not compared): "
                + "; ".join(e(x) for x in p.only_after[:20])
                + (" …" if len(p.only_after) > 20 else "")
            )
        out_tables.append((title + "\n\n" + "\n".join(notes), head, rows))
    rises = [f"{e(x.model)} {e(x.task)} size={x.size} {e(x.strategy)}: {e(x.errors_why)}" for x in c.error_rises]
    cross_head = ["task size strategy", *(e(col.label) + (" (simulated)" if col.simulated else "") for col in c.columns)]
    cross_rows = [[e(r), *(_side_by_side(col, r) for col in c.columns)] for r in c.rows]
    summary = _summary(c)
    if md:
        lines = ["# longhaul compare", "", *(x for line in summary for x in (line, ""))]
        for title, head, rows in out_tables:
            lines += [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
        if rises:
            lines += ["## Provider errors rose (not a regression of the model)", "", *(f"- {x}" for x in rises), ""]
        lines += [
            "## Complete rate of the verdicts, side by side",
            "",
            "| " + " | ".join(cross_head) + " |",
            "|" + "---|" * len(cross_head),
        ]
        lines += ["| " + " | ".join(r) + " |" for r in cross_rows]
        return "\n".join(lines) + "\n"

    def table(head: list[str], rows: list[list[str]]) -> str:
        return (
            "<table><tr>"
            + "".join(f"<th>{h}</th>" for h in head)
            + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{x}</td>" for x in r) + "</tr>" for r in rows)
            + "</table>"
        )

    body = ["<h1>longhaul compare</h1>" + "".join(f"<p>{escape(line)}</p>" for line in summary)]
    for title, head, rows in out_tables:
        first, _, notes_html = title.partition("\n\n")
        body.append(f"<h2>{escape(first)}</h2><p>{notes_html}</p>{table(head, rows)}")
    if rises:
        body.append("<h2>Provider errors rose (not a regression of the model)</h2><ul>" + "".join(f"<li>{x}</li>" for x in rises) + "</ul>")
    body.append(f"<h2>Complete rate of the verdicts, side by side</h2>{table(cross_head, cross_rows)}")
    style = "body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #eee;padding:3px 7px;text-align:left}"
    return (
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>longhaul compare</title><style>{style}</style></head><body>" + "".join(body) + "</body></html>"
    )
