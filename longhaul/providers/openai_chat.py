"""OpenAI Chat Completions, streamed, for `openai/...`, `openai-api/<service>/...` and the sim.

Usage comes in the final chunk (`stream_options.include_usage`); thinking, where a server streams
it, comes as `reasoning_content` (vLLM, DeepSeek, the sim) or `reasoning` (Ollama, OpenRouter).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Literal, TypedDict

import httpx2
import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionMessageParam

from longhaul.providers.address import Address, Endpoint
from longhaul.providers.base import End, Provider, status_error
from longhaul.providers.request import Message, Request, ThinkingDelta, Usage
from longhaul.providers.retry import ProviderError, Transient, retry_after
from longhaul.sim import FINGERPRINT
from longhaul.stop_reasons import normalise_stop_reason

# Long answers stream for minutes, so only the gap between two chunks is bounded.
TIMEOUT = httpx2.Timeout(connect=15.0, read=180.0, write=60.0, pool=None)


def effort(budget: int) -> Literal["low", "medium", "high"]:
    """OpenAI takes an effort, not a budget: the nearest one."""
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"


class _ThinkingArgs(TypedDict, total=False):
    """The keyword arguments that ask for a thinking budget: an effort, or a field of the body."""

    reasoning_effort: Literal["low", "medium", "high"]
    extra_body: dict[str, Any]


class OpenAIClient(Provider):
    """What OpenAI's two APIs (Chat Completions here, the Responses API in `openai_responses.py`)
    share: the SDK's client and the classification of its errors, but for errors inside a stream,
    which each API reports its own way (`_stream_error`)."""

    def __init__(self, address: Address, endpoint: Endpoint, **kw: Any) -> None:
        super().__init__(address, secrets=(endpoint.api_key.get_secret_value(),), base_url=endpoint.base_url, **kw)
        # Retries are ours (one policy, each attempt counted): the SDK's are off.
        self._client = openai.AsyncOpenAI(
            api_key=endpoint.api_key.get_secret_value(), base_url=endpoint.base_url, max_retries=0, timeout=TIMEOUT
        )

    def _classify(self, exc: Exception) -> Transient | ProviderError:
        if isinstance(exc, openai.APIStatusError):
            return status_error(exc.status_code, api_message(exc), retry_after(exc.response.headers))
        if isinstance(exc, (openai.APIConnectionError, httpx2.TransportError)):
            return Transient(f"connection: {exc}")
        if isinstance(exc, openai.APIError):
            return self._stream_error(exc)
        return ProviderError(f"{type(exc).__name__}: {exc}")

    def _stream_error(self, exc: openai.APIError) -> Transient | ProviderError:
        """An error event inside the stream (HTTP 200): servers send these for overload mid-answer."""
        return Transient(f"stream error: {exc}")

    async def aclose(self) -> None:
        await self._client.close()


class OpenAIChat(OpenAIClient):
    def _thinking(self, budget: int) -> _ThinkingArgs:
        return {"reasoning_effort": effort(budget)}

    def _extra_body(self, request: Request) -> dict[str, Any]:
        """Fields a particular server takes beyond the API's own (none here)."""
        return {}

    async def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": request.system}] if request.system else []
        messages += [_message_param(m) for m in request.messages]
        thinking: _ThinkingArgs = self._thinking(request.thinking_budget) if request.thinking_budget else {}
        # `omit` leaves a parameter out of the body, as not passing it would.
        stream = await self._client.chat.completions.create(
            model=self.address.model,
            messages=messages,
            max_completion_tokens=request.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
            temperature=request.temperature if request.temperature is not None else openai.omit,
            seed=request.seed if request.seed is not None else openai.omit,
            reasoning_effort=thinking.get("reasoning_effort", openai.omit),
            extra_body={**thinking.get("extra_body", {}), **self._extra_body(request)} or None,
        )
        finish: str | None = None
        usage: CompletionUsage | None = None
        served: str | None = None
        fingerprint: str | None = None
        async with stream:
            async for chunk in stream:
                served = chunk.model or served
                fingerprint = chunk.system_fingerprint or fingerprint
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    extra = delta.model_extra or {}
                    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
                    if reasoning:
                        yield ThinkingDelta(text=reasoning)
                    if delta.content:
                        yield delta.content
                    if choice.finish_reason:
                        finish = choice.finish_reason
        if finish is None:
            raise Transient("the stream ended before its final event (no finish_reason)")
        simulated = fingerprint == FINGERPRINT
        yield End(finish, normalise_stop_reason(finish) or "other", _usage(usage), served, simulated)


def _usage(usage: CompletionUsage | None) -> Usage | None:
    """The server's usage; None when it sent none (some OpenAI-compatible servers ignore
    include_usage), and the answer's tokens are counted from the text the provider kept."""
    if usage is None:
        return None
    details = getattr(usage, "completion_tokens_details", None)
    # OpenAI caches long prefixes by itself; `prompt_tokens` already counts the cached part.
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        cached_input_tokens=getattr(prompt_details, "cached_tokens", None) or 0,
        output_tokens=usage.completion_tokens or 0,
        reasoning_tokens=getattr(details, "reasoning_tokens", None),
    )


def api_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
            if isinstance(message, str):
                return message
    return exc.message


def _message_param(message: Message) -> ChatCompletionMessageParam:
    """One turn as the SDK's typed param (a literal role per branch, so it is the right TypedDict)."""
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


class SimChat(OpenAIChat):
    """The simulated model, reached over HTTP through the real openai SDK. Its thinking budget is
    exact (sent as the Anthropic-style `thinking` field), not rounded to an effort."""

    def _thinking(self, budget: int) -> _ThinkingArgs:
        return {"extra_body": {"thinking": {"type": "enabled", "budget_tokens": budget}}}
