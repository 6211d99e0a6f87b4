"""One model served by several replicas (base URLs): which replica each attempt goes to.

Scale comes from the inference engine (vLLM, SGLang, on Ray for several nodes) behind
OpenAI-compatible URLs; longhaul's part is to spread its requests over them well:

- each attempt goes to the replica with the fewest requests outstanding from this client (queued
  on its connection limit included), ties to the one that has served least;
- a retried attempt goes to a replica this request has not failed on, when one is available;
- a replica that cannot be reached, breaks a stream, or answers 5xx `fail_after` times in a row is
  set aside for `pause` seconds (doubled each time it fails again on its return, up to
  `max_pause`); the first request after the pause is its health check. A success puts it back
  in full. Rate limits and timeouts (429, 408) say a replica is busy, not broken: they never set
  one aside, but the retry still goes elsewhere.
- a replica that refuses the key or does not know the model (401, 403, 404: a wrong path, the
  model not loaded there) once another replica of the model has answered is that replica's
  fault: it is set aside at once and the attempt retried elsewhere. Before any replica has
  answered, the refusal stops the model, as it would with one base URL.

When every replica is set aside, the one due back first is used rather than waiting: the retry
policy's backoff already spaces the attempts, and an attempt that fails is one more retry, not a
hang.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace

from longhaul.providers.address import Address, shown_url
from longhaul.providers.base import End, Provider, RetrySettings, Sleep
from longhaul.providers.ratelimit import RateLimiter
from longhaul.providers.request import Request, StreamEvent, ThinkingDelta
from longhaul.providers.retry import ModelUnavailable, OutputLimitExceeded, ProviderError, Transient

FAIL_AFTER = 2
"""Failures in a row that set a replica aside: one broken stream may be the network, two are the replica."""

PAUSE = 10.0
"""Seconds a replica is first set aside."""

MAX_PAUSE = 120.0
"""The longest a replica that keeps failing is set aside at a time."""

_BUSY = (408, 429)
"""Statuses that say a replica is busy, not broken."""


@dataclass(slots=True)
class Replica:
    """One base URL of a model: its provider (its own SDK client), its connection limit, and
    what this client knows of its health."""

    url: str
    provider: Provider
    limit: asyncio.Semaphore
    outstanding: int = 0
    """Attempts sent to it and not finished (waiting on its connection limit included)."""
    served: int = 0
    """Attempts it answered in full."""
    failed: int = 0
    """Attempts that failed on it."""
    failures_in_a_row: int = 0
    aside_until: float = 0.0
    """Monotonic time it is set aside until (0: in service)."""
    pause: float = PAUSE
    """How long it is set aside the next time."""


class ReplicaSet:
    """The replicas of one model and the rule that picks one: no I/O, so it is tested alone."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        *,
        fail_after: int = FAIL_AFTER,
        pause: float = PAUSE,
        max_pause: float = MAX_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not replicas:
            raise ValueError("a replica set needs at least one replica")
        self.replicas = list(replicas)
        for r in self.replicas:
            r.pause = pause
        self._fail_after, self._first_pause, self._max_pause, self._clock = fail_after, pause, max_pause, clock

    def choose(self, tried: Sequence[str] = ()) -> Replica:
        """The replica for the next attempt of a request that has already failed on `tried`."""
        now = self._clock()
        live = [r for r in self.replicas if r.aside_until <= now]
        if not live:
            return min(self.replicas, key=lambda r: r.aside_until)
        fresh = [r for r in live if r.url not in tried] or live
        return min(fresh, key=lambda r: (r.outstanding, r.served + r.failed))

    def succeeded(self, replica: Replica) -> None:
        replica.served += 1
        replica.failures_in_a_row = 0
        replica.aside_until = 0.0
        replica.pause = self._first_pause

    def answered_elsewhere(self, replica: Replica) -> bool:
        """Whether another replica has answered a request in full: then the model is usable as
        addressed, and what goes wrong on `replica` is its own."""
        return any(r.served for r in self.replicas if r is not replica)

    def set_aside(self, replica: Replica) -> None:
        """Out of service for its pause at once (doubled, as a repeated failure's): it refused
        what the others accept."""
        replica.failed += 1
        replica.failures_in_a_row += 1
        replica.aside_until = self._clock() + replica.pause
        replica.pause = min(replica.pause * 2, self._max_pause)

    def failed(self, replica: Replica, status: int | None) -> None:
        replica.failed += 1
        if status in _BUSY:
            return
        replica.failures_in_a_row += 1
        if replica.failures_in_a_row >= self._fail_after:
            replica.aside_until = self._clock() + replica.pause
            replica.pause = min(replica.pause * 2, self._max_pause)


class Replicated(Provider):
    """A model behind several base URLs, as one `Provider`: the retries, timing and final record
    are the base class's; each attempt is one replica's (its SDK call and error classification),
    chosen by the `ReplicaSet`, and the completion records which replica answered."""

    def __init__(
        self,
        address: Address,
        replicas: ReplicaSet,
        *,
        limit: asyncio.Semaphore,
        retry: RetrySettings,
        secrets: tuple[str, ...] = (),
        sleep: Sleep = asyncio.sleep,
        rate: RateLimiter | None = None,
    ) -> None:
        super().__init__(address, limit=limit, retry=retry, secrets=secrets, sleep=sleep, rate=rate)
        self.replicas = replicas
        self._tried: dict[int, list[str]] = {}
        """Per request being streamed (keyed by the id of this call's own copy of it): the replicas
        its attempts failed on."""

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        # A copy of the request's own: its id is this call's while it lasts, even when the caller
        # streams one Request object twice at once.
        mine = request.model_copy()
        self._tried[id(mine)] = []
        try:
            async with aclosing(super().stream(mine)) as events:
                async for event in events:
                    yield event
        finally:
            del self._tried[id(mine)]

    async def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        tried = self._tried.get(id(request), [])
        replica = self.replicas.choose(tried)
        replica.outstanding += 1
        try:
            # The replica's own attempt: its SDK call, its errors already classified.
            async with replica.limit, aclosing(replica.provider._guarded(request)) as items:
                async for item in items:
                    yield replace(item, endpoint=replica.url) if isinstance(item, End) else item
        except Transient as exc:
            self.replicas.failed(replica, exc.status)
            tried.append(replica.url)
            # The retry record names the replica, so a run shows which one failed.
            raise Transient(f"{shown_url(replica.url)}: {exc}", exc.retry_after, exc.status) from None
        except OutputLimitExceeded:
            raise  # max_tokens above the model's limit: the same on every replica, and no sign of its health
        except ModelUnavailable as exc:
            if not self.replicas.answered_elsewhere(replica):
                raise  # no replica has answered: the key or the model name is wrong for all of them
            self.replicas.set_aside(replica)
            tried.append(replica.url)
            raise Transient(f"{shown_url(replica.url)}: {exc} (other replicas answer: this one set aside)", None, exc.status) from None
        except ProviderError:
            raise  # a bad request: the same on every replica, and no sign of its health
        except GeneratorExit:
            self.replicas.succeeded(replica)  # closed by the consumer (early stop): it was answering
            raise
        else:
            self.replicas.succeeded(replica)
        finally:
            replica.outstanding -= 1

    def _classify(self, exc: Exception) -> Transient | ProviderError:
        # Every error of an attempt was classified by the replica's provider; anything else is ours.
        return ProviderError(f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        for replica in self.replicas.replicas:
            await replica.provider.aclose()
