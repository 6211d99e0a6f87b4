"""Count from 1 to n, one number a line: no difficulty at all, the pure won't-do control."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from pydantic import Field

from longhaul import Item, Mistake, Prompt, SequenceChecker, Task, TaskParams, params_or_none


class Params(TaskParams):
    end: int = Field(100, ge=1, le=1_000_000, description="last number (1-1000000)")


class Count(Task[Params]):
    name = "count"
    summary = "Print the integers 1..end, one per line: the won't-do control, with no difficulty."
    params_model = Params
    size_param = "end"
    line_item = r"(?P<t_n>\d{1,7})[.,]?[ \t]{0,8}$"

    def prompt(self, p: Params) -> Prompt:
        return Prompt(system=None, user=f"Print every integer from 1 to {p.end}, one per line, with nothing else on the line.")

    def reference(self, p: Params) -> Iterator[int]:
        return iter(range(1, p.end + 1))

    def expected_count(self, p: Params) -> int:
        return p.end

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        n = int(m.group("t_n"))
        return [(n - 1, n)]

    def checker(self, p: Params) -> SequenceChecker:
        def compare(want: int, got: int) -> Mistake | None:
            return None if want == got else Mistake(str(want), f"expected {want}, got {got}")

        return SequenceChecker(self.reference(p), p.end, compare)

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"Print every integer from 1 to (\d+), one per line", text)
        return params_or_none(Params, end=int(m.group(1))) if m else None

    def wrong(self, value: int, p: Params, rng: random.Random) -> int:
        return value + rng.choice((1, 2, 10))

    def show(self, value: int, p: Params) -> str:
        return str(value)


TASK = Count()
