"""The run's summary table: trials by model, task, size and strategy, and their outcomes
(the full report comes from `longhaul report`).

A `Tally` is what the table and the refusal judge's line need, counted trial by trial: the run
keeps one as its trials are stored, and never the trials themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from longhaul.judgement import JudgeTally
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
        header = ["model", "task", "size", "strategy", "trials", "verdicts", *(_SHORT[o] for o in OUTCOMES)]
        rows = []
        for (model, task, size, strategy), counts in sorted(self.cells.items()):
            name = f"{model} (simulated)" if model in self.simulated else model
            n_trials = sum(counts.values())
            rows.append(
                [
                    name,
                    task,
                    str(size),
                    strategy,
                    str(n_trials),
                    str(n_trials - counts["error"]),
                    *(str(counts.get(o, 0) or "") for o in OUTCOMES),
                ]
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def line(cols: list[str]) -> str:
            return "| " + " | ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))) + " |"

        rule = "|" + "|".join("-" * (w + 2) if i < 4 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
        return "\n".join([line(header), rule, *(line(r) for r in rows)])

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


def summary_table(trials: Iterable[TrialRecord]) -> str:
    """`Tally.table` of these trials."""
    return Tally.of(trials).table()


def judge_line(trials: Iterable[TrialRecord]) -> str:
    """`Tally.judge_line` of these trials."""
    return Tally.of(trials).judge_line()
