"""Each integer of a range, its French spelling, and the number of letters in it: `5 - cinq - 4`."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from longhaul import Item, Mistake, Prompt, SequenceChecker, Task, french, params_or_none

Line = tuple[int, str, int]
"""(number, spelling as written, letter count as written)."""


Params = french.RangeParams


class FrenchNumbers(Task[Params]):
    name = "french_numbers"
    summary = "`5 - cinq - 4` for every integer of a range: the number, its French spelling, its letter count."
    params_model = Params
    size_param = "end"
    # `5 - cinq - 4` in the forms models write it: after a list number (`12. 5 - cinq - 4`), as a
    # table row (`| 5 | cinq | 4 |`), in bold, with thousands spaced (`1 000`), as
    # `5: cinq (4 lettres)`, and with a note after the count (`(soixante + et + onze)`).
    line_item = r"""
        (?:\|[ \t]{0,4})?(?:\d{1,7}[.)][ \t]{1,4})?
        (?:\*\*)?(?P<t_n>\d{1,3}(?:[ \u00a0\u202f]\d{3}){1,2}|\d{1,6})(?:\*\*)?[ \t]{0,4}(?:->|[-–—:|=,→])[ \t]{0,4}
        (?P<t_w>[^\n\d|:=→(]{1,120}?)[ \t]{0,4}(?:->|[-–—:|=,→(])[ \t]{0,4}
        (?:\*\*)?(?P<t_c>\d{1,3})(?:\*\*)?\)?(?:[ \t]{0,4}(?:letters?|lettres?)\)?)?
        (?:[ \t]{0,4}\([^\n()]{0,160}\))?[ \t.]{0,4}\|?[ \t]{0,4}
        (?:[^\w\s\n(|][^\n\d]{0,40})?$
    """

    def prompt(self, p: Params) -> Prompt:
        return Prompt(
            system=None,
            user=(
                f"For every integer between {p.start} and {p.end}, print the number of letters in the French "
                'version of that number (e.g. for 5, print "5 - cinq - 4").'
            ),
        )

    def reference(self, p: Params) -> Iterator[Line]:
        return ((n, w, french.letters(w)) for n in range(p.start, p.end + 1) for w in (french.spell(n),))

    def expected_count(self, p: Params) -> int:
        return p.end - p.start + 1

    def size(self, p: Params) -> int:
        return p.end - p.start + 1

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        n = int(re.sub(r"\D", "", m.group("t_n")))
        return [(n - p.start, (n, m.group("t_w"), int(m.group("t_c"))))]

    def checker(self, p: Params) -> SequenceChecker:
        checker: SequenceChecker

        def compare(want: Line, got: Line) -> Mistake | None:
            n, spelling, count = got
            expected = f"{want[0]} - {want[1]} - {want[2]}"
            if n != want[0]:
                return Mistake(expected, f"expected the line for {want[0]}, got one for {n}")
            norm = french.normalise(spelling)
            variant = french.spellings(n).get(norm)
            if variant is None:
                return Mistake(expected, french.why_misspelt(n, norm))
            if count != french.letters(norm):
                return Mistake(f"{n} - {norm} - {french.letters(norm)}", french.why_miscounted(norm, count))
            if norm != want[1]:  # the reference is the standard traditional spelling
                checker.note("1990 reform spelling used" if variant.startswith("standard,") else f"regional forms used: {variant}")
            return None

        checker = SequenceChecker(self.reference(p), self.expected_count(p), compare)
        return checker

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"For every integer between (\d+) and (\d+), print the number of letters in the French", text)
        return params_or_none(Params, start=int(m.group(1)), end=int(m.group(2))) if m else None

    def wrong(self, value: Line, p: Params, rng: random.Random) -> Line:
        # Either a letter count off by one or a word misspelt, the two slips the task is about.
        n, word, count = value
        if rng.random() < 0.5 or len(word) < 3:
            return (n, word, count + rng.choice((-1, 1)))
        i = rng.randrange(1, len(word) - 1)
        return (n, word[:i] + word[i + 1 :], count)

    def show(self, value: Line, p: Params) -> str:
        return f"{value[0]} - {value[1]} - {value[2]}"


TASK = FrenchNumbers()
