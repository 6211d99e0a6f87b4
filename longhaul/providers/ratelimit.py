"""Client-side rate limits of one model: requests and tokens per minute, kept before a request is
sent, so that a run does not learn its limits from the provider's 429s.

Each limit is a sliding-window log: what was let through in the last 60 seconds, oldest first.
That is the guarantee providers state (no minute holds more than the limit). A leaky bucket such
as aiolimiter's lets a burst of the whole limit through and then refills, so one minute can hold
nearly twice the limit; and it cannot give back a token reservation made on an estimate, which a
log can once the provider has reported the request's usage.

A request reserves its input (characters / 4: no tokenizer is loaded for it) plus its
`max_tokens`, as OpenAI itself counts a request against TPM; once it has ended, the reservation
becomes what it used (the provider's usage, or the estimate of what it streamed).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from longhaul.providers.request import Request

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

PERIOD = 60.0
"""Seconds of the window: the limits are per minute."""


class RateLimits(BaseModel):
    """A model's limits, as its provider sets them for your account (unset: none kept here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: StrictInt | None = Field(None, ge=1)
    """Requests per minute; every attempt counts, retries included."""

    tpm: StrictInt | None = Field(None, ge=1)
    """Tokens per minute, input and output together: a request reserves its input (characters / 4)
    and its `max_tokens`, and gives back what it did not use once it ends."""


def input_estimate(request: Request) -> int:
    """The request's input in tokens, roughly: characters / 4, rounded up."""
    chars = sum(len(m.content) for m in request.messages) + len(request.system or "")
    return -(-chars // 4)


@dataclass(slots=True)
class _Grant:
    at: float
    amount: int


class _Window:
    """Amounts let through in the last `PERIOD` seconds: a grant made at `t` counts until `t + PERIOD`."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self._period = period
        self._log: deque[_Grant] = deque()

    def used(self, now: float) -> int:
        while self._log and self._log[0].at <= now - self._period:
            self._log.popleft()
        return sum(g.amount for g in self._log)

    def delay(self, amount: int, now: float) -> float:
        """Seconds until `amount` fits (0: it fits now). More than the whole limit waits for an
        empty window, rather than never going."""
        excess = self.used(now) + min(amount, self.limit) - self.limit
        if excess <= 0:
            return 0.0
        for grant in self._log:
            excess -= grant.amount
            if excess <= 0:
                return grant.at + self._period - now
        return 0.0  # unreachable: the whole log expiring frees at least the limit

    def add(self, amount: int, now: float) -> _Grant:
        grant = _Grant(now, min(amount, self.limit))
        self._log.append(grant)
        return grant


@dataclass(frozen=True, slots=True)
class RateStatus:
    """A model's limits and their use, as the live views show them."""

    model: str
    rpm: int | None
    tpm: int | None
    requests: int
    """Requests let through in the last minute."""
    tokens: int
    """Tokens reserved or used in the last minute."""
    waiting: int
    """Requests waiting for room now."""
    waited: int
    """Requests so far that had to wait."""
    wait_seconds: float
    """Their waits, added up."""
    admitted: int
    """Requests let through so far."""

    def describe(self) -> str:
        parts = []
        if self.rpm is not None:
            parts.append(f"{self.requests}/{self.rpm} rpm")
        if self.tpm is not None:
            parts.append(f"{_k(self.tokens)}/{_k(self.tpm)} tpm")
        line = f"{self.model}: {' · '.join(parts)}"
        if self.waiting:
            line += f" · {self.waiting} waiting"
        if self.waited:
            line += f" · {self.waited} of {self.admitted} requests waited {self.wait_seconds:,.0f} s in all"
        return line


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,}"


class Permit:
    """A request let through: `settle` replaces its token reservation with what it used."""

    def __init__(self, limiter: RateLimiter, grant: _Grant | None) -> None:
        self._limiter, self._grant = limiter, grant

    def settle(self, tokens: int) -> None:
        if self._grant is not None:
            self._limiter._settle(self._grant, tokens)
            self._grant = None


class RateLimiter:
    """The limits of one model, shared by every request to it (every trial, every retry)."""

    def __init__(
        self, model: str, limits: RateLimits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep, period: float = PERIOD
    ) -> None:
        self.model = model
        self._clock, self._sleep = clock, sleep
        self._requests = _Window(limits.rpm, period) if limits.rpm is not None else None
        self._tokens = _Window(limits.tpm, period) if limits.tpm is not None else None
        # One request at a time looks for room and the rest queue behind it (asyncio.Lock is
        # first come, first served): a large token reservation is not overtaken for ever by small ones.
        self._turn = asyncio.Lock()
        self._sleeper: asyncio.Future[None] | None = None
        self._waiting = self._waited = self._admitted = 0
        self._wait_seconds = 0.0

    async def acquire(self, tokens: int) -> Permit:
        """Wait until one more request of `tokens` (reserved) fits both limits, and count it."""
        started = self._clock()
        paused = False
        self._waiting += 1
        try:
            async with self._turn:
                while (delay := self._delay(tokens)) > 0:
                    paused = True
                    await self._pause(delay)
                now = self._clock()
                if self._requests is not None:
                    self._requests.add(1, now)
                grant = self._tokens.add(tokens, now) if self._tokens is not None else None
                self._admitted += 1
        finally:
            self._waiting -= 1
        if paused:  # a wait in the queue behind another's pause counts only when its own turn paused
            self._waited += 1
            self._wait_seconds += self._clock() - started
        return Permit(self, grant)

    def _delay(self, tokens: int) -> float:
        now = self._clock()
        return max(
            self._requests.delay(1, now) if self._requests is not None else 0.0,
            self._tokens.delay(tokens, now) if self._tokens is not None else 0.0,
        )

    async def _pause(self, delay: float) -> None:
        """Sleep until the oldest grants expire; a request that ends using less than it reserved
        cuts the sleep short (`_settle`), since the room it gave back may be enough."""
        sleeper = self._sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({sleeper})  # returns when it is cancelled too: no exception to tell apart
        finally:
            self._sleeper = None
            sleeper.cancel()

    def _settle(self, grant: _Grant, tokens: int) -> None:
        freed = tokens < grant.amount
        grant.amount = max(0, tokens)
        if freed and self._sleeper is not None:
            self._sleeper.cancel()

    def status(self) -> RateStatus:
        now = self._clock()
        return RateStatus(
            model=self.model,
            rpm=self._requests.limit if self._requests is not None else None,
            tpm=self._tokens.limit if self._tokens is not None else None,
            requests=self._requests.used(now) if self._requests is not None else 0,
            tokens=self._tokens.used(now) if self._tokens is not None else 0,
            waiting=self._waiting,
            waited=self._waited,
            wait_seconds=self._wait_seconds,
            admitted=self._admitted,
        )
