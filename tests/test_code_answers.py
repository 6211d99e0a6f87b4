"""Code answers a reviewer wrote as real models write them, where the first verdicts were wrong.
Each expected verdict was decided by reading the answer, before the fix; streamed in small
deltas, each reads as it does whole."""

from __future__ import annotations

import pytest
from test_task_properties import chunked

from longhaul import french
from longhaul.verify import verify


def entries(a: int, b: int) -> str:
    return "".join(f'    {n}: "{french.spell(n)}",\n' for n in range(a, b))


TABLE = {
    # Models split a long answer over blocks: the container goes on in the next one.
    "split over two blocks": (
        f"```python\nFRENCH = {{\n{entries(0, 10)}```\n\nContinuing:\n\n```python\n{entries(10, 21)}}}\n```\n",
        "complete",
        None,
        21,
    ),
    "update() with literal entries": (
        f"```python\nFRENCH = {{\n{entries(0, 10)}}}\n```\n\nContinuing:\n\n```python\nFRENCH.update({{\n{entries(10, 21)}}})\n```\n",
        "complete",
        None,
        21,
    ),
    # A dict never closed is code that does not parse, fenced or not.
    "never closed, fenced": (f"```python\nFRENCH = {{\n{entries(0, 21)}```\n", "cant_do", None, 21),
    "never closed, no fence": (f"FRENCH = {{\n{entries(0, 21)}", "cant_do", None, 21),
    # Words a coder uses to leave entries out.
    "fill in the rest": (f"```python\nFRENCH = {{\n{entries(0, 5)}    # fill in the rest\n}}\n```\n", "wont_do", "elision", 5),
    "continue until 20": (f"```python\nFRENCH = {{\n{entries(0, 5)}    # continue until 20\n}}\n```\n", "wont_do", "elision", 5),
    "5 through 20 go here": (f"```python\nFRENCH = {{\n{entries(0, 5)}    # 5 through 20 go here\n}}\n```\n", "wont_do", "elision", 5),
    # Prose between the entries of an unfenced dict is no entry; the dict then never closes.
    "prose inside an unfenced dict": (f"FRENCH = {{\n{entries(0, 10)}\nLet me know if you want the rest.\n", "cant_do", None, 10),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_py_table_answers(tasks, name):
    task = tasks["py_table"]
    p = task.params({"start": 0, "end": 20})
    text, outcome, kind, correct = TABLE[name]
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == (outcome, kind, correct), verdict.explanation
    assert chunked(task, p, text, 1, "end_turn", verdict)


def test_a_never_closed_dict_cut_by_the_token_limit_is_budget_exhausted(tasks):
    task = tasks["py_table"]
    p = task.params({"start": 0, "end": 20})
    verdict = verify(task, p, f"```python\nFRENCH = {{\n{entries(0, 12)}", stop_reason="max_tokens")
    assert (verdict.outcome, verdict.items_correct) == ("budget_exhausted", 12), verdict.explanation


def test_cases_extended_with_a_literal_list_are_cases_not_code(tasks):
    task = tasks["py_tests"]
    p = task.params({"start": 1, "end": 6})
    text = (
        '```python\nimport pytest\n\nCASES = [\n    (1, "I"),\n    (2, "II"),\n    (3, "III"),\n]\n'
        'CASES.extend([\n    (4, "IV"),\n    (5, "V"),\n    (6, "VI"),\n])\n\n\n'
        '@pytest.mark.parametrize("n, expected", CASES)\ndef test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n'
    )
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 6), verdict.explanation


def test_a_json_continuation_that_starts_with_its_comma_loses_no_record(tasks):
    task = tasks["json_records"]
    p = task.params({"seed": 2, "start": 1, "count": 4})
    rows = task.render(p).splitlines()
    objects = [r.strip().rstrip(",") for r in rows if r.strip().startswith("{")]
    text = "```json\n[\n  " + ",\n  ".join(objects[:2]) + "\n```\n\nContinuing:\n\n```json\n  ," + ",\n  ".join(objects[2:]) + "\n]\n```\n"
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation


def test_a_json_object_whole_where_the_token_limit_fell_is_counted(tasks):
    task = tasks["json_records"]
    p = task.params({"seed": 2, "start": 1, "count": 4})
    objects = [r.strip().rstrip(",") for r in task.render(p).splitlines() if r.strip().startswith("{")]
    text = "```json\n[\n  " + ",\n  ".join(objects[:3])  # ends at the third object's closing brace
    verdict = verify(task, p, text, stop_reason="max_tokens")
    assert (verdict.outcome, verdict.items_correct) == ("budget_exhausted", 3), verdict.explanation
