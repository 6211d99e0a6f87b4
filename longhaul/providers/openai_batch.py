"""OpenAI's Batch API for `run --batch`: `openai/...`, `openai-api/<service>/...`, the sim, and
`openai-responses/...` (with `sim/...?api=responses`) through `/v1/responses`.

The requests go up as one JSONL file (`files.create(purpose="batch")`), each line the body its
streamed provider would send (without `stream`): Chat Completions as `OpenAIChat`'s, Responses as
`OpenAIResponses`'s. The results come back as the batch's output and error files
(`files.content`), each body read as that API's whole reply: a chat completion, or a Response
object (its output text items joined in order, reasoning summaries as thinking, its stop reason
through the streamed provider's `stop_reason`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

import openai
from openai.types.responses import Response

from longhaul.providers import openai_responses
from longhaul.providers.address import Address, Endpoint
from longhaul.providers.batches import BatchLimits, BatchResult, BatchState, api_failure
from longhaul.providers.openai_chat import TIMEOUT, effort
from longhaul.providers.request import Request, Usage
from longhaul.sim import FINGERPRINT, RESPONSE_ID_PREFIX

LIMITS = BatchLimits(requests=50_000, bytes=200 * 1024**2)
"""OpenAI's documented limits of one batch's input file."""

_PENDING = {"validating", "in_progress", "finalizing", "cancelling"}

Api = Literal["chat", "responses"]
"""Which of OpenAI's APIs a model's trials stream through, and so are batched through."""

URLS: dict[Api, Literal["/v1/chat/completions", "/v1/responses"]] = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}
"""Each API's batch endpoint (a batch's `endpoint`, and each of its lines' `url`)."""

T = TypeVar("T")


class OpenAIBatch:
    def __init__(self, address: Address, endpoint: Endpoint, api: Api = "chat") -> None:
        self.address = address
        self.api = api
        self.limits = LIMITS
        # The SDK retries its own calls here (polls and uploads, not model requests): a dropped
        # poll should not end a batch that is still running at the provider.
        self._client = openai.AsyncOpenAI(api_key=endpoint.api_key.get_secret_value(), base_url=endpoint.base_url, timeout=TIMEOUT)

    def encode(self, custom_id: str, request: Request) -> bytes:
        body = openai_responses.body(self.address, request) if self.api == "responses" else self._chat_body(request)
        line = {"custom_id": custom_id, "method": "POST", "url": URLS[self.api], "body": body}
        return json.dumps(line, separators=(",", ":")).encode() + b"\n"

    def _chat_body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.address.model,
            "messages": ([{"role": "system", "content": request.system}] if request.system else [])
            + [{"role": m.role, "content": m.content} for m in request.messages],
            "max_completion_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.seed is not None:
            body["seed"] = request.seed
        if request.thinking_budget:
            # As the streamed providers ask for it: the sim takes the exact budget, OpenAI an effort.
            if self.address.simulated:
                body["thinking"] = {"type": "enabled", "budget_tokens": request.thinking_budget}
            else:
                body["reasoning_effort"] = effort(request.thinking_budget)
        return body

    async def _call(self, call: str, pending: Awaitable[T], *, submitting: bool = False) -> T:
        """One SDK call; its failure (after the SDK's retries) as `api_failure` names it."""
        try:
            return await pending
        except openai.APIStatusError as exc:
            raise api_failure(exc.status_code, exc.message, call, submitting=submitting, where=self._where()) from None
        except openai.APIError as exc:  # no answer: a refused connection, a timeout
            raise api_failure(None, f"{type(exc).__name__}: {exc}", call, submitting=submitting, where=self._where()) from None

    def _where(self) -> str:
        return f"{self.address.text} at {self._client.base_url}"

    async def submit(self, lines: list[bytes]) -> str:
        files = self._client.files.create(file=("longhaul-batch.jsonl", b"".join(lines)), purpose="batch")
        upload = await self._call("POST /v1/files", files, submitting=True)
        created = self._client.batches.create(completion_window="24h", endpoint=URLS[self.api], input_file_id=upload.id)
        batch = await self._call("POST /v1/batches", created, submitting=True)
        return batch.id

    async def poll(self, batch_id: str) -> BatchState:
        batch = await self._call(f"GET /v1/batches/{batch_id}", self._client.batches.retrieve(batch_id))
        counts = batch.request_counts
        done, failed, total = (counts.completed + counts.failed, counts.failed, counts.total) if counts else (0, 0, 0)
        if batch.status in _PENDING:
            return BatchState(status="pending", raw_status=batch.status, done=done, failed=failed, total=total)
        if batch.status == "failed":
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            message = "; ".join(_batch_error(e.code, e.message, e.line) for e in errors) or "the batch failed"
            return BatchState(status="failed", raw_status=batch.status, done=done, failed=failed, total=total, message=message)
        return BatchState(status="ended", raw_status=batch.status, done=done, failed=failed, total=total)

    async def results(self, batch_id: str) -> list[BatchResult]:
        batch = await self._call(f"GET /v1/batches/{batch_id}", self._client.batches.retrieve(batch_id))
        out: list[BatchResult] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self._call(f"GET /v1/files/{file_id}/content", self._client.files.content(file_id))
                out += [_result(json.loads(line), self.api) for line in content.text.splitlines() if line.strip()]
        return out

    async def aclose(self) -> None:
        await self._client.close()


def _batch_error(code: str | None, message: str | None, line: int | None) -> str:
    """One of the errors a batch failed validation with (which line of the input file, where it says)."""
    where = f" (line {line})" if line is not None else ""
    return f"{code or 'error'}{where}: {message or 'no message'}"


def _result(line: dict[str, Any], api: Api) -> BatchResult:
    """One line of an output or error file."""
    custom_id = str(line.get("custom_id"))
    response = line.get("response") or {}
    body = response.get("body") or {}
    status = response.get("status_code")
    if line.get("error") or not isinstance(status, int) or status >= 400:
        error = line.get("error") or body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        where = f"HTTP {status}" if isinstance(status, int) else str(code or "error")
        return BatchResult(
            custom_id=custom_id,
            error=f"batch request failed: {where}: {message or 'no message'}",
            status=status if isinstance(status, int) else None,
        )
    if api == "responses":
        return _response_result(custom_id, body)
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = body.get("usage")
    return BatchResult(
        custom_id=custom_id,
        answer=message.get("content") or "",
        thinking=message.get("reasoning_content") or message.get("reasoning") or "",
        raw_stop_reason=choice.get("finish_reason"),
        usage=_usage(usage) if isinstance(usage, dict) else None,
        served_model=body.get("model"),
        simulated=body.get("system_fingerprint") == FINGERPRINT,
    )


def _usage(usage: dict[str, Any]) -> Usage:
    details = usage.get("completion_tokens_details") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        cached_input_tokens=cached,
        output_tokens=usage.get("completion_tokens") or 0,
        reasoning_tokens=details.get("reasoning_tokens"),
    )


def _response_result(custom_id: str, body: dict[str, Any]) -> BatchResult:
    """A Response object as the streamed provider reads its events: every output text (and refusal)
    part of every message item, in order, is the answer; reasoning summaries (parts apart by a
    blank line) and raw reasoning text are the thinking."""
    # Built leniently, as the SDK builds the streamed events' responses: a compatible server may
    # leave out fields OpenAI sends.
    response = Response.construct(**body)
    answer: list[str] = []
    thinking: list[str] = []
    for item in response.output or []:
        if item.type == "message":
            answer += [part.refusal if part.type == "refusal" else part.text for part in item.content or []]
        elif item.type == "reasoning":
            thinking.append("\n\n".join(part.text for part in item.summary or []))
            thinking += [part.text for part in item.content or []]
    details = response.incomplete_details
    raw, _ = openai_responses.stop_reason(response.status or "completed", details.reason if details else None)
    return BatchResult(
        custom_id=custom_id,
        answer="".join(answer),
        thinking="".join(thinking),
        raw_stop_reason=raw,
        usage=openai_responses.response_usage(response.usage),
        served_model=response.model,
        simulated=str(response.id).startswith(RESPONSE_ID_PREFIX),
    )
