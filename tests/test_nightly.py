"""examples/nightly.yml, the scheduled job, read as GitHub reads it and its steps run as a runner
runs them: it installs longhaul from the URL the user pins (never the unrelated `longhaul` on PyPI)
and checks what it installed, caches pip, finds the previous night's run across the workflow's
successful runs (never the run in progress), keeps a night that stopped a model or holds no verdict
out of the baselines, reports provider errors without failing, and fails on a planted regression
replayed through two nights of the simulated model."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
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


def test_it_installs_longhaul_from_the_pinned_url_the_user_sets_with_pip_cached_and_checks_it(workflow):
    text = WORKFLOW.read_text()
    assert not re.search(r"pip install\s+(-e\s+)?\.(\s|$)", text), "never `pip install .` of the user's repository"
    assert "longhaul==" not in text and "LONGHAUL_VERSION" not in text, "the name longhaul on PyPI is another project"
    pin = step(workflow, named="Pin longhaul")
    assert pin["env"] == {"LONGHAUL_REQUIREMENT": "${{ vars.LONGHAUL_REQUIREMENT }}"}
    assert '"$LONGHAUL_REQUIREMENT" > longhaul-requirements.txt' in pin["run"]
    python = step(workflow, uses="actions/setup-python@")
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "longhaul-requirements.txt"
    assert steps(workflow).index(pin) < steps(workflow).index(python), "the file pip's cache is keyed on exists before setup-python"
    install = step(workflow, named="Install longhaul")
    assert install["run"].strip() == "python -m pip install -r longhaul-requirements.txt"
    check = step(workflow, named="Check that what was installed is longhaul")
    assert 'python -c "import longhaul.sim, longhaul.report"' in check["run"] and "longhaul --version" in check["run"]
    order = [steps(workflow).index(s) for s in (install, check, step(workflow, named="Look before leaping"))]
    assert order == sorted(order), "the check comes after installing and before anything runs"


@pytest.mark.parametrize(
    ("requirement", "written", "says"),
    [
        ("", None, "set the repository variable LONGHAUL_REQUIREMENT to longhaul's pinned URL"),
        ("longhaul==0.1.0", None, "LONGHAUL_REQUIREMENT must be a URL"),
        ("longhaul", None, "LONGHAUL_REQUIREMENT must be a URL"),
        ("longhaul @ git+https://github.com/o/longhaul@v0.1.0", "longhaul @ git+https://github.com/o/longhaul@v0.1.0\n", None),
        ("https://example.org/longhaul-0.1.0-py3-none-any.whl", "https://example.org/longhaul-0.1.0-py3-none-any.whl\n", None),
    ],
)
def test_the_pin_step_writes_only_a_url_and_stops_at_once_without_one(workflow, tmp_path, requirement, written, says):
    r = run_step(workflow, step(workflow, named="Pin longhaul"), tmp_path, longhaul_bin(tmp_path), LONGHAUL_REQUIREMENT=requirement)
    pinned = tmp_path / "longhaul-requirements.txt"
    if written is None:
        assert r.returncode == 1 and not pinned.exists()
        (line,) = r.stdout.splitlines()
        assert line.startswith("::error::") and says in line and "the name longhaul on PyPI is another project" in line
    else:
        assert r.returncode == 0, r.stdout + r.stderr
        assert pinned.read_text() == written


def test_the_check_step_fails_when_what_was_installed_is_not_longhaul(workflow, tmp_path):
    check = step(workflow, named="Check that what was installed is longhaul")
    ours = run_step(workflow, check, tmp_path, longhaul_bin(tmp_path), PYTHONPATH=str(ROOT))
    assert ours.returncode == 0, ours.stdout + ours.stderr
    # Another project's `longhaul` package: importable, without longhaul.sim.
    other = tmp_path / "other" / "longhaul"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    bin_dir = tmp_path / "otherbin"
    bin_dir.mkdir()
    executable(bin_dir / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    theirs = run_step(workflow, check, tmp_path, bin_dir, PYTHONPATH=str(other.parent))
    assert theirs.returncode == 1 and "is not longhaul" in theirs.stdout


def test_it_finds_the_previous_night_across_the_workflows_runs_and_keeps_tonights(workflow):
    last = step(workflow, id="last")
    assert "gh run list --workflow" in last["run"] and "--status success" in last["run"] and "$GITHUB_RUN_ID" in last["run"]
    assert last["env"]["GH_TOKEN"] == "${{ github.token }}" and last["env"]["WORKFLOW"] == "${{ github.workflow }}"
    upload = step(workflow, uses="actions/upload-artifact@", named="tonight")
    assert (
        upload["with"]["name"] == "${{ steps.run.outputs.baseline == 'true' && env.ARTIFACT || format('{0}-not-baseline', env.ARTIFACT) }}"
    )
    assert upload["with"]["path"] == "runs/tonight"
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
# artifact expired, or it was no baseline) and 700 (last night's), newest first, all successful.
echo "$*" >> "$GH_LOG"
if [ "$1 $2" = "run list" ]; then
  case "$*" in *"--status success"*) ;; *) echo "the fetch step must ask for successful runs only" >&2; exit 3;; esac
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


def night(
    workflow: dict[str, Any], tmp: Path, name: str, model: str, last: Path | None, baseline: str = "true", suite: Path | None = None
) -> Path:
    """A workspace after the job's run step: runs/tonight, and runs/last as the fetch step leaves it."""
    work = tmp / name
    work.mkdir()
    if last is not None:
        shutil.copytree(last, work / "runs" / "last")
    r = run_step(workflow, step(workflow, id="run"), work, longhaul_bin(tmp), SUITE=str(suite or night_suite(tmp, name, model)))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.outputs["baseline"] == baseline, r.stdout
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


@pytest.mark.slow
@pytest.mark.parametrize(("name", "model"), [("stopped", "sim/diligent?faults=401:1"), ("no_verdict", "sim/diligent?faults=500:1")])
def test_a_night_that_stopped_a_model_or_holds_no_verdict_is_not_a_baseline(workflow, tmp_path, name, model):
    # The run step says so; the upload step's name (asserted above) keeps such a night out of ARTIFACT.
    work = night(workflow, tmp_path, name, model, None, baseline="false")
    assert (work / "runs" / "tonight" / "trials.sqlite").exists()


@pytest.mark.slow
def test_a_baseline_with_nothing_in_common_warns_in_the_summary(workflow, nights, tmp_path):
    _, regressed, _ = nights
    # Last night ran another strategy (one sample, to be quick): no cell in common with tonight.
    suite = night_suite(tmp_path, "suite", "sim/diligent")
    text = suite.read_text().replace('strategies = ["direct"]', 'strategies = ["continue"]')
    suite.write_text(re.sub(r"^samples = .*$", "samples = 1", text, flags=re.M))
    last = night(workflow, tmp_path, "other", "sim/diligent", None, suite=suite)
    work = tmp_path / "w"
    shutil.copytree(regressed / "runs" / "tonight", work / "runs" / "tonight")
    shutil.copytree(last / "runs" / "tonight", work / "runs" / "last")
    r = run_step(workflow, step(workflow, id="compare"), work, longhaul_bin(tmp_path))
    assert "Could test 0 of 0 cells" in r.summary
    assert r.returncode == 0 and "::warning title=nothing compared::" in r.stdout
    assert "**Warning:** the previous night has no cell in common with tonight" in r.summary
