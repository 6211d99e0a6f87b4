"""The lexer for a task's answers, and the items a text gives read with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from longhaul.code_task import CodeTask
from longhaul.task import Task, TaskParams
from longhaul.verify.code_lexer import CodeLexer
from longhaul.verify.lexer import Event, ItemsGiven, Lexer


class AnswerLexer(Protocol):
    """What the verifier reads an answer with: `Lexer`, or `CodeLexer` for a code task."""

    def feed(self, text: str) -> Sequence[Event]: ...

    def finish(self, cut: bool = False) -> Sequence[Event]:
        """The events the end of the text settles; `cut`: the token limit ended it (mid-item)."""
        ...


def lexer_for(task: Task[Any], params: TaskParams) -> AnswerLexer:
    """The lexer for a task's answers: code tasks' entries are read by parsing the code."""
    if isinstance(task, CodeTask):
        return CodeLexer(task, params)
    return Lexer(task, params)


def items_in(task: Task[Any], params: TaskParams, text: str, cut: bool = False) -> ItemsGiven:
    """The items a text gives (`ItemsGiven`), read on their own; `cut`: the token limit ended it,
    so a last entry it ends in is no entry even if it parses. The streaming verifier records the
    same as it goes (`keep_items`), so that a streamed answer is not read twice."""
    lexer = lexer_for(task, params)
    first: int | None = None
    values: list[Any] = []
    for e in [*lexer.feed(text), *lexer.finish(cut=cut)]:
        if e.kind not in ("items", "keyed"):
            continue
        if e.values is not None:
            values.extend(e.values)
        else:
            if not values and e.items:
                first = e.items[0][0]
            values.extend(v for _, v in e.items)
    return ItemsGiven(first, values)


def count_items(task: Task[Any], params: TaskParams, text: str) -> int:
    """How many items a text holds (the simulated model reads its own earlier turns with it)."""
    return len(items_in(task, params, text).values)
