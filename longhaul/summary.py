"""The run's summary table: trials by model, task, size and strategy, and their outcomes
(the full report comes from `longhaul report`).

A `Tally` is what the table and the refusal judge's line need, counted trial by trial: the run
keeps one as its trials are stored, and never the trials themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from longhaul.judgement import JudgeTally
from longhaul.shorten import distinct
from longhaul.trial import TrialRecord
from longhaul.verdict import OUTCOMES

_SHORT = {
    "complete": "complete",
    "cant_do": "cant_do",
    "wont_do": "wont_do",
    "budget_exhausted": "budget",
    "unparseable": "unparseable",
    "error": "error",
}


class Tally:
    """Outcome counts by cell (model, task, size, strategy), the simulated models, and the refusal
    judge's totals, of the trials added so far: a few numbers a cell, however many trials."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, int, str], Counter[str]] = defaultdict(Counter)
        self.simulated: set[str] = set()
        self.judging = JudgeTally()

    @classmethod
    def of(cls, trials: Iterable[TrialRecord]) -> Tally:
        tally = cls()
        for t in trials:
            tally.add(t)
        return tally

    def add(self, t: TrialRecord) -> None:
        s = t.spec
        self.cells[(s.model, s.task, s.size, s.strategy)][t.outcome] += 1
        if t.simulated:
            self.simulated.add(s.model)
        if t.refusal_judgement is not None:
            self.judging.add(t.refusal_judgement)

    @property
    def trials(self) -> int:
        """Trials added."""
        return sum(sum(c.values()) for c in self.cells.values())

    @property
    def outcomes(self) -> Counter[str]:
        """Trials of each outcome."""
        total: Counter[str] = Counter()
        for counts in self.cells.values():
            total.update(counts)
        return total

    def table(self) -> str:
        """A Markdown table, one row per cell, outcome counts in columns; simulated models say so.
        `verdicts` counts the trials with a verdict on the model: every trial but a provider `error`."""
        return markdown_table(self.cells, self.simulated)

    def terminal_table(self, width: int | None) -> str:
        """The table for a terminal `width` columns wide: the Markdown table where it fits (or
        with no width), else `blocks_table`."""
        full = self.table()
        if width is None or max(len(line) for line in full.splitlines()) <= width:
            return full
        return blocks_table(self.cells, self.simulated, width)

    def judge_line(self) -> str:
        """One line on the refusal judge, when a trial was judged: how many, from the cache, failed,
        kinds changed, and its tokens (not in the table's trials, which are the models' own)."""
        j = self.judging
        if not j.judged:
            return ""
        return (
            f"refusal judge {', '.join(sorted(j.judges))}: {j.judged} unsure answers judged ({j.cached} from the cache, "
            f"{j.failed} without a class), {j.kinds_changed} won't-do kinds changed; "
            f"{j.input_tokens:,} tokens in / {j.output_tokens:,} out"
        )


Cell = tuple[str, str, int, str]
"""model, task, size, strategy"""


def _counts(counts: Counter[str]) -> list[str]:
    """Trials, verdicts, then each outcome's count (blank for none)."""
    n = sum(counts.values())
    return [str(n), str(n - counts["error"]), *(str(counts.get(o, 0) or "") for o in OUTCOMES)]


def _named(model: str, simulated: Collection[str]) -> str:
    return f"{model} (simulated)" if model in simulated else model


def markdown_table(cells: Mapping[Cell, Counter[str]], simulated: Collection[str]) -> str:
    """The full table in Markdown: one row per cell, outcome counts in columns (the run's end
    prints it where it fits the terminal; summary.md always has it)."""
    header = ["model", "task", "size", "strategy", "trials", "verdicts", *(_SHORT[o] for o in OUTCOMES)]
    rows = [
        [_named(model, simulated), task, str(size), strategy, *_counts(counts)]
        for (model, task, size, strategy), counts in sorted(cells.items())
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cols: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i < 4 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


class _Layout(NamedTuple):
    """One way to lay out `blocks_table`, from the fullest to the narrowest."""

    task: int | None
    """Width the task names are shortened to (None: whole)."""
    strategy: int | None
    verdicts: bool
    """Show the verdicts column (trials less errors: the first to go)."""
    short: bool
    """Abbreviated outcome headers."""


_LAYOUTS = (
    _Layout(None, None, True, False),
    _Layout(12, None, True, False),
    _Layout(12, None, False, False),
    _Layout(12, None, False, True),
    _Layout(8, 8, False, True),
    _Layout(6, 6, False, True),
)

_ABBREVIATED = {
    "complete": "compl",
    "cant_do": "cant",
    "wont_do": "wont",
    "budget_exhausted": "budg",
    "unparseable": "unpar",
    "error": "err",
}


def blocks_table(cells: Mapping[Cell, Counter[str]], simulated: Collection[str], width: int) -> str:
    """The table for a narrow terminal: one block per model under its name (shortened in the
    middle, models kept apart), the columns of outcomes no trial had left out, then task names
    shortened, the verdicts column dropped and headers abbreviated as far as `width` needs (it
    fits 80 columns with sizes of up to five digits)."""
    had = [o for o in OUTCOMES if any(c[o] for c in cells.values())]
    models = sorted({model for model, *_ in cells})
    suffix = " (simulated)"
    heads = distinct(models, max(1, width - len(suffix)))
    for layout in _LAYOUTS:
        text = _blocks(cells, simulated, had, heads, layout)
        if max(len(line) for line in text.splitlines()) <= width:
            break
    left_out = [_SHORT[o] for o in OUTCOMES if o not in had]
    return text + (f"\n\n(no trial was {', '.join(left_out)}: columns left out)" if left_out else "")


def _blocks(
    cells: Mapping[Cell, Counter[str]], simulated: Collection[str], had: Sequence[str], heads: dict[str, str], layout: _Layout
) -> str:
    tasks = distinct((task for _, task, _, _ in cells), layout.task) if layout.task else {}
    strategies = distinct((s for *_, s in cells), layout.strategy) if layout.strategy else {}
    header = [
        "task",
        "size",
        "strategy",
        "trials",
        *(["verdicts"] if layout.verdicts else []),
        *((_ABBREVIATED if layout.short else _SHORT)[o] for o in had),
    ]
    by_model: dict[str, list[list[str]]] = defaultdict(list)
    for (model, task, size, strategy), counts in sorted(cells.items()):
        n = sum(counts.values())
        by_model[model].append(
            [
                tasks.get(task, task),
                str(size),
                strategies.get(strategy, strategy),
                str(n),
                *([str(n - counts["error"])] if layout.verdicts else []),
                *(str(counts[o] or "") for o in had),
            ]
        )
    rows = [r for block in by_model.values() for r in block]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cols: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))).rstrip()

    out: list[str] = []
    for model, block in by_model.items():
        out += ["", heads[model] + (" (simulated)" if model in simulated else ""), line(header), *(line(r) for r in block)]
    return "\n".join(out[1:])


def summary_table(trials: Iterable[TrialRecord]) -> str:
    """`Tally.table` of these trials."""
    return Tally.of(trials).table()


def judge_line(trials: Iterable[TrialRecord]) -> str:
    """`Tally.judge_line` of these trials."""
    return Tally.of(trials).judge_line()
