"""py_tests read from answers written the way models write them: each verdict decided before the
test was run, from what the answer does (complete, lazy, computed, cut, wrong)."""

from __future__ import annotations

import pytest
from test_task_properties import deltas

from longhaul.verify import StreamingVerifier, verify


@pytest.fixture
def task(tasks):
    return tasks["py_tests"]


def params(task, end=20):
    return task.params({"start": 1, "end": end})


NUMERALS = [
    "I",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "VII",
    "VIII",
    "IX",
    "X",
    "XI",
    "XII",
    "XIII",
    "XIV",
    "XV",
    "XVI",
    "XVII",
    "XVIII",
    "XIX",
    "XX",
]


def verdict_of(task, p, text, stop="end_turn"):
    whole = verify(task, p, text, stop_reason=stop)
    v = StreamingVerifier(task, p)
    for piece in deltas(text, 7):
        v.feed(piece)
    assert v.finish(stop).model_dump() == whole.model_dump()
    return whole


def test_a_real_models_complete_answer_with_mixed_forms_is_complete(task):
    # Prose around it, single quotes, `pytest.param` with ids, a list for one case, comments beside
    # cases, a trailing comma, the decorator over several lines, the test function after.
    cases = []
    for n, r in enumerate(NUMERALS, 1):
        if n == 4:
            cases.append(f"        pytest.param({n}, '{r}', id='subtractive-four'),")
        elif n == 9:
            cases.append(f"        [{n}, '{r}'],  # nine: one before ten")
        else:
            cases.append(f"        ({n}, '{r}'),")
    text = (
        "Here is a parametrized test covering every value from 1 to 20:\n\n```python\nimport pytest\n\n"
        "from roman import to_roman\n\n\n@pytest.mark.parametrize(\n    ('n', 'expected'),\n    [\n"
        + "\n".join(cases)
        + '\n    ],\n)\ndef test_to_roman(n, expected):\n    """to_roman gives the standard numeral."""\n'
        "    assert to_roman(n) == expected\n```\n\nRun it with `pytest -q`.\n"
    )
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.items_correct) == ("complete", 20), v.explanation


def test_cases_in_a_named_list_the_decorator_takes_by_name_are_complete(task):
    body = "".join(f'    ({n}, "{r}"),\n' for n, r in enumerate(NUMERALS, 1))
    text = (
        f"```python\nimport pytest\n\nTEST_CASES: list[tuple[int, str]] = [\n{body}]\n\n\n"
        '@pytest.mark.parametrize("n,expected", TEST_CASES)\ndef test_roman(n: int, expected: str) -> None:\n'
        "    assert to_roman(n) == expected\n```\n"
    )
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.items_correct) == ("complete", 20), v.explanation


def test_a_lazy_answer_that_leaves_the_rest_to_the_reader_is_wont_do_elision(task):
    body = "".join(f'        ({n}, "{r}"),\n' for n, r in enumerate(NUMERALS[:6], 1))
    text = (
        f'```python\n@pytest.mark.parametrize(\n    "n, expected",\n    [\n{body}'
        "        # ... add the remaining cases up to 20 in the same way\n    ],\n)\n"
        "def test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n"
    )
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 6), v.explanation
    assert any("add the remaining cases" in e.text for e in v.evidence)


def test_cases_computed_by_a_comprehension_or_a_loop_are_wont_do_code_instead(task):
    comprehension = (
        "```python\nimport pytest\nfrom roman import to_roman\n\n\n"
        '@pytest.mark.parametrize("n, expected", [(n, to_roman(n)) for n in range(1, 21)])\n'
        "def test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n"
    )
    loop = (
        "```python\nimport pytest\n\ncases = []\nfor n in range(1, 21):\n    cases.append((n, to_roman(n)))\n\n\n"
        '@pytest.mark.parametrize("n, expected", cases)\ndef test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n'
    )
    for text in (comprehension, loop):
        v = verdict_of(task, params(task), text)
        assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "code_instead", 0), v.explanation


def test_an_answer_cut_mid_case_by_the_token_limit_is_budget_exhausted(task):
    body = "".join(f'        ({n}, "{r}"),\n' for n, r in enumerate(NUMERALS[:16], 1))
    text = f'```python\nimport pytest\n\n\n@pytest.mark.parametrize(\n    "n, expected",\n    [\n{body}        (17, "XV'
    v = verdict_of(task, params(task), text, stop="max_tokens")
    assert (v.outcome, v.items_correct) == ("budget_exhausted", 16), v.explanation


def test_a_wrong_numeral_is_cant_do_at_its_case_with_the_reason(task):
    cases = [(n, "IIII" if n == 4 else r) for n, r in enumerate(NUMERALS, 1)]
    body = "".join(f'    ({n}, "{r}"),\n' for n, r in cases)
    text = f'```python\n@pytest.mark.parametrize("n, expected", [\n{body}])\ndef test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n'
    v = verdict_of(task, params(task), text)
    assert v.outcome == "cant_do" and v.first_error is not None, v.explanation
    assert (v.first_error.index, v.items_correct) == (3, 3)
    assert "subtractive" in v.first_error.rule


def test_bare_pairs_inside_the_list_are_two_elements_not_a_case(task):
    body = "".join(f'    {n}, "{r}",\n' for n, r in enumerate(NUMERALS, 1))
    text = f'```python\n@pytest.mark.parametrize("n, expected", [\n{body}])\ndef test_to_roman(n, expected):\n    pass\n```\n'
    v = verdict_of(task, params(task), text)
    assert v.outcome == "cant_do" and v.first_error is not None, v.explanation
    assert v.first_error.index == 0 and "two elements" in v.first_error.rule


def test_a_case_for_the_wrong_n_and_lower_case_numerals_are_named(task):
    p = params(task, 3)
    checker = task.checker(p)
    assert checker.check((1, "i")).rule == "the numeral in upper case, without spaces: 'I'"
    assert "expected the case for n = 1" in task.checker(p).check((2, "II")).rule
    assert "two values" in task.checker(p).check((1, "I", "one")).rule


def test_a_case_given_twice_is_wrong_where_the_second_stands(task):
    # pytest would run it twice; it replaces nothing, so the case for 6 is missing there.
    cases = [(n, r) for n, r in enumerate(NUMERALS, 1)]
    cases.insert(5, (5, "V"))
    body = "".join(f'    ({n}, "{r}"),\n' for n, r in cases)
    text = f'```python\n@pytest.mark.parametrize("n, expected", [\n{body}])\ndef test_to_roman(n, expected):\n    assert to_roman(n) == expected\n```\n'
    v = verdict_of(task, params(task), text)
    assert v.outcome == "cant_do" and v.first_error is not None, v.explanation
    assert v.first_error.index == 5 and "expected the case for n = 6" in v.first_error.rule
