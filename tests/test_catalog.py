"""The catalog: tasks and strategies resolved once, carried by the plan and recorded by the run."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from longhaul.catalog import Catalog
from longhaul.cli import main
from longhaul.errors import BadInput
from longhaul.runner import arun, plan
from longhaul.store import read_manifest
from longhaul.suite import parse_suite

SHOUT = Path(__file__).parent / "fixtures" / "shout"
SUITE = 'name = "mine"\nmodels = ["sim/diligent"]\nstrategies = ["direct"]\n[[tasks]]\ntask = "shout"\nend = 5\n'


def test_a_plan_made_with_a_tasks_dir_runs_with_it(tmp_path):
    the_plan = plan(parse_suite(SUITE), tasks_dir=SHOUT)
    result = asyncio.run(arun(the_plan, out=tmp_path / "run"))
    assert [t.outcome for t in result.trials] == ["complete"]
    assert read_manifest(tmp_path / "run").catalog.tasks_dir == str(SHOUT.resolve())


def _run_with_tasks_dir(tmp_path: Path, tasks_dir: Path) -> Path:
    (tmp_path / "mine.toml").write_text(SUITE)
    run_dir = tmp_path / "run"
    assert main(["run", str(tmp_path / "mine.toml"), "--tasks-dir", str(tasks_dir), "--out", str(run_dir), "--plain"]) == 0
    return run_dir


def test_report_of_a_run_made_with_a_tasks_dir_keeps_the_users_task(tmp_path, capsys):
    run_dir = _run_with_tasks_dir(tmp_path, SHOUT)
    (run_dir / "results.json").unlink()
    assert main(["report", str(run_dir)]) == 0
    cell = json.loads((run_dir / "results.json").read_text())["cells"][0]
    assert cell["task"] == "shout" and cell["needed_tokens"] is not None  # read with the user's task, not the built-ins


def test_a_tasks_folder_gone_at_report_time_is_one_line_naming_it(tmp_path, capsys):
    mine = tmp_path / "mytasks"
    shutil.copytree(SHOUT, mine)
    run_dir = _run_with_tasks_dir(tmp_path, mine)
    shutil.rmtree(mine)
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(mine.resolve()) in err and "--tasks-dir" in err
    # ... and the flag points the report at the folder's new place.
    shutil.copytree(SHOUT, tmp_path / "moved")
    assert main(["report", str(run_dir), "--tasks-dir", str(tmp_path / "moved")]) == 0


def test_resume_uses_the_runs_own_tasks(tmp_path):
    run_dir = _run_with_tasks_dir(tmp_path, SHOUT)
    assert main(["resume", str(run_dir), "--plain"]) == 0  # no --tasks-dir: the manifest's


def test_a_missing_folder_named_on_the_command_line_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"--tasks-dir: .*nowhere is not a folder"):
        Catalog(tmp_path / "nowhere")
