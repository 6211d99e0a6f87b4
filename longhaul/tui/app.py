"""The terminal UI (Textual): watch a suite run, or read a run afterwards.

The engine feeds a `RunState` through the display protocol and knows nothing of Textual; the run
is an async worker on the app's own loop. The app repaints from the state four times a second,
however fast trials stream, and reads finished trials back from the store only when shown.
"""

from __future__ import annotations

import asyncio
import os
import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Collapsible, DataTable, Footer, Input, ProgressBar, Static
from textual.worker import WorkerCancelled, WorkerFailed

from longhaul.catalog import Catalog
from longhaul.display.protocol import RunControl
from longhaul.excerpt import excerpt
from longhaul.outcome_style import Theme, glyph, terminal_colour
from longhaul.runner import Plan, arun
from longhaul.shorten import distinct
from longhaul.store import RunStop, iter_trials, read_index, read_manifest, read_retries, read_trial
from longhaul.strategy import Turn
from longhaul.trial import TrialRecord
from longhaul.tui.preview import Preview, preview
from longhaul.tui.state import LIVE_TAIL, CellKey, CellState, LiveTrial, RunState
from longhaul.verdict import OUTCOMES

if TYPE_CHECKING:  # the report's modules: loaded only when the summary is asked for
    from longhaul.report.results import CellResult

MARK = {"first_error": "bold white on red", "claims_complete": "black on magenta", "impossible": "black on green"}
MARK_DEFAULT = "black on yellow"  # refusal, elision, subset, code, offer to continue
SHOWN = 6000
"""Characters of one answer drawn at once: its opening, and the text around each mark."""
SORTS = ("cell", "cant_do", "wont_do", "complete")
MIX = 8
"""Glyphs in a cell's outcome bar."""
MAIN_ONLY = frozenset({"pause", "cancel", "search", "unsearch", "sort", "summary", "report", "resume", "trial", "first_error"})
"""Actions on the grid and the trial pane: not while another screen (the summary) is on top."""


def _key(cell: CellKey) -> str:
    return "\x1f".join(map(str, cell))


def _cell(key: str) -> CellKey:
    model, task, size, strategy = key.split("\x1f")
    return model, task, int(size), strategy


def mix(cell: CellState, width: int = MIX, theme: Theme = "dark") -> Text:
    """The cell's progress as a bar of outcome glyphs in their colours (a glyph, not a block, so
    that the bar reads without colour), provider errors among them; the rest: not done yet."""
    text = Text()
    if cell.planned == 0:
        return text
    used = 0
    for o in OUTCOMES:
        n = round(width * cell.outcomes.get(o, 0) / cell.planned)
        if n:
            text.append(glyph(o) * n, style=terminal_colour(o, theme))
            used += n
    text.append("·" * max(0, width - used), style="dim")
    return text


def marked(text: str, spans: list[tuple[int, int, str]]) -> Text:
    """An answer with its evidence marked; long stretches without marks are elided."""
    out = Text()
    for piece in excerpt(text, spans, SHOWN // 2, 400, tail=SHOWN // 2):
        if piece.kind == "gap":
            out.append(f"\n… {piece.skipped:,} characters not shown …\n", style="dim italic")
        else:
            out.append(piece.text, style=MARK.get(piece.mark, MARK_DEFAULT) if piece.kind == "mark" else "")
    return out


def _error_offset(body: Text) -> int | None:
    """Where the first wrong item is marked in a drawn trial (None: no wrong item)."""
    starts = [span.start for span in body.spans if str(span.style) == MARK["first_error"]]
    return min(starts) if starts else None


def complete_cell(c: CellResult) -> Text:
    """A summary cell: the complete share of the verdicts, how many, and the provider errors
    beside it (never in it)."""
    share = c.outcomes["complete"].share
    if share is None:
        text = Text("no verdicts", style="bright_black")
    else:
        blocks = "▁▂▃▄▅▆▇█"[min(7, int(share * 8))]
        style = "green" if share >= 0.8 else "yellow" if share >= 0.3 else "red"
        text = Text(f"{blocks} {100 * share:3.0f}% of {c.verdicts}", style=style)
    if c.provider_errors.count:
        text.append(f" +{c.provider_errors.count} err", style="bright_black")
    return text


def _cached(turn: Turn) -> str:
    """` (n cached)` where the prompt cache served part of the prompt: short, the pane is narrow."""
    return f" ({turn.usage.cached_input_tokens:,} cached)" if turn.usage.cached_input_tokens else ""


def render_turn(turn: Turn, theme: Theme = "dark") -> Text:
    v = turn.verdict
    # A turn the provider failed has no stop reason: what failed is what a reader needs.
    ended = f"provider error: {turn.error}" if turn.error else f"stop {turn.stop_reason} ({turn.raw_stop_reason})"
    head = Text(
        f"── turn {turn.index + 1} · {turn.kind} · {ended} · {turn.usage.input_tokens:,} in{_cached(turn)} / {turn.usage.output_tokens:,} out",
        style="bold",
    )
    if turn.retries:
        head.append(f" · {len(turn.retries)} retries", style="bold")
    body = marked(turn.answer, [(e.start, e.end, e.kind) for e in v.evidence if e.source == "answer"])
    after = Text("\nafter this turn: ")
    after.append(v.outcome, style=f"bold {terminal_colour(v.outcome, theme)}")
    after.append(f" — {v.explanation}")
    if v.first_error:
        e = v.first_error
        after.append(f"\nfirst error: item {e.index + 1}: got {e.got}, expected {e.expected} ({e.rule})", style="bold red")
    if turn.error:
        after.append(f"\nprovider error: {turn.error}", style=f"bold {terminal_colour('error', theme)}")
    return Text("\n").join([head, body, after])


def render_record(t: TrialRecord, theme: Theme = "dark") -> tuple[Text, Text, str]:
    s = t.spec
    head = Text(f"{s.model}{' (simulated)' if t.simulated else ''} · {s.task} size {s.size} · {s.strategy} · sample {s.sample + 1} · ")
    head.append(t.outcome, style=f"bold {terminal_colour(t.outcome, theme)}")
    head.append(f" · {len(t.turns)} turn(s) · loop ended: {t.stop}")
    if t.retries:
        head.append(f" · {t.retries} retries")
    body = Text("\n\n").join([render_turn(turn, theme) for turn in t.turns])
    thinking = "\n\n".join(f"[turn {turn.index + 1}]\n{turn.thinking}" for turn in t.turns if turn.thinking)
    return head, body, thinking


def render_live(t: LiveTrial, seen: Preview | None = None, theme: Theme = "dark") -> tuple[Text, Text, str]:
    """`seen`: the streaming text verified so far by the screen itself (the engine's counts lag
    on a short answer); its first wrong item is marked in the text."""
    s = t.spec
    head = Text(f"{s.model} · {s.task} size {s.size} · {s.strategy} · sample {s.sample + 1} · ")
    head.append("streaming", style="bold cyan")
    items = max(t.items_correct, seen.items_correct) if seen is not None else t.items_correct
    head.append(f" · {items} items verified")
    if t.failed or (seen is not None and seen.error is not None):
        head.append(" · a wrong item has appeared", style="bold red")
    parts = [render_turn(turn, theme) for turn in t.turns]
    now = Text(f"── turn {len(t.turns) + 1} · streaming", style="bold cyan")
    if t.retries:
        now.append(f" · retried after: {t.retries[-1].error}", style="yellow")
    streaming = Text(t.text)
    if seen is not None and seen.error is not None:
        streaming.stylize(MARK["first_error"], *seen.error)
    parts.append(Text("\n").join([now, streaming]))
    thinking = "\n\n".join(
        [f"[turn {turn.index + 1}]\n{turn.thinking}" for turn in t.turns if turn.thinking]
        + ([f"[turn {len(t.turns) + 1}, streaming]\n{t.thinking}"] if t.thinking else [])
    )
    return head, Text("\n\n").join(parts), thinking


class SummaryScreen(Screen[None]):
    """Accuracy against size per task, drawn in the terminal, and the refusal elasticity."""

    BINDINGS = [Binding("escape,a,q", "app.pop_screen", "Back")]

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._body, id="summary")
        yield Footer()


def summary(run_dir: Path, catalog: Catalog | None = None) -> Group:
    """`catalog`: the run's tasks and strategies (default: those its manifest records)."""
    from longhaul.report.results import aggregate, either  # loaded only when the summary is asked for: most sessions never do

    results = aggregate(iter_trials(run_dir), read_manifest(run_dir), run_dir, {}, catalog)  # streamed: never every trial at once
    parts: list[Any] = [
        Text(f"Refusal elasticity: won't-do first answers that became complete under {either(results.follow_up_strategies)}", style="bold")
    ]
    for m in results.models:
        e = m.elasticity
        line = Text(f"  {m.model}{' (simulated)' if m.simulated else ''}: ")
        line.append(
            f"{e.count} of {e.of}"
            + (f" ({100 * e.share:.0f}%)" if e.share is not None else "")
            + (f", median {m.median_turns_to_complete:.0f} turns" if m.median_turns_to_complete else "")
        )
        if m.provider_errors:
            line.append(f"  ({m.verdicts} verdicts; {m.provider_errors} provider errors, in no rate)", style="bright_black")
        parts.append(line)
    tasks = sorted({c.task for c in results.cells})
    for task in tasks:
        cells = [c for c in results.cells if c.task == task]
        sizes = sorted({c.size for c in cells})
        table = Table(title=f"{task}: complete of the verdicts, by size", title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("model · strategy", no_wrap=True)
        for size in sizes:
            table.add_column(str(size), justify="left", no_wrap=True)
        rows: dict[tuple[str, str], dict[int, CellResult]] = {}
        for c in cells:
            rows.setdefault((c.model, c.strategy), {})[c.size] = c
        names = distinct(sorted({model for model, _ in rows}), 36)  # shortened in the middle, kept apart
        for (model, strategy), by_size in sorted(rows.items()):
            table.add_row(f"{names[model]} · {strategy}", *(complete_cell(by_size[size]) if size in by_size else "" for size in sizes))
        parts += [Text(""), table]
    return Group(*parts)


class LonghaulApp(App[str]):
    """`longhaul tui`: a run live, or a stored run to browse."""

    TITLE = "longhaul"
    CSS = """
    #top { height: 3; padding: 0 1; }
    #stats, #outcomes { height: 1; }
    #top.limited { height: auto; }
    #limits { display: none; height: auto; color: $text-muted; }
    #limits.shown { display: block; }
    #bar { width: 1fr; }
    #body { height: 1fr; }
    #left { width: 2fr; min-width: 40; }
    .narrow #left { width: 3fr; }
    #right { width: 1fr; border-left: solid $panel; padding: 0 1; }
    #filter { display: none; }
    #filter.shown { display: block; }
    DataTable { height: 1fr; }
    #trial-head { height: auto; }
    """
    BINDINGS = [
        # Quit first: a narrow footer cuts its last keys, and this one must stay on screen.
        Binding("q", "quit_run", "Quit"),
        Binding("p", "pause", "Pause"),
        Binding("x", "cancel", "Cancel trial"),
        Binding("slash", "search", "Search"),
        Binding("s", "sort", "Sort"),
        Binding("a", "summary", "Summary"),
        Binding("o", "report", "Report"),
        Binding("R", "resume", "Resume"),
        Binding("e", "first_error", "First error"),
        Binding("t", "theme", "Theme", show=False),
        Binding("left_square_bracket", "trial(-1)", "Prev trial", show=False),
        Binding("right_square_bracket", "trial(1)", "Next trial", show=False),
        Binding("escape", "unsearch", "Close search", show=False),
    ]
    REPAINT = 0.25
    """Seconds between repaints."""

    def __init__(
        self,
        run_dir: Path,
        plan: Plan | None = None,
        resume: bool = False,
        browse: bool = False,
        prices: Path | None = None,
        no_resume: str = "",
        report: bool = True,
    ) -> None:
        """`plan`: the suite's trials and the catalog they use (the run's own, when browsing);
        `prices`: the price file the report `o` writes is costed with; `no_resume`: why a browsed
        run cannot be resumed (an imported one), said when `R` is pressed; `report`: write
        report.html, summary.md and results.json when a run started here ends, as `run` does."""
        super().__init__()
        self.report = report
        self.no_resume = no_resume
        self.prices = prices
        self.run_dir = run_dir
        self.plan = plan
        self.resume_existing = resume
        self.browse = browse
        self.state = RunState()
        self.control = RunControl()
        self.sort = 0
        self.filter = ""
        self.selected: CellKey | None = None
        self.trial_key: str | None = None
        self.follow = True
        self.jumped: str | None = None
        """The trial the pane last opened at its first error (it does so once per trial shown)."""
        self.pending = False
        self.worker: Any = None
        self.message = ""
        self.stops: list[RunStop] = []
        """Why the runs started here left trials unsent (auth failures): `longhaul tui` prints them
        on quitting and exits as `run` does."""

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield Static(id="stats")
            with Horizontal():
                yield ProgressBar(total=1, show_eta=False, id="bar")
            yield Static(id="outcomes")
            yield Static(id="limits")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Input(placeholder="filter: model, task, strategy or outcome words", id="filter", disabled=True)
                yield DataTable(cursor_type="row", zebra_stripes=True, id="grid")
            with VerticalScroll(id="right"):
                yield Static("Select a cell on the left.", id="trial-head")
                with Collapsible(title="thinking", collapsed=True, id="thinking"):
                    yield Static("", id="thinking-text")
                yield Static("", id="trial-body")
        yield Footer()

    def on_mount(self) -> None:
        grid = self.query_one("#grid", DataTable)
        if self.plan is not None:
            self.state.plan(self.plan.trials)
        if self.browse or self.resume_existing:
            for key, model, task, size, strategy, outcome in read_index(self.run_dir):
                self.state.stored(key, (model, task, size, strategy), outcome)
            self.state.run_dir, self.state.suite = self.run_dir, (self.plan.suite if self.plan else read_manifest(self.run_dir).suite).name
            self.state.simulated = bool(self.plan and self.plan.suite.simulated_only())
            self.state.retries = read_retries(self.run_dir)
            if self.plan is None:
                # No plan to give totals: what is stored is the whole run.
                for cell in self.state.cells.values():
                    cell.total = cell.done
                self.state.total = self.state.done
        self.theme_changed_signal.subscribe(self, lambda _theme: self._repaint_all())
        self._rebuild()
        grid.focus()
        # The row under the cursor is selected now, so the first paint already shows its trial: the
        # grid's own highlight event arrives later, and the repaint tick it would wait for races
        # whatever reads the screen first (a snapshot, a user's first glance).
        if grid.row_count:
            row_key, _ = grid.coordinate_to_cell_key(grid.cursor_coordinate)
            assert row_key.value is not None  # every row is added with its cell's key
            self.selected = _cell(row_key.value)
        # The main screen's timer, not the app's: Textual stops a screen's timers before it
        # removes the screen's widgets, so a repaint never looks for a widget that has gone.
        self.repaint = self.screen.set_interval(self.REPAINT, self._refresh)
        if not self.browse:
            self._start(resume=self.resume_existing)
        self._refresh(force=True)

    # -- running ---------------------------------------------------------------------------------

    def _start(self, resume: bool) -> None:
        async def go() -> None:
            try:
                assert self.plan is not None  # only browsing goes without a plan, and it never starts a run
                result = await arun(
                    self.plan,
                    out=None if resume else self.run_dir,
                    resume=self.run_dir if resume else None,
                    display=self.state,
                    control=self.control,
                )
                self.stops.extend(result.stops)
                for stop in result.stops:  # the same line `run` prints, on the screen while it stays open
                    self.notify(stop.message, severity="warning", timeout=60)
                if self.report:
                    from longhaul.report import write_report

                    self.notify("writing report.html, summary.md and results.json…")
                    # In a thread: the screen stays live while the store is read back.
                    paths = await asyncio.to_thread(write_report, result.run_dir, prices=self.prices, catalog=self.plan.catalog)
                    self.notify(f"report written: {paths['html']} (also {paths['md'].name} and {paths['json'].name})", timeout=30)
            except asyncio.CancelledError:
                self.state.interrupted = True
                raise
            except Exception as exc:  # a bad key, a changed suite: say it, do not crash the screen
                self.state.interrupted = True
                self.notify(str(exc), severity="error", timeout=30)
                self.message = f"longhaul: error: {exc}"

        self.worker = self.run_worker(go(), name="run", exclusive=True, exit_on_error=False)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    # -- repainting ------------------------------------------------------------------------------

    def _refresh(self, force: bool = False) -> None:
        """Repaint what changed since the last tick (called four times a second)."""
        if not self.is_running:
            return  # quitting: the screen's widgets go before the timer stops, and a tick can fall between
        cells, trials, header = self.state.take_changes()
        # The rate limits' use changes with time alone (a minute passes): repainted every tick.
        if header or cells or force or (self.running and self.state.rate_lines()):
            self._header()
        grid = self.query_one("#grid", DataTable)
        for cell in cells:
            key = _key(cell)
            if key in grid.rows:
                c = self.state.cells[cell]
                grid.update_cell(key, "done", self._done(c))
                grid.update_cell(key, "mix", mix(c, theme=self.tone))
        if self.selected is not None and (self.pending or (self.selected in cells and self.follow) or self.trial_key in trials or force):
            self.pending = False
            self._show()

    @property
    def tone(self) -> Theme:
        """The outcome palette for the theme on screen."""
        return "dark" if self.current_theme.dark else "light"

    def _repaint_all(self) -> None:
        """Everything drawn in outcome colours, again (the theme changed)."""
        self._rebuild()
        self._refresh(force=True)

    def on_resize(self) -> None:
        # Narrow terminals give the grid more of the width, and the model names are shortened to it.
        self.screen.set_class(self.size.width < 100, "narrow")
        if self.is_running and self.query("#grid"):
            self._rebuild()

    def _done(self, c: CellState) -> Text:
        text = Text(f"{c.done}/{c.total}" if c.total >= c.planned else f"{c.done}")
        if c.errors:
            text.append(f" ×{c.errors}", style=terminal_colour("error", self.tone))
        if c.in_flight:
            text.append(f" ▶{len(c.in_flight)}", style="cyan")
        return text

    def _header(self) -> None:
        s = self.state
        _per_second, tokens = s.rate()
        eta = s.eta()
        if self.browse and not self.running:
            status = "browsing"
        elif s.finished or not self.running:
            status = "interrupted" if s.interrupted or s.done < s.total else "finished"
        else:
            status = "paused" if self.control.paused else "running"
        line = Text(f"{self.run_dir.name} · {s.suite or '-'} · ", style="bold")
        line.append(status, style="bold yellow" if status in ("paused", "interrupted") else "bold")
        if s.searches or (self.plan is not None and self.plan.searches):
            # A search plans its trials round by round: no total to count towards.
            searches = s.searches or len(self.plan.searches if self.plan else [])
            line.append(
                f" · {s.done} trials ({s.total} fixed + {searches} search{'es' if searches != 1 else ''}) · in flight {s.in_flight}"
            )
        else:
            line.append(f" · {s.done}/{s.total} trials · in flight {s.in_flight}")
        # Retries and errors before the rates: on a narrow terminal the end of the line is cut.
        line.append(f" · retries {s.retries} · errors {s.errors}")
        if status in ("running", "paused") and tokens is not None:
            line.append(f" · {tokens:,.0f} tok/s")
        if eta is not None and status == "running":
            line.append(f" · ETA {int(eta // 60)}:{int(eta % 60):02d}")
        if s.simulated:
            line.append(" · simulated", style="dim")
        line.no_wrap, line.overflow = True, "ellipsis"
        self.query_one("#stats", Static).update(line)
        bar = self.query_one("#bar", ProgressBar)
        bar.update(total=max(1, s.total, s.done) if not s.searches else None, progress=s.done)
        # The legend of the grid's bars: each outcome's glyph, name and count, in its colour.
        counts = Text(no_wrap=True, overflow="ellipsis")
        for o in OUTCOMES:
            counts.append(f"{glyph(o)} ", style=f"bold {terminal_colour(o, self.tone)}")
            counts.append(f"{o.replace('budget_exhausted', 'budget')} {s.outcomes.get(o, 0)} ", style=terminal_colour(o, self.tone))
        self.query_one("#outcomes", Static).update(counts)
        if rates := s.rate_lines():
            self.query_one("#top").add_class("limited")
            self.query_one("#limits", Static).add_class("shown")
            self.query_one("#limits", Static).update(Text("\n".join("limit " + line for line in rates)))

    def _rows(self) -> list[CellKey]:
        words = self.filter.lower().split()

        def visible(cell: CellKey) -> bool:
            c = self.state.cells[cell]
            hay = " ".join(map(str, cell)).lower() + " " + " ".join(o for o, n in c.outcomes.items() if n)
            return all(w in hay for w in words)

        cells = [c for c in self.state.cells if visible(c)]
        how = SORTS[self.sort]
        if how == "cell":
            return sorted(cells)

        # By share of the verdicts, so a cell of provider errors does not read as "least complete";
        # cells without a verdict go last.
        def order(cell: CellKey) -> tuple[bool, float, CellKey]:
            share = self.state.cells[cell].share(how)
            return share is None, (share or 0) * (1 if how == "complete" else -1), cell

        return sorted(cells, key=order)

    def _model_width(self, cells: list[CellKey]) -> int:
        """What the grid leaves its model column, so that `done` and the in-flight marker stay on screen."""
        left = self.query_one("#left").size.width or self.size.width * 2 // 3
        task = max((len(f"{t} {z}") for _, t, z, _ in cells), default=4)
        strategy = max((len(st) for *_, st in cells), default=8)
        total = max((c.planned for c in self.state.cells.values()), default=1)
        done = 2 * len(str(total)) + 1 + 3 + 3  # "12/12", " ×n" and " ▶n"
        padding = 2 * 5 + 2  # a space each side of five columns, and the scrollbar
        return max(8, left - padding - task - strategy - MIX - done)

    def _rebuild(self) -> None:
        grid = self.query_one("#grid", DataTable)
        # Columns too: a DataTable keeps the widths its rows gave them, and a filtered grid's
        # narrower task column would leave the model column wider than the screen allows.
        grid.clear(columns=True)
        for name in ("model", "task", "strategy", "mix", "done"):
            grid.add_column(name, key=name)
        rows = self._rows()
        names = distinct(sorted({m for m, *_ in self.state.cells}), self._model_width(list(self.state.cells)))
        for cell in rows:
            c = self.state.cells[cell]
            model, task, size, strategy = cell
            grid.add_row(names[model], f"{task} {size}", strategy, mix(c, theme=self.tone), self._done(c), key=_key(cell))
        if self.selected in rows:
            # A new theme, a resize or a filter keeps the user's place in the grid.
            grid.move_cursor(row=rows.index(self.selected))

    # -- the trial on the right ------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#grid")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is None or event.row_key.value is None:
            return
        cell = _cell(event.row_key.value)
        if cell == self.selected:
            return  # already shown (the first row, selected on mount)
        self.selected = cell
        self.follow = True
        # Drawn on the next repaint tick: holding a key down moves the cursor at once and reads
        # only the trial it stops on.
        self.pending = True

    def _candidates(self) -> list[str]:
        c = self.state.cells.get(self.selected) if self.selected else None
        return [] if c is None else [*c.finished, *c.in_flight]

    def _show(self) -> None:
        keys = self._candidates()
        if not keys:
            self.query_one("#trial-head", Static).update("No trial of this cell has started yet.")
            self.query_one("#trial-body", Static).update("")
            return
        if self.trial_key not in keys or (self.follow and self.state.cells[self.selected].in_flight):  # type: ignore[index]
            self.trial_key = self._first_shown(keys)
        key = self.trial_key
        live = self.state.live.get(key)
        pane = self.query_one("#right", VerticalScroll)
        # At the bottom already (or on a new trial): stay with the tail as it streams. Scrolled up
        # by the user: stay where they put it.
        tail = live is not None and (pane.scroll_y >= pane.max_scroll_y - 1 or key != self.jumped)
        error_at: int | None = None
        if live is not None:
            head, body, thinking = render_live(live, self._preview(live), self.tone)
        else:
            record = read_trial(self.run_dir, key)
            if record is None:
                return
            head, body, thinking = render_record(record, self.tone)
            error_at = _error_offset(body)
        position = Text(f"  [{keys.index(key) + 1} of {len(keys)} in this cell; [ and ] to step, e: first error]", style="dim")
        self.query_one("#trial-head", Static).update(Text.assemble(head, position))
        self.query_one("#trial-body", Static).update(body)
        self.query_one("#thinking-text", Static).update(thinking or "(no visible thinking)")
        self.query_one("#thinking", Collapsible).title = f"thinking ({len(thinking):,} characters)" if thinking else "thinking (none)"
        if key != self.jumped:
            self.jumped = key
            # A failed trial opens at its first error; any other at its start.
            if error_at is not None:
                self.call_after_refresh(self.action_first_error)
            elif not tail:
                pane.scroll_home(animate=False)
        if tail:
            self.call_after_refresh(pane.scroll_end, animate=False)

    def _first_shown(self, keys: list[str]) -> str:
        """The trial a cell opens at: one streaming if following the run, else a failing one (a wrong
        item first), else the last that ended."""
        assert self.selected is not None
        c = self.state.cells[self.selected]
        if self.follow and c.in_flight:
            return keys[-1]
        for wanted in ("cant_do", "budget_exhausted", "unparseable", "wont_do", "error"):
            failing = [k for k in c.finished if c.outcome_of.get(k) == wanted]
            if failing:
                return failing[0]
        return keys[-1]

    def _preview(self, live: LiveTrial) -> Preview | None:
        """The streaming turn verified so far, while the screen holds all of it (the first turn:
        later ones continue earlier items, which the engine's own count follows)."""
        if self.plan is None or live.turns or live.length > LIVE_TAIL or not live.text:
            return None
        try:
            task = self.plan.catalog.task(live.spec.task)
            return preview(task, task.params(live.spec.params), live.text)
        except Exception:  # a preview is a courtesy: the engine's verdict is the one that counts
            return None

    def action_first_error(self) -> None:
        """Scroll the trial pane to the first wrong item (or the first mark) of the trial shown."""
        body = self.query_one("#trial-body", Static)
        content = body.content if isinstance(body.content, Text) else None
        at = _error_offset(content) if content is not None else None
        if at is None:
            self.notify("no wrong item in the trial shown")
            return
        width = max(1, body.content_region.width or body.size.width)
        line = len(content[:at].wrap(self.console, width)) - 1 if at else 0  # type: ignore[index]
        pane = self.query_one("#right", VerticalScroll)
        pane.scroll_to(y=max(0, body.virtual_region.y + line - 2), animate=False)

    def action_trial(self, step: int) -> None:
        keys = self._candidates()
        if not keys:
            return
        i = keys.index(self.trial_key) if self.trial_key in keys else len(keys) - 1
        self.trial_key = keys[max(0, min(len(keys) - 1, i + step))]
        self.follow = self.trial_key == keys[-1]
        self._show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The app's keys for the grid act on the main screen: on the summary they are off (and out
        # of its footer), so a key pressed there never changes the screen beneath.
        return not (action in MAIN_ONLY and isinstance(self.screen, SummaryScreen))

    # -- keys ------------------------------------------------------------------------------------

    def action_pause(self) -> None:
        if not self.running:
            self.notify("nothing is running")
        elif self.control.paused:
            self.control.resume()
            self.notify("sending new trials again")
        else:
            self.control.pause()
            self.notify("paused: no new trial starts; those in flight finish")
        self._header()

    def action_cancel(self) -> None:
        key = self.trial_key
        if key is None or key not in self.state.live:
            self.notify("select a trial in flight to cancel it")
            return
        self.control.cancel(key)
        self.state.drop(key)
        self.notify("trial cancelled: it is not stored, and a resume runs it again")

    def action_search(self) -> None:
        box = self.query_one("#filter", Input)
        box.disabled = False
        box.add_class("shown")
        box.focus()

    def action_unsearch(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("shown")
        box.disabled = True
        self.query_one("#grid", DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self.filter = event.value
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self.query_one("#grid", DataTable).focus()

    def action_sort(self) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        self._rebuild()
        self.notify(f"sorted by {SORTS[self.sort]}" if SORTS[self.sort] != "cell" else "sorted by model, task, size, strategy")

    async def action_summary(self) -> None:
        if not read_index(self.run_dir):
            self.notify("no trial is stored yet")
            return
        self.notify("reading the run for the summary…")
        # The store is read back in a thread: a long run takes a while, and the screen stays live.
        body = await asyncio.to_thread(summary, self.run_dir, self.plan.catalog if self.plan else None)
        if not isinstance(self.screen, SummaryScreen):
            self.push_screen(SummaryScreen(body))

    def action_theme(self) -> None:
        self.theme = "textual-light" if self.theme != "textual-light" else "textual-dark"  # the signal repaints

    async def action_report(self) -> None:
        # The report of the tasks and strategies on screen: folders given to browse a run override its manifest's.
        where: list[str] = []
        if self.plan is not None:
            for flag, folder in (("--tasks-dir", self.plan.catalog.tasks_dir), ("--agents-dir", self.plan.catalog.agents_dir)):
                where += [flag, str(folder)] if folder else []
        if self.prices is not None:
            where += ["--prices", str(self.prices)]
        self.notify("writing the report…")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "longhaul.cli",
            "report",
            str(self.run_dir),
            *where,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            self.notify(f"report failed: {err.decode()[-300:]}", severity="error")
            return
        path = self.run_dir / "report.html"
        self.notify(f"report written: {path}", timeout=15)
        if os.environ.get("DISPLAY") or sys.platform == "darwin":
            webbrowser.open(path.resolve().as_uri())

    def action_resume(self) -> None:
        if self.no_resume:
            self.notify(self.no_resume)
        elif self.running:
            self.notify("the run is already running")
        elif self.state.done >= self.state.total:
            self.notify("every trial of this run is stored: nothing to resume")
        else:
            self.browse = False
            self.state.interrupted = False
            self.control = RunControl()
            self._start(resume=True)
            self.notify("resuming: only the missing trials run")

    async def action_quit_run(self) -> None:
        if self.running:
            self.control.stop()
            self.worker.cancel()  # trials in flight are dropped: they are not stored, a resume reruns them
            try:
                await self.worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # cancelled is what we asked for; the store is closed either way
        s = self.state
        if s.done < s.total:
            self.message = self.message or (
                f"longhaul: stopped with {s.done} of {s.total} trials stored in {self.run_dir}. Resume with: longhaul resume {self.run_dir}"
            )
        else:
            self.message = self.message or f"longhaul: all {s.total} trials stored in {self.run_dir}"
        self.repaint.stop()
        self.exit(self.message)
