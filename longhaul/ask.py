"""One task prompt, one request, verified as it streams: the smallest trial there is.

`ask` is what `longhaul ask` runs, and what a strategy's single turn does: it sends the task's
prompt, feeds every delta to a `StreamingVerifier` (a `Restart` voids what was streamed), and
turns a provider that fails for good into the `error` outcome rather than a verdict on the model.
"""

from __future__ import annotations

from typing import Any, TextIO

from pydantic import BaseModel

from longhaul.providers import Completion, Message, Provider, ProviderError, Request
from longhaul.task import Task, TaskParams
from longhaul.verdict import Verdict, error_verdict
from longhaul.verify import StreamingVerifier


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
    verifier = StreamingVerifier(task, params)
    completion: Completion | None = None
    try:
        async for event in provider.stream(request):
            if event.kind == "text":
                verifier.feed(event.text)
                if echo is not None:
                    echo.write(event.text)
                    echo.flush()
            elif event.kind == "thinking":
                verifier.feed_thinking(event.text)
            elif event.kind == "restart":
                verifier = StreamingVerifier(task, params)
                if echo is not None:
                    echo.write(f"\n[retrying after: {event.retry.error}]\n")
            else:
                completion = event
    except ProviderError as exc:
        return Asked(
            request=request,
            completion=None,
            verdict=error_verdict(task.name, str(exc), items_expected=task.expected_count(params), expectation=task.expectation),
        )
    assert completion is not None
    return Asked(request=request, completion=completion, verdict=verifier.finish(completion.stop_reason))
