"""Every code task (`longhaul.code_task`), as properties: a complete answer is complete at every
size; one wrong entry is `cant_do` at its index, and streaming stops there; each form of elision in
code is `wont_do` / `elision`; code that makes the entries is `wont_do` / `code_instead`; an entry
the token limit cuts is `budget_exhausted`; code that does not parse is `cant_do` with the parser's
message. Streamed in small deltas, every answer reads as it does whole."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_task_properties import chunked, deltas

from longhaul.code_task import CodeTask
from longhaul.verify import StreamingVerifier, verify

# Each code task's parameters for an instance of n entries (n >= 1).
SIZED: dict[str, Callable[[int], dict[str, Any]]] = {
    "py_table": lambda n: {"start": 7, "end": 7 + n - 1},
    "py_tests": lambda n: {"start": 3, "end": 3 + n - 1},
    "py_tests/letters": lambda n: {"start": 990, "end": 990 + n - 1, "expected": "letters"},
    "py_enum": lambda n: {"start": 60, "end": 60 + n - 1},
    "json_records": lambda n: {"seed": n, "start": 101, "count": n},
    "sql_inserts": lambda n: {"seed": n, "start": 1, "count": n},
}

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = sorted(SIZED)


def code_tasks(tasks) -> dict[str, CodeTask[Any]]:
    return {name: t for name, t in tasks.items() if isinstance(t, CodeTask)}


def instance(tasks, name: str, n: int):
    task = tasks[name.partition("/")[0]]  # `task/variant`: another instance shape of one task
    p = task.params(SIZED[name](n))
    return task, p, list(task.reference(p))


def test_every_code_task_is_covered(tasks):
    assert set(code_tasks(tasks)) == {name.partition("/")[0] for name in SIZED}


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(n=st.integers(1, 1200), seed=st.integers(0, 2**32))
def test_the_reference_is_complete_at_every_size(tasks, name, n, seed):
    task, p, ref = instance(tasks, name, n)
    text = task.render(p)
    verdict = verify(task, p, text)
    assert verdict.outcome == "complete", verdict.explanation
    assert verdict.items_correct == len(ref) == task.expected_count(p)
    assert chunked(task, p, text, seed, "end_turn", verdict)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_one_wrong_entry_is_cant_do_at_its_index_and_stops_the_stream_there(tasks, name, data):
    task, p, ref = instance(tasks, name, data.draw(st.integers(1, 400)))
    i = data.draw(st.integers(0, len(ref) - 1))
    wrong = task.wrong(ref[i], p, random.Random(data.draw(st.integers(0, 99))))
    values = [*ref[:i], wrong, *ref[i + 1 :]]
    text = task.render(p, values)
    verdict = verify(task, p, text)
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and verdict.first_error.index == i
    assert verdict.items_correct == i
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "end_turn", verdict)
    assert verify(task, p, text, stop_reason="max_tokens").outcome == "cant_do"
    # Early stop: the wrong entry is known as soon as the line it ends on has streamed.
    shown = task.show(wrong, p)
    end = text.index("\n", text.index(shown) + len(shown)) + 1
    v = StreamingVerifier(task, p)
    for piece in deltas(text[:end], 0):
        v.feed(piece)
    assert v.failed is not None and v.failed.index == i


ELISIONS = [
    ("comment", "... remaining entries follow the same pattern"),
    ("comment", "TODO: add the rest"),
    ("comment", "and so on"),
    ("entry", "..."),
]


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_each_form_of_elision_is_wont_do_elision(tasks, name, data):
    task, p, ref = instance(tasks, name, data.draw(st.integers(3, 300)))
    k = data.draw(st.integers(1, len(ref) - 1))
    form, words = data.draw(st.sampled_from(ELISIONS))
    entries = [task.show(v, p) for v in ref[:k]]
    text = task.render_cut(p, ref[:k], words) if form == "comment" else task.render_entries(p, [*entries, words])
    for stop in ("end_turn", "max_tokens"):
        verdict = verify(task, p, text, stop_reason=stop)
        assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "elision", k), verdict.explanation
        assert any(e.kind == "elision" for e in verdict.evidence)
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "end_turn", verify(task, p, text))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_code_that_makes_the_entries_is_wont_do_code_instead(tasks, name, data):
    task, p, ref = instance(tasks, name, data.draw(st.integers(2, 300)))
    k = data.draw(st.integers(0, len(ref) - 1))
    text = task.generator(p, ref[:k])
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "code_instead", k), verdict.explanation
    assert any(e.kind == "code" for e in verdict.evidence)
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "end_turn", verdict)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_an_entry_cut_by_the_token_limit_is_budget_exhausted(tasks, name, data):
    task, p, ref = instance(tasks, name, data.draw(st.integers(2, 300)))
    k = data.draw(st.integers(0, len(ref) - 1))
    text = task.render(p)
    at = 0
    for v in ref[: k + 1]:
        at = text.index(task.show(v, p), at)
    shown = task.show(ref[k], p)
    cut = text[: at + data.draw(st.integers(1, len(shown) - 1))]
    verdict = verify(task, p, cut, stop_reason="max_tokens")
    assert (verdict.outcome, verdict.items_correct) == ("budget_exhausted", k), verdict.explanation
    assert chunked(task, p, cut, data.draw(st.integers(0, 2**32)), "max_tokens", verdict)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_code_that_does_not_parse_is_cant_do_with_the_parsers_message(tasks, name, data):
    task, p, ref = instance(tasks, name, data.draw(st.integers(2, 300)))
    i = data.draw(st.integers(0, len(ref) - 1))
    shown = task.show(ref[i], p)
    text = task.render(p)
    at = 0
    for v in ref[: i + 1]:
        at = text.index(task.show(v, p), at)
    broken = text[:at] + shown[:1] + "\x01" + shown[1:] + text[at + len(shown) :]  # a character no language allows there
    verdict = verify(task, p, broken)
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and verdict.first_error.index == i
    assert "does not parse" in verdict.first_error.rule
    assert chunked(task, p, broken, data.draw(st.integers(0, 2**32)), "end_turn", verdict)


def test_a_fence_tagged_with_another_language_is_never_read_for_entries(tasks):
    # The table, then the same as YAML "for the config": its `0: zero` lines look like bare
    # entries continuing the dict, but a YAML block holds no Python entries.
    task = tasks["py_table"]
    p = task.params({"start": 0, "end": 2})
    text = task.render(p) + "\nAnd the same as YAML, in English:\n\n```yaml\n0: zero\n1: one\n2: two\n```\n"
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 3), verdict.explanation


def test_the_last_json_object_is_read_when_its_line_ends_before_the_closing_bracket(tasks):
    # Nothing can follow a JSON value but `,` or `]`: a wrong last object stops the stream at once.
    task = tasks["json_records"]
    p = task.params({"seed": 5, "count": 3})
    ref = list(task.reference(p))
    text = task.render(p, [*ref[:2], {**ref[2], "city": "Atlantis"}])
    v = StreamingVerifier(task, p)
    v.feed(text[: text.index("Atlantis")])
    v.feed(text[text.index("Atlantis") : text.index("\n", text.index("Atlantis")) + 1])
    assert v.failed is not None and v.failed.index == 2


def test_an_sql_row_whole_at_its_lines_end_is_read_before_what_follows(tasks):
    # A multi-row insert whose last row is followed by an eliding comment, and only then `;`: the
    # row comes first, so the comment cuts the list after it.
    task = tasks["sql_inserts"]
    p = task.params({"seed": 2, "count": 5})
    ref = list(task.reference(p))
    text = task.render_cut(p, ref[:2], "-- ... and so on for the remaining rows")
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "elision", 2), verdict.explanation


def test_a_name_where_an_sql_value_goes_is_cant_do_not_code_instead(tasks):
    # A string in double quotes is an identifier to SQL: wrong code, not rows computed by a query.
    task = tasks["sql_inserts"]
    p = task.params({"seed": 2, "count": 2})
    ref = list(task.reference(p))
    text = task.render_entries(p, [task.show(ref[0], p), task.show(ref[1], p).replace("'", '"')])
    verdict = verify(task, p, text)
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and verdict.first_error.index == 1
    assert "is a name, not a value" in verdict.first_error.rule


@pytest.mark.slow
def test_the_coding_boilerplate_suite_tells_eliding_and_coding_from_the_token_limit(tmp_path):
    # Decided before running: a lazy model's direct answer past its 150 entries is elision and
    # continue completes it; the coder's direct answer is code instead; the truncating model's is
    # budget_exhausted at 1000 entries and continue completes it, on every code task.
    from longhaul import run

    result = run(
        "coding-boilerplate",
        models=["sim/lazy?k=150", "sim/coder?k=10", "sim/truncating?limit=6000"],
        strategies=["direct", "continue"],
        out=tmp_path / "run",
    )
    seen = {(t.spec.model.split("?")[0], t.spec.task, t.spec.size, t.spec.strategy): t.verdict for t in result.trials}
    assert {task for _, task, _, _ in seen} == set(NAMES) - {"py_tests/letters"}
    for task in {task for _, task, _, _ in seen}:
        lazy = seen[("sim/lazy", task, 200, "direct")]
        assert (lazy.outcome, lazy.wont_do_kind, lazy.items_correct) == ("wont_do", "elision", 150), (task, lazy.explanation)
        assert seen[("sim/lazy", task, 1000, "continue")].outcome == "complete"
        coder = seen[("sim/coder", task, 200, "direct")]
        assert (coder.outcome, coder.wont_do_kind, coder.items_correct) == ("wont_do", "code_instead", 10), (task, coder.explanation)
        assert seen[("sim/truncating", task, 1000, "direct")].outcome == "budget_exhausted"
        assert seen[("sim/truncating", task, 1000, "continue")].outcome == "complete"
