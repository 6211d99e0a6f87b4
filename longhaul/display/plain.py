"""One line per finished trial, for CI logs and anything that is not a terminal."""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from longhaul.display.protocol import RunInfo, RunSummary
from longhaul.providers import RetryRecord
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord, TrialSpec

ERROR_WIDTH = 100
"""Characters of a provider's error message a trial's line keeps: one line, however long the message."""


def failure(record: TrialRecord, width: int = ERROR_WIDTH) -> str:
    """The provider's error that ended a trial, on one line and at most `width` characters: the
    last failed turn's message without the model's name (the line names it already). Empty when
    no turn failed."""
    message = next((t.error for t in reversed(record.turns) if t.error), "")
    prefix = f"{record.spec.model}: "
    if message.startswith(prefix):
        message = message[len(prefix) :]
    # A multi-line body (an HTML error page) stays on the trial's line; its full stop would clash with the `;` after it.
    message = " ".join(message.split()).rstrip(".")
    return message if len(message) <= width else message[: width - 1].rstrip() + "…"


class PlainDisplay:
    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._total = 0
        self._searched = False
        self._done = 0

    def _say(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def run_started(self, info: RunInfo) -> None:
        self._total, self._done = info.total, info.already_done
        self._searched = bool(info.searches)
        sim = " (simulated models: not measurements of real ones)" if info.simulated else ""
        resumed = f", {info.already_done} already stored" if info.already_done else ""
        # A search's trials are planned round by round: no total is known before it ends.
        searches = f" and {info.searches} search{'' if info.searches == 1 else 'es'}" if info.searches else ""
        self._say(f"run {info.run_dir}: suite {info.suite}, {info.total} trials{searches}{resumed}{sim}")

    def trial_started(self, spec: TrialSpec) -> None: ...
    def trial_delta(self, spec: TrialSpec, kind: Literal["text", "thinking"], text: str) -> None: ...
    def trial_progress(self, spec: TrialSpec, items_correct: int, failed: bool) -> None: ...
    def trial_retry(self, spec: TrialSpec, retry: RetryRecord) -> None: ...
    def trial_turn(self, spec: TrialSpec, turn: Turn) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None:
        self._done += 1
        s, v = record.spec, record.verdict
        expected = "?" if v.items_expected is None else v.items_expected
        of = "" if self._searched else f"/{self._total}"
        # A failed trial says why first: the counts after it are mostly zeros.
        why = f"{failed}; " if (failed := failure(record)) else ""
        self._say(
            f"[{self._done}{of}] {s.model} {s.task} size={s.size} {s.strategy} #{s.sample}: {record.outcome}"
            f" ({why}{v.items_correct}/{expected} items, {len(record.turns)} turn{'s' if len(record.turns) != 1 else ''},"
            f" {record.output_tokens} out, {record.retries} retries)"
        )

    def trial_dropped(self, spec: TrialSpec) -> None: ...  # the run's stop line says it, once a model

    def run_note(self, text: str) -> None:
        self._say(text)

    def run_finished(self, summary: RunSummary) -> None:
        mix = ", ".join(f"{k} {n}" for k, n in sorted(summary.outcomes.items()))
        state = "stopped" if summary.stopped else "interrupted" if summary.interrupted else "finished"
        done = f"{summary.done} trials (searches)" if summary.searched else f"{summary.done}/{summary.total} trials"
        why = summary.why()
        self._say(f"run {state}: {done} stored in {summary.run_dir} ({mix or 'none this time'}){why}")
