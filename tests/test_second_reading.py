"""The paper's figures with longhaul's reading beside them, and the paragraph per model that says
what the answers past the collapse were (longhaul/report/reading.py, figures.py)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

import longhaul
from longhaul.report import html, write_report
from longhaul.report.reading import readings
from longhaul.report.results import CellResult, Share, compute
from longhaul.search import SearchResult, SizeTried
from longhaul.suite import parse_suite
from longhaul.verdict import VERDICTS

# Expected before the run was made: refuser declines past 20 items (Hanoi 5 disks is 31 moves), so
# 4 disks complete and 5-7 won't-do; truncating is capped at 400 tokens, and a complete answer
# needs 137, 281, 569, 1145 (longhaul.tokens), so 4-5 complete and 6-7 budget; drifter with
# at=60 answers n moves all right with chance exp(-(n/60)^2): 94%, 77%, 33%, 1% at 4-7 disks, so
# 4-5 hold up, 6-7 collapse, and every answer past 5 disks that is not complete is a wrong move.
SUITE = """
name = "second-reading"
models = ["sim/drifter?at=60", "sim/refuser?above=20", "sim/truncating?limit=400"]
strategies = ["direct"]
samples = 6
max_tokens = 4000

[[tasks]]
task = "hanoi"
disks = [4, 5, 6, 7]
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reading") / "run"
    longhaul.run(parse_suite(SUITE), out=out)
    write_report(out)
    return out


def counts(run_dir: Path, model: str, above: int) -> dict[str, int]:
    db = sqlite3.connect(run_dir / "trials.sqlite")
    rows = db.execute("SELECT outcome, count(*) FROM trials WHERE model=? AND size>? GROUP BY outcome", (model, above)).fetchall()
    return dict(rows)


def test_the_paragraph_per_model_says_what_the_answers_past_the_collapse_were(run_dir):
    summary = (run_dir / "summary.md").read_text()
    page = (run_dir / "report.html").read_text()
    expected = {
        "sim/refuser?above=20": "Past 4 disks, 18 of 18 non-complete answers were won't-do or budget, not wrong moves "
        "(18 won't-do, 0 budget); 0 were can't-do (a wrong move).",
        "sim/truncating?limit=400": "Past 5 disks, 12 of 12 non-complete answers were won't-do or budget, not wrong moves "
        "(0 won't-do, 12 budget); 0 were can't-do (a wrong move).",
    }
    for model, sentence in expected.items():
        assert f"`{model}` (simulated) · direct: {sentence}" in summary
        assert sentence.replace("'", "&#x27;") in page
    # The drifter's numbers, taken from the store: every non-complete answer past 5 disks a wrong move.
    past = counts(run_dir, "sim/drifter?at=60", 5)
    wrong = past["cant_do"]
    assert set(past) <= {"complete", "cant_do"} and past.get("complete", 0) < 6
    assert (
        f"Past 5 disks, 0 of {wrong} non-complete answers were won't-do or budget, not wrong moves; {wrong} were can't-do (a wrong move)."
        in summary
    )


def test_each_figure_says_how_many_trials_it_rests_on(run_dir):
    page = (run_dir / "report.html").read_text()
    figures = re.findall(r"<figure>(.*?)</figure>", page, re.S)
    assert len(figures) == 4  # accuracy and the mix side by side, tokens, first wrong move
    assert "<div class=pair><figure>" in page
    stated = [re.search(r">(n = [^<]*)<", f).group(1) for f in figures]
    wrong = sum(counts(run_dir, m, 0).get("cant_do", 0) for m in ("sim/drifter?at=60",))
    assert stated == ["n = 72 trials"] * 3 + [f"n = {wrong} trials with a wrong move · line: median, shaded: quartiles"]
    assert "the paper&#x27;s reading" in figures[0] or "the paper's reading" in figures[0]
    assert "read by longhaul" in figures[1]


def test_the_collapse_from_a_search_is_drawn_only_where_the_run_searched(run_dir):
    results = compute(run_dir)
    assert results.searches is None
    plain = "\n".join(html.render(results, {"hanoi": "disks"}))
    assert "collapse size from the search" not in plain
    searched = results.model_copy(
        update={
            "searches": [
                SearchResult(
                    model="sim/drifter?at=60",
                    task="hanoi",
                    strategy="direct",
                    params={},
                    param="disks",
                    threshold=0.5,
                    status="collapse",
                    collapse=5,
                    first_failure=6,
                    collapse_kind="cant_do",
                    beyond_budget=[],
                    sizes=[
                        step(4, complete=6),
                        step(5, complete=9, cant_do=2, error=1),
                        step(6, complete=2, cant_do=10),
                        step(8, cant_do=6),
                    ],
                    trials=36,
                )
            ]
        }
    )
    page = "\n".join(html.render(searched, {"hanoi": "disks"}))
    figure = re.findall(r"<figure>(.*?)</figure>", page, re.S)[-1]
    assert "collapse size from the search" in figure and ">n = 36 trials<" in figure
    assert type(results).model_validate_json(searched.model_dump_json()).searches == searched.searches


def step(size: int, **outcomes: int) -> SizeTried:
    verdicts = sum(n for o, n in outcomes.items() if o != "error")
    complete = outcomes.get("complete", 0)
    return SizeTried(
        value=size,
        size=size,
        trials=sum(outcomes.values()),
        verdicts=verdicts,
        complete=complete,
        low=None,
        high=None,
        call="pass" if complete >= verdicts / 2 else "fail",
        confident=True,
        outcomes=outcomes,  # type: ignore[arg-type]
    )


def cell(size: int, **outcomes: int) -> CellResult:
    errors = outcomes.pop("error", 0)
    verdicts = sum(outcomes.values())
    return CellResult(
        model="m",
        simulated=False,
        task="hanoi",
        size=size,
        params={"disks": size},
        strategy="direct",
        expectation="should_answer",
        trials=verdicts + errors,
        verdicts=verdicts,
        provider_errors=Share.of_counts(errors, verdicts + errors),
        outcomes={o: Share.of_counts(outcomes.get(o, 0), verdicts) for o in VERDICTS},
        items_expected=2**size - 1,
        median_items_correct=None,
        median_first_error=None,
        median_input_tokens=None,
        median_output_tokens=None,
        median_thinking_tokens=None,
        median_turns=None,
        retries=0,
        median_seconds=None,
        max_tokens=1000,
    )


def sentence(*cells: CellResult) -> str:
    (reading,) = readings(list(cells), {"hanoi": "disks"})
    return reading.sentence()


def test_a_model_that_never_collapses_is_said_to_hold_up():
    assert sentence(cell(3, complete=4), cell(4, complete=2, cant_do=2)) == (
        "No collapse by the paper's reading: at 4 disks, the largest size with a verdict, 2 of 4 answers were complete."
    )


def test_a_dip_that_recovers_is_no_collapse_and_only_the_tail_counts():
    # 5 disks dip below half, 6 hold up again: N is 6, and only 7 and 8 are counted.
    got = sentence(
        cell(4, complete=4),
        cell(5, complete=1, wont_do=3),
        cell(6, complete=3, cant_do=1),
        cell(7, budget_exhausted=2, cant_do=2),
        cell(8, wont_do=1, unparseable=1, complete=1, cant_do=1, error=2),
    )
    assert got == (
        "Past 6 disks, 3 of 7 non-complete answers were won't-do or budget, not wrong moves (1 won't-do, 2 budget); "
        "3 were can't-do (a wrong move); 1 unparseable. 2 provider errors not counted."
    )


def test_a_collapse_from_the_smallest_size_says_so_and_one_answer_is_singular():
    assert sentence(cell(4, cant_do=1, error=1), cell(5, error=3), cell(6, cant_do=1)) == (
        "From 4 disks, the smallest size tested, 0 of 2 non-complete answers were won't-do or budget, not wrong moves; "
        "2 were can't-do (a wrong move). 1 provider error not counted."
    )
    assert sentence(cell(4, complete=2), cell(5, wont_do=1)).startswith(
        "Past 4 disks, 1 of 1 non-complete answer was won't-do or budget, not wrong moves (1 won't-do, 0 budget); 0 were can't-do"
    )


def test_one_size_or_no_verdicts_is_no_reading():
    assert readings([cell(4, cant_do=2)], {}) == []
    assert readings([cell(4, cant_do=2), cell(5, error=2)], {}) == []
