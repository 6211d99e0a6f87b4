"""examples/nightly.yml, the scheduled job, read as GitHub reads it and its steps run as a runner
runs them: it installs longhaul as a user would, caches pip, finds the previous night's run across
the workflow's runs (never the run in progress), reports provider errors without failing, and
fails on a planted regression replayed through two nights of the simulated model."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def step(workflow: dict[str, Any], *, id: str | None = None, uses: str | None = None, named: str | None = None) -> dict[str, Any]:
    found = [
        s
        for s in steps(workflow)
        if (id is None or s.get("id") == id)
        and (uses is None or s.get("uses", "").startswith(uses))
        and (named is None or named in s.get("name", ""))
    ]
    assert len(found) == 1, (id, uses, named, found)
    return found[0]


# -- the workflow as GitHub reads it -------------------------------------------------------------------


def test_it_runs_every_night_and_on_demand_with_errors_failing_only_when_asked(workflow):
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["schedule"][0]["cron"]
    flag = on["workflow_dispatch"]["inputs"]["fail_on_errors"]
    assert flag["type"] == "boolean" and flag["default"] is False
    assert "inputs.fail_on_errors" in workflow["env"]["FAIL_ON_ERRORS"]
    assert workflow["permissions"] == {"contents": "read", "actions": "read"}


def test_it_installs_the_released_longhaul_as_a_user_would_with_pip_cached(workflow):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert workflow["env"]["LONGHAUL_VERSION"] == version
    text = WORKFLOW.read_text()
    assert not re.search(r"pip install\s+(-e\s+)?\.(\s|$)", text), "never `pip install .` of the user's repository"
    pin = step(workflow, named="Pin longhaul")
    assert 'echo "longhaul==${LONGHAUL_VERSION}" > longhaul-requirements.txt' in pin["run"]
    python = step(workflow, uses="actions/setup-python@")
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "longhaul-requirements.txt"
    assert steps(workflow).index(pin) < steps(workflow).index(python), "the file pip's cache is keyed on exists before setup-python"
    install = step(workflow, named="Install longhaul")
    assert "pip install -r longhaul-requirements.txt" in install["run"]


def test_it_finds_the_previous_night_across_the_workflows_runs_and_keeps_tonights(workflow):
    last = step(workflow, id="last")
    assert "gh run list --workflow" in last["run"] and "--status completed" in last["run"] and "$GITHUB_RUN_ID" in last["run"]
    assert last["env"]["GH_TOKEN"] == "${{ github.token }}" and last["env"]["WORKFLOW"] == "${{ github.workflow }}"
    upload = step(workflow, uses="actions/upload-artifact@", named="tonight")
    assert upload["with"]["name"] == "${{ env.ARTIFACT }}" and upload["with"]["path"] == "runs/tonight"
    assert upload["if"].startswith("always()")
    compare = step(workflow, id="compare")
    assert compare["if"] == "steps.last.outputs.found == 'true'"
    assert "--fail-on-regression" in compare["run"] and '[ "$FAIL_ON_ERRORS" = true ]' in compare["run"]
    dry = step(workflow, named="Look before leaping")
    assert "--dry-run" in dry["run"]
    assert step(workflow, id="run")["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"


# -- its steps, run as a runner runs them ----------------------------------------------------------------


def executable(path: Path, body: str) -> None:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@dataclass
class Ran:
    """A step's script, run: its exit code and output, what it wrote to GITHUB_OUTPUT and to the job summary."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def run_step(workflow: dict[str, Any], the_step: dict[str, Any], cwd: Path, bin_dir: Path, **env: str) -> Ran:
    """Run a step's script with bash as the runner does (`bash -e -o pipefail`), with the workflow's
    env and the step's own (less what only GitHub can fill in), and GITHUB_OUTPUT and
    GITHUB_STEP_SUMMARY as files."""
    script = the_step["run"]
    assert "${{" not in script, "a replayed script reads only its environment"
    output, summary = cwd / "github_output", cwd / "github_summary"
    output.write_text("")
    summary.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    plain = {k: str(v) for k, v in {**workflow["env"], **the_step.get("env", {})}.items() if "${{" not in str(v)}
    full = {
        **base,
        **plain,
        "PATH": f"{bin_dir}{os.pathsep}{base['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": "900",
        "FAIL_ON_ERRORS": "false",
        **env,
    }
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=full, capture_output=True, text=True)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return Ran(r.returncode, r.stdout, r.stderr, outputs, summary.read_text())


def longhaul_bin(tmp: Path) -> Path:
    """`longhaul` and `python` on PATH, as `pip install longhaul` and setup-python leave them."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    executable(bin_dir / "longhaul", f'#!/bin/sh\nPYTHONPATH="{path}" exec "{sys.executable}" -m longhaul.cli "$@"\n')
    executable(bin_dir / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    return bin_dir


FAKE_GH = """#!/bin/bash
# gh, as the fetch step calls it: runs 900 (this one, in progress but listed anyway), 800 (its
# artifact expired) and 700 (last night's), newest first.
echo "$*" >> "$GH_LOG"
if [ "$1 $2" = "run list" ]; then
  case "$*" in *"--status completed"*) ;; *) echo "the fetch step must ask for finished runs" >&2; exit 3;; esac
  printf '%s\\n' $GH_RUNS
  exit 0
fi
if [ "$1 $2" = "run download" ]; then
  id=$3; shift 3
  while [ $# -gt 0 ]; do case $1 in --dir) dir=$2; shift 2;; --name) name=$2; shift 2;; *) shift;; esac; done
  [ "$name" = longhaul-nightly ] || { echo "no artifact named $name" >&2; exit 1; }
  if [ "$id" = 700 ] || [ "$id" = 900 ]; then mkdir -p "$dir"; echo "night of run $id" > "$dir/trials.sqlite"; exit 0; fi
  echo "no valid artifacts found to download" >&2; exit 1
fi
exit 2
"""


@pytest.mark.parametrize(
    ("runs", "found", "downloaded"),
    [("900 800 700", "true", ["800", "700"]), ("900", "false", []), ("", "false", []), ("800", "false", ["800"])],
)
def test_the_fetch_step_takes_the_newest_finished_run_with_the_artifact_never_this_one(workflow, tmp_path, runs, found, downloaded):
    bin_dir = longhaul_bin(tmp_path)
    executable(bin_dir / "gh", FAKE_GH)
    log = tmp_path / "gh.log"
    r = run_step(workflow, step(workflow, id="last"), tmp_path, bin_dir, GH_RUNS=runs, GH_LOG=str(log))
    assert r.returncode == 0, r.stderr
    assert r.outputs["found"] == found
    calls = log.read_text().splitlines()
    assert [c.split()[2] for c in calls if c.startswith("run download")] == downloaded
    if found == "true":
        assert (tmp_path / "runs" / "last" / "trials.sqlite").read_text() == "night of run 700\n"
    else:
        assert not (tmp_path / "runs" / "last").exists() and "nothing to compare with" in r.stdout


# -- two nights replayed through the job's own steps -------------------------------------------------------


def night_suite(tmp: Path, name: str, model: str) -> Path:
    """The nightly suite (its tasks, sizes and samples) against one simulated model, one strategy
    to keep the test short, and one attempt per request so an outage ends in `error` at once."""
    text = (ROOT / "tasks" / "nightly.toml").read_text()
    text = re.sub(r"^models = .*$", f'models = ["{model}"]', text, flags=re.M)
    text = re.sub(r"^strategies = .*$", 'strategies = ["direct"]', text, flags=re.M)
    path = tmp / f"{name}.toml"
    path.write_text(text + "\n[retry]\nattempts = 1\n")
    return path


def night(workflow: dict[str, Any], tmp: Path, name: str, model: str, last: Path | None) -> Path:
    """A workspace after the job's run step: runs/tonight, and runs/last as the fetch step leaves it."""
    work = tmp / name
    work.mkdir()
    if last is not None:
        shutil.copytree(last, work / "runs" / "last")
    r = run_step(workflow, step(workflow, id="run"), work, longhaul_bin(tmp), SUITE=str(night_suite(tmp, name, model)))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def nights(workflow, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nights")
    first = night(workflow, tmp, "first", "sim/diligent", None)
    last = first / "runs" / "tonight"
    # The planted regression: each item of a long list goes wrong more often, so count's longer
    # sizes fall (complete at 1000 items: about 6%), while the short puzzles barely move.
    regressed = night(workflow, tmp, "regressed", "sim/drifter?at=600", last)
    # Only an outage: half the requests get a 500, and with one attempt those trials end in `error`.
    outage = night(workflow, tmp, "outage", "sim/diligent?faults=500:0.5", last)
    return tmp, regressed, outage


@pytest.mark.slow
def test_a_planted_regression_fails_the_job_and_says_what_moved(workflow, nights):
    tmp, regressed, _ = nights
    r = run_step(workflow, step(workflow, id="compare"), regressed, longhaul_bin(tmp))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "::error title=regression::" in r.stdout
    summary = r.summary
    assert "REGRESSION: sim/diligent → sim/drifter?at=600 count sizes 250,500,750,1000 direct" in summary
    assert "What grew: can't-do, 0 of 20" in summary
    # The nightly's cells of 5 are not what fired: the pool is.
    assert re.search(r"Could test \d+ of 20 cells and \d+ of 5 pools", summary)
    assert (regressed / "compare.html").read_text().count("<tr class=reg>") >= 1


@pytest.mark.slow
def test_an_outage_alone_is_reported_and_passes_unless_asked(workflow, nights):
    tmp, _, outage = nights
    compare = step(workflow, id="compare")
    r = run_step(workflow, compare, outage, longhaul_bin(tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "::warning title=provider errors rose::" in r.stdout and "::error" not in r.stdout
    summary = r.summary
    assert "No cell and no pool got worse beyond chance" in summary and "Provider errors rose (not a regression of the model)" in summary
    report = run_step(workflow, step(workflow, named="Report tonight"), outage, longhaul_bin(tmp))
    assert report.returncode == 0 and "::warning title=provider errors::" in report.stdout
    assert "provider errors" in report.summary
    asked = run_step(workflow, compare, outage, longhaul_bin(tmp), FAIL_ON_ERRORS="true")
    assert asked.returncode == 1 and "failing on provider errors, as asked" in asked.stdout
