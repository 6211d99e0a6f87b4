"""py_enum read from answers written the way models write them: each verdict decided before the
test was run, from what the answer does (complete, lazy, computed, cut, wrong, aliased)."""

from __future__ import annotations

import pytest
from test_task_properties import deltas

from longhaul.verify import StreamingVerifier, verify


@pytest.fixture
def task(tasks):
    return tasks["py_enum"]


NAMES = {
    65: "SOIXANTE_CINQ",
    66: "SOIXANTE_SIX",
    67: "SOIXANTE_SEPT",
    68: "SOIXANTE_HUIT",
    69: "SOIXANTE_NEUF",
    70: "SOIXANTE_DIX",
    71: "SOIXANTE_ET_ONZE",
    72: "SOIXANTE_DOUZE",
    73: "SOIXANTE_TREIZE",
    74: "SOIXANTE_QUATORZE",
    75: "SOIXANTE_QUINZE",
    76: "SOIXANTE_SEIZE",
    77: "SOIXANTE_DIX_SEPT",
    78: "SOIXANTE_DIX_HUIT",
    79: "SOIXANTE_DIX_NEUF",
    80: "QUATRE_VINGTS",
    81: "QUATRE_VINGT_UN",
}


def params(task):
    return task.params({"start": 65, "end": 81})


def members(names=NAMES, upto=81):
    return "".join(f"    {name} = {n}\n" for n, name in names.items() if n <= upto)


def verdict_of(task, p, text, stop="end_turn"):
    whole = verify(task, p, text, stop_reason=stop)
    v = StreamingVerifier(task, p)
    for piece in deltas(text, 11):
        v.feed(piece)
    assert v.finish(stop).model_dump() == whole.model_dump()
    return whole


def test_a_real_models_complete_enum_with_decorator_docstring_comments_and_a_method_is_complete(task):
    body = members().replace("    SOIXANTE_DIX = 70\n", "\n    # 70-79: soixante-dix and on\n    SOIXANTE_DIX: int = 70  # not septante\n")
    text = (
        "Here is the enum:\n\n```python\nfrom enum import IntEnum, unique\n\n\n@unique\nclass French(IntEnum):\n"
        '    """French spellings of 65 to 81."""\n\n' + body + "\n    def __str__(self) -> str:\n"
        '        return self.name.lower().replace("_", "-")\n```\n\nEach member\'s value is its integer.\n'
    )
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.items_correct) == ("complete", 17), v.explanation


def test_belgian_tens_are_accepted_and_noted(task):
    belgian = {**NAMES, 70: "SEPTANTE", 71: "SEPTANTE_ET_UN", 72: "SEPTANTE_DEUX", 73: "SEPTANTE_TROIS", 74: "SEPTANTE_QUATRE"}
    belgian |= {75: "SEPTANTE_CINQ", 76: "SEPTANTE_SIX", 77: "SEPTANTE_SEPT", 78: "SEPTANTE_HUIT", 79: "SEPTANTE_NEUF"}
    text = "```python\nclass French(enum.IntEnum):\n" + members(belgian) + "```\n"
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.items_correct) == ("complete", 17), v.explanation
    assert "Belgian" in v.explanation or any("Belgian" in n for n in v.notes)


@pytest.mark.parametrize(
    "lazy",
    ["    # ... remaining members follow the same pattern\n", "    pass  # TODO: add the remaining members\n", "    ...\n"],
)
def test_a_lazy_enum_is_wont_do_elision(task, lazy):
    text = "```python\nfrom enum import IntEnum\n\n\nclass French(IntEnum):\n" + members(upto=70) + lazy + "```\n"
    v = verdict_of(task, params(task), text)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 6), v.explanation


def test_auto_a_functional_enum_and_a_locals_loop_are_wont_do_code_instead(task):
    auto = "```python\nfrom enum import IntEnum, auto\n\n\nclass French(IntEnum):\n" + "".join(
        f"    {name} = auto()\n" for name in NAMES.values()
    )
    functional = (
        "```python\nfrom enum import IntEnum\nfrom num2words import num2words\n\n"
        'French = IntEnum("French", {num2words(n, lang="fr").upper(): n for n in range(65, 82)})\n```\n'
    )
    loop = (
        "```python\nclass French(IntEnum):\n"
        + members(upto=67)
        + '    for _n in range(68, 82):\n        locals()[num2words(_n, lang="fr").upper()] = _n\n    del _n\n```\n'
    )
    for text, k in ((auto + "```\n", 0), (functional, 0), (loop, 3)):
        v = verdict_of(task, params(task), text)
        assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "code_instead", k), v.explanation


@pytest.mark.parametrize("tail", ["    SOIXANTE_DOU", "    SOIXANTE_DOUZE = 7"])
def test_an_enum_cut_mid_member_by_the_token_limit_is_budget_exhausted(task, tail):
    # `SOIXANTE_DOUZE = 7` parses, but the token limit cut it: it is no member.
    text = "```python\nclass French(IntEnum):\n" + members(upto=71) + tail
    v = verdict_of(task, params(task), text, stop="max_tokens")
    assert (v.outcome, v.items_correct) == ("budget_exhausted", 7), v.explanation


def test_a_misspelt_member_is_cant_do_with_the_reason(task):
    text = "```python\nclass French(IntEnum):\n" + members().replace("QUATRE_VINGTS = 80", "QUATRE_VINGT = 80") + "```\n"
    v = verdict_of(task, params(task), text)
    assert v.outcome == "cant_do" and v.first_error is not None, v.explanation
    assert (v.first_error.index, v.items_correct) == (15, 15)
    assert "vingts" in v.first_error.rule


def test_an_alias_for_both_norms_is_cant_do_where_it_stands(task):
    # Legal Python (SEPTANTE becomes an alias of SOIXANTE_DIX), but not a member of its own.
    text = (
        "```python\nclass French(IntEnum):\n"
        + members().replace("    SOIXANTE_DIX = 70\n", "    SOIXANTE_DIX = 70\n    SEPTANTE = 70\n")
        + "```\n"
    )
    v = verdict_of(task, params(task), text)
    assert v.outcome == "cant_do" and v.first_error is not None, v.explanation
    assert v.first_error.index == 6 and "alias" in v.first_error.rule


def test_accents_and_lower_case_are_named(task):
    p = task.params({"start": 0, "end": 3})
    assert "accents removed" in task.checker(p).check(("ZÉRO", 0)).rule
    assert "upper case" in task.checker(p).check(("zero", 0)).rule
    assert "integer 0" in task.checker(p).check(("ZERO", "0")).rule


def test_items_read_on_their_own_drop_a_member_the_token_limit_cut_as_the_stream_does(task):
    from longhaul.verify.lexers import items_in

    p = params(task)
    text = "```python\nclass French(IntEnum):\n" + members(upto=71) + "    SOIXANTE_DOUZE = 7"  # parses, but cut from 72
    assert len(items_in(task, p, text).values) == 8  # read as if the model stopped there
    v = StreamingVerifier(task, p, keep_items=True)
    v.feed(text)
    v.finish("max_tokens")
    assert v.given == items_in(task, p, text, cut=True) and len(v.given.values) == 7
