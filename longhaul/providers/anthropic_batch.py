"""Anthropic's Message Batches for `run --batch`: `anthropic/...`.

Each request is the Messages body `AnthropicMessages` streams (`messages_body`, without `stream`:
its `cache_control` breakpoints too), under the trial's key as its `custom_id`; the results come back as JSONL (`messages.batches.results`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import anthropic
from anthropic.types.messages import MessageBatchIndividualResponse

from longhaul.providers.address import Address, Endpoint
from longhaul.providers.anthropic_messages import TIMEOUT, messages_body
from longhaul.providers.batches import BatchLimits, BatchResult, BatchState, api_failure
from longhaul.providers.request import Request, Usage

LIMITS = BatchLimits(requests=100_000, bytes=256 * 1024**2)
"""Anthropic's documented limits of one Message Batch."""

_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""An errored result's error type as the HTTP status the same error has when streamed (Anthropic's error docs)."""

T = TypeVar("T")


class AnthropicBatch:
    def __init__(self, address: Address, endpoint: Endpoint) -> None:
        self.address = address
        self.limits = LIMITS
        # The SDK retries its own calls here (polls and submits, not model requests).
        self._client = anthropic.AsyncAnthropic(api_key=endpoint.api_key.get_secret_value(), base_url=endpoint.base_url, timeout=TIMEOUT)

    def encode(self, custom_id: str, request: Request) -> bytes:
        params = messages_body(self.address.model, request)  # the streamed provider's body, breakpoints and all
        return json.dumps({"custom_id": custom_id, "params": params}, separators=(",", ":")).encode()

    async def _call(self, call: str, pending: Awaitable[T], *, submitting: bool = False) -> T:
        """One SDK call; its failure (after the SDK's retries) as `api_failure` names it."""
        where = f"{self.address.text} at {self._client.base_url}"
        try:
            return await pending
        except anthropic.APIStatusError as exc:
            raise api_failure(exc.status_code, exc.message, call, submitting=submitting, where=where) from None
        except anthropic.APIError as exc:  # no answer: a refused connection, a timeout
            raise api_failure(None, f"{type(exc).__name__}: {exc}", call, submitting=submitting, where=where) from None

    async def submit(self, lines: list[bytes]) -> str:
        requests: list[Any] = [json.loads(line) for line in lines]
        batch = await self._call("POST /v1/messages/batches", self._client.messages.batches.create(requests=requests), submitting=True)
        return batch.id

    async def poll(self, batch_id: str) -> BatchState:
        batch = await self._call(f"GET /v1/messages/batches/{batch_id}", self._client.messages.batches.retrieve(batch_id))
        c = batch.request_counts
        failed = c.errored + c.canceled + c.expired
        total = c.processing + c.succeeded + failed
        return BatchState(
            status="ended" if batch.processing_status == "ended" else "pending",
            raw_status=batch.processing_status,
            done=total - c.processing,
            failed=failed,
            total=total,
        )

    async def results(self, batch_id: str) -> list[BatchResult]:
        call = f"GET /v1/messages/batches/{batch_id}/results"
        lines = await self._call(call, self._client.messages.batches.results(batch_id))
        try:
            return [_result(r) async for r in lines]
        except anthropic.APIError as exc:  # the JSONL is streamed: it can break part-way
            raise api_failure(None, f"{type(exc).__name__}: {exc}", call, submitting=False, where=self.address.text) from None

    async def aclose(self) -> None:
        await self._client.close()


def _result(response: MessageBatchIndividualResponse) -> BatchResult:
    result = response.result
    if result.type == "succeeded":
        message = result.message
        answer = "".join(b.text for b in message.content if b.type == "text")
        thinking = "".join(b.thinking for b in message.content if b.type == "thinking")
        u = message.usage
        cached, written = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
        usage = Usage(
            input_tokens=u.input_tokens + cached + written,
            cached_input_tokens=cached,
            cache_write_tokens=written,
            output_tokens=u.output_tokens,
        )
        return BatchResult(
            custom_id=response.custom_id,
            answer=answer,
            thinking=thinking,
            raw_stop_reason=message.stop_reason,
            usage=usage,
            served_model=message.model,
            simulated=message.id.startswith("msg_sim_"),
        )
    if result.type == "errored":
        error = result.error.error
        return BatchResult(
            custom_id=response.custom_id, error=f"batch request failed: {error.type}: {error.message}", status=_STATUS.get(error.type)
        )
    return BatchResult(custom_id=response.custom_id, error=f"batch request {result.type}: the batch ended before it ran")
