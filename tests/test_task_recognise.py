"""Each task recognises its own prompts (and no other task's), and its simulated mistakes are
mistakes: the simulated model depends on both."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longhaul.verify import verify

PARAMS = {
    "hanoi": st.fixed_dictionaries(
        {"disks": st.integers(1, 20), "format": st.sampled_from(["list", "csv", "lines"]), "pegs": st.sampled_from(["0-2", "1-3", "A-C"])}
    ),
    "checker_jumping": st.fixed_dictionaries({"checkers": st.integers(1, 60)}),
    "river_crossing": st.fixed_dictionaries({"pairs": st.integers(1, 30), "capacity": st.integers(1, 8)}),
    "blocks_world": st.fixed_dictionaries({"blocks": st.integers(2, 26)}),
    "french_numbers": st.tuples(st.integers(0, 999_999), st.integers(0, 999_999)).map(lambda t: {"start": min(t), "end": max(t)}),
    "count": st.fixed_dictionaries({"end": st.integers(1, 1_000_000)}),
    "kill_script": st.tuples(st.integers(2, 4_000_000), st.integers(2, 4_000_000)).map(lambda t: {"start": min(t), "end": max(t)}),
    "sha256_digests": st.fixed_dictionaries({"end": st.integers(1, 100_000)}),
    "py_table": st.tuples(st.integers(0, 999_999), st.integers(0, 999_999)).map(lambda t: {"start": min(t), "end": max(t)}),
    "py_tests": st.one_of(
        st.tuples(st.integers(1, 3999), st.integers(1, 3999)).map(lambda t: {"start": min(t), "end": max(t)}),
        st.tuples(st.integers(0, 999_999), st.integers(0, 999_999)).map(lambda t: {"start": min(t), "end": max(t), "expected": "letters"}),
    ),
    "py_enum": st.tuples(st.integers(0, 999_999), st.integers(0, 999_999)).map(lambda t: {"start": min(t), "end": max(t)}),
    "json_records": st.fixed_dictionaries({"seed": st.integers(0, 10**9), "start": st.integers(0, 10**6), "count": st.integers(1, 40)}),
    "sql_inserts": st.fixed_dictionaries({"seed": st.integers(0, 10**9), "start": st.integers(0, 10**6), "count": st.integers(1, 40)}),
}

TASK_AND_PARAMS = st.sampled_from(sorted(PARAMS)).flatmap(lambda name: st.tuples(st.just(name), PARAMS[name]))


def test_every_builtin_task_is_covered(tasks):
    assert set(tasks) == set(PARAMS)


@given(TASK_AND_PARAMS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_task_reads_its_own_prompt_back(tasks, case):
    name, raw = case
    task = tasks[name]
    p = task.params(raw)
    text = task.prompt(p).text
    assert task.recognise(text) == p
    assert [other for other, t in tasks.items() if other != name and t.recognise(text) is not None] == []


def test_a_prompt_inside_a_longer_conversation_is_still_recognised(tasks):
    task = tasks["french_numbers"]
    p = task.params({"start": 3, "end": 40})
    text = "Earlier you wrote some lines.\n\n" + task.prompt(p).text + "\n\nContinue from item 12."
    assert task.recognise(text) == p


def test_text_that_is_no_task_prompt_is_recognised_by_none(tasks):
    for text in ["Write me a poem about disks.", "Print every integer from one to ten.", ""]:
        assert [n for n, t in tasks.items() if t.recognise(text) is not None] == []


SIZES = {
    "hanoi": [{"disks": 1}, {"disks": 2}, {"disks": 6, "format": "csv"}, {"disks": 5, "format": "lines", "pegs": "A-C"}],
    "checker_jumping": [{"checkers": 1}, {"checkers": 4}],
    "river_crossing": [{"pairs": 2, "capacity": 2}, {"pairs": 4, "capacity": 3}],
    "blocks_world": [{"blocks": 2}, {"blocks": 7}],
    "french_numbers": [{"start": 0, "end": 130}],
    "count": [{"end": 50}],
    "kill_script": [{"start": 100, "end": 150}],
    "sha256_digests": [{"end": 20}],
    "py_table": [{"start": 0, "end": 120}, {"start": 995, "end": 1010}],
    "py_tests": [{"start": 1, "end": 120}, {"start": 3880, "end": 3999}, {"start": 60, "end": 120, "expected": "letters"}],
    "py_enum": [{"start": 0, "end": 120}, {"start": 995, "end": 1010}],
    "json_records": [{"count": 1}, {"seed": 7, "start": 0, "count": 60}],
    "sql_inserts": [{"count": 1}, {"seed": 8, "start": 0, "count": 60}],
}


@given(st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_simulated_mistake_is_caught_where_it_stands(tasks, data):
    name = data.draw(st.sampled_from(sorted(SIZES)))
    task = tasks[name]
    p = task.params(data.draw(st.sampled_from(SIZES[name])))
    values = list(task.reference(p))
    i = data.draw(st.integers(0, len(values) - 1))
    values[i] = task.wrong(values[i], p, random.Random(data.draw(st.integers(0, 2**32))))
    verdict = verify(task, p, task.render(p, values), stop_reason="end_turn")
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and verdict.first_error.index == i


def test_hanoi_reads_a_replications_csv_and_state_tracking_prompts_as_csv_and_its_list_prompts_as_lists():
    from longhaul.catalog import Catalog

    hanoi = Catalog().task("hanoi")
    user = "I have a puzzle with 6 disks of different sizes with\n\n**Initial configuration**:\n- Peg 0: 6 (bottom), ... 1 (top)\n"
    csv = "Ensure your final answer includes the complete CSV list of moves with the following columns:\n\n```\ndisk_id,from_peg,to_peg\n```\n"
    trck = "```\nmove_id,from_peg,to_peg,peg0,peg1,peg2\n1,0,2,3 2,,1\n```\n"
    listed = "in the format:\n\n```\nmoves=[[disk_id,from_peg,to_peg],...]\n```\n"
    for system, fmt in ((csv, "csv"), (trck, "csv"), (listed, "list")):
        seen = hanoi.recognise(f"{system}\n\n{user}")
        assert seen is not None and seen.disks == 6 and seen.format == fmt
