"""The part of every provider that is the same: retries, the model's rate limits, the connection
limit, timing, and the final record. A provider supplies only one attempt (its SDK call, as a stream of deltas ending in
an `End`: answer text as the SDK's own `str`, thinking as `ThinkingDelta`) and the classification
of its SDK's errors."""

from __future__ import annotations

import asyncio
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

from pydantic import BaseModel, Field
from tenacity import RetryCallState

from longhaul.providers.address import Address, shown_url
from longhaul.providers.ratelimit import RateLimiter, input_estimate
from longhaul.providers.request import (
    Completion,
    Request,
    Restart,
    RetryRecord,
    StreamEvent,
    ThinkingDelta,
    Usage,
)
from longhaul.providers.retry import ModelUnavailable, OutputLimitExceeded, ProviderError, Transient, retry_policy
from longhaul.tokens import count_tokens
from longhaul.verdict import StopReason


class RetrySettings(BaseModel):
    """How hard to try before a request ends in the `error` outcome."""

    attempts: int = Field(6, ge=1, le=100)
    """Attempts in all, the first included."""

    max_seconds: float = Field(600.0, gt=0)
    """No attempt starts later than this after the first."""

    initial_wait: float = Field(1.0, ge=0)
    """First backoff, doubled each time (with as much jitter), when the server names no wait."""

    max_wait: float = Field(60.0, ge=0)
    """Longest backoff between two attempts."""


@dataclass(frozen=True, slots=True)
class End:
    """What an attempt knows once its stream has ended properly."""

    raw_stop_reason: str | None
    stop_reason: StopReason
    usage: Usage | None
    """None when the server reported none: the answer's tokens are counted here (estimated)."""
    served_model: str | None
    simulated: bool = False
    """The server said it is longhaul's simulated model, whatever the address."""
    endpoint: str | None = None
    """The base URL the attempt went to, when the provider chose one of several replicas."""


Sleep = Callable[[float], Awaitable[None]]


class Provider(ABC):
    """A model, addressed and ready: `stream(request)` is the one way to call it."""

    def __init__(
        self,
        address: Address,
        *,
        limit: asyncio.Semaphore,
        retry: RetrySettings,
        secrets: tuple[str, ...] = (),
        sleep: Sleep = asyncio.sleep,
        base_url: str | None = None,
        rate: RateLimiter | None = None,
    ) -> None:
        self.address = address
        self.base_url = base_url
        """Where the requests go (None: the SDK's default), recorded on each completion."""
        self._limit = limit
        self._rate = rate
        self._retry = retry
        # Short strings would mangle ordinary words; no real key is that short.
        self._secrets = tuple(s for s in secrets if len(s) >= 8)
        self._sleep = sleep
        self.unavailable: ModelUnavailable | None = None
        """The first 401, 403 or 404 this model met: once set, no request is sent to it again."""

    def unavailable_reason(self) -> str | None:
        """What stopped the model, and what to check, in a few words: "401 Unauthorized: check
        OPENAI_API_KEY"; None while it is usable."""
        if self.unavailable is None:
            return None
        status = self.unavailable.status
        if isinstance(self.unavailable, OutputLimitExceeded):
            return output_limit_reason(self.unavailable)
        name = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}.get(status, "")
        prefix = self.address.env_prefix
        if self.address.simulated:
            check = "the simulated model was told to fail so (faults=)"
        elif status == 404:
            check = f"check the model name {self.address.model!r} (and {prefix}_BASE_URL, if set)"
        elif status == 403:
            check = f"check that {prefix}_API_KEY may use {self.address.model!r}"
        else:
            check = f"check {prefix}_API_KEY"
        return f"{status} {name}: {check}"

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        """Deltas as they arrive, a `Restart` before each retried attempt, and last a `Completion`.
        Raises `ProviderError` when the request fails for good (after retries, if it was worth
        retrying). Close the iterator (`aclosing`) to stop early: the connection is released."""
        started = time.monotonic()
        waited = 0.0  # in front of the rate limit, over every attempt
        retries: list[RetryRecord] = []

        def record(state: RetryCallState) -> None:
            # before_sleep runs only after an attempt has failed, so its outcome is set.
            assert state.outcome is not None
            exc = state.outcome.exception()
            retries.append(RetryRecord(attempt=state.attempt_number, error=self._redact(str(exc)), wait=state.upcoming_sleep))

        policy = retry_policy(
            attempts=self._retry.attempts,
            max_seconds=self._retry.max_seconds,
            initial_wait=self._retry.initial_wait,
            max_wait=self._retry.max_wait,
            sleep=self._sleep,
        ).copy(before_sleep=record)
        completion: Completion | None = None
        if self.unavailable is not None:
            # A turn of a trial already in flight: the model refused an earlier request for good.
            raise ModelUnavailable(
                f"{self.address.text}: not sent: an earlier request failed with HTTP {self.unavailable.status}",
                self.unavailable.status,
                attempts=0,
            )
        inputs = input_estimate(request) if self._rate is not None else 0
        try:
            async for attempt in policy:
                with attempt:
                    if retries:
                        yield Restart(retry=retries[-1])
                    answer: list[str] = []
                    thinking: list[str] = []
                    first: float | None = None
                    end: End | None = None
                    # The rate limit before the connection: a request waiting for its model's
                    # minute to have room holds no connection another model of its provider could use.
                    queued = time.monotonic()
                    permit = await self._rate.acquire(inputs + request.max_tokens) if self._rate is not None else None
                    # Time spent waiting for the model's own rate limit is ours, not the provider's:
                    # left out of the request's timings, which compare providers.
                    waited += time.monotonic() - queued
                    try:
                        async with self._limit, aclosing(self._guarded(request)) as items:
                            async for item in items:
                                if isinstance(item, End):
                                    end = item
                                    continue
                                if first is None:
                                    first = time.monotonic() - started - waited
                                if isinstance(item, str):
                                    answer.append(item)
                                else:
                                    thinking.append(item.text)
                                yield item
                    finally:
                        if permit is not None:
                            # Failed or cut short, the provider still read the prompt and wrote what
                            # was streamed; an attempt that ended says what it used (just below).
                            used = end.usage if end is not None and end.usage is not None and end.usage.input_tokens else None
                            streamed = -(-sum(map(len, answer + thinking)) // 4)
                            permit.settle(used.input_tokens + used.output_tokens if used is not None else inputs + streamed)
                    assert end is not None
                    text = "".join(answer)
                    usage = end.usage
                    if usage is None:
                        # Some OpenAI-compatible servers ignore include_usage: count the answer ourselves.
                        usage = Usage(output_tokens=count_tokens(text, self.address.model), estimated=True)
                    completion = Completion(
                        model=self.address.text,
                        served_model=end.served_model,
                        simulated=self.address.simulated or end.simulated,
                        answer=text,
                        thinking="".join(thinking),
                        stop_reason=end.stop_reason,
                        raw_stop_reason=end.raw_stop_reason,
                        usage=usage,
                        attempts=attempt.retry_state.attempt_number,
                        retries=list(retries),
                        seconds=time.monotonic() - started - waited,
                        first_token_seconds=first,
                        endpoint=shown_url(url) if (url := end.endpoint or self.base_url) else None,
                    )
        except ModelUnavailable as exc:
            self.unavailable = self.unavailable or exc
            raise
        except Transient as exc:
            raise ProviderError(
                f"{self.address.text}: gave up after {len(retries) + 1} attempts: {self._redact(str(exc))}",
                attempts=len(retries) + 1,
            ) from None
        assert completion is not None
        yield completion

    async def _guarded(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        """One attempt, with every SDK error turned into `Transient` or `ProviderError`."""
        try:
            # Closed here, not left to the garbage collector, when the caller stops early or is cancelled.
            async with aclosing(self._attempt(request)) as attempt:
                async for item in attempt:
                    yield item
        except (Transient, ProviderError):
            raise
        except Exception as exc:
            classified = self._classify(exc)
            if isinstance(classified, OutputLimitExceeded):
                classified = OutputLimitExceeded(
                    f"{self.address.text}: {self._redact(str(classified))}", classified.limit, classified.asked
                )
            elif isinstance(classified, ModelUnavailable):
                classified = ModelUnavailable(f"{self.address.text}: {self._redact(str(classified))}", classified.status)
            elif isinstance(classified, ProviderError):
                classified = ProviderError(f"{self.address.text}: {self._redact(str(classified))}")
            raise classified from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<api key>")
        return text

    @abstractmethod
    def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        """One call on the wire: the deltas (answer text as plain `str`), then an `End`. A stream
        that stops before its final event must raise `Transient`."""

    @abstractmethod
    def _classify(self, exc: Exception) -> Transient | ProviderError:
        """Whether an SDK error is worth another attempt."""

    async def aclose(self) -> None:  # noqa: B027 - a no-op by default: providers without a client need not override it
        """Release the SDK client."""


_TOO_LARGE = re.compile(
    r"\b(?:max_tokens|max_completion_tokens|max_output_tokens)\b.{0,40}?(?:too large|above (?:the )?maximum|exceeds? the maximum|>\s*\d)",
    re.I | re.S,
)
_LIMIT_IN = (
    re.compile(r"supports at most (\d+)", re.I),  # OpenAI: "This model supports at most 32768 completion tokens"
    re.compile(r"<=\s*(\d+)", re.I),  # OpenAI, o-series and Responses: "Expected a value <= 100000, but got 128000 instead."
    re.compile(r">\s*(\d+)", re.I),  # Anthropic: "max_tokens: 64001 > 64000, which is the maximum ..."
    re.compile(r"maximum(?: value)?(?: of| is)? (\d+)", re.I),
)
_ASKED_IN = (
    re.compile(r"too large: (\d+)", re.I),
    re.compile(r"max_tokens: (\d+)\s*>", re.I),
    re.compile(r"you provided (\d+)", re.I),
    re.compile(r"but got (\d+)", re.I),
)


def _number(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        if (m := pattern.search(text)) is not None:
            return int(m.group(1))
    return None


def output_limit_reason(exc: OutputLimitExceeded) -> str:
    """What stopped a model whose max_tokens the provider said was above its output limit, and
    the same words for a streamed request and a batch's result."""
    limit, asked = exc.limit, exc.asked
    above = f"max_tokens {asked if asked is not None else '(as sent)'} is above its output limit"
    above += f" of {limit:,} tokens" if limit is not None else ""
    return f"HTTP 400, {above} (the provider's message)"  # the run's stop line adds the way on (`model_limits.limit_fix`)


def status_error(status: int, message: str, retry_after: float | None) -> Transient | ProviderError:
    """The one rule for HTTP statuses: timeouts, rate limits, overload and server errors are
    transient; anything else (bad request, bad key, unknown model) will not get better, and a bad
    key, a missing permission or an unknown model (401, 403, 404) will not for any request, nor
    a max_tokens above the model's output limit (a 400 saying so: `OutputLimitExceeded`)."""
    if status == 400 and _TOO_LARGE.search(message):
        return OutputLimitExceeded(f"HTTP 400: {message}", _number(_LIMIT_IN, message), _number(_ASKED_IN, message))
    if status in (408, 429) or status >= 500:
        return Transient(f"HTTP {status}: {message}", retry_after, status)
    if status in (401, 403, 404):
        hint = " (check the API key)" if status in (401, 403) else " (check the model name)"
        return ModelUnavailable(f"HTTP {status}: {message}{hint}", status)
    return ProviderError(f"HTTP {status}: {message}")
