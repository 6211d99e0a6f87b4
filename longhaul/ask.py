"""One task prompt, one request, verified as it streams: the smallest trial there is.

`ask` is what `longhaul ask` runs: it sends the task's prompt through `longhaul.turn.stream_turn`,
the streamed turn every strategy's turns take too (every delta verified, a `Restart` voiding what
was streamed, a provider that fails for good the `error` outcome rather than a verdict on the
model), and echoes the answer to a terminal if asked.
"""

from __future__ import annotations

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
    """Send the task's prompt to `provider` and verify the answer; `echo` receives the answer
    text as it streams (for a terminal)."""
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


class _Echo:
    """Writes the answer text to a terminal as it streams, and says when an attempt is retried."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        if kind == "text":
            self._out.write(text)
            self._out.flush()

    def progress(self, items_correct: int, failed: bool) -> None: ...

    def restart(self, retry: RetryRecord) -> None:
        self._out.write(f"\n[retrying after: {retry.error}]\n")
