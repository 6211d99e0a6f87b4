"""Anthropic Messages, streamed, with extended thinking kept apart from the answer.

The stable prefix is marked for Anthropic's prompt cache (`cache_control` breakpoints): the system
prompt, the previous user message and the newest one. A follow-up loop resends the conversation with
one answer and one user message more, so turn t+1 reads turn t's prompt from the cache and writes
only the new part. `Usage.input_tokens` is the whole prompt: Anthropic reports the part read from
the cache and the part written to it apart from its `input_tokens`, and they are added in here.

We read the raw event stream rather than the SDK's accumulating helper: it is the same events
without rebuilding a snapshot of the whole message at every delta, which long answers cannot afford.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anthropic
import httpx2
from anthropic.types import CacheControlEphemeralParam, MessageParam, TextBlockParam, ThinkingConfigEnabledParam

from longhaul.providers.address import Address, Endpoint
from longhaul.providers.base import End, Provider, status_error
from longhaul.providers.request import Message, Request, ThinkingDelta, Usage
from longhaul.providers.retry import ProviderError, Transient, retry_after
from longhaul.stop_reasons import normalise_stop_reason

TIMEOUT = httpx2.Timeout(connect=15.0, read=180.0, write=60.0, pool=None)

# Error types Anthropic sends in a stream's `error` event (with HTTP 200) that are worth a retry.
_TRANSIENT_TYPES = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}

_BREAKPOINT: CacheControlEphemeralParam = {"type": "ephemeral"}


class AnthropicMessages(Provider):
    def __init__(self, address: Address, endpoint: Endpoint, **kw: Any) -> None:
        super().__init__(address, secrets=(endpoint.api_key.get_secret_value(),), base_url=endpoint.base_url, **kw)
        self._client = anthropic.AsyncAnthropic(
            api_key=endpoint.api_key.get_secret_value(), base_url=endpoint.base_url, max_retries=0, timeout=TIMEOUT
        )

    async def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        body = messages_body(self.address.model, request)
        # The typed parameters the SDK requires, the rest of the one body as it is (`messages_body`):
        # what goes on the wire is that body and `stream`, nothing built a second way.
        model, max_tokens, messages = body.pop("model"), body.pop("max_tokens"), body.pop("messages")
        stream = await self._client.messages.create(
            model=model, max_tokens=max_tokens, messages=messages, stream=True, extra_body=body or None
        )
        input_tokens = output_tokens = cache_read = cache_write = 0
        raw_stop: str | None = None
        served: str | None = None
        simulated = False
        finished = False
        async with stream:
            async for event in stream:
                # Narrowed on the `type` tag: each branch sees its own event class.
                if event.type == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        yield delta.text
                    elif delta.type == "thinking_delta":
                        yield ThinkingDelta(text=delta.thinking)
                elif event.type == "message_start":
                    started = event.message.usage
                    input_tokens = started.input_tokens or 0
                    cache_read = started.cache_read_input_tokens or 0
                    cache_write = started.cache_creation_input_tokens or 0
                    served = event.message.model
                    simulated = event.message.id.startswith("msg_sim_")
                elif event.type == "message_delta":
                    raw_stop = event.delta.stop_reason
                    output_tokens = event.usage.output_tokens or 0
                    # The final counts are cumulative where the delta carries them.
                    input_tokens = event.usage.input_tokens or input_tokens
                    cache_read = event.usage.cache_read_input_tokens or cache_read
                    cache_write = event.usage.cache_creation_input_tokens or cache_write
                elif event.type == "message_stop":
                    finished = True
        if not finished:
            raise Transient("the stream ended before its final event (no message_stop)")
        stop = normalise_stop_reason(raw_stop or "") or "other"
        usage = Usage(
            input_tokens=input_tokens + cache_read + cache_write,
            cached_input_tokens=cache_read,
            cache_write_tokens=cache_write,
            output_tokens=output_tokens,
        )
        yield End(raw_stop, stop, usage, served, simulated)

    def _classify(self, exc: Exception) -> Transient | ProviderError:
        if isinstance(exc, anthropic.APIStatusError):
            body: object = exc.body
            inner = body.get("error") if isinstance(body, dict) else None
            error: dict[str, Any] = inner if isinstance(inner, dict) else {}
            message = error.get("message") or exc.message
            if exc.status_code < 400 and error.get("type") in _TRANSIENT_TYPES:
                return Transient(f"stream error {error['type']}: {message}")
            return status_error(exc.status_code, message, retry_after(exc.response.headers))
        if isinstance(exc, (anthropic.APIConnectionError, httpx2.TransportError)):
            return Transient(f"connection: {exc}")
        return ProviderError(f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        await self._client.close()


def messages_body(model: str, request: Request) -> dict[str, Any]:
    """The Messages body of `request`, without `stream`: what the streamed provider sends, and each
    request of a Message Batch (`anthropic_batch.py`) is, so a batched trial is the streamed one's
    first request, its cache breakpoints included."""
    body: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens, "messages": cached_messages(request.messages)}
    if request.system:
        body["system"] = [_block(request.system, marked=True)]
    if request.thinking_budget:
        # budget_tokens counts against max_tokens; Anthropic wants it below max_tokens.
        thinking: ThinkingConfigEnabledParam = {"type": "enabled", "budget_tokens": request.thinking_budget, "display": "summarized"}
        body["thinking"] = thinking
    elif request.temperature is not None:
        body["temperature"] = request.temperature  # the API takes it without thinking only
    return body


def cached_messages(messages: list[Message]) -> list[MessageParam]:
    """The conversation with breakpoints on the newest message, which this request's prefix ends at
    (written for the next turn), and on the user message before it, which the previous request's
    prefix ended at (read): Anthropic finds it by its own lookback too, the mark makes it certain.
    With the system prompt's, that is at most 3 of the 4 breakpoints a request may carry."""
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    marked = {len(messages) - 1, *users[-2:-1]}
    return [_message_param(m, i in marked) for i, m in enumerate(messages)]


def _block(text: str, marked: bool) -> TextBlockParam:
    return {"type": "text", "text": text, "cache_control": _BREAKPOINT} if marked else {"type": "text", "text": text}


def _message_param(message: Message, marked: bool) -> MessageParam:
    """One turn as the SDK's typed param (a literal role per branch, so it is the right TypedDict); a
    marked one as a text block with a breakpoint (a plain string cannot carry one)."""
    if message.role == "user":
        return {"role": "user", "content": [_block(message.content, True)] if marked else message.content}
    return {"role": "assistant", "content": [_block(message.content, True)] if marked else message.content}
