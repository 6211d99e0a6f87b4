"""What the verifier says about one answer: the outcome, and the evidence for it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["complete", "cant_do", "wont_do", "budget_exhausted", "unparseable", "error"]
"""The verdict on one trial.

`complete`: every item present and correct. `cant_do`: an emitted item is wrong.
`wont_do`: nothing wrong, but the model declined, elided, gave a subset or stopped early.
`budget_exhausted`: nothing wrong, but the output hit the token limit. `unparseable`: we could
not find the items. `error`: the provider failed; never a statement about the model.
"""

OUTCOMES: tuple[Outcome, ...] = (
    "complete",
    "cant_do",
    "wont_do",
    "budget_exhausted",
    "unparseable",
    "error",
)

VERDICTS: tuple[Outcome, ...] = tuple(o for o in OUTCOMES if o != "error")
"""The outcomes that say something about the model: every rate a report shows is over the trials
that ended in one of these (a provider failure is counted beside them, never in them)."""

WontDoKind = Literal["refusal", "elision", "subset", "code_instead", "offer_to_continue", "early_stop"]
"""How a model that did nothing wrong still did not do the work."""

WONT_DO_WORDS: dict[WontDoKind, str] = {
    "refusal": "declined",
    "subset": "gave a subset",
    "code_instead": "gave code instead of the items",
    "offer_to_continue": "stopped and offered to continue",
    "elision": "elided items",
    "early_stop": "stopped early",
}
"""Each won't-do kind in words, as a verdict's explanation says it ("The model {words} after ...");
used by the verifier and by the refusal judge when it changes the kind."""

StopReason = Literal["end_turn", "max_tokens", "content_filter", "other"]
"""Why the provider stopped generating, normalised across providers."""

Expectation = Literal["should_answer", "should_abstain"]
"""What a well-calibrated model does with a task: do it, or decline it (it cannot be done by a model)."""


class Evidence(BaseModel):
    """A span of text that decided (part of) the verdict."""

    source: Literal["answer", "thinking"]
    """Which text the span is in."""

    start: int
    """Offset of the first character of the span."""

    end: int
    """Offset one past the last character of the span."""

    kind: str
    """What the span is: `refusal`, `elision`, `code`, `offer_to_continue`, `claims_complete`,
    `first_error`, `subset`, `impossible`, ..."""

    text: str
    """The span itself (at most a line), for people reading a report."""


class FirstError(BaseModel):
    """The first item that is wrong."""

    index: int
    """0-based position in the expected sequence."""

    expected: str
    """What should have been there (a correct item, or a description of what was allowed)."""

    got: str
    """What the model wrote, as parsed."""

    rule: str
    """The rule broken, in a sentence a person can check."""

    line: int | None = None
    """1-based line of the answer the item is on."""


class Verdict(BaseModel):
    """The verdict on one answer, with the evidence that decided it."""

    task: str
    """Name of the task the answer was checked against."""

    outcome: Outcome
    """The verdict."""

    explanation: str
    """The verdict in one sentence."""

    items_expected: int | None
    """How many items a complete answer has (the reference solution's length for puzzles)."""

    items_correct: int = 0
    """Length of the correct prefix of the answer list."""

    items_emitted: int = 0
    """How many items the answer list held (after the correct prefix, items are not checked)."""

    first_error: FirstError | None = None
    """The first wrong item, for `cant_do`."""

    wont_do_kind: WontDoKind | None = None
    """For `wont_do`: how the model did not do the work."""

    claims_complete: bool = False
    """The model says it gave everything."""

    stop_reason: StopReason | None = None
    """The stop reason the verdict was given with, normalised (`longhaul/stop_reasons.py`)."""

    stop_reason_raw: str | None = None
    """The stop reason as it was given, when it was given in another form than its normalised
    name (`length`, `STOP`, `stop_sequence`, ...); for a value longhaul does not know, the only
    record of it (`stop_reason` is then `other`). None when it was given normalised, or not at all."""

    expectation: Expectation = "should_answer"
    """The task's expectation, copied here so that reports can read it off the verdict."""

    evidence: list[Evidence] = Field(default_factory=list)
    """Spans of answer and thinking that decided it."""

    notes: list[str] = Field(default_factory=list)
    """What else the checker saw: spelling variants used, optimality of a puzzle solution, ..."""


def error_verdict(task: str, message: str, *, items_expected: int | None, expectation: Expectation) -> Verdict:
    """The `error` outcome: the provider failed (after retries, if they were worth it). It says
    nothing about the model, so it carries no items and no evidence, only what went wrong."""
    return Verdict(
        task=task,
        outcome="error",
        explanation=f"The provider failed: {message}",
        items_expected=items_expected,
        expectation=expectation,
    )
