"""The second reading in words: for each model, task and strategy, where the paper's reading (anything
not complete is a failure) puts the collapse, and what the answers past it were by longhaul's.

The rule: N is the smallest size tested past which the paper's reading says collapse: every larger
size tested has a complete rate below `COLLAPSE_BELOW` of its verdicts. The answers counted are those of the sizes above N, straight
from the cells (the report's table): won't-do and budget_exhausted against can't-do (a wrong
move) and unparseable. Provider errors are never counted (they say nothing about the model), and a
size without a verdict neither collapses nor holds up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from longhaul.report.results import CellResult

COLLAPSE_BELOW = 0.5
"""A size has collapsed, by the paper's reading, when fewer than this share of its verdicts are complete."""


@dataclass(frozen=True)
class Reading:
    """One model's collapse on one task under one strategy, and what the answers past it were."""

    model: str
    simulated: bool
    task: str
    strategy: str
    unit: str
    """What the size counts ("disks"), or "size"."""
    largest: int
    """The largest size with a verdict."""
    smallest: int
    """The smallest size with a verdict."""
    collapse_after: int | None
    """N: the sizes above it all collapsed, the one at it did not. None when even the smallest size
    collapsed (see `collapsed`), or when the largest did not."""
    collapsed: bool
    """The largest size tested collapsed."""
    sizes_past: tuple[int, ...]
    """The collapsed sizes counted below."""
    non_complete: int
    """Y: the verdicts other than complete, at those sizes."""
    wont_do: int
    budget: int
    cant_do: int
    unparseable: int
    provider_errors: int
    """Trials at those sizes the provider failed: not in any count above."""
    complete_at_largest: int
    verdicts_at_largest: int

    def sentence(self) -> str:
        """The paragraph: "Past N disks, X of Y non-complete answers were won't-do or budget, not wrong moves." and the rest."""
        if not self.collapsed:
            return (
                f"No collapse by the paper's reading: at {_size(self.largest, self.unit)}, the largest size with a verdict, "
                f"{self.complete_at_largest} of {self.verdicts_at_largest} {'answer was' if self.verdicts_at_largest == 1 else 'answers were'} complete."
            )
        where = (
            f"Past {_size(self.collapse_after, self.unit)}"
            if self.collapse_after is not None
            else f"From {_size(self.smallest, self.unit)}, the smallest size tested"
        )
        x, y = self.wont_do + self.budget, self.non_complete
        were = "answer was" if y == 1 else "answers were"
        # A puzzle's size counts disks or checkers and its items are moves; other tasks' are items.
        item = "move" if self.unit != "size" else "item"
        parts = [f"{where}, {x} of {y} non-complete {were} won't-do or budget, not wrong {item}s"]
        if x:
            parts[0] += f" ({self.wont_do} won't-do, {self.budget} budget)"
        parts.append(f"{self.cant_do} {'was' if self.cant_do == 1 else 'were'} can't-do (a wrong {item})")
        if self.unparseable:
            parts.append(f"{self.unparseable} unparseable")
        text = "; ".join(parts) + "."
        if self.provider_errors:
            text += f" {self.provider_errors} provider error{'s' if self.provider_errors != 1 else ''} not counted."
        return text


def _size(n: int | None, unit: str) -> str:
    return f"size {n}" if unit == "size" else f"{n} {unit}"


def readings(cells: list[CellResult], size_labels: dict[str, str]) -> list[Reading]:
    """A reading per model, task and strategy that has a verdict at two sizes or more (at one size
    there is nothing to be past), in the order of model, task, strategy."""
    groups: dict[tuple[str, str, str], list[CellResult]] = defaultdict(list)
    for c in cells:
        if c.verdicts:
            groups[(c.model, c.task, c.strategy)].append(c)
    out = []
    for (model, task, strategy), group in sorted(groups.items()):
        group.sort(key=lambda c: c.size)
        if len(group) < 2:
            continue
        tail: list[CellResult] = []
        for c in reversed(group):
            if c.outcomes["complete"].count >= COLLAPSE_BELOW * c.verdicts:
                break
            tail.insert(0, c)
        held = group[len(group) - len(tail) - 1] if len(tail) < len(group) else None
        largest = group[-1]
        out.append(
            Reading(
                model=model,
                simulated=largest.simulated,
                task=task,
                strategy=strategy,
                unit=size_labels.get(task, "size"),
                largest=largest.size,
                smallest=group[0].size,
                collapse_after=held.size if tail and held else None,
                collapsed=bool(tail),
                sizes_past=tuple(c.size for c in tail),
                non_complete=sum(c.verdicts - c.outcomes["complete"].count for c in tail),
                wont_do=sum(c.outcomes["wont_do"].count for c in tail),
                budget=sum(c.outcomes["budget_exhausted"].count for c in tail),
                cant_do=sum(c.outcomes["cant_do"].count for c in tail),
                unparseable=sum(c.outcomes["unparseable"].count for c in tail),
                provider_errors=sum(c.provider_errors.count for c in tail),
                complete_at_largest=largest.outcomes["complete"].count,
                verdicts_at_largest=largest.verdicts,
            )
        )
    return out


def paragraphs(said: list[Reading]) -> list[tuple[str, bool, str]]:
    """One paragraph per model (model, simulated, text) from its readings of one task: strategies
    that read alike share a sentence ("continue, direct: No collapse ...")."""
    by_model: dict[tuple[str, bool], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for x in said:
        by_model[(x.model, x.simulated)][x.sentence()].append(x.strategy)
    return [
        (model, simulated, " ".join(f"{', '.join(strategies)}: {text}" for text, strategies in sentences.items()))
        for (model, simulated), sentences in sorted(by_model.items())
    ]


RULE = (
    "N is the smallest size tested past which the paper's reading says collapse: every larger size tested has fewer than "
    "half its verdicts complete (anything not complete is a failure). The answers counted are those of the sizes above N, "
    "summed from the table's won't-do, budget_exhausted, can't-do and unparseable columns; provider errors are never counted."
)
"""The rule, as the report states it beside the paragraphs."""
