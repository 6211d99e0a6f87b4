"""An answer with text, no items and no sign of declining is an attempt in the wrong shape:
`cant_do` at item 1, never a refusal (docs/verdicts.md, "Answers with no items")."""

from __future__ import annotations

import pytest

from longhaul.verify import verify
from longhaul.verify.verifier import NO_ITEMS_RULE

# The answers the issue saw from a small real model, and their like: each read and judged.
WRONG_SHAPE = {
    "digits run together": ("count", {"end": 30}, "1 23 456", "1"),
    "prose about the puzzle": (
        "hanoi",
        {"disks": 3},
        "The Tower of Hanoi is a classic puzzle. To solve it, you move the smaller disks out of the way, then move the "
        "largest disk to the target peg, and finally move the smaller disks on top of it. This takes 7 moves in total.",
        "[1, 0, 2]",
    ),
    "a script of comments": (
        "kill_script",
        {"start": 4000, "end": 4009},
        "#!/bin/bash\n# Kill hung child processes\n# This script kills the processes\n# PIDs 4000 to 4009\n",
        "kill -9 4000",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG_SHAPE))
def test_an_attempt_in_the_wrong_shape_is_cant_do_at_item_1(tasks, name):
    task, params, answer, first = WRONG_SHAPE[name]
    v = verify(tasks[task], params, answer)
    assert (v.outcome, v.wont_do_kind) == ("cant_do", None)
    e = v.first_error
    assert (e.index, e.rule, e.expected) == (0, NO_ITEMS_RULE, first)
    assert e.got == " ".join(answer.split())[:80] + ("…" if len(" ".join(answer.split())) > 80 else "")
    assert v.items_correct == v.items_emitted == 0


DECLINES = {
    "refusal": "I'm sorry, but I can't help with that.",
    "code_instead": "```python\nfor i in range(1, 31):\n    print(i)\n```",
    "offer_to_continue": "Counting to 30 takes a while. Would you like me to continue with the full list?",
}


@pytest.mark.parametrize("kind", sorted(DECLINES))
def test_a_decline_code_or_offer_with_no_items_stays_wont_do(tasks, kind):
    v = verify(tasks["count"], {"end": 30}, DECLINES[kind])
    assert (v.outcome, v.wont_do_kind) == ("wont_do", kind)


def test_an_answer_the_refusal_detector_is_unsure_of_stays_early_stop(tasks):
    # Premise rejection: the detector is unsure, so the refusal judge (when on) may read it.
    v = verify(tasks["count"], {"end": 30}, "The premise of this question is incorrect. Nobody needs numbers written out.")
    assert (v.outcome, v.wont_do_kind) == ("wont_do", "early_stop")


def test_a_decision_in_the_thinking_names_the_kind(tasks):
    v = verify(tasks["count"], {"end": 30}, "Counting is easy.", thinking="I will not list all of these numbers one by one.")
    assert v.outcome == "wont_do"


def test_not_the_models_own_stop_is_not_cant_do(tasks):
    assert verify(tasks["count"], {"end": 30}, "Counting is easy.", stop_reason="max_tokens").outcome == "budget_exhausted"
    assert verify(tasks["count"], {"end": 30}, "Counting is easy.", stop_reason="content_filter").wont_do_kind == "early_stop"
    assert verify(tasks["count"], {"end": 30}, "", stop_reason="end_turn").outcome == "unparseable"


def test_a_list_in_another_form_stays_unparseable(tasks):
    answer = "\n".join(f"#{k}#{k}#" for k in range(1, 8))
    assert verify(tasks["hanoi"], {"disks": 3}, answer).outcome == "unparseable"


def test_a_clean_prefix_then_prose_is_still_early_stop(tasks):
    v = verify(tasks["count"], {"end": 30}, "1\n2\n3\nThat is how counting goes.")
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "early_stop", 3)
