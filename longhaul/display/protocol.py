"""The contract between the engine and whatever shows a run: plain lines, a rich progress view,
or the Textual UI. The engine tells a display what happened; a display steers the engine only
through the `RunControl` it is given (pause, resume, stop, cancel a trial), which the scheduler
reads before it starts each trial."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from longhaul.providers import RetryRecord
from longhaul.providers.ratelimit import RateStatus
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord, TrialSpec


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run about to start."""

    run_dir: Path
    suite: str
    total: int
    """Trials in the suite."""
    already_done: int
    """Trials the store already holds (a resumed run)."""
    simulated: bool
    """Every model is longhaul's simulated model."""
    rates: Callable[[], list[RateStatus]] = list
    """Each rate-limited model's limits and their use now: a display calls it when it repaints
    (it changes with time alone, so the engine sends no event for it). None limited: empty."""
    searches: int = 0
    """Adaptive searches in the run: their trials are not in `total` (each round is planned from the last)."""


@dataclass(slots=True)
class RunSummary:
    """A run that ended, finished or not."""

    run_dir: Path
    total: int
    done: int
    outcomes: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    searched: bool = False
    """The run had searches: `total` counts its fixed trials only."""
    stopped: list[str] = field(default_factory=list)
    """The models the run stopped sending to, a phrase each: "openai/x's 6 not sent: 401 Unauthorized: ..."."""
    pending_batches: int = 0
    """Batches (`run --batch`) still running at the provider when it ended (a Ctrl-C, a crash, a
    model stopped): their results are paid for, and a resume collects them."""

    def why(self) -> str:
        """The end line's tail: each stop's phrase, and the batches a resume would collect ("" if none)."""
        phrases = list(self.stopped)
        if n := self.pending_batches:
            phrases.append(f"{n} batch{'es' if n != 1 else ''} still pending at the provider: longhaul resume {self.run_dir} collects them")
        return "".join(f"; {phrase}" for phrase in phrases)


class Display(Protocol):
    def run_started(self, info: RunInfo) -> None: ...
    def trial_started(self, spec: TrialSpec) -> None: ...
    def trial_delta(self, spec: TrialSpec, kind: Literal["text", "thinking"], text: str) -> None: ...
    def trial_progress(self, spec: TrialSpec, items_correct: int, failed: bool) -> None: ...
    def trial_retry(self, spec: TrialSpec, retry: RetryRecord) -> None: ...
    def trial_turn(self, spec: TrialSpec, turn: Turn) -> None: ...
    def trial_finished(self, record: TrialRecord) -> None:
        """Called after the trial is stored."""

    def trial_dropped(self, spec: TrialSpec) -> None:
        """A trial started but not stored: its model refused for good (401, 403, 404)."""

    def run_finished(self, summary: RunSummary) -> None: ...
    def run_note(self, text: str) -> None:
        """A line about the run as a whole, such as a batch's progress (`run --batch`)."""


class NullDisplay:
    """Shows nothing (the Python API's default)."""

    def run_started(self, info: RunInfo) -> None: ...
    def trial_started(self, spec: TrialSpec) -> None: ...
    def trial_delta(self, spec: TrialSpec, kind: Literal["text", "thinking"], text: str) -> None: ...
    def trial_progress(self, spec: TrialSpec, items_correct: int, failed: bool) -> None: ...
    def trial_retry(self, spec: TrialSpec, retry: RetryRecord) -> None: ...
    def trial_turn(self, spec: TrialSpec, turn: Turn) -> None: ...
    def trial_finished(self, record: TrialRecord) -> None: ...
    def trial_dropped(self, spec: TrialSpec) -> None: ...
    def run_finished(self, summary: RunSummary) -> None: ...
    def run_note(self, text: str) -> None: ...


class RunControl:
    """Requests from a display to the scheduler: pause, resume, stop, cancel one trial."""

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()
        self.stopping = False
        self.cancelled: set[str] = set()
        self._tasks: dict[str, asyncio.Task[object]] = {}

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        """No new trial starts until `resume`; trials in flight go on."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Start no new trial; the run ends when those in flight have finished."""
        self.stopping = True
        self._running.set()

    def cancel(self, key: str) -> None:
        """Drop one trial in flight; it is not stored, so a resume runs it again."""
        self.cancelled.add(key)
        if (task := self._tasks.get(key)) is not None:
            task.cancel()

    async def wait_to_start(self) -> bool:
        """Wait while paused; False once the run is stopping."""
        await self._running.wait()
        return not self.stopping

    def track(self, key: str, task: asyncio.Task[object]) -> None:
        self._tasks[key] = task

    def untrack(self, key: str) -> None:
        self._tasks.pop(key, None)
