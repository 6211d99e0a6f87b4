"""`report.html`: one self-contained page (inline CSS and SVG; no script, no font, nothing fetched).

Model output is untrusted: every string that reaches the page goes through `html.escape`, and
the page carries a Content-Security-Policy that forbids scripts outright.

The page is made in pieces (`render` yields them) so that it is written as it is made: the trials
it shows in full are picked as the run's trials stream past (`DrillPicker`, which keeps their keys
only) and read back one at a time. Figures are drawn from the cells' aggregates, and only for a
task with two sizes or more: against one size a figure is one point the table already gives, and
a run without such a task never loads matplotlib.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from html import escape

from longhaul import outcome_style
from longhaul.excerpt import excerpt
from longhaul.pricing import full_input_line, unpriced_line
from longhaul.providers.local_model import local_label
from longhaul.report import figures
from longhaul.report.reading import RULE, paragraphs, readings
from longhaul.report.results import CellResult, Results, Share, either, outcome_name
from longhaul.search import describe, mix
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord
from longhaul.verdict import OUTCOMES, VERDICTS

DRILL_PER_CELL = 5
"""Trials shown in full per cell (those that are not complete first); `longhaul export --turns`
has every one."""

DECLINES = frozenset({"refusal", "elision", "subset", "code", "offer_to_continue", "impossible"})
"""Evidence kinds that say why an answer was not given in full: a trial's summary quotes the last."""

CONTEXT = 80
"""Characters of the answer either side of a quoted decline phrase."""

HEAD_CHARS = 1500
WINDOW = 300

_CSS = (
    """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1280px;padding:0 24px 64px;color:#1d1d1f}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:36px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:24px 0 6px}.meta{color:#666;font-size:12px}
.sim{background:#fff4e5;border:1px solid #f0b35a;padding:8px 12px;border-radius:6px;margin:12px 0}
.lead{font-size:16px;background:#f3f7ff;border-left:4px solid #3b6fd8;padding:10px 14px;margin:10px 0}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{padding:3px 7px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{white-space:normal;vertical-align:bottom;max-width:12em}td.w{white-space:normal;text-align:left;min-width:14em;max-width:40em}
td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:9em;max-width:22em}
th{background:#fafafa;position:sticky;top:0}td.l,th.l{text-align:left}.ci{color:#888;font-size:11px}
figure{margin:10px 0 18px}figure svg{max-width:100%;height:auto}.pair{display:flex;flex-wrap:wrap;gap:12px}.pair figure{flex:1 1 560px;margin:10px 0 0}
details{margin:4px 0}summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-word;background:#fbfbfb;border:1px solid #eee;padding:8px;font-size:12px;max-height:480px;overflow:auto}
mark{border-radius:3px;padding:0 1px}mark.first_error{background:#ffcdd2;outline:1px solid #c62828}mark.refusal,mark.elision,mark.subset,mark.code,mark.offer_to_continue{background:#ffe8a3}
mark.claims_complete{background:#e1bee7}mark.impossible{background:#c8e6c9}.gap{color:#999;font-style:italic}
.turn{border-left:3px solid #ccc;padding-left:10px;margin:10px 0}.turn h4{margin:4px 0;font-size:13px}
nav a{margin-right:12px}.scroll{overflow-x:auto;max-width:100%}
.cell{margin:14px 0}.cell h4{margin:4px 0;font-size:13px}.cell:target{background:#fffbe6}q{color:#333;font-style:italic}
summary code,q code{word-break:break-all}
"""
    + outcome_style.css()
    + "\n"
)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _mix(s: Share) -> str:
    """An outcome of a cell: its count and its share of the verdicts, with the interval (blank when none)."""
    if not s.count or s.share is None:
        return ""
    return f"{s.count:,} · {_share(s)}"


def _share(s: Share | None) -> str:
    if s is None or s.share is None:
        return "–"
    return f"{_pct(s.share)} <span class=ci>[{_pct(s.low)}–{_pct(s.high)}]</span>"


def _rate(s: Share) -> str:
    """A model rate with the verdicts it is over."""
    return "no verdicts" if not s.of else f"{_share(s)} <span class=ci>of {s.of:,}</span>"


def _errors(s: Share) -> str:
    """Provider errors, as a count and a share of all trials, beside (never in) the rates."""
    return "" if not s.count else f"<span class=o-error>{s.count:,} ({_pct(s.share)})</span>"


def _num(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _model(name: str, simulated: bool) -> str:
    return escape(name) + (" <em>(simulated)</em>" if simulated else "")


def _table(header: list[str], rows: list[list[str]], left: int = 1, wrap: frozenset[int] = frozenset()) -> str:
    """A table in its own horizontally scrolling box (a wide one scrolls there, never the page);
    the columns in `wrap` hold prose and wrap."""

    def td(i: int, c: str) -> str:
        return f"<td class=w>{c}</td>" if i in wrap else f"<td class=l>{c}</td>" if i < left else f"<td>{c}</td>"

    th = "".join(f"<th class=l>{h}</th>" if i < left or i in wrap else f"<th>{h}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(td(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<div class=scroll><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"


def cell_id(task: str, model: str, size: int, strategy: str) -> str:
    """The anchor of a cell's trials: a hash, since model names carry `?`, `&` and `=`."""
    return "cell-" + hashlib.sha256(f"{task}\0{model}\0{size}\0{strategy}".encode()).hexdigest()[:12]


def _marked(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The text, escaped, with the evidence spans marked; long stretches without any are elided."""
    out = []
    for piece in excerpt(text, spans, HEAD_CHARS, WINDOW):
        if piece.kind == "gap":
            out.append(f"<span class=gap>… {piece.skipped:,} characters not shown …</span>")
        elif piece.kind == "mark":
            out.append(f'<mark class="{escape(piece.mark)}" title="{escape(piece.mark)}">{escape(piece.text)}</mark>')
        else:
            out.append(escape(piece.text))
    return "".join(out)


def _cache_part(cached: float | None, written: float | None) -> str:
    """` (n cached, m written)` where the prompt cache took part, else nothing: most trials have neither."""
    parts = [f"{_num(n)} {word}" for n, word in ((cached, "cached"), (written, "written")) if n]
    return f" ({', '.join(parts)})" if parts else ""


def _turn(turn: Turn) -> str:
    v = turn.verdict
    spans = [(e.start, e.end, e.kind) for e in v.evidence if e.source == "answer"]
    thinking_spans = [(e.start, e.end, e.kind) for e in v.evidence if e.source == "thinking"]
    head = (
        f"turn {turn.index + 1} · {escape(turn.kind)} · stop {escape(str(turn.stop_reason))} ({escape(str(turn.raw_stop_reason))})"
        f" · {turn.usage.input_tokens:,} in{_cache_part(turn.usage.cached_input_tokens, turn.usage.cache_write_tokens)}"
        f" / {turn.usage.output_tokens:,} out · {turn.attempts} attempt(s)"
        f" · items {turn.start_item + 1}.. (+{turn.new_items}){' · restarted' if turn.restarted else ''}"
        f"{' · stopped early' if turn.stopped_early else ''}"
    )
    parts = [
        f"<div class=turn><h4>{head}</h4>",
        f"<div>after this turn: <b class=o-{v.outcome}>{outcome_name(v.outcome)}</b> — {escape(v.explanation)}</div>",
    ]
    if turn.error:
        parts.append(f"<div class=o-error>provider error: {escape(turn.error)}</div>")
    user = turn.user if len(turn.user) <= 600 else turn.user[:300] + f" … ({len(turn.user):,} characters) … " + turn.user[-200:]
    parts.append(f"<details><summary>request</summary><pre>{escape(user)}</pre></details>")
    if turn.thinking:
        parts.append(
            f"<details><summary>thinking ({len(turn.thinking):,} characters)</summary><pre>{_marked(turn.thinking, thinking_spans)}</pre></details>"
        )
    parts.append(f"<pre>{_marked(turn.answer, spans)}</pre></div>")
    return "".join(parts)


def evidence(t: TrialRecord) -> str:
    """What decided a trial, in a line: its first wrong item, the decline phrase with the answer
    around it, or the provider's failure; empty for a complete trial. Escaped."""
    v = t.verdict
    if t.outcome == "complete":
        return ""
    if v.first_error:
        e = v.first_error
        return (
            f"wrong item {e.index + 1}{f' (line {e.line})' if e.line else ''}: got <code>{escape(e.got[:200])}</code>, "
            f"expected <code>{escape(e.expected[:200])}</code>"
        )
    if t.outcome == "error":
        failed = next((turn.error for turn in reversed(t.turns) if turn.error), None)
        return f"<span class=o-error>{escape(failed or str(t.stop))}</span>"
    for turn in reversed(t.turns):
        for span in reversed(turn.verdict.evidence):
            if span.source == "answer" and span.kind in DECLINES:
                before = turn.answer[max(0, span.start - CONTEXT) : span.start]
                after = turn.answer[span.end : span.end + CONTEXT]
                return (
                    f"{escape(span.kind.replace('_', ' '))} (turn {turn.index + 1}): <q>{'…' if span.start > CONTEXT else ''}{escape(before)}"
                    f'<mark class="{escape(span.kind)}">{escape(turn.answer[span.start : span.end])}</mark>{escape(after)}'
                    f"{'…' if span.end + CONTEXT < len(turn.answer) else ''}</q>"
                )
    return escape(v.explanation)


def _trial(t: TrialRecord) -> str:
    s, v = t.spec, t.verdict
    first = ""
    if v.first_error:
        e = v.first_error
        first = (
            f"<div>first wrong item: {e.index + 1}{f' (line {e.line})' if e.line else ''}: got <code>{escape(e.got)}</code>, "
            f"expected <code>{escape(e.expected)}</code> — {escape(e.rule)}</div>"
        )
    said = evidence(t)
    summary = f"sample {s.sample + 1} · <b class=o-{t.outcome}>{outcome_name(t.outcome)}</b> · {len(t.turns)} turn(s){' · ' + said if said else ''}"
    turns = "".join(_turn(turn) for turn in t.turns)
    judged = ""
    if (j := t.refusal_judgement) is not None:
        said = j.label or f"no class ({j.failed})"
        judged = (
            f"<div>refusal judge {escape(j.judge)}: {escape(said)}{' (cached)' if j.cached else ''}; detector "
            f"{escape(j.detector_label)} p={j.detector_probability:.2f}; won't-do kind {escape(str(j.kind_before))} → "
            f"{escape(str(j.kind_after))} · reply <code>{escape(j.raw)}</code></div>"
        )
    return (
        f"<details><summary>{summary}</summary><div>{escape(v.explanation)}</div>{first}{judged}"
        f"<div>loop ended: {escape(str(t.stop))}</div>{turns}</details>"
    )


CELL_HEADER = ["model", "size", "strategy", "verdicts (of trials)", *(outcome_name(o) for o in VERDICTS), "provider errors (of trials)"]
CELL_HEADER += ["first wrong item (median, 1-based)", "trials"]
"""The per-cell table's columns: what each cell's trials came to, and a link to them."""

DETAIL_HEADER = ["model", "size", "strategy", "median correct", "expected", "median in", "median out", "median thinking", "needed"]
DETAIL_HEADER += ["median turns", "retries", "median s", "cost"]
"""The columns shown on demand (a <details> under the table): tokens, turns, time and cost."""


def _cell_rows(cells: list[CellResult]) -> list[list[str]]:
    rows = []
    for c in cells:
        shares = (
            ["no verdicts", *[""] * (len(VERDICTS) - 1)]
            if not c.verdicts
            else [f"<span class=o-{o}>{_mix(c.outcomes[o])}</span>" for o in VERDICTS]
        )
        # The stored median is of the 0-based index; people read item numbers from 1, as the figure and the trials give them.
        first = "–" if c.median_first_error is None else _num(c.median_first_error + 1)
        rows.append(
            [
                _model(c.model, c.simulated),
                str(c.size),
                escape(c.strategy),
                f"{c.verdicts:,} of {c.trials:,}",
                *shares,
                _errors(c.provider_errors),
                first,
                f"<a href='#{cell_id(c.task, c.model, c.size, c.strategy)}'>evidence</a>",
            ]
        )
    return rows


def _detail_rows(cells: list[CellResult]) -> list[list[str]]:
    return [
        [
            _model(c.model, c.simulated),
            str(c.size),
            escape(c.strategy),
            _num(c.median_items_correct),
            "–" if c.items_expected is None else f"{c.items_expected:,}",
            _num(c.median_input_tokens) + _cache_part(c.median_cached_input_tokens, c.median_cache_write_tokens),
            _num(c.median_output_tokens),
            _num(c.median_thinking_tokens),
            _num(c.needed_tokens),
            _num(c.median_turns, 1),
            str(c.retries),
            _num(c.median_seconds, 2),
            "–" if c.cost_usd is None else f"${c.cost_usd:.4f}",
        ]
        for c in cells
    ]


class DrillPicker:
    """Picks the trials the page shows in full as a run's trials stream past: up to
    `DRILL_PER_CELL` a cell, those not complete first, then by sample, then in the order they were
    stored. It keeps their keys, never the trials."""

    def __init__(self) -> None:
        self._seen = 0
        self._chosen: dict[tuple[str, str, int, str], list[tuple[bool, int, int, str]]] = defaultdict(list)

    def add(self, t: TrialRecord) -> None:
        rank = (t.outcome == "complete", t.spec.sample, self._seen, t.spec.key)
        self._seen += 1
        chosen = self._chosen[(t.spec.task, t.spec.model, t.spec.size, t.spec.strategy)]
        if len(chosen) < DRILL_PER_CELL or rank < chosen[-1]:
            bisect.insort(chosen, rank)
            del chosen[DRILL_PER_CELL:]

    def keys(self, task: str) -> list[str]:
        """The chosen trials' keys of one task, in the page's order (by model, size, strategy)."""
        return [rank[-1] for cell in sorted(k for k in self._chosen if k[0] == task) for rank in self._chosen[cell]]


def _max_tokens(r: Results) -> str:
    """The header's request budget (HTML: numbers and a link): the suite's, and whether some models
    were sent less (their limit clamped it), which the per-model table's "max_tokens sent" column gives."""
    less = sum(any(n < r.max_tokens for n in m.max_tokens) for m in r.models)
    thinking = f", thinking {r.thinking_budget:,}" if r.thinking_budget else ""
    if not less:
        return f"max_tokens {r.max_tokens:,}" + (f" (thinking {r.thinking_budget:,})" if r.thinking_budget else "")
    models = "1 model was" if less == 1 else f"{less} models were"
    return f"max_tokens {r.max_tokens:,} (the suite's{thinking}; {models} sent less: see <a href=#joint>max_tokens sent</a>, per model)"


def render(results: Results, size_labels: dict[str, str], drill: Callable[[str], Iterable[TrialRecord]] = lambda task: ()) -> Iterator[str]:
    """The page, in pieces to be joined by newlines. `drill(task)`: the trials of that task to show
    in full, cell by cell (read as they are shown: a `DrillPicker`'s keys, from the store)."""
    r = results
    out: list[str] = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>longhaul · {escape(r.suite)} · {escape(r.run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>longhaul report: {escape(r.suite)}</h1>",
        f"<div class=meta>run {escape(r.run_id)} · started {r.started_at:%Y-%m-%d %H:%M} UTC · {_planned(r)}"
        f" · longhaul {escape(r.longhaul_version)}{' · ' + escape(r.git_revision[:10]) if r.git_revision else ''}"
        f" · {_max_tokens(r)}</div>",
    ]
    if r.description:
        out.append(f"<p>{escape(r.description)}</p>")
    if r.simulated_models:
        out.append(
            "<div class=sim><b>Simulated models.</b> "
            + ", ".join(escape(m) for m in r.simulated_models)
            + " are longhaul's simulated model: their behaviour is longhaul's simulation of behaviour seen in real "
            "transcripts. Their numbers measure longhaul, never a real model.</div>"
        )
    for lm in r.local_models:
        out.append(f"<div class=sim><b>Local model {escape(lm.address)}.</b> {escape(local_label(lm))}</div>")
    tasks = sorted({c.task for c in r.cells} | {s.task for s in r.searches or []})
    out.append("<nav>" + "".join(f"<a href='#task-{escape(t)}'>{escape(t)}</a>" for t in tasks) + "<a href=#trials>trials</a></nav>")

    # The lead: refusal elasticity.
    out.append("<h2 id=elasticity>Refusal elasticity: won't-do that yields to a follow-up</h2>")
    leads = []
    for m in r.models:
        e = m.elasticity
        if e.of:
            turns = f", after a median of {m.median_turns_to_complete:.0f} turns" if m.median_turns_to_complete else ""
            leads.append(
                f"<b>{_model(m.model, m.simulated)}</b>: {e.count} of {e.of} first answers that were a won't-do became "
                f"complete under {escape(either(r.follow_up_strategies))} ({_share(e)}){turns}."
            )
    if leads:
        out.append("<div class=lead>" + "<br>".join(leads) + "</div>")
        out.append(
            "<p>A won't-do that yields to “continue” is a choice, not a limit. A won't-do that does not yield, and every can't-do, "
            "is what the model would not or could not do however it was asked.</p>"
        )
    else:
        out.append(
            "<p>No trial of a follow-up strategy"
            + (f" ({escape(', '.join(r.follow_up_strategies))})" if r.follow_up_strategies else "")
            + " began with a won't-do.</p>"
        )
    rows = [
        [
            _model(e.model, e.simulated),
            escape(e.task),
            str(e.size),
            escape(e.strategy),
            "–" if e.direct_wont_do is None else _rate(e.direct_wont_do),
            str(e.first_turn_wont_do),
            _share(e.became_complete),
            _num(e.median_turns_to_complete, 1),
        ]
        for e in r.elasticity
        if e.first_turn_wont_do
    ]
    if rows:
        out.append(
            "<details><summary>by cell</summary>"
            + _table(
                ["model", "task", "size", "strategy", "won't-do under direct", "first answer won't-do", "became complete", "median turns"],
                rows,
                4,
            )
            + "</details>"
        )

    if results.searches:
        out.append("<h2 id=searches>Adaptive searches: where the complete rate collapses</h2>")
        rows = []
        for x in results.searches:
            fixed = ", ".join(f"{k}={v}" for k, v in x.params.items())
            tried = "<br>".join(escape(f"{x.param} = {s.value}: {mix(s)}") for s in x.sizes)
            task = escape(x.task + (f" ({fixed})" if fixed else ""))
            rows.append([_model(x.model, x.model in results.simulated_models), task, escape(x.strategy), escape(describe(x)), tried])
        out.append(_table(["model", "task", "strategy", "finding", "sizes tried (outcome mix)"], rows, 3, frozenset({3, 4})))

    # Joint rates.
    out.append("<h2 id=joint>Per model: over-refusal, can't-do, overconfidence</h2>")
    out.append(
        _table(
            ["model", "verdicts (of trials)", "over-refusal", "can't-do", "overconfidence", "provider errors", "max_tokens sent", "cost"],
            [
                [
                    _model(m.model, m.simulated),
                    f"{m.verdicts:,} of {m.trials:,}",
                    _rate(m.over_refusal),
                    _rate(m.cant_do_rate),
                    _rate(m.overconfidence),
                    str(m.provider_errors),
                    ", ".join(f"{n:,}" for n in m.max_tokens),
                    "–" if m.cost_usd is None else f"${m.cost_usd:.2f}",
                ]
                for m in r.models
            ],
        )
    )
    out.append(
        "<p class=meta>Over-refusal: won't-do on tasks that should be answered. Can't-do: a wrong item or an impossible answer, "
        "over all verdicts. Overconfidence: can't-do on tasks that should be abstained from, or an answer that claims to be "
        "complete and is not. "
        "Shares with 95% Wilson intervals, over the trials with a verdict on the model. Provider errors (the "
        "provider failed after retries) are left out of every rate, share and median and counted beside them: they are not "
        "model behaviour. Costs count every trial. Max_tokens sent: each request's output limit (the suite's, or the model's own "
        "where the suite clamps to it), the budget a budget verdict means."
        + (f" {escape(line)}" if (line := full_input_line(set(r.priced_at_full_input))) else "")
        + (f" {escape(line)}" if (line := unpriced_line(set(r.unpriced), file_given=True)) else "")
        + "</p>"
    )
    out.append(
        _table(
            ["outcome", *(outcome_name(o) for o in OUTCOMES)],
            [["trials", *(f"<span class=o-{o}>{r.outcomes[o]:,}</span>" for o in OUTCOMES)]],
        )
    )
    if (j := r.refusal_judge) is not None:
        cost = "" if j.cost_usd is None else f", ${j.cost_usd:.4f}"
        out.append(
            f"<p>Refusal judge {escape(', '.join(j.judges))}: {j.judged:,} answers the detector was unsure of were judged "
            f"({j.cached:,} from the cache, {j.failed:,} without a class), {j.kinds_changed:,} won't-do kinds changed; "
            f"{j.input_tokens:,} tokens in / {j.output_tokens:,} out{cost} (not in the cells' token medians or costs).</p>"
        )

    # Per task.
    by_task: dict[str, list[CellResult]] = defaultdict(list)
    for c in r.cells:
        by_task[c.task].append(c)
    out.append(
        "<p class=meta>In the tables below, each outcome is its count · its share of the cell's verdicts "
        "<span class=ci>[95% Wilson interval]</span>; provider errors are a count and a share of the cell's trials.</p>"
    )
    yield from out
    second = readings(r.cells, size_labels)
    for task in tasks:
        cells = by_task[task]
        size_label = size_labels.get(task, "size")
        yield f"<h2 id='task-{escape(task)}'>{escape(task)}</h2>"
        said = [x for x in second if x.task == task]
        if said:
            yield (
                "<div class=lead>"
                + "<br>".join(f"<b>{_model(model, sim)}</b> · {escape(text)}" for model, sim, text in paragraphs(said))
                + f"</div><p class=meta>{escape(RULE)}</p>"
            )
        sizes = sorted({c.size for c in cells})
        if len(sizes) < 2:
            if sizes:
                yield (
                    f"<p class=meta>One size ({escape(size_label)} {sizes[0]:,}): see the table. No figures against size: each "
                    "would be a single point, the numbers the table gives.</p>"
                )
        else:
            # The paper's reading and longhaul's of the same trials, side by side; one above the
            # other when the accuracy has more than one panel (they would be read at half width).
            pair = f"<figure>{figures.accuracy(task, cells, size_label)}</figure><figure>{figures.outcome_mix(task, cells, size_label)}</figure>"
            yield f"<div class=pair>{pair}</div>" if len({c.strategy for c in cells}) == 1 else pair
            for make in (figures.tokens, figures.first_error):
                svg = make(task, cells, size_label)
                if svg:
                    yield f"<figure>{svg}</figure>"
        if r.searches and (svg := figures.collapse(task, r.searches, size_label)):
            yield f"<figure>{svg}</figure>"
        if cells:
            ordered = sorted(cells, key=lambda c: (c.model, c.strategy, c.size))
            yield _table(CELL_HEADER, _cell_rows(ordered), 3)
            yield (
                "<details><summary>tokens, turns, time and cost by cell</summary>"
                + _table(DETAIL_HEADER, _detail_rows(ordered), 3)
                + "</details>"
            )

    # Drill-down.
    yield "<h2 id=trials>Trials, turn by turn</h2>"
    yield (
        f"<p class=meta>Up to {DRILL_PER_CELL} trials a cell, those not complete first, each with what decided it: the first "
        "wrong item, the phrase that declined (with the answer around it) or the provider's failure. The first wrong item is marked "
        "in red, refusal, elision and code phrases in yellow, completeness claims in violet. Long answers show their opening and "
        "the text around each mark; <code>longhaul export RUN --turns</code> has every trial and every turn in full.</p>"
    )
    for task in tasks:
        yield f"<h3>{escape(task)}</h3>"
        # The trials come cell by cell (the picker's order): a section, with the anchor the cell's row links to, per cell.
        current: tuple[str, int, str] | None = None
        for t in drill(task):
            cell = (t.spec.model, t.spec.size, t.spec.strategy)
            if cell != current:
                if current is not None:
                    yield "</section>"
                current = cell
                yield (
                    f"<section class=cell id={cell_id(task, *cell)}><h4>{_model(t.spec.model, t.simulated)} · {escape(task)} "
                    f"{escape(size_labels.get(task, 'size'))} {t.spec.size:,} · {escape(t.spec.strategy)}</h4>"
                )
            yield _trial(t)
        if current is not None:
            yield "</section>"
    yield "</body></html>"


def _planned(r: Results) -> str:
    """How many trials the run stored, against what it planned; a search plans its trials round by
    round, so a run with searches has no total to compare with."""
    if r.searches:
        return f"{r.trials:,} trials ({len(r.searches)} search{'es' if len(r.searches) != 1 else ''}, planned round by round)"
    return f"{r.trials:,} of {r.trials_planned:,} trials"
