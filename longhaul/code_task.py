"""Tasks whose answer is code: a dict literal, a list of test cases, JSON records, SQL rows, a class body.

Their items are the entries of one container in the code, read by parsing the code (never by running
it): `longhaul.verify.code_lexer` finds the container, splits it into entries as the text streams,
and parses each with the language's own parser (`ast`, `json`, sqlglot); the task turns a parsed
entry into an item. Everything after that (checking, precedence, the verdict) is the verifier's, as
for every other task. A task declares how its code looks with a `CodeSyntax`.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from longhaul.task import Item, P, Task

Language = Literal["python", "json", "sql"]

Container = Literal["dict", "list", "block", "array", "inserts"]
"""How the entries are held: a Python dict literal (`key: value` entries) or list literal, a Python
class body (one statement per entry), a JSON array, or SQL `INSERT` statements (one row per entry,
however many rows a statement has)."""


@dataclass(frozen=True, slots=True)
class CodeSyntax:
    """Where a task's entries stand in its code."""

    language: Language
    container: Container
    opener: str
    """Regex found in a line that opens the container; the entries start right after its match
    (`FRENCH\\s*=\\s*\\{`). For `block`, the line the class body belongs to; for `inserts`, the
    start of a statement (`INSERT INTO`)."""
    entry_start: str | None = None
    """Regex for the start of a line that is an entry on its own, without the opener: what a model
    writes when it continues a list in a later turn (`\\d+\\s*:`)."""
    opener_lines: int = 1
    """How many lines the opener may run over (a decorator with one argument per line): a line
    outside the container waits for that many lines before it is read."""
    boilerplate: str | None = None
    """Regex for code lines that belong around the entries (`def test_...`, `import pytest`): no
    evidence of code written instead of the entries."""
    repeat_revises: bool = True
    """An entry that claims the position of the one just before it replaces it, as a dict's
    repeated key does (the last wins). False where the code keeps both and a repeat is an entry of
    its own, checked where it stands (an enum's alias, a test case given twice)."""


class CodeTask(Task[P]):
    """A task whose items are the entries of a container in code."""

    code: ClassVar[CodeSyntax]
    """How the code that holds the entries looks."""

    @abstractmethod
    def entry(self, value: Any, p: P) -> Item:
        """The item one parsed entry is: the position it claims (from its key or id, 0-based) or
        None, and its value. `value` is the entry as its language's parser read it: a `(key,
        value)` pair for a dict, the literal for a list or JSON array, `(name, value)` for a class
        body, a dict of column to value for an SQL row (a tuple when the statement names no columns)."""

    @abstractmethod
    def render_entries(self, p: P, entries: Iterable[str], tail: str = "") -> str:
        """The whole code answer around entries (each as `show` writes it; the separators are the
        container's), with `tail` as a line of its own after the last entry, inside the container
        (a comment): what `render` and the simulated model write."""

    @abstractmethod
    def generator(self, p: P, written: Sequence[Any] = ()) -> str:
        """An answer that writes the `written` items and makes the rest with code (a comprehension,
        a loop, a query): what a model that will not write the entries out gives, and what the
        simulated model's `coder` writes. Its verdict is `wont_do` / `code_instead`."""

    def render(self, p: P, values: Iterable[Any] | None = None) -> str:
        return self.render_entries(p, (self.show(v, p) for v in (self.reference(p) if values is None else values)))

    def render_cut(self, p: P, values: Iterable[Any], marker: str) -> str:
        """Entries, then a comment that the rest is left out, inside the container: an elided answer."""
        comment = {"python": "# ", "json": "// ", "sql": "-- "}[self.code.language]
        return self.render_entries(p, (self.show(v, p) for v in values), tail=comment + marker)

    def items(self, match: re.Match[str], p: P) -> list[Item]:
        raise NotImplementedError(f"{self.name} reads its items from code, not from matches")
