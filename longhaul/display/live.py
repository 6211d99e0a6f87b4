"""A live progress view for a terminal (rich): the bar with ETA, trials by outcome, tokens and
retries, and each rate-limited model's limits in use and its waits. It repaints a few times a
second, however fast trials stream."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Literal

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from longhaul.display.protocol import RunInfo, RunSummary
from longhaul.outcome_style import colour
from longhaul.providers import RetryRecord
from longhaul.providers.ratelimit import RateStatus
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord, TrialSpec
from longhaul.verdict import OUTCOMES


class _RateLines:
    """The rate limits' lines, read at every repaint: they change with time alone, as a minute passes."""

    def __init__(self, read: Callable[[], list[RateStatus]]) -> None:
        self._read = read

    def __rich__(self) -> Text:
        return Text("\n".join("limit " + s.describe() for s in self._read()), style="dim")


class LiveDisplay:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._bar = self._progress.add_task("trials", total=0)
        self._outcomes: Counter[str] = Counter()
        self._tokens_in = self._tokens_out = self._retries = self._in_flight = 0
        self._live = Live(Group(self._progress, Text("")), console=self._console, refresh_per_second=4, transient=False)
        self._title = ""
        self._rates: Callable[[], list[RateStatus]] = list

    def _panel(self) -> Group:
        table = Table.grid(padding=(0, 2))
        table.add_row(*(Text(f"{o} {self._outcomes.get(o, 0)}", style=colour(o)) for o in OUTCOMES))
        stats = Text(
            f"in flight {self._in_flight}   tokens in {self._tokens_in:,}   out {self._tokens_out:,}   retries {self._retries}",
            style="dim",
        )
        if self._rates():
            return Group(Text(self._title), self._progress, table, stats, _RateLines(self._rates))
        return Group(Text(self._title), self._progress, table, stats)

    def _refresh(self) -> None:
        self._live.update(self._panel())

    def run_started(self, info: RunInfo) -> None:
        sim = "  [simulated models: not measurements of real ones]" if info.simulated else ""
        self._title = f"longhaul run {info.run_dir} · suite {info.suite}{sim}"
        self._rates = info.rates
        self._progress.update(self._bar, total=info.total, completed=info.already_done)
        self._live.start()
        self._refresh()

    def trial_started(self, spec: TrialSpec) -> None:
        self._in_flight += 1
        self._refresh()

    def trial_delta(self, spec: TrialSpec, kind: Literal["text", "thinking"], text: str) -> None: ...
    def trial_progress(self, spec: TrialSpec, items_correct: int, failed: bool) -> None: ...

    def trial_retry(self, spec: TrialSpec, retry: RetryRecord) -> None:
        self._retries += 1
        self._refresh()

    def trial_turn(self, spec: TrialSpec, turn: Turn) -> None:
        self._tokens_in += turn.usage.input_tokens
        self._tokens_out += turn.usage.output_tokens
        self._refresh()

    def trial_finished(self, record: TrialRecord) -> None:
        self._in_flight -= 1
        self._outcomes[record.outcome] += 1
        self._progress.advance(self._bar)
        self._refresh()

    def trial_dropped(self, spec: TrialSpec) -> None:
        self._in_flight -= 1
        self._refresh()

    def run_note(self, text: str) -> None:
        self._console.print(text)  # printed above the live panel, which stays at the bottom

    def run_finished(self, summary: RunSummary) -> None:
        self._refresh()
        self._live.stop()
        state = "stopped" if summary.stopped else "interrupted" if summary.interrupted else "finished"
        why = summary.why()
        self._console.print(f"run {state}: {summary.done}/{summary.total} trials stored in {summary.run_dir}{why}", markup=False)
