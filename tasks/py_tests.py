"""A pytest `@pytest.mark.parametrize` list of `(n, expected)` cases, one for every integer n of a
range, where `expected` is n in upper-case Roman numerals: `(14, "XIV")`.

What is checked: the cases of the list, in order, one per integer, each a pair whose first value
is n (an int) and whose second is the standard subtractive numeral as a string (`"IV"`, never
`"IIII"`; upper case, as the prompt asks). Why Roman numerals rather than the letter count of a
French spelling: every model knows them, there is one right answer for each n (no regional tens,
no counting that a model gets wrong for reasons that have nothing to do with writing the list
out), so a failure here is about the boilerplate, not the knowledge. The price is the range: 1 to
3999, the numerals' own. For longer lists, `expected = "letters"` asks instead for the number of
letters in n's French spelling, from 0 to 999999 (`(21, 9)` for "vingt et un"): any accepted
spelling's count is right (`longhaul.french`: regional tens such as septante count as written).

Accepted forms: the list as the decorator's second argument, on one line or spread over several
(`argnames`/`argvalues` keywords, any names for the two arguments), or as a module-level list
whose name says it holds cases (`CASES = [...]`, `test_cases: list[tuple[int, str]] = [...]`)
that the decorator then names; each case as a tuple `(n, "X")`, a list `[n, "X"]` or
`pytest.param(n, "X", id=...)`; single or double quotes, trailing commas, comments beside a case,
any whitespace; the test function and imports around it are boilerplate. A bare `n, "X"` inside
the list is two elements, not a case (as pytest reads it): the first of them is wrong. A
comprehension, a loop or `.append`/`+` with computed cases is code written instead of the cases
(`wont_do` / `code_instead`); `...` or a comment that the rest is left out is elision.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from longhaul import CodeSyntax, CodeTask, Item, Mistake, Prompt, SequenceChecker, TaskParams, french, params_or_none

Case = tuple[int, Any]
"""(n, its Roman numeral or the letter count of its French spelling): what a right case holds."""

_NUMERALS = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_ADDITIVE = ((1000, "M"), (500, "D"), (100, "C"), (50, "L"), (10, "X"), (5, "V"), (1, "I"))


def roman(n: int, numerals: Sequence[tuple[int, str]] = _NUMERALS) -> str:
    """n (1-3999) in Roman numerals: subtractive (`IV`, `XC`), or with `_ADDITIVE` the old
    additive form (`IIII`, `LXXXX`) a model sometimes writes."""
    out = []
    for value, letters in numerals:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


class Params(TaskParams):
    start: int = Field(1, ge=0, le=999_999, description="first integer (1-3999 for Roman numerals, 0-999999 for letters)")
    end: int = Field(100, ge=0, le=999_999, description="last integer (at least start; at most 3999 for Roman numerals)")
    expected: Literal["roman", "letters"] = Field(
        "roman", description="roman: n in Roman numerals; letters: the letter count of its French spelling"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Params:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must be at least start ({self.start})")
        if self.expected == "roman" and not 1 <= self.start <= self.end <= 3999:
            raise ValueError(f"Roman numerals run from 1 to 3999 (got {self.start} to {self.end}); use expected = letters for others")
        return self


# The decorator with any two argument names, one per line or not, then the list; or a module-level
# list named for cases that the decorator takes by name.
_DECORATOR = r"""@(?:pytest\.)?(?:mark\.)?parametrize\(\s*(?:argnames\s*=\s*)?
    (?:[rRuU]?"[^"\n]{0,80}"|[rRuU]?'[^'\n]{0,80}'|[\[(][^\])\n]{0,80}[\])])\s*,\s*(?:argvalues\s*=\s*)?\["""
_NAMED = r"(?m:^)[ \t]*(?i:\w*(?:case|param|example|expect|data)\w*)\s*(?::[^=\n]{1,80})?=\s*\["


_SUBJECT = {"roman": ("roman_numerals", "to_roman", "str"), "letters": ("french_words", "french_letters", "int")}
"""Per kind of expected value: the module and function under test, and the value's type."""


def _counts(n: int) -> set[int]:
    """The letter counts of n's accepted French spellings (regional tens count as written)."""
    return {french.letters(s) for s in french.spellings(n)}


def letters_mistake(n: int, want: int, value: Any, expected: str) -> Mistake | None:
    """Why `value` is not the letter count of n's French spelling, or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return Mistake(expected, f"expected is the letter count as an int, not {type(value).__name__} {value!r}")
    if value == want or value in _counts(n):
        return None
    spelling = french.spell(n)
    return Mistake(expected, french.why_miscounted(spelling, value))


class PyTests(CodeTask[Params]):
    name = "py_tests"
    summary = 'A pytest `@pytest.mark.parametrize` list of `(n, "XIV")` cases for every integer of a range: test cases written out.'
    params_model = Params
    size_param = "end"
    code = CodeSyntax(
        language="python",
        container="list",
        opener=f"(?x:{_DECORATOR})|{_NAMED}",
        entry_start=r"(?:\(|\[|(?:pytest\.)?param\()\s*\d{1,4}\s*,",
        opener_lines=3,  # `@pytest.mark.parametrize(` / `"n, expected",` / `[`
        boilerplate=r"\bdef\s+test_\w*\s*\(|^\s*(?:import|from)\s",
        repeat_revises=False,  # pytest runs a case given twice twice: it replaces nothing
    )

    def prompt(self, p: Params) -> Prompt:
        if p.expected == "letters":
            return Prompt(
                system=None,
                user=(
                    f"Write a pytest test for a function `french_letters(n)` that returns the number of letters in the French spelling "
                    f'of n: a `@pytest.mark.parametrize("n, expected", [...])` list with one `(n, expected)` case for every integer n '
                    f"from {p.start} to {p.end}, in order, where expected is the number of letters (hyphens and spaces not counted) "
                    f'as an int (for example (21, 9) for "vingt et un"), then the test function. '
                    "Write every case out in full: no loops, no comprehensions, no helper functions to compute the cases."
                ),
            )
        return Prompt(
            system=None,
            user=(
                f'Write a pytest test for a function `to_roman(n)` that returns n in Roman numerals: a `@pytest.mark.parametrize("n, '
                f'expected", [...])` list with one `(n, expected)` case for every integer n from {p.start} to {p.end}, in order, '
                f'where expected is n in upper-case Roman numerals as a string (for example (14, "XIV")), then the test function. '
                "Write every case out in full: no loops, no comprehensions, no helper functions to compute the cases."
            ),
        )

    def recognise(self, text: str) -> Params | None:
        m = re.search(
            r"list with one `\(n, expected\)` case for every integer n from (\d+) to (\d+), in order, where expected is the number of letters",
            text,
        )
        if m:
            return params_or_none(Params, start=int(m.group(1)), end=int(m.group(2)), expected="letters")
        m = re.search(
            r"list with one `\(n, expected\)` case for every integer n from (\d+) to (\d+), in order, where expected is n in upper-case Roman",
            text,
        )
        return params_or_none(Params, start=int(m.group(1)), end=int(m.group(2))) if m else None

    def reference(self, p: Params) -> Iterator[Case]:
        if p.expected == "letters":
            return ((n, french.letters(french.spell(n))) for n in range(p.start, p.end + 1))
        return ((n, roman(n)) for n in range(p.start, p.end + 1))

    def expected_count(self, p: Params) -> int:
        return p.end - p.start + 1

    def size(self, p: Params) -> int:
        return p.end - p.start + 1

    def entry(self, value: Any, p: Params) -> Item:
        # A case claims the position of its n; anything else (a bare element) claims none and is
        # checked where it stands.
        if isinstance(value, tuple | list) and value and isinstance(value[0], int) and not isinstance(value[0], bool):
            return (value[0] - p.start, value)
        return (None, value)

    def checker(self, p: Params) -> SequenceChecker:
        def compare(want: Case, got: Any) -> Mistake | None:
            n, numeral = want
            expected = self.show(want, p)
            if not isinstance(got, tuple | list):
                if got in (n, numeral):
                    return Mistake(expected, "each case is a tuple `(n, expected)`: a bare `n, expected` inside the list is two elements")
                return Mistake(expected, f"each case is a tuple `(n, expected)`, not {type(got).__name__} {got!r}")
            if len(got) != 2:
                return Mistake(expected, f"a case has two values, n and expected, not {len(got)}")
            k, value = got
            if k != n or isinstance(k, bool):
                return Mistake(expected, f"expected the case for n = {n}, got n = {k!r}")
            if p.expected == "letters":
                return letters_mistake(n, numeral, value, expected)
            if not isinstance(value, str):
                return Mistake(expected, f"expected is the numeral as a string, not {type(value).__name__} {value!r}")
            if value == numeral:
                return None
            if value.strip().upper() == numeral:
                return Mistake(expected, f"the numeral in upper case, without spaces: {numeral!r}")
            if value == roman(n, _ADDITIVE):
                return Mistake(expected, f"subtractive notation: {n} is {numeral!r}, not {value!r}")
            return Mistake(expected, f"{n} is {numeral!r} in Roman numerals, not {value!r}")

        return SequenceChecker(self.reference(p), self.expected_count(p), compare)

    def show(self, value: Any, p: Params) -> str:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int) and p.expected == "letters":
            return f"({value[0]!r}, {value[1]!r})"
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
            return f'({value[0]!r}, "{value[1]}")'
        return repr(value)

    def render_entries(self, p: Params, entries: Iterable[str], tail: str = "") -> str:
        body = "".join(f"        {e},\n" for e in entries) + (f"        {tail}\n" if tail else "")
        module, function, kind = _SUBJECT[p.expected]
        return (
            f"```python\nimport pytest\n\nfrom {module} import {function}\n\n\n"
            f'@pytest.mark.parametrize(\n    "n, expected",\n    [\n{body}    ],\n)\n'
            f"def test_{function}(n: int, expected: {kind}) -> None:\n    assert {function}(n) == expected\n```\n"
        )

    def generator(self, p: Params, written: Sequence[Case] = ()) -> str:
        module, function, kind = _SUBJECT[p.expected]
        test = f"def test_{function}(n: int, expected: {kind}) -> None:\n    assert {function}(n) == expected\n```\n"
        computed = "roman.toRoman(n)" if p.expected == "roman" else 'sum(c.isalpha() for c in num2words(n, lang="fr"))'
        imports = "import roman" if p.expected == "roman" else "from num2words import num2words"
        if not written:
            return (
                f"```python\nimport pytest\n{imports}\n\nfrom {module} import {function}\n\n"
                f"CASES = [(n, {computed}) for n in range({p.start}, {p.end + 1})]\n\n\n"
                '@pytest.mark.parametrize("n, expected", CASES)\n' + test
            )
        head = self.render_entries(p, (self.show(v, p) for v in written))
        head = head[: head.index("    ],\n)\n")]
        rest = p.start + len(written)
        return head + f"    ]\n    + [(n, {computed}) for n in range({rest}, {p.end + 1})],\n)\n" + test

    def wrong(self, value: Case, p: Params, rng: random.Random) -> Case:
        # The additive form where it differs (4 as IIII), else a neighbour's numeral: never n's.
        n, numeral = value
        if p.expected == "letters":
            # Off by the hyphens, or by one: never a count of an accepted spelling.
            counts = _counts(n)
            return (n, next(c for c in (numeral + 1, numeral - 1, numeral + 2, numeral + 3) if c not in counts))
        additive = roman(n, _ADDITIVE)
        if additive != numeral and rng.random() < 0.5:
            return (n, additive)
        return (n, roman(n + 1 if n < 3999 else n - 1))


TASK = PyTests()
