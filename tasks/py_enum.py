"""A Python enum with one member per integer of a range, named by its French spelling:
`class French(IntEnum):` with `VINGT_ET_UN = 21`.

What it tests that the other code tasks do not: a container delimited by indentation whose entries
are statements (a class body), where a model elides with `# ... remaining members`, `pass  # TODO`
or `...`, and computes with `auto()`, a loop in the class body (`locals()[name] = n`), or the
functional `IntEnum("French", {...})` built by a comprehension.

What is checked: the members in order, one per integer; each member's value is its integer (the
position a member claims is its value minus the start), and its name is a French spelling of that
integer in upper case, accents removed, spaces and hyphens as underscores (`QUATRE_VINGT_DIX`,
`ZERO`). Every spelling `longhaul.french` accepts is accepted (standard or regional tens:
`SOIXANTE_DIX` or `SEPTANTE`; traditional and 1990 hyphenation give the same name). A second
member with a value already given is legal Python, an alias of the first, but not a member of its
own, so it is wrong here.

Accepted forms: any class name and any enum base (`IntEnum`, `Enum`, `enum.IntEnum`, `int, Enum`),
decorators (`@unique`), a docstring, `NAME: int = n` annotations, comments beside members, blank
lines; one member per line (as formatters write them: `A = 1; B = 2` is a syntax error here).
Imports and prose around the class are not read, and neither is the functional API with the
members written out (`IntEnum("French", {"ZERO": 0, ...})`): the prompt asks for a class, so it
gives no members (`wont_do` / `early_stop`). A method after the members is boilerplate once they
are all there; before, a `def` or `@decorator` in the body ends the list as code.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pydantic import Field

from longhaul import CodeSyntax, CodeTask, Item, Mistake, Prompt, SequenceChecker, french, params_or_none

Member = tuple[Any, Any]
"""(name, value) as written: a str and an int when the member is right."""


_SEPARATORS = re.compile(r"[\s-]+")


def member_name(spelling: str) -> str:
    """A French spelling as an enum member's name: upper case, accents removed, spaces and hyphens
    as underscores (`vingt et un` -> `VINGT_ET_UN`)."""
    plain = spelling if spelling.isascii() else "".join(c for c in unicodedata.normalize("NFD", spelling) if not unicodedata.combining(c))
    return _SEPARATORS.sub("_", plain.strip()).upper()


def names(n: int) -> dict[str, str]:
    """Every accepted member name for n, with the spelling variant it comes from."""
    found: dict[str, str] = {}
    for spelling, variant in french.spellings(n).items():
        found.setdefault(member_name(spelling), variant)
    return found


class Params(french.RangeParams):
    end: int = Field(100, ge=0, le=999_999, description="last integer (0-999999, at least start)")


class PyEnum(CodeTask[Params]):
    name = "py_enum"
    summary = "A Python `IntEnum` with a member per integer of a range, named by its French spelling: `VINGT_ET_UN = 21`."
    params_model = Params
    size_param = "end"
    code = CodeSyntax(
        language="python",
        container="block",
        opener=r"(?m:^)[ \t]*class\s+\w+\s*\([^)\n]*Enum\b[^)\n]*\)\s*:",  # Enum, IntEnum, enum.IntEnum, (int, Enum)
        entry_start=r"[A-Z][A-Z0-9_]{0,150}\s*(?::\s*int\s*)?=\s*\d",
        repeat_revises=False,  # a second name for a value is an alias, kept beside the first
    )

    def prompt(self, p: Params) -> Prompt:
        return Prompt(
            system=None,
            user=(
                f"Write a Python enum `class French(IntEnum):` with one member for every integer from {p.start} to {p.end}, "
                "in order, each named by the integer's French spelling in upper case with accents removed and spaces and "
                "hyphens written as underscores, with the integer as its value (for example `VINGT_ET_UN = 21`). Write every "
                "member out in full: no auto(), no loops, no functional API, no helper functions."
            ),
        )

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"Write a Python enum `class French\(IntEnum\):` with one member for every integer from (\d+) to (\d+),", text)
        return params_or_none(Params, start=int(m.group(1)), end=int(m.group(2))) if m else None

    def reference(self, p: Params) -> Iterator[Member]:
        return ((member_name(french.spell(n)), n) for n in range(p.start, p.end + 1))

    def expected_count(self, p: Params) -> int:
        return p.end - p.start + 1

    def size(self, p: Params) -> int:
        return p.end - p.start + 1

    def entry(self, value: Any, p: Params) -> Item:
        number = value[1]
        return (number - p.start if isinstance(number, int) and not isinstance(number, bool) else None, value)

    def checker(self, p: Params) -> SequenceChecker:
        checker: SequenceChecker

        def compare(want: Member, got: Member) -> Mistake | None:
            name, n = want
            written, value = got
            expected = self.show(want, p)
            if not isinstance(value, int) or isinstance(value, bool):
                return Mistake(expected, f"the member's value must be the integer {n}, not {type(value).__name__} {value!r}")
            if value < n:
                return Mistake(
                    expected,
                    f"{value} is already a member's value: a second name for it is an alias in Python, not a member of its own",
                )
            if value != n:
                return Mistake(expected, f"expected the member for {n}, got one for {value}")
            if written == name:
                return None  # the standard spelling: most members, so known without the others
            variant = names(n).get(written)
            if variant is None:
                return Mistake(expected, self._why_misnamed(n, written, name))
            if not variant.startswith("standard,"):
                checker.note(f"regional forms used: {variant}")
            return None

        checker = SequenceChecker(self.reference(p), self.expected_count(p), compare)
        return checker

    def _why_misnamed(self, n: int, written: str, name: str) -> str:
        accepted = names(n)
        if member_name(written) in accepted:
            return f"the name in upper case, accents removed, spaces and hyphens as underscores: {name}"
        spaced = written.lower().replace("_", " ")
        return f"the member's name is {n}'s French spelling: {french.why_misspelt(n, spaced)}"

    def show(self, value: Member, p: Params) -> str:
        name, n = value
        return f"{name} = {n!r}"

    def render_entries(self, p: Params, entries: Iterable[str], tail: str = "") -> str:
        body = "".join(f"    {e}\n" for e in entries) + (f"    {tail}\n" if tail else "")
        return f"```python\nfrom enum import IntEnum\n\n\nclass French(IntEnum):\n{body}```\n"

    def generator(self, p: Params, written: Sequence[Member] = ()) -> str:
        name = 'num2words(_n, lang="fr").upper().replace("-", "_").replace(" ", "_")'
        if not written:
            return (
                "```python\nfrom enum import IntEnum\n\nfrom num2words import num2words\n\n"
                f'French = IntEnum("French", {{{name.replace("_n", "n")}: n for n in range({p.start}, {p.end + 1})}})\n```\n'
            )
        head = self.render_entries(p, (self.show(v, p) for v in written)).removesuffix("```\n")
        rest = p.start + len(written)
        return head + f"    for _n in range({rest}, {p.end + 1}):\n        locals()[{name}] = _n\n```\n"

    def wrong(self, value: Member, p: Params, rng: random.Random) -> Member:
        # A letter dropped from the name (or one added to a short name): never a spelling of n.
        name, n = value
        if len(name) > 3:
            i = rng.randrange(1, len(name) - 1)
            if name[i] != "_" and name[i - 1] != name[i]:
                return (name[:i] + name[i + 1 :], n)
        return (name + "X", n)


TASK = PyEnum()
