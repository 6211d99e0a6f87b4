"""French spelling against num2words (traditional spelling), the traps, and what the verdict says."""

from __future__ import annotations

import pytest
from num2words import num2words

from longhaul import french
from longhaul.verify import verify


@pytest.fixture(scope="module")
def fr(tasks):
    return tasks["french_numbers"], french


def test_traditional_spelling_matches_num2words(fr):
    _, mod = fr
    for n in list(range(0, 2001)) + list(range(2001, 999_999, 997)):
        assert mod.spell(n) == num2words(n, lang="fr"), n


@pytest.mark.parametrize(
    "n,traditional,reform",
    [
        (21, "vingt et un", "vingt-et-un"),
        (71, "soixante et onze", "soixante-et-onze"),
        (80, "quatre-vingts", "quatre-vingts"),
        (81, "quatre-vingt-un", "quatre-vingt-un"),
        (200, "deux cents", "deux-cents"),
        (201, "deux cent un", "deux-cent-un"),
        (1000, "mille", "mille"),
        (2000, "deux mille", "deux-mille"),
        (80_000, "quatre-vingt mille", "quatre-vingt-mille"),
    ],
)
def test_traps(fr, n, traditional, reform):
    _, mod = fr
    assert mod.spell(n) == traditional and mod.spell(n, reform=True) == reform


def test_letters_count_alphabetic_only(fr):
    _, mod = fr
    assert mod.letters("zéro") == 4 and mod.letters("dix-sept") == 7 and mod.letters("vingt et un") == 9


def _line(n, spelling, count):
    return f"{n} - {spelling} - {count}\n"


def test_counting_hyphens_and_spaces_is_named(fr):
    task, _ = fr
    text = _line(0, "zéro", 4) + _line(1, "un", 2) + _line(2, "vingt-deux", 10)
    v = verify(task, {"start": 0, "end": 2}, text.replace("2 - vingt-deux - 10", "2 - deux - 4"))
    assert v.outcome == "complete"
    v = verify(task, {"start": 280, "end": 281}, _line(280, "deux cent quatre-vingts", 20) + _line(281, "deux cent quatre-vingt-un", 25))
    assert v.outcome == "cant_do" and "counted hyphens and spaces as letters (25 instead of 21)" in v.first_error.rule
    v = verify(task, {"start": 97, "end": 97}, _line(97, "quatre-vingt-dix-sept", 21))
    assert "counted hyphens as letters" in v.first_error.rule


def test_belgian_and_swiss_forms_accepted_and_named(fr):
    task, mod = fr
    text = "".join(_line(n, mod.spell(n, "ch"), mod.letters(mod.spell(n, "ch"))) for n in range(60, 100))
    v = verify(task, {"start": 60, "end": 99}, text)
    assert v.outcome == "complete" and any("Swiss" in note for note in v.notes)


def test_wrong_plural_is_explained(fr):
    task, _ = fr
    v = verify(task, {"start": 80, "end": 81}, _line(80, "quatre-vingt", 11) + _line(81, "quatre-vingt-un", 13))
    assert v.outcome == "cant_do" and "quatre-vingts" in v.first_error.rule


def test_prompt_is_verbatim(fr):
    task, _ = fr
    assert task.prompt(task.params({})).user == (
        "For every integer between 0 and 1000, print the number of letters in the French version of that number "
        '(e.g. for 5, print "5 - cinq - 4").'
    )
