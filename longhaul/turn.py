"""One streamed turn: a request sent, its answer verified as it streams, and the record of it.

`stream_turn` is the one loop that streams a request, whoever asks: `longhaul ask` and every turn
of a strategy call it. It feeds every delta to a `StreamingVerifier` that continues the items
so far (`prefix`), voids what was streamed when the provider restarts an attempt, cuts the stream
at a wrong item past the seam when asked to (early stop), and turns a provider that fails for
good into the `error` outcome rather than a verdict on the model. The verifier keeps the texts
and the items the answer gave, so the loop builds nothing per delta. What the turn means for the
stitched answer is `longhaul.stitching`'s; the `Turn` record is built from both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import aclosing
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from longhaul.providers import Completion, ModelUnavailable, Provider, ProviderError, Request, RetryRecord, Usage
from longhaul.task import Task, TaskParams
from longhaul.tokens import count_tokens, needed_tokens
from longhaul.verdict import StopReason, Verdict, error_verdict
from longhaul.verify import ItemsGiven, StreamingVerifier

TurnKind = Literal["initial", "continue", "resume", "range", "nudge"]

EARLY_STOP = "longhaul_early_stop"
"""The raw stop reason of a stream longhaul cut at a wrong item."""


class StreamListener(Protocol):
    """What a streaming turn tells the outside as it goes (a terminal, a run's display)."""

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        """A piece of answer or thinking text, as it arrived."""

    def progress(self, items_correct: int, failed: bool) -> None:
        """Items verified so far in the stitched answer, and whether one was wrong."""

    def restart(self, retry: RetryRecord) -> None:
        """An attempt broke: what was streamed since the last restart is void."""


class Quiet:
    """A listener that hears nothing."""

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None: ...
    def progress(self, items_correct: int, failed: bool) -> None: ...
    def restart(self, retry: RetryRecord) -> None: ...


class Streamed(BaseModel):
    """What one streamed request gave, read straight on after the items so far."""

    answer: str = ""
    """The answer text of the attempt that counted (what came before a restart is void); empty
    when the provider failed for good."""

    thinking: str = ""
    """The visible thinking of that attempt."""

    given: ItemsGiven = Field(default_factory=lambda: ItemsGiven(None, []))
    """Every item the answer gave, as the verifier read it while it streamed: what stitching
    aligns (the answer is not read again). Empty unless asked for (`keep_items`)."""

    completion: Completion | None = None
    """The provider's final record; None when longhaul cut the stream or the provider failed."""

    stop_reason: StopReason | None = None
    """Why the model stopped, normalised (`other` for a cut stream); None when the provider failed."""

    raw_stop_reason: str | None = None
    """The provider's own word for it; `longhaul_early_stop` when longhaul cut the stream."""

    usage: Usage = Field(default_factory=Usage)
    """Tokens in and out; counted by longhaul (`estimated`) for a cut stream, whose provider never
    said what it spent."""

    attempts: int = 1
    """Attempts the request took."""

    retries: list[RetryRecord] = Field(default_factory=list)
    """The failed attempts."""

    seconds: float = 0.0
    """Wall time of the request."""

    stopped_early: bool = False
    """longhaul cut the stream at the first wrong item past the seam (early stop)."""

    tokens_saved: int = 0
    """For an early stop: output tokens the rest of a complete answer would have cost (estimate)."""

    error: str | None = None
    """The provider's failure, when it failed for good."""

    simulated: bool = False
    """The answer came from longhaul's simulated model."""

    verdict: Verdict
    """The verdict on the prefix and this answer read straight on after it (stitching may
    realign the answer and verify it again), or the `error` outcome."""


async def stream_turn(
    provider: Provider,
    request: Request,
    task: Task[Any],
    params: TaskParams,
    *,
    prefix: Sequence[Any] = (),
    listener: StreamListener | None = None,
    early_stop: bool = False,
    keep_items: bool = True,
) -> Streamed:
    """Send `request`, verify its answer as it streams as the continuation of `prefix` (the items
    earlier turns gave), and say what came of it. With `early_stop`, the stream is cut at the
    first wrong item past the seam. With `keep_items`, `Streamed.given` holds the items the
    answer gave, for stitching (a single request, never stitched, need not keep a long answer's
    items). A `ProviderError` never escapes: it is the `error` outcome; except `ModelUnavailable`
    (401, 403, 404), which says nothing about this request: the caller leaves the trial unsent."""
    hear = listener if listener is not None else Quiet()
    seam = len(prefix)
    verifier = StreamingVerifier(task, params, prefix=prefix, keep_items=keep_items)
    retries: list[RetryRecord] = []
    started = time.monotonic()
    completion: Completion | None = None
    stopped_early = False
    try:
        async with aclosing(provider.stream(request)) as stream:
            async for event in stream:
                if isinstance(event, str):  # answer text: nearly every event
                    hear.delta("text", event)
                    verifier.feed(event)
                    failed = verifier.failed
                    hear.progress(verifier.items_correct, failed is not None)
                    # A wrong item past the seam is wrong whatever the alignment; at the seam it
                    # may be a repeated item, which only the whole turn can tell.
                    if early_stop and failed is not None and (seam == 0 or failed.index > seam):
                        stopped_early = True
                        break
                elif event.kind == "thinking":
                    verifier.feed_thinking(event.text)
                    hear.delta("thinking", event.text)
                elif event.kind == "restart":
                    retries.append(event.retry)
                    verifier = StreamingVerifier(task, params, prefix=prefix, keep_items=keep_items)
                    hear.restart(event.retry)
                else:
                    completion = event
    except ModelUnavailable:
        raise  # the model cannot be used at all: no outcome, the trial stays missing for a resume
    except ProviderError as exc:
        failed_verdict = error_verdict(task.name, str(exc), items_expected=task.expected_count(params), expectation=task.expectation)
        return Streamed(retries=retries, attempts=exc.attempts, seconds=time.monotonic() - started, error=str(exc), verdict=failed_verdict)
    model = provider.address.model
    if completion is not None:
        stop: StopReason = completion.stop_reason
        raw, usage, attempts = completion.raw_stop_reason, completion.usage, completion.attempts
        retries, simulated = completion.retries, completion.simulated
    else:  # cut by us: the provider never said how many tokens it spent
        stop, raw, attempts = "other", EARLY_STOP, len(retries) + 1
        simulated = provider.address.simulated
        usage = Usage(output_tokens=count_tokens(verifier.answer + verifier.thinking, model), estimated=True)
    saved = max(0, needed_tokens(task, params, model) - usage.output_tokens) if stopped_early else 0
    verdict = verifier.finish(stop)
    return Streamed(
        answer=verifier.answer,
        thinking=verifier.thinking,
        given=verifier.given,
        completion=completion,
        stop_reason=stop,
        raw_stop_reason=raw,
        usage=usage,
        attempts=attempts,
        retries=retries,
        seconds=time.monotonic() - started,
        stopped_early=stopped_early,
        tokens_saved=saved,
        simulated=simulated,
        verdict=verdict,
    )


class Turn(BaseModel):
    """One request of a trial and what came of it."""

    index: int
    """0-based turn number."""

    kind: TurnKind
    """What the turn asked: the task, to continue, to resume from an item, a range, or a nudge."""

    user: str
    """The user message this turn added (the conversation is the turns before it, for
    strategies that keep one; a fresh request for those that do not)."""

    messages: int
    """How many messages the request held (the conversation's length)."""

    answer: str = ""
    """The answer text (of the attempt that succeeded; what came before a retry is void)."""

    thinking: str = ""
    """The visible thinking."""

    stop_reason: StopReason | None = None
    """Why the model stopped, normalised; None when the provider failed."""

    raw_stop_reason: str | None = None
    """The provider's own word for it; `longhaul_early_stop` when longhaul cut the stream."""

    usage: Usage = Field(default_factory=Usage)
    """Tokens in and out."""

    attempts: int = 1
    """Attempts the request took."""

    retries: list[RetryRecord] = Field(default_factory=list)
    """The failed attempts."""

    seconds: float = 0.0
    """Wall time of the request."""

    start_item: int = 0
    """Where this turn's items were placed in the stitched answer (0-based)."""

    new_items: int = 0
    """Items this turn added to the stitched answer (repeats not counted)."""

    restarted: bool = False
    """The turn started again from the first item."""

    stopped_early: bool = False
    """longhaul cut the stream at the first wrong item (early stop)."""

    tokens_saved: int = 0
    """For an early stop: output tokens the rest of a complete answer would have cost (estimate)."""

    error: str | None = None
    """The provider's failure, when it failed for good."""

    simulated: bool = False
    """The answer came from longhaul's simulated model."""

    endpoint: str | None = None
    """The base URL that answered (of a model's replicas, the one chosen); None when the provider
    failed, longhaul cut the stream early, or the run predates this field."""

    verdict: Verdict
    """The verdict on the stitched answer after this turn."""
