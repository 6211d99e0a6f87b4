"""The terminal UI, headless (Textual's run_test and pilot), on runs of sim profiles."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.text import Text

import longhaul
from longhaul.display.tui import LonghaulApp, SummaryScreen
from longhaul.runner import plan
from longhaul.suite import parse_suite

SUITE = """
name = "tui"
models = ["sim/diligent", "sim/lazy?k=3", "sim/drifter?at=5"]
strategies = ["direct", "continue"]
samples = 2

[[tasks]]
task = "count"
end = [10, 30]
"""


def cells_of(app: LonghaulApp) -> int:
    return app.query_one("#grid").row_count


def text_of(app: LonghaulApp, selector: str) -> Text:
    content = app.query_one(selector).content  # what the app gave the widget
    return content if isinstance(content, Text) else Text(str(content))


def test_a_run_fills_the_grid_and_a_wrong_item_is_marked(tmp_path):
    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(tmp_path / "run", the_plan)
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            app._refresh()  # noqa: SLF001 - the quarter-second repaint, now
            grid = app.query_one("#grid")
            done = [str(grid.get_cell_at((row, 4))) for row in range(grid.row_count)]
            # select a drifter cell: its trial shows with the first error marked
            row = next(r for r in range(grid.row_count) if str(grid.get_cell_at((r, 0))).startswith("sim/drifter"))
            grid.move_cursor(row=row)
            await pilot.pause()
            app._refresh()  # noqa: SLF001 - the repaint tick that draws the selection
            body = text_of(app, "#trial-body")
            head = str(text_of(app, "#trial-head"))
            return grid.row_count, done, body, head, app.state.outcomes

    rows, done, body, head, outcomes = asyncio.run(scenario())
    assert rows == 3 * 2 * 2
    assert done == ["2/2"] * rows
    assert sum(outcomes.values()) == 24 and outcomes["cant_do"] > 0
    assert "sim/drifter" in head and "cant_do" in head
    assert "first error: item" in body.plain
    styles = {str(span.style) for span in body.spans}
    assert "bold white on red" in styles and "bold red" in styles


def test_pause_stops_new_requests_and_quit_leaves_a_resumable_store(tmp_path):
    body = SUITE.replace('"sim/diligent", "sim/lazy?k=3", "sim/drifter?at=5"', '"sim/diligent?speed=400"').replace(
        "samples = 2", "samples = 6\nconcurrency = 2")
    the_plan = plan(parse_suite(body))
    run_dir = tmp_path / "run"

    async def scenario():
        app = LonghaulApp(run_dir, the_plan)
        async with app.run_test(size=(100, 30)) as pilot:
            while app.state.started == 0:
                await pilot.pause(0.02)
            await pilot.press("p")
            assert app.control.paused
            for _ in range(500):  # the trials in flight finish; no new one starts
                if app.state.in_flight == 0:
                    break
                await pilot.pause(0.05)
            started = app.state.started
            for _ in range(10):
                await pilot.pause(0.05)
            assert app.state.started == started
            stored = sqlite3.connect(run_dir / "trials.sqlite").execute("SELECT count(*) FROM trials").fetchone()[0]
            assert stored == started < len(the_plan.trials)
            await pilot.press("q")
        return app.return_value, started

    message, started = asyncio.run(scenario())
    assert f"longhaul resume {run_dir}" in message

    async def browse_and_resume():
        app = LonghaulApp(run_dir, the_plan, browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            before = app.state.done
            await pilot.press("R")
            await app.workers.wait_for_complete()
            await pilot.pause()
            return before, app.state.done

    before, after = asyncio.run(browse_and_resume())
    assert before == started and after == len(the_plan.trials)
    db = sqlite3.connect(run_dir / "trials.sqlite")
    keys = [k for (k,) in db.execute("SELECT key FROM trials")]
    assert len(keys) == len(set(keys)) == len(the_plan.trials)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("browse") / "run"
    longhaul.run(parse_suite(SUITE), out=run_dir)
    return run_dir


def test_browse_filter_sort_summary_and_theme(stored_run):
    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            full = cells_of(app)
            await pilot.press("slash", *"drifter", "enter")
            filtered = cells_of(app)
            await pilot.press("escape")
            await pilot.press("slash", *"wont_do", "enter")
            refusing = [str(app.query_one("#grid").get_cell_at((r, 0))) for r in range(cells_of(app))]
            await pilot.press("escape")
            app.query_one("#filter").value = ""
            await pilot.press("s")
            first = str(app.query_one("#grid").get_cell_at((0, 0)))
            await pilot.press("a")
            await pilot.pause()
            on_summary = isinstance(app.screen, SummaryScreen)
            summary = app.screen.query_one("#summary").content
            await pilot.press("escape")
            await pilot.press("t")
            return full, filtered, refusing, first, on_summary, summary, app.theme

    full, filtered, refusing, first, on_summary, summary, theme = asyncio.run(scenario())
    assert full == 12 and filtered == 4
    assert refusing and all(name.startswith("sim/lazy") for name in refusing)
    assert first.startswith("sim/drifter")  # sorted by most can't-do
    from rich.console import Console

    console = Console(width=100, record=True, file=open(os.devnull, "w"))
    console.print(summary)
    shown = console.export_text()
    assert on_summary and "Refusal elasticity" in shown and "count: complete of the verdicts, by size" in shown
    assert theme == "textual-light"


def test_the_main_screen(stored_run, snap_compare):
    the_plan = plan(parse_suite(SUITE))
    app = LonghaulApp(stored_run, the_plan, browse=True)
    assert snap_compare(app, terminal_size=(100, 30))


def test_off_a_terminal_it_refuses_and_points_to_run():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    r = subprocess.run([sys.executable, "-m", "longhaul.cli", "tui", "demo"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "longhaul run" in r.stderr and r.stderr.count("\n") == 1
