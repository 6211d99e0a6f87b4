"""A Python dict literal from each integer of a range to its French spelling: `FRENCH = {0: "zéro", ...}`."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from longhaul import CodeSyntax, CodeTask, Item, Mistake, Prompt, SequenceChecker, french, params_or_none

Pair = tuple[Any, Any]
"""(key, value) as written: an int and a str when the entry is right."""


Params = french.RangeParams


class PyTable(CodeTask[Params]):
    name = "py_table"
    summary = 'A Python dict literal `FRENCH = {0: "zéro", ...}` for every integer of a range: a lookup table in code.'
    params_model = Params
    size_param = "end"
    code = CodeSyntax(
        language="python",
        container="dict",
        opener=r"\bFRENCH\s*(?::[^=\n]{1,80})?=\s*\{",
        entry_start=r"\d{1,7}\s*:",
    )

    def prompt(self, p: Params) -> Prompt:
        return Prompt(
            system=None,
            user=(
                f"Write a Python dict literal `FRENCH = {{{p.start}: ..., ...}}` that maps every integer from {p.start} to "
                f'{p.end} to its French spelling in words (for example 21: "vingt et un"), one entry per integer, in '
                "order, written out in full: no loops, no comprehensions, no helper functions."
            ),
        )

    def reference(self, p: Params) -> Iterator[Pair]:
        return ((n, french.spell(n)) for n in range(p.start, p.end + 1))

    def expected_count(self, p: Params) -> int:
        return p.end - p.start + 1

    def size(self, p: Params) -> int:
        return p.end - p.start + 1

    def entry(self, value: Any, p: Params) -> Item:
        key = value[0]
        return (key - p.start if isinstance(key, int) and not isinstance(key, bool) else None, value)

    def checker(self, p: Params) -> SequenceChecker:
        checker: SequenceChecker

        def compare(want: Pair, got: Pair) -> Mistake | None:
            n, word = want
            key, spelling = got
            expected = self.show(want, p)
            if key != n or isinstance(key, bool):
                return Mistake(expected, f"expected the entry for {n}, got a key {key!r}")
            if not isinstance(spelling, str):
                return Mistake(expected, f"the value must be the spelling as a string, not {type(spelling).__name__}")
            norm = french.normalise(spelling)
            variant = french.spellings(n).get(norm)
            if variant is None:
                return Mistake(expected, french.why_misspelt(n, norm))
            if norm != word:
                checker.note("1990 reform spelling used" if variant.startswith("standard,") else f"regional forms used: {variant}")
            return None

        checker = SequenceChecker(self.reference(p), self.expected_count(p), compare)
        return checker

    def show(self, value: Pair, p: Params) -> str:
        key, word = value
        return f"{key!r}: {json.dumps(word, ensure_ascii=False) if isinstance(word, str) else repr(word)}"

    def render_entries(self, p: Params, entries: Iterable[str], tail: str = "") -> str:
        body = "".join(f"    {e},\n" for e in entries) + (f"    {tail}\n" if tail else "")
        return f"```python\nFRENCH = {{\n{body}}}\n```\n"

    def generator(self, p: Params, written: Sequence[Pair] = ()) -> str:
        if not written:
            return f'```python\nfrom num2words import num2words\n\nFRENCH = {{n: num2words(n, lang="fr") for n in range({p.start}, {p.end + 1})}}\n```\n'
        head = self.render_entries(p, (self.show(v, p) for v in written)).removesuffix("```\n")
        rest = p.start + len(written)
        return head + f'for n in range({rest}, {p.end + 1}):\n    FRENCH[n] = num2words(n, lang="fr")\n```\n'

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"Write a Python dict literal `FRENCH = \{(\d+): \.\.\., \.\.\.\}` that maps every integer from \d+ to (\d+)", text)
        return params_or_none(Params, start=int(m.group(1)), end=int(m.group(2))) if m else None

    def wrong(self, value: Pair, p: Params, rng: random.Random) -> Pair:
        # A letter dropped from the spelling, or for short words one too many: never a spelling of n.
        n, word = value
        if len(word) > 3:
            i = rng.randrange(1, len(word) - 1)
            return (n, word[:i] + word[i + 1 :])
        return (n, word + "x")


TASK = PyTable()
