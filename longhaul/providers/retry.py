"""The one retry policy: every provider classifies its errors, this module decides what to do.

A provider turns an SDK exception into `Transient` (worth another attempt) or `ProviderError`
(not), and the policy below retries only `Transient`. The SDKs' own retries are off, so an
attempt here is an attempt on the wire.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from longhaul.errors import LonghaulError


class Transient(Exception):
    """A failure worth retrying: rate limit, timeout, overload, server error, broken stream."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the server asked us to wait (`Retry-After`), if it asked."""
        self.status = status
        """The HTTP status, when the server answered with one (None: the connection or the stream broke)."""


class ProviderError(LonghaulError):
    """The provider failed for good: a trial that meets it gets the `error` outcome, never a
    verdict on the model."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ModelUnavailable(ProviderError):
    """The model cannot be used as addressed: its key is refused (401), lacks permission (403),
    or the model is unknown there (404). No later request would fare better, so none is retried,
    and a run sends that model no more trials (they stay missing, for a resume once it is fixed)."""

    def __init__(self, message: str, status: int, attempts: int = 1) -> None:
        super().__init__(message, attempts)
        self.status = status
        """The HTTP status: 401, 403 or 404 (400 for `OutputLimitExceeded`)."""


class OutputLimitExceeded(ModelUnavailable):
    """A 400 saying the request's max_tokens is above the model's output limit: bad input for that
    model, the same for every request of the run, so never retried, and the model is sent no more
    trials (they stay missing for a resume once max_tokens is lowered or clamped)."""

    def __init__(self, message: str, limit: int | None, asked: int | None, attempts: int = 1) -> None:
        super().__init__(message, 400, attempts)
        self.limit = limit
        """The model's output limit, as the provider's message gives it (None: it gives none)."""
        self.asked = asked
        """The max_tokens the request asked for, as the message gives it."""


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


class _RetryAfterOrBackoff:
    """Wait what the server asked for when it asked; otherwise back off exponentially, with
    jitter so that many trials hit by the same rate limit do not return in lockstep."""

    def __init__(self, initial: float, max_wait: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=max_wait, jitter=initial)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)


def retry_policy(
    *,
    attempts: int = 6,
    max_seconds: float = 600.0,
    initial_wait: float = 1.0,
    max_wait: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncRetrying:
    """The policy for one request.

    At most `attempts` attempts, and none that would start after `max_seconds` (a `Retry-After`
    that points past it ends the request at once rather than sleeping for nothing). Exceptions
    other than `Transient` are re-raised as they are: cancellation and a consumer closing the
    stream must pass straight through. `sleep` is a parameter so tests can check the waits
    without waiting.
    """
    return AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        stop=stop_after_attempt(attempts) | stop_before_delay(max_seconds),
        wait=_RetryAfterOrBackoff(initial_wait, max_wait),
        sleep=sleep,
        reraise=True,
    )
