"""The plain terminal as a reader meets it: the end-of-run table at 100 columns (and whole in
summary.md), the per-trial lines of failed trials, and `longhaul tasks`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from longhaul.display.plain import failure
from longhaul.shorten import distinct, middle
from longhaul.store import read_trials
from longhaul.summary import Tally, blocks_table, markdown_table

ROOT = Path(__file__).resolve().parent.parent

# Long model names (a faulty provider's parameters) that differ only at the end, and a long task name.
WIDE = """
name = "wide"
models = ["sim/diligent?faults=500:0.3&retry_after=0.01&seed=3", "sim/drifter?at=3&faults=500:0.2&retry_after=0.01", "sim/drifter?at=30&faults=500:0.2&retry_after=0.01"]
strategies = ["direct"]
samples = 2
seed = 0
max_tokens = 2000
[[tasks]]
task = "checker_jumping"
checkers = [1, 2]
[retry]
attempts = 2
"""

FAILING = """
name = "failing"
models = ["sim/diligent?faults=500:1&retry_after=0.01"]
strategies = ["direct"]
samples = 1
max_tokens = 2000
[[tasks]]
task = "count"
end = 5
[retry]
attempts = 2
"""


def longhaul(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r


def end_table(stdout: str) -> list[str]:
    """The lines printed between the run's last trial line and its folder line."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run finished"))
    end = next(i for i, line in enumerate(lines) if line.startswith("run folder:"))
    return [line for line in lines[start + 1 : end] if line]


def test_end_of_run_table_fits_100_columns_and_summary_md_has_it_whole(tmp_path):
    (tmp_path / "wide.toml").write_text(WIDE)
    r = longhaul("run", str(tmp_path / "wide.toml"), "--out", str(tmp_path / "run"), "--plain", columns=100)
    table = end_table(r.stdout)
    assert table and max(len(line) for line in table) <= 100, "\n".join(table)
    # Every model is still named, whole at this width, and every cell has its row.
    for model in ("sim/diligent?faults=500:0.3&retry_after=0.01&seed=3", "sim/drifter?at=3&faults=500:0.2&retry_after=0.01"):
        assert f"{model} (simulated)" in table
    assert sum(line.lstrip().startswith("checker_jumping") for line in table) == 6
    assert any("summary.md" in line for line in table)
    # summary.md holds the full table, every column, as `Tally.table` makes it from the store.
    full = Tally.of(read_trials(tmp_path / "run")).table()
    assert max(len(line) for line in full.splitlines()) > 100
    assert full in (tmp_path / "run" / "summary.md").read_text()
    assert "| trials | verdicts | complete | cant_do | wont_do | budget | unparseable | error |" in full


def test_off_a_terminal_without_columns_the_table_is_whole(tmp_path):
    (tmp_path / "wide.toml").write_text(WIDE)
    r = longhaul("run", str(tmp_path / "wide.toml"), "--out", str(tmp_path / "run"), "--no-report")
    assert "\n".join(end_table(r.stdout)) == Tally.of(read_trials(tmp_path / "run")).table()


def cells(models: list[str], tasks: list[str]) -> dict[tuple[str, str, int, str], Counter[str]]:
    every = Counter({"complete": 12, "cant_do": 3, "wont_do": 1, "budget_exhausted": 2, "unparseable": 1, "error": 4})
    return {(m, t, size, s): every for m in models for t in tasks for size in (7, 12345) for s in ("continue", "ranges")}


def test_blocks_fit_80_columns_with_every_outcome_and_keep_models_apart():
    models = [f"openai-api/some-provider/a-very-long-model-name-for-testing?temperature=0.{i}" for i in (1, 2)]
    tasks = ["checker_jumping", "checker_jumping_longer_custom_task"]
    for width in (100, 80):
        text = blocks_table(cells(models, tasks), set(models), width)
        assert max(len(line) for line in text.splitlines()) <= width, text
        headings = [line for line in text.splitlines() if line.endswith("(simulated)")]
        assert len(headings) == 2 and len(set(headings)) == 2  # two models, told apart though they differ only at the end
        assert all(h.endswith(f"0.{i} (simulated)") for h, i in zip(headings, (1, 2)))
        rows = [line for line in text.splitlines() if line.startswith("  check")]
        assert len(rows) == 16 and len({r.split()[0] for r in rows}) == 2  # the two tasks stay apart too
        assert all(r.split()[-6:] == ["12", "3", "1", "2", "1", "4"] for r in rows)  # no outcome count lost


def test_a_table_that_fits_is_printed_whole():
    c = cells(["sim/a"], ["count"])
    tally = Tally()
    tally.cells.update(c)
    assert tally.terminal_table(200) == tally.table() == markdown_table(c, set())
    assert tally.terminal_table(100) != tally.table()


def test_middle_shortening_keeps_names_that_differ_at_the_end_apart():
    short = distinct(["sim/drifter?at=60", "sim/drifter?at=400", "sim/diligent"], 12)
    assert len(set(short.values())) == 3 and all(len(s) <= 12 for s in short.values())
    assert short["sim/diligent"] == "sim/diligent" and "…" in short["sim/drifter?at=400"]
    assert middle("abcdefghij", 5) == "ab…ij"


def test_a_failed_trials_line_says_which_error(tmp_path):
    (tmp_path / "failing.toml").write_text(FAILING)
    r = longhaul("run", str(tmp_path / "failing.toml"), "--out", str(tmp_path / "run"), "--plain", "--no-report")
    line = next(line for line in r.stdout.splitlines() if line.startswith("[1/1]"))
    assert ": error (gave up after 2 attempts: HTTP 500: Internal server error (simulated); 0/5 items," in line
    # A long message of several lines stays one shortened line.
    [trial] = read_trials(tmp_path / "run")
    long = trial.model_copy(update={"turns": [trial.turns[0].model_copy(update={"error": "HTTP 502: <html>\n<body>" + "x" * 300})]})
    said = failure(long)
    assert "\n" not in said and len(said) == 100 and said.startswith("HTTP 502: <html> <body>xx") and said.endswith("…")
    assert failure(trial.model_copy(update={"turns": []})) == ""


def test_tasks_lists_each_parameter_with_its_range_and_default_at_100_columns():
    out = longhaul("tasks", columns=100).stdout
    assert max(len(line) for line in out.splitlines()) <= 100
    lines = out.splitlines()
    hanoi = lines.index(next(line for line in lines if line.startswith("hanoi (should_answer): Tower of Hanoi")))
    disks, fmt, pegs = (lines[hanoi + i].split() for i in (2, 3, 4))
    assert disks[:6] == ["disks", "(size)", "int", "1..20", "default", "3"] and " ".join(disks[6:]) == "number of disks (1-20)"
    assert fmt[:4] == ["format", "list|csv|lines", "default", "list"]
    assert pegs[:4] == ["pegs", "0-2|1-3|A-C", "default", "0-2"]
    assert any(line.startswith("sha256_digests (should_abstain)") for line in lines)


def test_tasks_json_gives_every_parameter():
    tasks = {t["name"]: t for t in json.loads(longhaul("tasks", "--json").stdout)}
    assert "sql_inserts" in tasks and tasks["sha256_digests"]["expectation"] == "should_abstain"
    params = {p["name"]: p for p in tasks["hanoi"]["params"]}
    assert params["disks"] | {} == {
        "name": "disks",
        "type": "int",
        "default": 3,
        "required": False,
        "minimum": 1,
        "maximum": 20,
        "choices": None,
        "description": "number of disks (1-20)",
        "size": True,
    }
    assert params["format"]["type"] == "choice" and params["format"]["choices"] == ["list", "csv", "lines"]
    assert [p["name"] for p in tasks["french_numbers"]["params"]] == ["start", "end"]
