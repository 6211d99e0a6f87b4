"""Real answers of a real small model (SmolLM2-135M-Instruct, Q4_1 GGUF, through llama.cpp's server
at temperature 0; file, hash and settings in the fixture's first line), each verdict read and
judged by hand: the model's failures stay failures, never refusals. They run without the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longhaul.verify import verify
from longhaul.verify.verifier import NO_ITEMS_RULE

FIXTURE = Path(__file__).parent / "fixtures" / "smollm2_answers.jsonl"
_LINES = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
HEADER, ANSWERS = _LINES[0]["header"], _LINES[1:]


def test_the_fixture_names_the_weights_and_the_settings():
    assert HEADER["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and len(HEADER["sha256"]) == 64
    assert HEADER["sampling"]["temperature"] == 0


@pytest.mark.parametrize("row", ANSWERS, ids=[f"{a['task']}-{k}" for k, a in enumerate(ANSWERS)])
def test_each_real_answer_keeps_its_judged_verdict(tasks, row):
    v = verify(tasks[row["task"]], row["params"], row["answer"], stop_reason=row["stop_reason"])
    got = (v.outcome, v.first_error.index if v.first_error else None, v.first_error.rule if v.first_error else None, v.wont_do_kind)
    assert got == (row["outcome"], row["first_error_index"], row["rule"], row["wont_do_kind"])
    # Judged: none of these declines; what stopped by itself is a failure, what ran on is the budget.
    assert v.outcome != "wont_do"
    assert v.outcome == ("budget_exhausted" if row["stop_reason"] == "max_tokens" else "cant_do")


def test_a_repeated_line_under_new_numbers_is_no_list_in_another_form(tasks):
    """The model's answer to French 0..100: one line five times, renumbered. Judged: no French
    number in any form, so `cant_do` (it was `unparseable`, 'a list this task cannot read')."""
    row = next(a for a in ANSWERS if a["task"] == "french_numbers")
    v = verify(tasks["french_numbers"], row["params"], row["answer"], stop_reason="end_turn")
    assert (v.outcome, v.first_error.rule) == ("cant_do", NO_ITEMS_RULE)


def test_a_short_answer_is_not_read_twice_as_a_list(tasks):
    # Three lines of numbers, once: not five or more (the opening and ending of a short answer are
    # the same text, and were once read as two copies of it).
    v = verify(tasks["count"], {"end": 30}, "Total: $100 x 4% = $4.\nThen $100 + $4 = $104.\nSo 1500 / 16 = 97.5.")
    assert v.outcome == "cant_do"
