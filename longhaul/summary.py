"""The run's summary table: trials by model, task, size and strategy, and their outcomes
(the full report comes from `longhaul report`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

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


def summary_table(trials: Iterable[TrialRecord]) -> str:
    """A Markdown table, one row per cell, outcome counts in columns; simulated models say so.
    `verdicts` counts the trials with a verdict on the model: every trial but a provider `error`."""
    cells: dict[tuple[str, str, int, str], Counter[str]] = defaultdict(Counter)
    simulated: set[str] = set()
    for t in trials:
        s = t.spec
        cells[(s.model, s.task, s.size, s.strategy)][t.outcome] += 1
        if t.simulated:
            simulated.add(s.model)
    header = ["model", "task", "size", "strategy", "trials", "verdicts", *(_SHORT[o] for o in OUTCOMES)]
    rows = []
    for (model, task, size, strategy), counts in sorted(cells.items()):
        name = f"{model} (simulated)" if model in simulated else model
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


def judge_line(trials: Iterable[TrialRecord]) -> str:
    """One line on the refusal judge, when a trial was judged: how many, from the cache, failed,
    kinds changed, and its tokens (not in the table's trials, which are the models' own)."""
    judged = [t.refusal_judgement for t in trials if t.refusal_judgement is not None]
    if not judged:
        return ""
    judges = ", ".join(sorted({j.judge for j in judged}))
    cached = sum(j.cached for j in judged)
    failed = sum(j.label is None for j in judged)
    changed = sum(j.kind_after != j.kind_before for j in judged)
    tokens_in, tokens_out = sum(j.input_tokens for j in judged), sum(j.output_tokens for j in judged)
    return (
        f"refusal judge {judges}: {len(judged)} unsure answers judged ({cached} from the cache, {failed} without a class), "
        f"{changed} won't-do kinds changed; {tokens_in:,} tokens in / {tokens_out:,} out"
    )
