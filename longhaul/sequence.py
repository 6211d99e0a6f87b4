"""A checker for tasks whose answer is one fixed sequence (count, kill script, digests, ...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from longhaul.task import Mistake

Compare = Callable[[Any, Any], Mistake | None]
"""(expected, got) -> why `got` is wrong, or None."""


class SequenceChecker:
    """Compares items in order with the task's expected sequence; anything past its end is wrong."""

    __slots__ = ("_compare", "_expected", "_notes", "_seen", "_total")

    def __init__(self, expected: Iterator[Any], total: int, compare: Compare) -> None:
        self._expected = expected
        self._compare = compare
        self._total = total
        self._seen = 0
        self._notes: set[str] = set()

    def check(self, value: Any) -> Mistake | None:
        want = next(self._expected, None)
        if self._seen >= self._total or want is None:
            return Mistake("nothing: the list is already complete", "item beyond the end of the range")
        mistake = self._compare(want, value)
        if mistake is None:
            self._seen += 1
        return mistake

    def check_many(self, values: list[Any]) -> tuple[int, Mistake | None]:
        """`check` over a run of items, stopping at the first wrong one: how many were right, and
        why the next one is wrong. (A run of a count's lines is checked in one call.)"""
        expected, compare, total = self._expected, self._compare, self._total
        seen = self._seen
        ok = 0
        for value in values:
            want = next(expected, None)
            if seen + ok >= total or want is None:
                self._seen = seen + ok
                return ok, Mistake("nothing: the list is already complete", "item beyond the end of the range")
            mistake = compare(want, value)
            if mistake is not None:
                self._seen = seen + ok
                return ok, mistake
            ok += 1
        self._seen = seen + ok
        return ok, None

    def note(self, text: str) -> None:
        self._notes.add(text)

    def done(self) -> bool:
        return self._seen >= self._total

    def notes(self) -> list[str]:
        return sorted(self._notes)
