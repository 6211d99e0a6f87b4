"""What the terminal UI knows about a run, kept apart from how it is drawn.

`RunState` is a `Display`: the engine calls it as it calls any display, and it only records.
The app repaints from it a few times a second, whatever the rate of events, and asks it what
changed since. Text is kept only for trials in flight (a bounded tail each); a finished trial's
text is read back from the store when someone looks at it, so memory does not grow with the run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from longhaul.display.protocol import RunInfo, RunSummary
from longhaul.providers import RetryRecord
from longhaul.providers.ratelimit import RateStatus
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord, TrialSpec

CellKey = tuple[str, str, int, str]
"""model, task, size, strategy"""

LIVE_TAIL = 20_000
"""Characters of a trial in flight kept for the screen (its start is in the store once it ends)."""


def cell_of(spec: TrialSpec) -> CellKey:
    return (spec.model, spec.task, spec.size, spec.strategy)


@dataclass
class CellState:
    total: int = 0
    done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    in_flight: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    """Keys of its stored trials, in the order they ended."""
    outcome_of: dict[str, str] = field(default_factory=dict)
    """Each stored trial's outcome, so that a failed cell can show a failing trial first."""

    @property
    def planned(self) -> int:
        """Its trials as far as known: an adaptive search's cells have no total before they end."""
        return max(self.total, self.done + len(self.in_flight))

    @property
    def errors(self) -> int:
        """Finished trials the provider failed: no verdict on the model."""
        return self.outcomes.get("error", 0)

    @property
    def verdicts(self) -> int:
        """Finished trials with a verdict on the model."""
        return self.done - self.errors

    def share(self, outcome: str) -> float | None:
        """An outcome's share of the verdicts (None before the first one)."""
        return self.outcomes.get(outcome, 0) / self.verdicts if self.verdicts else None


@dataclass
class LiveTrial:
    """A trial in flight: its finished turns and the tail of the turn streaming now."""

    spec: TrialSpec
    turns: list[Turn] = field(default_factory=list)
    text: str = ""
    length: int = 0
    """Characters of the turn streaming now: more than `text` holds once its start is dropped."""
    thinking: str = ""
    items_correct: int = 0
    failed: bool = False
    retries: list[RetryRecord] = field(default_factory=list)

    def add(self, kind: Literal["text", "thinking"], chunk: str) -> None:
        if kind == "text":
            self.text = (self.text + chunk)[-LIVE_TAIL:]
            self.length += len(chunk)
        else:
            self.thinking = (self.thinking + chunk)[-LIVE_TAIL:]


class RunState:
    """Counts, cells and live trials of one run; also the engine's display."""

    def __init__(self) -> None:
        self.run_dir: Path | None = None
        self.suite = ""
        self.simulated = False
        self.total = 0
        self.searches = 0
        """Adaptive searches in the run: their trials are planned as it goes, so not in `total`."""
        self.done = 0
        self.outcomes: Counter[str] = Counter()
        self.cells: dict[CellKey, CellState] = {}
        self.live: dict[str, LiveTrial] = {}
        self.started = 0
        """Trials this process has started (a paused run starts none)."""
        self.tokens_out = 0
        self.retries = 0
        self.errors = 0
        self.began: float | None = None
        self.began_done = 0
        self.finished = False
        self.interrupted = False
        self.changed_cells: set[CellKey] = set()
        self.changed_trials: set[str] = set()
        self.header_changed = True
        self.rates: Callable[[], list[RateStatus]] = list
        """The run's rate limits and their use now (read when the header repaints)."""
        self.notes: list[str] = []
        """The run's notes (a batch's progress), in order."""

    # -- seeding ---------------------------------------------------------------------------------

    def plan(self, specs: list[TrialSpec]) -> None:
        """Every trial the run will have, so each cell knows its total before any ends."""
        for spec in specs:
            self.cells.setdefault(cell_of(spec), CellState()).total += 1
        self.total = len(specs)
        self.changed_cells.update(self.cells)

    def stored(self, key: str, cell_key: CellKey, outcome: str) -> None:
        """A trial in the store (browsing, a resumed run's earlier trials, or one just ended)."""
        cell = self.cells.setdefault(cell_key, CellState())
        if key in cell.finished:
            return
        cell.done += 1
        cell.outcomes[outcome] += 1
        cell.finished.append(key)
        cell.outcome_of[key] = outcome
        self.done += 1
        self.outcomes[outcome] += 1
        self.errors += outcome == "error"
        self.changed_cells.add(cell_key)
        self.header_changed = True

    # -- the Display protocol --------------------------------------------------------------------

    def run_started(self, info: RunInfo) -> None:
        self.run_dir, self.suite, self.simulated = info.run_dir, info.suite, info.simulated
        self.rates = info.rates
        self.total, self.searches = info.total, info.searches
        self.began, self.began_done = time.monotonic(), self.done
        self.header_changed = True

    def trial_started(self, spec: TrialSpec) -> None:
        self.started += 1
        self.live[spec.key] = LiveTrial(spec)
        self.cells.setdefault(cell_of(spec), CellState()).in_flight.append(spec.key)
        self.changed_cells.add(cell_of(spec))
        self.changed_trials.add(spec.key)

    def trial_delta(self, spec: TrialSpec, kind: Literal["text", "thinking"], text: str) -> None:
        live = self.live.get(spec.key)
        if live is not None:
            live.add(kind, text)
            self.changed_trials.add(spec.key)

    def trial_progress(self, spec: TrialSpec, items_correct: int, failed: bool) -> None:
        live = self.live.get(spec.key)
        if live is not None and (live.items_correct, live.failed) != (items_correct, failed):
            live.items_correct, live.failed = items_correct, failed
            self.changed_trials.add(spec.key)

    def trial_retry(self, spec: TrialSpec, retry: RetryRecord) -> None:
        self.retries += 1
        live = self.live.get(spec.key)
        if live is not None:
            live.retries.append(retry)
            live.text = live.thinking = ""
            live.length = 0
            self.changed_trials.add(spec.key)
        self.header_changed = True

    def trial_turn(self, spec: TrialSpec, turn: Turn) -> None:
        live = self.live.get(spec.key)
        self.tokens_out += turn.usage.output_tokens
        if live is not None:
            # The finished turn is kept whole for the screen; the next one streams from empty.
            live.turns.append(turn)
            live.text = live.thinking = ""
            live.length = 0
            self.changed_trials.add(spec.key)
        self.header_changed = True

    def trial_finished(self, record: TrialRecord) -> None:
        key = record.spec.key
        self.live.pop(key, None)
        cell = self.cells.setdefault(cell_of(record.spec), CellState())
        if key in cell.in_flight:
            cell.in_flight.remove(key)
        self.stored(key, cell_of(record.spec), record.outcome)
        self.changed_trials.add(key)

    def run_finished(self, summary: RunSummary) -> None:
        self.finished = True
        self.interrupted = summary.interrupted
        for cell in self.cells.values():
            cell.in_flight.clear()
        self.live.clear()
        self.header_changed = True

    def trial_dropped(self, spec: TrialSpec) -> None:
        self.drop(spec.key)

    def run_note(self, text: str) -> None:
        self.notes.append(text)  # kept, not drawn: the trials a batch answers show as they are stored

    def drop(self, key: str) -> None:
        """A trial cancelled in flight, or whose model refused for good: it is not stored, a
        resume runs it again."""
        live = self.live.pop(key, None)
        if live is not None:
            cell = self.cells.get(cell_of(live.spec))
            if cell is not None and key in cell.in_flight:
                cell.in_flight.remove(key)
                self.changed_cells.add(cell_of(live.spec))

    # -- derived ---------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self.live)

    def rate(self) -> tuple[float | None, float | None]:
        """Trials per second and output tokens per second since this process began."""
        if self.began is None:
            return None, None
        elapsed = max(1e-6, time.monotonic() - self.began)
        return (self.done - self.began_done) / elapsed, self.tokens_out / elapsed

    def eta(self) -> float | None:
        per_second, _ = self.rate()
        if not per_second or self.finished:
            return None
        return (self.total - self.done) / per_second

    def rate_lines(self) -> list[str]:
        """One line per rate-limited model: its limits, their use in the last minute, its waits."""
        return [s.describe() for s in self.rates()]

    def take_changes(self) -> tuple[set[CellKey], set[str], bool]:
        cells, trials, header = self.changed_cells, self.changed_trials, self.header_changed
        self.changed_cells, self.changed_trials, self.header_changed = set(), set(), False
        return cells, trials, header
