"""A repeated entry in code: a revision where the code keeps the last (a dict's key), an entry of
its own, checked where it stands, where the code keeps both (`CodeSyntax.repeat_revises`)."""

from __future__ import annotations

import dataclasses

import pytest

from longhaul.verify import verify


@pytest.fixture
def tables(tasks):
    revising = tasks["py_table"]
    standing = type(revising)()
    standing.code = dataclasses.replace(revising.code, repeat_revises=False)  # same task, repeats standing
    return revising, standing


def answer(entries):
    return "```python\nFRENCH = {\n" + "".join(f'    {k}: "{v}",\n' for k, v in entries) + "}\n```\n"


ENTRIES = [(0, "zéro"), (1, "un"), (2, "deux"), (3, "trois")]


def test_a_key_given_twice_in_a_row_revises_it_where_repeats_revise_and_is_wrong_where_they_stand(tables):
    revising, standing = tables
    p = revising.params({"start": 0, "end": 3})
    text = answer([*ENTRIES[:2], (1, "un"), *ENTRIES[2:]])
    assert verify(revising, p, text).outcome == "complete"
    v = verify(standing, p, text)
    assert v.outcome == "cant_do" and v.first_error is not None and v.first_error.index == 2, v.explanation
    assert "expected the entry for 2" in v.first_error.rule  # the task's own words, from its checker


def test_the_first_entry_again_is_no_new_start_inside_one_container_where_repeats_stand(tables):
    revising, standing = tables
    p = revising.params({"start": 0, "end": 3})
    text = answer([*ENTRIES[:2], (0, "zéro"), *ENTRIES[1:]])
    assert verify(revising, p, text).outcome == "complete"  # read as starting over
    v = verify(standing, p, text)
    assert v.outcome == "cant_do" and v.first_error is not None and v.first_error.index == 2, v.explanation
    # A second container (the answer written again) still starts over.
    assert verify(standing, p, answer(ENTRIES[:2]) + "\nAgain, in full:\n\n" + answer(ENTRIES)).outcome == "complete"
