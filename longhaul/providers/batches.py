"""What `run --batch` needs of a provider's batch API, whichever provider: the one small Protocol
`longhaul.batch` talks to, and the records that cross it. OpenAI's Batch API is
`providers/openai_batch.py`, Anthropic's Message Batches `providers/anthropic_batch.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel

from longhaul.providers.request import Request, Usage
from longhaul.providers.retry import ProviderError


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The most one batch may hold, as the provider documents it."""

    requests: int
    bytes: int


class BatchState(BaseModel):
    """A batch as the provider reports it when polled."""

    status: Literal["pending", "ended", "failed"]
    """`pending`: still validating or processing; `ended`: its results can be read (completed,
    expired or cancelled: a request without a result is an error); `failed`: the batch as a whole
    was refused and none of its requests ran."""

    raw_status: str
    """The provider's own word (`in_progress`, `finalizing`, `completed`, `ended`, `failed`, ...)."""

    done: int = 0
    """Requests answered or failed so far."""

    failed: int = 0
    """Of `done`, those that failed."""

    total: int = 0
    """Requests in the batch."""

    message: str | None = None
    """Why the batch failed as a whole, in the provider's words (`failed` only)."""


class BatchResult(BaseModel):
    """One request's result: its answer, or its error."""

    custom_id: str
    """The trial key the request was sent under."""

    answer: str = ""
    thinking: str = ""
    raw_stop_reason: str | None = None
    """The provider's own stop reason (`stop`, `length`, `end_turn`, `max_tokens`, ...)."""

    usage: Usage | None = None
    """None when the provider reported none."""

    served_model: str | None = None
    simulated: bool = False
    """The answer came from longhaul's simulated model (its fingerprint or id)."""

    error: str | None = None
    """The provider's message when the request failed, expired or was cancelled: an `error` trial."""

    status: int | None = None
    """The failed request's HTTP status (Anthropic's error type as its status), for `status_error`:
    a 400 saying max_tokens is too large stops the model, as on the streamed path."""


class BatchNotFound(ProviderError):
    """The provider does not know the batch (HTTP 404 on a poll or its results): it expired, was
    deleted, or lived on a server that is gone (a killed run's in-process sim)."""


class NoBatchApi(ProviderError):
    """The server has no batch endpoints (HTTP 404 at submission): Ollama, llama.cpp's server, LM Studio."""


def api_failure(status: int | None, message: str, call: str, *, submitting: bool, where: str) -> ProviderError:
    """A batch API call that failed after the SDK's own retries, as the one error `longhaul.batch`
    acts on: a 404 at submission is a server without batches, a 404 later a batch it does not know."""
    if status == 404:
        if submitting:
            return NoBatchApi(f"{where} has no Batch API (HTTP 404 on {call})")
        return BatchNotFound(f"HTTP 404 on {call}: {message}")
    return ProviderError(f"{'HTTP ' + str(status) if status is not None else 'no answer'} on {call}: {message}")


class BatchApi(Protocol):
    """One model's batch API: submit requests under ids, poll a batch, read its results."""

    limits: BatchLimits

    def encode(self, custom_id: str, request: Request) -> bytes:
        """One request as the provider's batch line (its size counts against `limits.bytes`)."""

    async def submit(self, lines: list[bytes]) -> str:
        """Send one batch of encoded requests; its id."""

    async def poll(self, batch_id: str) -> BatchState:
        """The batch's state now."""

    async def results(self, batch_id: str) -> list[BatchResult]:
        """Every result an ended batch has (a request missing from them had none)."""

    async def aclose(self) -> None:
        """Release the SDK client."""
