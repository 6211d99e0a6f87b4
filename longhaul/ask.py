"""One task prompt, one request, verified as it streams: the smallest trial there is.

`ask` is what `longhaul ask` runs: it sends the task's prompt through `longhaul.turn.stream_turn`,
the streamed turn every strategy's turns take too (every delta verified, a `Restart` voiding what
was streamed, a provider that fails for good the `error` outcome rather than a verdict on the
model), and echoes the answer to a terminal if asked: the thinking apart from it, under a
`--- thinking ---` line and dimmed on a terminal, the answer after an `--- answer ---` line.
"""

from __future__ import annotations

import os
from typing import Any, Literal, TextIO

from pydantic import BaseModel

from longhaul.providers import Completion, Message, ModelUnavailable, Provider, Request, RetryRecord
from longhaul.task import Task, TaskParams
from longhaul.turn import stream_turn
from longhaul.verdict import Verdict, error_verdict


class Asked(BaseModel):
    """A request and what came of it."""

    request: Request
    """What was sent."""

    completion: Completion | None
    """What came back; None when the provider failed for good."""

    verdict: Verdict
    """The verdict on the answer, or the `error` outcome."""


async def ask(
    provider: Provider,
    task: Task[Any],
    params: TaskParams,
    *,
    max_tokens: int = 16_384,
    temperature: float | None = None,
    seed: int | None = None,
    thinking_budget: int | None = None,
    echo: TextIO | None = None,
) -> Asked:
    """Send the task's prompt to `provider` and verify the answer; `echo` receives the thinking
    and the answer as they stream (for a terminal: see `_Echo`)."""
    prompt = task.prompt(params)
    request = Request(
        system=prompt.system,
        messages=[Message(role="user", content=prompt.user)],
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        thinking_budget=thinking_budget,
    )
    try:
        streamed = await stream_turn(provider, request, task, params, listener=None if echo is None else _Echo(echo), keep_items=False)
    except ModelUnavailable as exc:  # a run leaves such a trial unsent; one question has only the error to show
        return Asked(
            request=request,
            completion=None,
            verdict=error_verdict(task.name, str(exc), items_expected=task.expected_count(params), expectation=task.expectation),
        )
    return Asked(request=request, completion=streamed.completion, verdict=streamed.verdict)


def summary_line(c: Completion) -> str:
    """The line `ask` prints under the answer: stop reason, tokens (the cached part of the input
    and the thinking part of the output where the provider reports any), attempts, time."""
    cached = f" ({c.usage.cached_input_tokens:,} cached)" if c.usage.cached_input_tokens else ""
    # Anthropic reports no reasoning tokens (None), and a model that did not think reports 0: neither says anything.
    thinking = f" ({c.usage.reasoning_tokens:,} thinking)" if c.usage.reasoning_tokens else ""
    return (
        f"--- {c.model}{' (simulated)' if c.simulated else ''}: stop {c.stop_reason} ({c.raw_stop_reason}), "
        f"{c.usage.input_tokens:,} in{cached} / {c.usage.output_tokens:,} out{thinking}, {c.attempts} attempt(s), {c.seconds:.2f} s"
    )


_DIM, _PLAIN = "\x1b[2m", "\x1b[0m"


class _Echo:
    """Writes the thinking and the answer as they stream, and says when an attempt is retried.

    Thinking, where the model shows any, comes under a `--- thinking ---` line and the answer after
    an `--- answer ---` line, so that a log or a pipe can tell them apart; on a terminal (without
    NO_COLOR) the thinking is dimmed as well. An answer without thinking is written as it is."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._dim = out.isatty() and not os.environ.get("NO_COLOR")
        self._part: Literal["none", "thinking", "text"] = "none"
        self._ended_line = True

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        if not text:
            return
        if kind == "thinking" and self._part != "thinking":
            self._out.write(("" if self._ended_line else "\n") + "--- thinking ---\n")
        elif kind == "text" and self._part == "thinking":
            self._out.write(("" if self._ended_line else "\n") + "--- answer ---\n")
        self._part = kind
        self._ended_line = text.endswith("\n")
        self._out.write(f"{_DIM}{text}{_PLAIN}" if kind == "thinking" and self._dim else text)
        self._out.flush()

    def progress(self, items_correct: int, failed: bool) -> None: ...

    def restart(self, retry: RetryRecord) -> None:
        self._out.write(f"\n[retrying after: {retry.error}]\n")
        self._part, self._ended_line = "none", True  # the new attempt's thinking gets its own heading
