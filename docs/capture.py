"""Regenerate the TUI's screens and the report's screenshot under docs/.

    .venv/bin/python docs/capture.py        # from a clone's root, with tmux and chromium installed

For each terminal size (80x24 and 120x40) it runs the demo suite in `longhaul tui` inside a private
tmux server, and captures the screen in both themes (Textual's dark and light: `t` switches) while
the run goes, then again once it has finished: `docs/screens/<size>-<state>-<theme>.txt` (plain,
`capture-pane -p`) and `.ansi` (with colour escapes, `-e`). It then writes the report of the 120x40
run, screenshots it in headless Chromium (`docs/report.png`) and rewrites `docs/tui-demo.md` from the
plain captures.

A Python script rather than shell: every wait is a bounded poll of `capture-pane` for the text or the
theme expected (never a fixed sleep), and a wait that runs out stops the script with the screen it saw.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCREENS = DOCS / "screens"
SIZES = ((80, 24), (120, 40))
THEMES = ("dark", "light")
TIMEOUT = 300.0
"""Seconds a wait may take: the demo runs in well under this on two busy cores."""
SOCKET = f"longhaul-capture-{os.getpid()}"
"""A private tmux server: the user's sessions are never touched."""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True).stdout


def screen(session: str, colour: bool = False) -> str:
    return tmux("capture-pane", "-t", session, "-p", *(["-e"] if colour else []))


def wait_for(session: str, what: str, done: Callable[[str, str], bool]) -> tuple[str, str]:
    """Poll the pane until `done(plain, ansi)`; the two captures that satisfied it."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        plain, ansi = screen(session), screen(session, colour=True)
        if done(plain, ansi):
            return plain, ansi
        if time.monotonic() > deadline:
            sys.exit(f"capture: gave up after {TIMEOUT:.0f} s waiting for {what}; the screen was:\n{plain}")
        time.sleep(0.2)  # the poll's interval, not a wait for anything


def _rgb(code: str) -> tuple[int, int, int] | None:
    """The colour of an SGR background parameter list (`48;2;r;g;b` or `48;5;n`)."""
    parts = [int(p) for p in code.split(";") if p.isdigit()]
    for i, p in enumerate(parts):
        if p == 48 and parts[i + 1 : i + 2] == [2] and len(parts) >= i + 5:
            r, g, b = parts[i + 2 : i + 5]
            return r, g, b
        if p == 48 and parts[i + 1 : i + 2] == [5] and len(parts) >= i + 3:
            n = parts[i + 2]
            if n >= 232:  # the grey ramp
                v = 8 + 10 * (n - 232)
                return v, v, v
            if n >= 16:
                n -= 16
                return tuple(0 if c == 0 else 55 + 40 * c for c in (n // 36, n // 6 % 6, n % 6))  # type: ignore[return-value]
            return (255, 255, 255) if n in (7, 15) else (0, 0, 0)
    return None


def theme_of(ansi: str) -> str:
    """`light` or `dark`: the luminance of the background most of the screen's runs are drawn on."""
    backgrounds = Counter(rgb for code in re.findall(r"\x1b\[([0-9;]*)m", ansi) if (rgb := _rgb(code)) is not None)
    if not backgrounds:
        return "dark"
    r, g, b = backgrounds.most_common(1)[0][0]
    return "light" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 128 else "dark"


MARKS = {
    "running": r"\brunning\b",
    "finished": r"\bfinished\b",
    "failing": r"(?m)^ model\b.*\n[^\n│]*X",  # the filtered grid's first row holds a can't-do
    "summary": r"complete of the verdicts",
}
"""What says the screen of each state is up: a word of the header, the failing trial's head, the summary's tables."""


def capture(session: str, name: str, state: str, current: str) -> str:
    """Both themes of the screen in `state` (`MARKS`), from the `current` theme; the theme it
    leaves the screen in. `t` is pressed once per switch, and the capture waits until the
    screen's background says the switch happened, and no notification covers the screen."""
    for theme in sorted(THEMES, key=lambda t: t != current):
        if theme != current:
            tmux("send-keys", "-t", session, "t")
            current = theme

        def ready(plain: str, ansi: str, theme: str = theme) -> bool:
            toast = re.search(r"writing (?:the )?report|report written|sorted by|reading the run", plain)
            return re.search(MARKS[state], plain) is not None and theme_of(ansi) == theme and toast is None

        plain, ansi = wait_for(session, f"{state!r} in the {theme} theme", ready)
        (SCREENS / f"{name}-{state}-{theme}.txt").write_text(plain)
        (SCREENS / f"{name}-{state}-{theme}.ansi").write_text(ansi)
    return current


def run_demo(width: int, height: int, runs: Path) -> Path:
    name = f"{width}x{height}"
    run_dir = runs / name
    env = f"cd {ROOT} && PYTHONPATH={ROOT} COLORTERM=truecolor TEXTUAL_THEME=textual-dark"
    command = f"{env} {sys.executable} -m longhaul.cli tui demo --out {run_dir}; sleep 600"
    session = f"capture-{name}"
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command)
    try:

        def running(plain: str, ansi: str) -> bool:
            # A screen worth showing: a fifth of the trials done or more, the rest still to come.
            m = re.search(r"running\b.*?(\d+)/(\d+)", plain)
            return m is not None and int(m[1]) * 5 >= int(m[2])

        wait_for(session, "the demo to be running", running)
        theme = capture(session, name, "running", "dark")
        theme = capture(session, name, "finished", theme)
        # A failing cell: the grid filtered to cells with a can't-do; the pane opens at the wrong item.
        tmux("send-keys", "-t", session, "/")
        tmux("send-keys", "-t", session, "-l", "cant_do")
        tmux("send-keys", "-t", session, "Enter")
        theme = capture(session, name, "failing", theme)
        tmux("send-keys", "-t", session, "a")
        capture(session, name, "summary", theme)
        tmux("send-keys", "-t", session, "Escape")
        tmux("send-keys", "-t", session, "q")
    finally:
        tmux("kill-session", "-t", session)
    return run_dir


def screenshot(run_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "longhaul.cli", "report", str(run_dir)], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("capture: no chromium on PATH for the report's screenshot")
    page = (run_dir / "report.html").resolve().as_uri()
    # The top of the report, then a task's section (its figures and cell table), then the trials' evidence.
    for shot, anchor in (("report.png", ""), ("report-task.png", "#task-french_numbers"), ("report-trials.png", "#trials")):
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--hide-scrollbars",
                f"--screenshot={DOCS / shot}",
                "--window-size=1300,2400",
                page + anchor,
            ],
            check=True,
            capture_output=True,
        )


STATES = {
    "running": "While it runs: the header counts trials, tokens per second, the ETA, retries and errors; below the bar, "
    "the outcome counts so far; each cell's mix bar draws one glyph per trial (the legend names them), `·` for a trial "
    "not done yet.",
    "finished": "Finished: every cell's mix is whole; the right pane shows the selected cell's trial.",
    "failing": "Filtered (`/` then `cant_do`) to the cells with a can't-do: the pane opens at a failing trial, scrolled to its "
    "first wrong item, which is marked; `[` and `]` step the cell's trials, `e` goes back to the wrong item.",
    "summary": "The summary (`a`): the complete rate of each model and strategy by size, its keys its own (escape or q closes it).",
}


def write_doc() -> None:
    lines = [
        "# longhaul tui, captured in tmux",
        "",
        "Regenerated by `docs/capture.py` (`.venv/bin/python docs/capture.py`): the demo suite run in `longhaul tui` at",
        "80x24 and 120x40, each screen in Textual's dark and light themes (`t` switches). The plain captures are below;",
        "those with colour escapes (`capture-pane -e`, for `cat` in a terminal) are beside them in `docs/screens/*.ansi`.",
        "The report of the 120x40 run, in headless Chromium: `docs/report.png` (its top), `docs/report-task.png` (a task's",
        "figures and cell table) and `docs/report-trials.png` (the trials' evidence).",
        "",
    ]
    for width, height in SIZES:
        for state, text in STATES.items():
            lines += [f"## {width}x{height}, {state}", "", text, ""]
            for theme in THEMES:
                name = f"{width}x{height}-{state}-{theme}"
                body = (SCREENS / f"{name}.txt").read_text().rstrip("\n")
                lines += [f"{theme} theme (`screens/{name}.ansi` in colour):", "", "```", body, "```", ""]
    (DOCS / "tui-demo.md").write_text("\n".join(lines))


def main() -> None:
    if shutil.which("tmux") is None:
        sys.exit("capture: tmux is not on PATH")
    SCREENS.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="longhaul-capture-") as tmp:
            runs = [run_demo(width, height, Path(tmp)) for width, height in SIZES]
            screenshot(runs[-1])
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    write_doc()
    print(f"capture: {len(SIZES) * len(STATES) * len(THEMES)} screens in {SCREENS}, three report screenshots, {DOCS / 'tui-demo.md'}")


if __name__ == "__main__":
    main()
