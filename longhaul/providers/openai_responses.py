"""OpenAI's Responses API, streamed, for `openai-responses/...` (and the sim, with `?api=responses`).

Reasoning models are served best (some only) here. An answer may come as several output items,
each of several content parts: every `output_text` delta is answer text, in the order it streams,
so the items come out joined. Reasoning summaries (and raw reasoning text, where a server streams
it) are thinking, kept apart. The stream ends with `response.completed` or `response.incomplete`
(with its reason); `response.failed` and `error` events are failures, worth a retry only when the
server says the fault is its own (overload, rate, a server error).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import openai
from openai.types.responses import EasyInputMessageParam, ResponseUsage
from openai.types.shared_params import Reasoning

from longhaul.providers.address import Address
from longhaul.providers.base import End
from longhaul.providers.openai_chat import OpenAIClient, effort
from longhaul.providers.request import Message, Request, ThinkingDelta, Usage
from longhaul.providers.retry import ProviderError, Transient
from longhaul.sim import RESPONSE_ID_PREFIX
from longhaul.stop_reasons import normalise_stop_reason
from longhaul.verdict import StopReason

_TRANSIENT_WORDS = ("server", "overload", "rate_limit", "timeout", "unavailable", "internal", "slow_down")
"""An error code with one of these (`server_error`, `rate_limit_exceeded`, `server_is_overloaded`)
names a fault of the server's, which another attempt may not meet; any other code (a policy,
a bad prompt) would come back the same."""


class OpenAIResponses(OpenAIClient):
    @staticmethod
    def extra_body(request: Request) -> dict[str, Any]:
        """Fields a particular server takes beyond the API's own (none here: the Responses API
        refuses unknown parameters, a seed among them)."""
        return {}

    async def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        stream = await self._client.responses.create(
            **params(self.address.model, request), stream=True, extra_body=self.extra_body(request) or None
        )
        end: End | None = None
        served: str | None = None
        simulated = False
        async with stream:
            async for event in stream:
                # Narrowed on the `type` tag: each branch sees its own event class.
                if event.type == "response.output_text.delta" or event.type == "response.refusal.delta":
                    # A refusal part is the model's own words declining: the answer, for the detector to read.
                    yield event.delta
                elif event.type == "response.reasoning_summary_text.delta" or event.type == "response.reasoning_text.delta":
                    yield ThinkingDelta(text=event.delta)
                elif event.type == "response.reasoning_summary_part.added" and event.summary_index > 0:
                    yield ThinkingDelta(text="\n\n")  # summary parts are paragraphs: kept apart
                elif event.type == "response.created":
                    served = event.response.model
                    simulated = event.response.id.startswith(RESPONSE_ID_PREFIX)
                elif event.type == "response.completed" or event.type == "response.incomplete":
                    details = event.response.incomplete_details
                    raw, stop = stop_reason(event.response.status or "completed", details.reason if details else None)
                    end = End(raw, stop, response_usage(event.response.usage), event.response.model or served, simulated)
                elif event.type == "response.failed":
                    error = event.response.error
                    raise _event_error("response.failed", error.code if error else None, error.message if error else "no error given")
                elif event.type == "error":
                    raise _event_error("error event", event.code, event.message)
        if end is None:
            raise Transient("the stream ended before its final event (no response.completed)")
        yield end

    def _stream_error(self, exc: openai.APIError) -> Transient | ProviderError:
        # An event carrying an `error` object, which the SDK raises itself: retried when its code
        # says the server is at fault.
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") or body.get("type")
        return _event_error("stream error", code if isinstance(code, str) else None, exc.message)


def params(model: str, request: Request) -> dict[str, Any]:
    """The API's own fields of a request, as JSON (no `stream`): what each streamed attempt sends."""
    # `store=False`: nothing of a benchmark's conversation is kept at OpenAI; each request
    # carries the whole conversation, as Chat Completions does.
    sent: dict[str, Any] = {"model": model, "input": [_input_param(m) for m in request.messages], "max_output_tokens": request.max_tokens}
    sent["store"] = False
    if request.system:
        sent["instructions"] = request.system
    if request.temperature is not None:
        sent["temperature"] = request.temperature
    if request.thinking_budget:
        # An effort, not a budget; the summary is what the API shows of the reasoning.
        reasoning: Reasoning = {"effort": effort(request.thinking_budget), "summary": "auto"}
        sent["reasoning"] = reasoning
    return sent


def body(address: Address, request: Request) -> dict[str, Any]:
    """The whole JSON body the streamed provider of `address` sends, without `stream`: a batch line's."""
    provider = SimResponses if address.simulated else OpenAIResponses
    return {**params(address.model, request), **provider.extra_body(request)}


def stop_reason(status: str, reason: str | None) -> tuple[str, StopReason]:
    """The raw stop reason recorded (`completed`, `incomplete:max_output_tokens`) and the
    normalised one: an incomplete response's reason says whether the limit or a filter ended it."""
    raw = f"{status}:{reason}" if status == "incomplete" and reason else status
    return raw, normalise_stop_reason(raw) or "other"


def _event_error(where: str, code: str | None, message: str) -> Transient | ProviderError:
    """A failure reported inside the stream (HTTP 200): a retry where the server owns the fault."""
    text = f"{where} {code or 'without a code'}: {message}"
    if code is not None and any(word in code.lower() for word in _TRANSIENT_WORDS):
        return Transient(text)
    return ProviderError(text)


def response_usage(usage: ResponseUsage | None) -> Usage | None:
    """The server's usage (None when it sent none: the answer's tokens are then counted).
    Details are read leniently: an OpenAI-compatible server may leave them out."""
    if usage is None:
        return None
    cached = getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None)
    reasoning = getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None)
    return Usage(
        input_tokens=usage.input_tokens or 0,
        cached_input_tokens=cached or 0,
        output_tokens=usage.output_tokens or 0,
        reasoning_tokens=reasoning,
    )


def _input_param(message: Message) -> EasyInputMessageParam:
    """One turn as an input message (a literal role per branch, so it is the right TypedDict)."""
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


class SimResponses(OpenAIResponses):
    """The simulated model over the Responses wire (`sim/<profile>?api=responses`). Its thinking
    budget is exact and it takes a seed (both as fields the sim reads), so it answers as `sim/...`
    does over Chat Completions."""

    @staticmethod
    def extra_body(request: Request) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if request.thinking_budget:
            extra["thinking"] = {"type": "enabled", "budget_tokens": request.thinking_budget}
        if request.seed is not None:
            extra["seed"] = request.seed
        return extra
