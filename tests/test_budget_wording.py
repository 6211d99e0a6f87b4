"""What the dry run and the report say of a request budget when models were clamped to their own
limits, and of a cell a single request cannot hold."""

from __future__ import annotations

from pathlib import Path

from longhaul.dryrun import dry_run
from longhaul.report import write_report
from longhaul.runner import plan, run

CLAMPED = "sim/diligent?max_output=300"


def suite_file(tmp_path: Path, models: list[str], end: int, clamp: bool = True) -> Path:
    path = tmp_path / "s.toml"
    quoted = ", ".join(f'"{m}"' for m in models)
    path.write_text(
        f'name = "w"\nmodels = [{quoted}]\nstrategies = ["direct", "continue"]\nmax_tokens = 4000\n'
        + ('over_model_limit = "clamp"\n' if clamp else "")
        + f'\n[[tasks]]\ntask = "count"\nend = {end}\n',
        encoding="utf-8",
    )
    return path


def rows(text: str) -> dict[tuple[str, str], str]:
    """The dry run's cells: (model, strategy) -> the fits column."""
    out = {}
    for line in text.splitlines():
        cols = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| sim/"):
            out[(cols[0], cols[3])] = cols[6]
    return out


def test_the_dry_run_says_why_a_model_is_sent_less_and_what_not_fitting_one_request_means(tmp_path):
    text = dry_run(plan(suite_file(tmp_path, [CLAMPED, "sim/diligent"], end=300)))
    header = next(line for line in text.splitlines() if line.startswith("per request:"))
    assert header.startswith('per request: max_tokens 4000 (the suite\'s; clamped per model below: over_model_limit = "clamp")')
    assert "max_tokens 300 (clamped from 4,000)" in text
    # 300 numbers do not fit in 300 tokens: one request cannot hold them, later turns of `continue` may.
    assert rows(text) == {
        (CLAMPED, "direct"): "NO: needs more budget",
        (CLAMPED, "continue"): "no: not in one request",
        ("sim/diligent", "direct"): "yes",
        ("sim/diligent", "continue"): "yes",
    }
    plain = dry_run(plan(suite_file(tmp_path, ["sim/diligent"], end=300, clamp=False)))
    assert "per request: max_tokens 4000; agent strategies" in plain  # nothing clamped: nothing to explain


def test_the_reports_header_says_some_models_were_sent_less_than_the_suites_max_tokens(tmp_path):
    result = run(suite_file(tmp_path, [CLAMPED, "sim/diligent"], end=20), out=tmp_path / "run")
    page = write_report(result.run_dir)["html"].read_text()
    assert "max_tokens 4,000 (the suite's; 1 model was sent less: see <a href=#joint>max_tokens sent</a>, per model)" in page
    unclamped = run(suite_file(tmp_path, ["sim/diligent"], end=20), out=tmp_path / "run2")
    page = write_report(unclamped.run_dir)["html"].read_text()
    assert "max_tokens 4,000</div>" in page and "sent less" not in page
