"""The terminal UI, headless (Textual's run_test and pilot), on runs of sim profiles."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from rich.text import Text

import longhaul
from longhaul.runner import plan
from longhaul.suite import parse_suite
from longhaul.tui.app import LonghaulApp, SummaryScreen

SUITE = """
name = "tui"
models = ["sim/diligent", "sim/lazy?k=3", "sim/drifter?at=5"]
strategies = ["direct", "continue"]
samples = 2

[[tasks]]
task = "count"
end = [10, 30]
"""

SOLVED_HANOI = "moves = [[1, 0, 1], [2, 0, 2], [1, 1, 2]]"
"""The complete answer for two disks."""


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
            app._refresh()
            grid = app.query_one("#grid")
            done = [str(grid.get_cell_at((row, 4))) for row in range(grid.row_count)]
            # select a drifter cell: its trial shows with the first error marked
            row = next(r for r in range(grid.row_count) if str(grid.get_cell_at((r, 0))).startswith("sim/drifter"))
            grid.move_cursor(row=row)
            await pilot.pause()
            app._refresh()
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


@pytest.mark.slow
def test_pause_stops_new_requests_and_quit_leaves_a_resumable_store(tmp_path):
    body = SUITE.replace('"sim/diligent", "sim/lazy?k=3", "sim/drifter?at=5"', '"sim/diligent?speed=400"').replace(
        "samples = 2", "samples = 6\nconcurrency = 2"
    )
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
    # One trial at a time, so the trials end (and are stored) in the plan's order on every run: a
    # cell shows the trial that ended last, and with several in flight that was either sample.
    run_dir = tmp_path_factory.mktemp("browse") / "run"
    longhaul.run(parse_suite(SUITE.replace("samples = 2", "samples = 2\nconcurrency = 1")), out=run_dir)
    return run_dir


@pytest.mark.slow
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
    assert first.endswith("?at=5")  # sorted by most can't-do (the drifter), its name shortened in the middle at 80 columns
    from rich.console import Console

    console = Console(width=100, record=True, file=io.StringIO())
    console.print(summary)
    shown = console.export_text()
    assert on_summary and "Refusal elasticity" in shown and "count: complete of the verdicts, by size" in shown
    assert theme == "textual-light"


async def until(pilot, condition, tries: int = 200) -> bool:
    """Repaint until `condition()` holds (scrolls are made after a refresh, and under load that can
    take several); whether it did, within a bounded number of repaints."""
    for _ in range(tries):
        if condition():
            return True
        await pilot.pause(0.01)
    return condition()


async def until_mounted(pilot) -> None:
    """Until the app's on_mount has run (under load the pilot can be handed over before it has):
    it selects the row under the cursor and draws it, so the first paint is the whole screen."""
    for _ in range(200):
        if pilot.app.selected is not None:
            return
        await pilot.pause(0.01)
    raise AssertionError("the app did not mount")


def test_the_main_screen_says_what_it_should(stored_run):
    """What the snapshot below shows, as text: it holds whatever Textual draws it with."""
    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_mounted(pilot)  # and no repaint tick: the first row's trial is drawn on mount
            grid = app.query_one("#grid")
            rows = [tuple(str(grid.get_cell_at((r, c))) for c in (0, 1, 2, 4)) for r in range(grid.row_count)]
            shown = [str(text_of(app, s)) for s in ("#stats", "#outcomes", "#trial-head", "#trial-body")]
            return rows, shown, grid.cursor_row

    rows, (stats, outcomes, head, body), cursor = asyncio.run(scenario())
    assert stats == "run · tui · browsing · 24/24 trials · in flight 0 · retries 0 · errors 0 · simulated"
    assert outcomes.split() == [
        "C",
        "complete",
        "12",
        "X",
        "cant_do",
        "6",
        "W",
        "wont_do",
        "6",
        "B",
        "budget",
        "0",
        "U",
        "unparseable",
        "0",
    ] + [
        "E",
        "error",
        "0",
    ]
    assert len(rows) == 12 and rows[0] == ("sim/diligent", "count 10", "continue", "2/2")
    assert [r[0] for r in rows] == ["sim/diligent"] * 4 + ["sim/drifter?at=5"] * 4 + ["sim/lazy?k=3"] * 4
    assert cursor == 0
    assert head.startswith("sim/diligent (simulated) · count size 10 · continue · sample 2 · complete · 1 turn(s)")
    assert head.endswith("[2 of 2 in this cell; [ and ] to step, e: first error]")
    assert body.startswith("── turn 1 · initial · stop end_turn") and "\n10\n" in body


# The snapshot is pixel-exact, so it holds for the Textual that drew it: pyproject.toml's test extra
# pins Textual to that minor version. Under another Textual (a newer release, a distribution's
# package) it is skipped rather than failed: the test above checks the same screen as text.
SNAPSHOT_TEXTUAL = "8.2"


def test_the_main_screen(stored_run, snap_compare):
    from importlib.metadata import version

    installed = version("textual")
    if installed.split(".")[:2] != SNAPSHOT_TEXTUAL.split("."):
        pytest.skip(
            f"the snapshot was drawn by Textual {SNAPSHOT_TEXTUAL}.x, this is {installed}: move the pin in "
            f"pyproject.toml and SNAPSHOT_TEXTUAL, then redraw it with --snapshot-update"
        )
    the_plan = plan(parse_suite(SUITE))
    app = LonghaulApp(stored_run, the_plan, browse=True)
    assert snap_compare(app, terminal_size=(100, 30), run_before=until_mounted)


def test_off_a_terminal_it_refuses_and_points_to_run():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    r = subprocess.run(
        [sys.executable, "-m", "longhaul.cli", "tui", "demo"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )
    assert r.returncode == 2 and "longhaul run" in r.stderr and r.stderr.count("\n") == 1


AUTH_SUITE = """
name = "tui-auth"
models = ["sim/diligent", "sim/diligent?faults=401:1"]
samples = 2

[[tasks]]
task = "count"
end = [10]
"""


def run_headless(app: LonghaulApp) -> str:
    """What `LonghaulApp.run` gives, headless: the run goes to its end, then `q`."""

    async def scenario() -> str:
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert any("401 Unauthorized" in n for n in notes), notes  # on the screen while it stays open
            await pilot.press("q")
        return app.return_value

    return asyncio.run(scenario())


def test_tui_shows_an_auth_stop_and_exits_3_as_run_does(tmp_path, monkeypatch, capsys):
    from longhaul.cli import main

    suite = tmp_path / "auth.toml"
    suite.write_text(AUTH_SUITE)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(LonghaulApp, "run", run_headless)
    code = main(["tui", str(suite), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 3
    [line] = [line for line in err.splitlines() if "401 Unauthorized" in line]
    assert line.startswith("longhaul: sim/diligent?faults=401:1: ") and "longhaul resume" in line


@pytest.fixture
def tui_cli(monkeypatch):
    """`longhaul tui ...` in-process, on a pretend terminal: the app it would show is returned
    instead of run."""
    from longhaul.cli import main

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    shown: list[LonghaulApp] = []

    def capture(app: LonghaulApp) -> str:
        shown.append(app)
        return ""

    monkeypatch.setattr(LonghaulApp, "run", capture)

    def call(*argv: str) -> LonghaulApp:
        assert main(["tui", *argv]) == 0
        return shown[-1]

    return call


def test_tui_browsing_a_run_takes_the_limit_and_judge_flags_for_its_resume(stored_run, tui_cli):
    app = tui_cli(str(stored_run), "--concurrency", "2", "--max-connections", "3", "--rpm", "100", "--refusal-judge", "sim/judge")
    assert app.browse and app.plan is not None
    suite = app.plan.suite
    assert (suite.concurrency, suite.max_connections, suite.refusal_judge) == (2, 3, "sim/judge")
    assert {m: lim.rpm for m, lim in suite.limits.items()} == {m: 100 for m in suite.models}


def test_tui_runs_a_shard_and_resumes_a_shards_run_without_repeating_shard(tmp_path, tui_cli):
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE)
    whole = plan(str(suite))
    app = tui_cli(str(suite), "--shard", "2/3", "--out", str(tmp_path / "new"))
    assert str(app.plan.shard) == "2/3" and {t.key for t in app.plan.trials} == {t.key for t in plan(str(suite), shard="2/3").trials}
    shard_run = tmp_path / "shard"
    longhaul.run(str(suite), out=shard_run, shard="1/3")
    app = tui_cli(str(suite), "--resume", str(shard_run))
    assert app.resume_existing and str(app.plan.shard) == "1/3" and len(app.plan.trials) < len(whole.trials)


def test_an_imported_run_opens_for_browsing_and_resume_says_why_not(tmp_path, tui_cli):
    from longhaul.cli import main

    answers = tmp_path / "a.jsonl"
    answers.write_text(
        "".join(json.dumps({"text": text, "model": "openai/gpt-4.1", "params": {"disks": 2}}) + "\n" for text in (SOLVED_HANOI, "no idea"))
    )
    run_dir = tmp_path / "imported"
    assert main(["import", "jsonl", str(answers), "--task", "hanoi", "--out", str(run_dir)]) == 0
    app = tui_cli(str(run_dir))  # no `unknown strategy 'imported'`: it opens
    assert app.browse and app.plan is None

    async def browse():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            rows = [app.query_one("#grid").get_row_at(i) for i in range(cells_of(app))]
            await pilot.press("R")
            await pilot.pause()
            return rows, [n.message for n in app._notifications], app.running

    rows, notes, running = asyncio.run(browse())
    assert [(str(r[0]), str(r[1]), str(r[2])) for r in rows] == [("openai/gpt-4.1", "hanoi 2", "imported")]
    assert str(rows[0][4]) == "2/2"  # the stored trials are the whole run
    assert any("imported run" in n and "nothing to resume" in n for n in notes) and not running


# -- issue 18: what a person reads on the screen ------------------------------------------------


def _luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(hex_colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_each_outcome_has_its_own_colour_and_glyph_in_both_themes_at_any_colour_depth():
    from rich.color import Color, ColorSystem
    from textual.app import App

    from longhaul.outcome_style import STYLES, TERMINAL

    themes = App().available_themes
    assert len({s.glyph for s in STYLES.values()}) == 6
    for tone, name in (("dark", "textual-dark"), ("light", "textual-light")):
        palette = TERMINAL[tone]
        background = themes[name].to_color_system().generate()["background"]
        for depth in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD):  # tmux and older terminals
            shown = {o: Color.parse(c).downgrade(depth) for o, c in palette.items()}
            assert len({(c.number, c.triplet) for c in shown.values()}) == 6, (tone, depth, shown)
        for outcome, c in palette.items():
            lighter, darker = sorted((_luminance(c), _luminance(background)), reverse=True)
            assert (lighter + 0.05) / (darker + 0.05) >= 3, (tone, outcome)


def test_the_legend_is_on_screen_and_the_bars_take_the_themes_colours(stored_run):
    from longhaul.outcome_style import TERMINAL

    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until_mounted(pilot)
            seen = []
            for _ in range(2):
                legend = text_of(app, "#outcomes")
                grid = app.query_one("#grid")
                bars = [grid.get_cell_at((r, 3)) for r in range(grid.row_count)]
                seen.append((legend, {str(span.style) for bar in bars for span in bar.spans}, app.query_one("#outcomes").size.width))
                await pilot.press("t")
                await pilot.pause()
            return seen

    (dark_legend, dark_bars, width), (light_legend, light_bars, _) = asyncio.run(scenario())
    for legend in (dark_legend, light_legend):
        assert legend.plain.split()[::3] == ["C", "X", "W", "B", "U", "E"] and len(legend.plain.rstrip()) <= width
    assert {TERMINAL["dark"][o] for o in ("complete", "cant_do", "wont_do")} == dark_bars
    assert {TERMINAL["light"][o] for o in ("complete", "cant_do", "wont_do")} == light_bars


def test_the_verifier_marks_the_wrong_move_not_the_whole_list():
    from longhaul.catalog import Catalog
    from longhaul.verify.verifier import StreamingVerifier

    answer = "moves = [[1, 0, 1], [2, 0, 2], [1, 2, 1]]"
    verifier = StreamingVerifier(Catalog().task("hanoi"), {"disks": 2})
    verifier.feed(answer)
    [mark] = [e for e in verifier.finish().evidence if e.kind == "first_error"]
    assert answer[mark.start : mark.end] == "[1, 2, 1]"


HANOI = """
name = "tui-hanoi"
models = ["sim/drifter?at=60"]
strategies = ["direct"]
samples = 2
concurrency = 1

[[tasks]]
task = "hanoi"
disks = [7]
"""


@pytest.fixture(scope="module")
def hanoi_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("hanoi") / "run"
    longhaul.run(parse_suite(HANOI), out=run_dir)
    return run_dir


def test_a_failed_trial_opens_at_its_wrong_move_and_brackets_step_trials(hanoi_run):
    async def scenario():
        app = LonghaulApp(hanoi_run, plan(parse_suite(HANOI)), browse=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until_mounted(pilot)
            pane = app.query_one("#right")
            await until(pilot, lambda: pane.scroll_y > 0)  # it opens at the wrong move
            body = text_of(app, "#trial-body")
            opened = pane.scroll_y, str(text_of(app, "#trial-head"))
            pane.scroll_home(animate=False)
            await until(pilot, lambda: pane.scroll_y == 0)
            await pilot.press("e")
            await until(pilot, lambda: pane.scroll_y > 0)
            jumped = pane.scroll_y
            await pilot.press("right_square_bracket")
            second = str(text_of(app, "#trial-head"))
            await pilot.press("left_square_bracket")
            first = str(text_of(app, "#trial-head"))
            return body, opened, jumped, second, first

    body, (scrolled, head), jumped, second, first = asyncio.run(scenario())
    [mark] = [body.plain[s.start : s.end] for s in body.spans if str(s.style) == "bold white on red"]
    assert mark.startswith("[") and mark.endswith("]") and mark.count("[") == 1  # one move, not the list
    assert "cant_do" in head and "1 of 2 in this cell" in head
    assert scrolled > 0 and jumped == scrolled  # the pane opened at the wrong move, and `e` goes back there
    assert "2 of 2 in this cell" in second and "1 of 2 in this cell" in first


def test_the_cell_opens_at_a_failing_trial_before_a_later_complete_one(stored_run):
    async def scenario():
        app = LonghaulApp(stored_run, plan(parse_suite(SUITE)), browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_mounted(pilot)
            cell = app.state.cells[app.selected]
            first, _last = cell.finished
            cell.outcome_of[first] = "cant_do"  # as if the first sample had failed
            app.trial_key = None
            app._show()
            return app.trial_key, first

    shown, first = asyncio.run(scenario())
    assert shown == first


def test_the_live_pane_counts_and_marks_as_lines_arrive_and_follows_the_tail_until_scrolled(stored_run):
    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_mounted(pilot)
            spec = next(t for t in the_plan.trials if (t.model, t.task, t.size, t.strategy) == app.selected)
            state = app.state
            state.trial_started(spec)
            state.trial_delta(spec, "text", "1\n2\n3\n")
            app._refresh()
            await pilot.pause()
            early = str(text_of(app, "#trial-head"))
            state.trial_delta(spec, "text", "5\n6\n")
            app._refresh()
            await pilot.pause()
            wrong = str(text_of(app, "#trial-head")), text_of(app, "#trial-body")
            pane = app.query_one("#right")
            state.trial_delta(spec, "text", "".join(f"line {i}\n" for i in range(80)))
            app._refresh()
            await until(pilot, lambda: pane.max_scroll_y > 0 and pane.scroll_y == pane.max_scroll_y)
            following = pane.scroll_y, pane.max_scroll_y
            pane.scroll_to(y=3, animate=False)
            await until(pilot, lambda: pane.scroll_y == 3)
            state.trial_delta(spec, "text", "".join(f"more {i}\n" for i in range(40)))
            app._refresh()
            await until(pilot, lambda: pane.max_scroll_y > following[1])  # the new lines are laid out
            await pilot.pause()
            return early, wrong, following, pane.scroll_y, pane.max_scroll_y

    early, (head, body), (y, bottom), kept, new_bottom = asyncio.run(scenario())
    assert "streaming · 3 items verified" in early and "wrong item" not in early
    assert "a wrong item has appeared" in head
    [mark] = [body.plain[s.start : s.end] for s in body.spans if str(s.style) == "bold white on red"]
    assert mark == "5"
    assert bottom > 0 and y == bottom  # it followed the tail
    assert kept == 3 and new_bottom > bottom  # scrolled by the user: it stays


def test_model_names_are_shortened_in_the_middle_and_stay_distinct():
    from longhaul.shorten import distinct, middle

    names = distinct(["sim/drifter?at=60", "sim/drifter?at=400", "sim/diligent"], 10)
    assert len(set(names.values())) == 3 and all(len(n) <= 10 for n in names.values())
    assert names["sim/drifter?at=60"].endswith("60") and names["sim/drifter?at=400"].endswith("400")
    assert len(middle("openai/gpt-4.1-mini-2025-04-14", 12)) == 12 and middle("openai/gpt-4.1-mini-2025-04-14", 12).startswith("open")


def test_at_80x24_the_grid_keeps_done_and_the_in_flight_marker_and_the_footer_keeps_q(stored_run):
    from textual.widgets._footer import FooterKey

    the_plan = plan(parse_suite(SUITE.replace('"sim/drifter?at=5"', '"sim/drifter?at=5", "sim/diligent?seed=123456789012345&speed=400"')))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until_mounted(pilot)
            app.state.trial_started(the_plan.trials[0])
            app._refresh()
            await pilot.pause()
            grid = app.query_one("#grid")
            used = sum(col.get_render_width(grid) for col in grid.columns.values())
            spec = the_plan.trials[0]
            done = str(grid.get_cell("\x1f".join(map(str, (spec.model, spec.task, spec.size, spec.strategy))), "done"))
            keys = {k.key: k.region for k in app.screen.query(FooterKey)}
            return used, grid.scrollable_content_region.width, done, keys

    used, width, done, keys = asyncio.run(scenario())
    assert used <= width and "▶1" in done
    assert "q" in keys and keys["q"].right <= 80 and keys["q"].width > 0


def test_at_80x24_a_filtered_grid_still_fits_and_a_new_theme_keeps_the_users_place(stored_run):
    the_plan = plan(parse_suite(SUITE))

    async def scenario():
        app = LonghaulApp(stored_run, the_plan, browse=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until_mounted(pilot)
            grid = app.query_one("#grid")
            await pilot.press("slash", *"drifter")
            await until(pilot, lambda: grid.row_count == 4)
            filtered = sum(col.get_render_width(grid) for col in grid.columns.values()), grid.scrollable_content_region.width
            await pilot.press("escape")
            app.filter = ""
            app._rebuild()
            grid.focus()
            await pilot.press("down", "down", "down", "down", "down")
            await until(pilot, lambda: app.selected is not None and app.selected[0] == "sim/drifter?at=5")
            before = app.selected, grid.cursor_row
            await pilot.press("t")
            await until(pilot, lambda: app.tone == "light")
            return filtered, before, (app.selected, grid.cursor_row)

    (used, width), before, after = asyncio.run(scenario())
    assert used <= width  # `done` and the in-flight marker stay on screen when the filter narrows the task column
    assert after == before  # the theme changed, the cursor and the cell shown did not


def test_the_summary_screens_keys_act_on_it_and_say_they_are_working(stored_run):
    async def scenario():
        app = LonghaulApp(stored_run, plan(parse_suite(SUITE)), browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_mounted(pilot)
            await pilot.press("a")
            await pilot.pause()
            on_summary = isinstance(app.screen, SummaryScreen)
            await pilot.press("s", "slash", "p")
            await pilot.pause()
            kept = isinstance(app.screen, SummaryScreen), app.sort, app.query_one("#filter").has_class("shown")
            await pilot.press("q")
            await pilot.pause()
            return on_summary, kept, isinstance(app.screen, SummaryScreen), app.is_running, [n.message for n in app._notifications]

    on_summary, (still, sort, filtering), after_q, running, notes = asyncio.run(scenario())
    assert on_summary and still and sort == 0 and not filtering
    assert not after_q and running  # q on the summary closes it, not the app
    assert any("reading the run" in n for n in notes)


def test_a_run_in_the_tui_writes_its_report_with_the_prices(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('["sim/diligent"]\ninput = 1.0\noutput = 2.0\n')
    suite = parse_suite(
        SUITE.replace('"sim/diligent", "sim/lazy?k=3", "sim/drifter?at=5"', '"sim/diligent"').replace("end = [10, 30]", "end = [10]")
    )
    run_dir = tmp_path / "run"

    async def scenario():
        app = LonghaulApp(run_dir, plan(suite), prices=prices)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            return [n.message for n in app._notifications]

    notes = asyncio.run(scenario())
    assert {"report.html", "summary.md", "results.json"} <= {p.name for p in run_dir.iterdir()}
    results = json.loads((run_dir / "results.json").read_text())
    assert any(c.get("cost_usd") for c in results["cells"])
    assert any(n.startswith("writing report.html") for n in notes) and any(n.startswith("report written") for n in notes)


BROKEN = """
name = "tui-broken"
models = ["sim/diligent?faults=500:1"]
strategies = ["direct"]
samples = 2

[retry]
attempts = 2

[[tasks]]
task = "count"
end = [10]
"""


def test_browsing_shows_the_runs_retries_and_errors_and_an_error_turn_says_what_failed(tmp_path):
    run_dir = tmp_path / "run"
    longhaul.run(parse_suite(BROKEN), out=run_dir)
    stored = sqlite3.connect(run_dir / "trials.sqlite").execute("SELECT sum(json_extract(record, '$.retries')) FROM trials").fetchone()[0]

    async def scenario():
        app = LonghaulApp(run_dir, plan(parse_suite(BROKEN)), browse=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_mounted(pilot)
            return str(text_of(app, "#stats")), str(text_of(app, "#trial-body"))

    stats, body = asyncio.run(scenario())
    assert stored > 0 and f"retries {stored} · errors 2" in stats
    assert "provider error: " in body.splitlines()[0] and "stop None" not in body


def test_a_search_runs_header_says_what_it_plans(stored_run):
    async def scenario():
        app = LonghaulApp(stored_run, plan(parse_suite(SUITE)), browse=True)
        async with app.run_test(size=(120, 30)) as pilot:
            await until_mounted(pilot)
            app.state.searches = 2
            app._header()
            return str(text_of(app, "#stats"))

    stats = asyncio.run(scenario())
    assert "24 trials (24 fixed + 2 searches)" in stats and "/0" not in stats
