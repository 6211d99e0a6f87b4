"""Imports are paid only by what uses them: each command, run in a process of its own, is checked
for the heavy libraries it must not load (the modules listed as the process exits).

scipy and matplotlib are the report's, textual the terminal UI's, langgraph's graph machinery
(with langchain_core and langsmith under it) a loop strategy's, loaded when its graph is first
built; anthropic is loaded for an Anthropic-wire model, tiktoken for a token count (the simulated
model counts its replies). A command that needs none of them loads none of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_runs import small

ROOT = Path(__file__).resolve().parent.parent

# Runs `longhaul.cli.main` on the arguments after the first, then writes every module loaded to
# the file named by the first: no sitecustomize, nothing imported before longhaul is.
LIST_MODULES = """
import sys
from longhaul.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

HEAVY = ("scipy", "matplotlib", "numpy", "textual", "langgraph.graph", "langgraph.pregel", "langchain_core", "langsmith", "anthropic")
"""Never loaded by the commands below (langgraph.constants, two strings, may be)."""


def loaded(tmp_path: Path, *args: str, stdin: str | None = None) -> set[str]:
    """The modules a `longhaul` command has loaded when it ends (it must succeed)."""
    listing = tmp_path / "modules.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    r = subprocess.run(
        [sys.executable, "-c", LIST_MODULES, str(listing), *args], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    return set(listing.read_text().split())


def heavy(modules: set[str], *also: str) -> list[str]:
    """The forbidden packages among `modules` (a package counts with its submodules)."""
    return sorted({name for name in (*HEAVY, *also) for m in modules if m == name or m.startswith(name + ".")})


@pytest.fixture(scope="module")
def direct_run(tmp_path_factory) -> tuple[Path, set[str]]:
    """One trial of `count` against the simulated model, run with `direct` and no report: its
    folder, and the modules the run loaded."""
    folder = tmp_path_factory.mktemp("run")
    path = small(folder, ["sim/diligent"], ["direct"], "count", "end = 20")
    modules = loaded(folder, "run", str(path), "--no-report", "--plain", "--out", str(folder / "run"))
    return folder / "run", modules


def test_a_run_of_direct_without_its_report_loads_no_heavy_library(direct_run):
    run_dir, modules = direct_run
    assert (run_dir / "trials.sqlite").is_file()
    assert "longhaul.sim.server" in modules and "openai" in modules  # what the run does use
    assert heavy(modules, "rich") == []  # off a terminal: plain lines, no rich


def test_a_loop_strategy_loads_langgraph_when_its_graph_is_built(tmp_path):
    path = small(tmp_path, ["sim/diligent"], ["continue"], "count", "end = 20")
    modules = loaded(tmp_path, "run", str(path), "--no-report", "--plain", "--out", str(tmp_path / "run"))
    assert "langgraph.graph" in modules  # the check above can see it
    # langsmith imports httpx, whose command line (httpx._main) loads rich wherever click is
    # installed (the `local` extra brings click): langgraph's stack, not longhaul's display.
    via_httpx = {"rich"} if "httpx._main" in modules else set()
    assert sorted(set(heavy(modules, "rich")) - via_httpx) == ["langchain_core", "langgraph.graph", "langgraph.pregel", "langsmith"]


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["tasks"],
        ["prompt", "count", "--param", "end=5"],
        ["strategies"],
        ["run", "SUITE", "--dry-run"],
        ["export", "RUN"],
        ["export", "RUN", "--format", "csv", "--turns"],
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_that_count_no_tokens_load_no_heavy_library(tmp_path, request, args):
    if "SUITE" in args:
        suite = small(tmp_path, ["sim/diligent"], ["direct", "continue", "resume", "ranges", "nudge"], "count", "end = 20")
        args = [str(suite) if a == "SUITE" else a for a in args]
    if "RUN" in args:
        run_dir, _ = request.getfixturevalue("direct_run")
        args = [str(run_dir) if a == "RUN" else a for a in args]
    also = () if args[0] == "run" else ("tiktoken",)  # a dry run counts the tokens answers need
    assert heavy(loaded(tmp_path, *args), *also) == []


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_verifying_an_answer_loads_no_heavy_library(tmp_path, json_flag):
    answer = "".join(f"{n}\n" for n in range(1, 6))
    assert heavy(loaded(tmp_path, "verify", "count", "--param", "end=5", "-", *json_flag, stdin=answer), "tiktoken", "openai") == []


def test_the_report_loads_its_libraries_when_it_writes(tmp_path):
    code = "import sys, longhaul.report, longhaul.report.compare; print('\\n'.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert heavy(set(r.stdout.split())) == []  # matplotlib when it draws, scipy when a comparison tests
