"""The shape every task has: parameters, prompt, reference solution, item grammar and checker.

A task module (in `tasks/` or a folder named by `--tasks-dir`) defines a `Task` subclass and binds
an instance to the module-level name `TASK`. Everything generic (streaming, elision, refusals,
precedence, budgets) lives in `longhaul.verify`; a task holds only what is particular to it.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from longhaul.errors import BadInput
from longhaul.verdict import Expectation


class TaskParams(BaseModel):
    """Base of every task's parameters: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=TaskParams)


@dataclass(frozen=True, slots=True)
class Prompt:
    """What is sent to the model for one task instance."""

    system: str | None
    user: str

    @property
    def text(self) -> str:
        """System prompt and user turn as one text, the way `Task.recognise` reads them."""
        return f"{self.system}\n\n{self.user}" if self.system else self.user


@dataclass(frozen=True, slots=True)
class Mistake:
    """Why an item is wrong: what was expected there, and the rule it breaks."""

    expected: str
    rule: str


Item = tuple[int | None, Any]
"""An item as parsed: the 0-based position it claims (from a move number, or the integer a line is
about), or None when it claims none; and its value, in the task's own representation."""


class Checker(Protocol):
    """Checks items one by one against the task's rules, carrying whatever state they need.

    A checker may also define `check_many(values) -> tuple[int, Mistake | None]`: `check` over a
    run of items, stopping at the first wrong one (how many were right, and why the next is
    wrong), which the verifier uses for runs (a long list is checked in a few calls). It reads
    `done()` only after a run, so once done, `check_many` must reject any further item."""

    def check(self, value: Any) -> Mistake | None:
        """Apply one item; return why it is wrong, or None. After a mistake the checker is not used."""

    def done(self) -> bool:
        """The answer so far is complete: the goal is reached, or every expected item was given."""

    def notes(self) -> list[str]:
        """Observations for the verdict (optimality, spelling variants), once checking is over."""


class Task(ABC, Generic[P]):
    """A task whose long answer can be checked item by item."""

    name: ClassVar[str]
    """The name users type (`hanoi`)."""

    summary: ClassVar[str]
    """One line for `longhaul tasks`."""

    expectation: ClassVar[Expectation] = "should_answer"
    """Whether a well-calibrated model does this task or declines it."""

    params_model: ClassVar[type[TaskParams]]
    """The pydantic model of the parameters."""

    size_param: ClassVar[str]
    """The parameter that sets the instance size (for figures against size)."""

    line_item: ClassVar[str | None] = None
    """Regex (verbose, multiline) for one item written as a line; the verifier anchors it to the
    start of a line. Named groups are read back by `items`. Must end with `$` or a delimiter."""

    keyed_item: ClassVar[str | None] = None
    """Regex (verbose, multiline) for one item written as a row that carries its own id under the
    format's rule "for each id, only its last instance counts" (Hanoi's state-tracking rows). A
    repeated id replaces the earlier row wherever it stands; `items` reads the match back. Tried
    before `line_item`."""

    list_item: ClassVar[str | None] = None
    """Regex (verbose) for one bracketed item inside a `[[...], ...]` list, or None."""

    list_opener: ClassVar[str | None] = None
    """Regex for a line that starts a new answer list (a CSV header), besides `[[`."""

    can_be_impossible: ClassVar[bool] = False
    """Some instances have no solution, and saying so is the complete answer."""

    def params(self, raw: Mapping[str, Any] | TaskParams | None = None) -> P:
        """Validate parameters; a bad one is a `BadInput` naming the field and what is allowed."""
        # params_model is P's class, but a ClassVar cannot name the type parameter P: hence the casts.
        if isinstance(raw, self.params_model):
            return cast(P, raw)
        try:
            return cast(P, self.params_model.model_validate(dict(raw or {})))
        except ValidationError as exc:
            raise BadInput(describe_validation_error(exc, f"task {self.name!r}")) from None

    @abstractmethod
    def prompt(self, p: P) -> Prompt:
        """The prompt sent for this instance."""

    @abstractmethod
    def reference(self, p: P) -> Iterator[Any]:
        """The reference solution, item by item (a generator: 20-disk Hanoi has a million moves)."""

    @abstractmethod
    def expected_count(self, p: P) -> int | None:
        """How many items the reference has (None when the instance has no solution)."""

    @abstractmethod
    def items(self, match: re.Match[str], p: P) -> list[Item]:
        """The items in one match of `line_item` or of a block of `list_item`s."""

    def item_notes(self, match: re.Match[str], p: P) -> list[str]:
        """What is malformed in a matched row besides its item (wrong number of fields in a part
        that is not graded): notes for the verdict, never mistakes."""
        return []

    def list_values(self, text: str, p: P) -> list[Any]:
        """The values of a run of consecutive `list_item`s (one regex pass: lists can be long)."""
        raise NotImplementedError(f"{self.name} has no list items")

    @abstractmethod
    def checker(self, p: P) -> Checker:
        """A fresh checker for this instance."""

    @abstractmethod
    def show(self, value: Any, p: P) -> str:
        """One item, written as the prompt asks (for evidence, and for rendering answers)."""

    def render(self, p: P, values: Iterable[Any] | None = None) -> str:
        """A whole answer in the prompt's format: the reference solution unless values are given."""
        body = "\n".join(self.show(v, p) for v in (self.reference(p) if values is None else values))
        return body + "\n"

    def recognise(self, text: str) -> P | None:
        """The parameters of this task's prompt if `text` (a system prompt and user turn, as a
        model sees them) contains one, else None. The simulated model reads prompts with this;
        a task without it is simply never recognised."""
        return None

    def wrong(self, value: Any, p: P, rng: random.Random) -> Any:
        """A plausible wrong item in place of `value` (the simulated model's mistakes): it must
        break the task's rules wherever it stands, so the checker rejects it."""
        raise NotImplementedError(f"{self.name} has no simulated mistakes")

    def solvable(self, p: P) -> bool:
        """Whether the instance has a solution at all."""
        return True

    def size(self, p: P) -> int:
        """The instance size, for figures."""
        return int(getattr(p, self.size_param))


def params_or_none(model: type[P], **values: Any) -> P | None:
    """Parameters read off a prompt, or None when they are out of range (for `recognise`)."""
    try:
        return model(**values)
    except ValidationError:
        return None


def describe_validation_error(exc: ValidationError, where: str) -> str:
    """One line naming the field and what is allowed, from a pydantic error."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err["loc"]) or "(value)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{field}: {msg} (got {err.get('input')!r})")
    return f"{where}: " + "; ".join(parts)
