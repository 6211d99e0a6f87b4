"""How the simulated model reads a conversation: which task it is asked, and where to pick up.

It reads only what a real model would see, the system prompt and the turns: each task recognises
its own prompt, and the last user turn says whether to start, go on, resume from an item, give a
range, or is insisting after a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from longhaul.task import Task, TaskParams
from longhaul.verify.lexers import count_items

_RANGE = re.compile(r"\b(?:items?|lines?|moves?|numbers?|entries|rows?)\s+(\d{1,9})\s*(?:to|through|until|-|–|\.\.)\s*(\d{1,9})\b", re.I)
_FROM = re.compile(r"\b(?:from|at|with)\s+(?:item|line|move|number|entry|row)\s+(?:number\s+)?(\d{1,9})\b", re.I)
_CONTINUE = re.compile(r"^\W{0,4}(?:please[,\s]+)?(?:continue|go on|keep going|carry on|proceed|next)\b", re.I)
_INSIST = re.compile(
    r"\b(?:full|entire|complete|whole|every|all)\b[^.?!]{0,120}\b(?:want|wanted|need|needed|fine|ok|okay|safe|benign|harmless|allowed)\b"
    r"|\b(?:do|write|give|print)\s+(?:it\s+|them\s+)?(?:all|every|in\s+full)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Situation:
    """What the conversation asks of the model at this turn."""

    task: Task[Any] | None
    """The task whose prompt the conversation holds; None when no task recognises it."""

    params: TaskParams | None
    """The task's parameters, as read off the prompt."""

    start: int
    """0-based index of the first item to write now."""

    stop: int | None
    """One past the last item asked for (a range request); None: to the end."""

    turn: int
    """How many times the model has answered already in this conversation."""

    insisted: bool
    """The last user turn insists that the full output is wanted (a nudge after a refusal)."""

    text: str
    """The system prompt and user turns, as one text (for profiles that react to wording)."""

    @property
    def expected(self) -> int:
        if self.task is None or self.params is None:
            return 0
        return self.task.expected_count(self.params) or 0

    @property
    def end(self) -> int:
        """One past the last item this turn should reach if it did all that was asked."""
        return self.expected if self.stop is None else min(self.stop, self.expected)


def read(system: str | None, turns: Sequence[tuple[str, str]], tasks: Mapping[str, Task[Any]]) -> Situation:
    """Read `(role, content)` turns (ending with a user turn) against the known tasks."""
    users = [content for role, content in turns if role == "user"]
    answers = [content for role, content in turns if role == "assistant"]
    text = "\n\n".join(([system] if system else []) + users)
    task, params = _recognise(text, tasks)
    last = users[-1] if users else ""
    start, stop = 0, None
    if (m := _RANGE.search(last)) is not None:
        start, stop = max(0, int(m.group(1)) - 1), int(m.group(2))
    elif (m := _FROM.search(last)) is not None:
        start = max(0, int(m.group(1)) - 1)
    elif answers and task is not None and params is not None:
        # "continue", a nudge, or a repeated question: pick up after what was already written.
        start = sum(count_items(task, params, a) for a in answers)
    insisted = bool(answers) and _INSIST.search(last) is not None and _CONTINUE.search(last) is None
    return Situation(task, params, start, stop, len(answers), insisted, text)


def _recognise(text: str, tasks: Mapping[str, Task[Any]]) -> tuple[Task[Any] | None, TaskParams | None]:
    for task in tasks.values():
        params = task.recognise(text)
        if params is not None:
            return task, params
    return None, None
