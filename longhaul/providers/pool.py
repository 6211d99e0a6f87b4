"""`Providers`: turns model addresses into ready providers, and owns what they share.

It holds the SDK clients, one connection limit per provider and base URL (a model with several
replica URLs gets one provider per replica, behind `providers/replicas.py`), the rate limits of each
model (`ratelimit.py`: one limiter per address, shared by every trial of that model), the in-process
simulated model (started on a free loopback port the first time a `sim/...` address is used), and
the llama.cpp server of each `llamacpp/...` model (a child process, started at its first use and
stopped on close; it answers one request at a time, so its connection limit is 1).
Use it as an async context manager; everything it opened is closed on exit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from longhaul.errors import BadInput
from longhaul.providers.address import Address, Endpoint, parse_address, resolve_endpoint
from longhaul.providers.base import Provider, RetrySettings, Sleep
from longhaul.providers.local_model import Sampling, check_local, split
from longhaul.providers.ratelimit import Clock, RateLimiter, RateLimits, RateStatus
from longhaul.providers.replicas import Replica, ReplicaSet, Replicated
from longhaul.sim.profiles import parse_profile
from longhaul.task import Task

if TYPE_CHECKING:
    from longhaul.providers.batches import BatchApi
    from longhaul.providers.llamacpp import LocalServer
    from longhaul.sim.server import RunningSim  # aiohttp: imported at run time only when a run uses the sim

SIM_KEY = "sim"
"""The simulated model takes no key; the SDK wants one. Too short to be redacted as a secret."""

LOCAL_KEY = "local"
"""A local llama.cpp server takes no key either."""


class Providers:
    """The models of one run, and their shared limits."""

    def __init__(
        self,
        *,
        max_connections: int = 8,
        retry: RetrySettings | None = None,
        base_url: str | None = None,
        env: Mapping[str, str] | None = None,
        tasks: Mapping[str, Task[Any]] | None = None,
        sleep: Sleep = asyncio.sleep,
        limits: Mapping[str, RateLimits] | None = None,
        clock: Clock = time.monotonic,
        temperature: float | None = None,
    ) -> None:
        """`max_connections` bounds the requests in flight to any one provider and base URL.
        `base_url` (the `--base-url` flag) overrides the environment for real providers.
        `tasks` are those the simulated model knows (a run's catalog's; default: none).
        `limits`: requests and tokens per minute, by model address; `clock` and `sleep` are what
        they wait with (a test's fake time). `temperature`: the suite's, which a local model's
        recorded sampling settings carry (each request sends its own)."""
        if max_connections < 1:
            raise BadInput(f"--max-connections: must be at least 1 (got {max_connections})")
        self._max_connections = max_connections
        self._retry = retry or RetrySettings()
        self._base_url = base_url
        self._env = env
        self._tasks = tasks
        self._sleep = sleep
        self._limits: dict[tuple[str, str], asyncio.Semaphore] = {}
        # Made now, not at a model's first request: the live view shows every limit from the start.
        self._rates = {m: RateLimiter(m, lim, clock=clock, sleep=sleep) for m, lim in (limits or {}).items() if lim.rpm or lim.tpm}
        self._providers: dict[str, Provider] = {}
        self._sim: RunningSim | None = None
        self._local: list[LocalServer] = []
        self._temperature = temperature
        self._making = asyncio.Lock()  # trials ask at once: one provider per address, one sim

    async def __aenter__(self) -> Providers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def check(self, model: str) -> Address:
        """Validate an address and find its key, without connecting: a missing key is a
        `BadInput` naming the variable, raised before any trial starts."""
        address = parse_address(model)
        if address.provider == "sim":
            parse_profile(address.model)
        elif address.local:
            check_local(address)
        else:
            resolve_endpoint(address, self._env, self._base_url)
        return address

    async def get(self, model: str) -> Provider:
        """The provider for an address (made once, then shared)."""
        if model in self._providers:
            return self._providers[model]
        async with self._making:
            if model in self._providers:
                return self._providers[model]
            return await self._make(model)

    async def _make(self, model: str) -> Provider:
        address = self.check(model)
        if address.provider == "sim":
            endpoint = Endpoint(base_url=await self._sim_url(), api_key=SecretStr(SIM_KEY))
        elif address.local:
            return await self._make_local(model, address)
        else:
            endpoint = resolve_endpoint(address, self._env, self._base_url)
        rate = self._rates.get(model)
        provider = self._replicated(address, endpoint, rate) if len(endpoint.replicas) > 1 else self._single(address, endpoint, rate)
        self._providers[model] = provider
        return provider

    def _replicated(self, address: Address, endpoint: Endpoint, rate: RateLimiter | None) -> Provider:
        """One provider per replica, each under its own base URL's limit, behind one that chooses
        (and that alone takes the model's rate limit: every attempt passes through it once)."""
        replicas = []
        for url in endpoint.replicas:
            one = Endpoint(base_url=url, api_key=endpoint.api_key)
            replicas.append(Replica(url=url or "", provider=self._single(address, one, None), limit=self._limit(address, one)))
        # The replicas' own limits bound each; this one only lets their sum through.
        total = asyncio.Semaphore(self._max_connections * len(replicas))
        key = (endpoint.api_key.get_secret_value(),)
        return Replicated(address, ReplicaSet(replicas), limit=total, retry=self._retry, secrets=key, sleep=self._sleep, rate=rate)

    def _single(self, address: Address, endpoint: Endpoint, rate: RateLimiter | None) -> Provider:
        kw = {"limit": self._limit(address, endpoint), "retry": self._retry, "sleep": self._sleep, "rate": rate}
        # Imported here: a run against one provider never loads the other's SDK.
        provider: Provider
        if address.provider == "anthropic":
            from longhaul.providers.anthropic_messages import AnthropicMessages

            provider = AnthropicMessages(address, endpoint, **kw)
        elif address.provider == "sim" and parse_profile(address.model).api == "responses":
            from longhaul.providers.openai_responses import SimResponses

            provider = SimResponses(address, endpoint, **kw)
        elif address.provider == "sim":
            from longhaul.providers.openai_chat import SimChat

            provider = SimChat(address, endpoint, **kw)
        elif address.provider == "openai-responses":
            from longhaul.providers.openai_responses import OpenAIResponses

            provider = OpenAIResponses(address, endpoint, **kw)
        else:
            from longhaul.providers.openai_chat import OpenAIChat

            provider = OpenAIChat(address, endpoint, **kw)
        return provider

    async def batch_api(self, model: str) -> BatchApi:
        """A model's batch API, for `run --batch` (a new client: the caller closes it): OpenAI's for
        `openai/`, `openai-api/` and the sim (Chat Completions lines), and for `openai-responses/` and
        `sim/...?api=responses` (Responses lines); Anthropic's for `anthropic/`. A batch is one
        submission, so of several replica URLs the first is used."""
        address = self.check(model)
        if address.local:
            raise BadInput(f"--batch: {model} is a local llama.cpp model, which has no batch API; run it without --batch")
        if address.provider == "sim":
            endpoint = Endpoint(base_url=await self._sim_url(), api_key=SecretStr(SIM_KEY))
        else:
            found = resolve_endpoint(address, self._env, self._base_url)
            endpoint = Endpoint(base_url=found.replicas[0], api_key=found.api_key)
        if address.provider == "anthropic":
            from longhaul.providers.anthropic_batch import AnthropicBatch

            return AnthropicBatch(address, endpoint)
        from longhaul.providers.openai_batch import OpenAIBatch

        # Batched through the API the address streams through: the user chose it (some models are served only there).
        responses = address.provider == "openai-responses" or (
            address.provider == "sim" and parse_profile(address.model).api == "responses"
        )
        return OpenAIBatch(address, endpoint, "responses" if responses else "chat")

    async def _make_local(self, model: str, address: Address) -> Provider:
        from longhaul.providers.llamacpp import LlamaCppChat, LocalServer  # the SDK, only for a local model

        gguf = check_local(address)
        server = await LocalServer.start(gguf, split(address.model)[1])
        self._local.append(server)
        endpoint = Endpoint(base_url=server.url, api_key=SecretStr(LOCAL_KEY))
        # One request at a time: the server serves one, and a request waiting in longhaul's queue
        # cannot time out, as one waiting at the server would.
        limit = asyncio.Semaphore(1)
        sampling = Sampling() if self._temperature is None else Sampling(temperature=self._temperature)
        provider = LlamaCppChat(
            address, endpoint, limit=limit, retry=self._retry, sleep=self._sleep, rate=self._rates.get(model), sampling=sampling
        )
        self._providers[model] = provider
        return provider

    def local_pids(self) -> list[int]:
        """The process ids of the local servers running now."""
        return [s.pid for s in self._local]

    def rates(self) -> list[RateStatus]:
        """Each rate-limited model's limits and their use now (for the live views)."""
        return [r.status() for r in self._rates.values()]

    def _limit(self, address: Address, endpoint: Endpoint) -> asyncio.Semaphore:
        key = (address.provider, endpoint.base_url or "")
        if key not in self._limits:
            self._limits[key] = asyncio.Semaphore(self._max_connections)
        return self._limits[key]

    async def _sim_url(self) -> str:
        if self._sim is None:
            from longhaul.sim.server import start  # aiohttp: loaded only when a run uses the sim

            self._sim = await start(self._tasks if self._tasks is not None else {})
        return self._sim.url

    async def aclose(self) -> None:
        """Close each provider once, in the order they were made, then the sim. The loop walks a
        snapshot: a provider made while another closes (a trial still running) is closed next,
        instead of breaking the loop; the runner cancels its trials before it gets here."""
        while self._providers:
            providers, self._providers = list(self._providers.values()), {}
            for provider in providers:
                await provider.aclose()
        sim, self._sim = self._sim, None
        if sim is not None:
            await sim.aclose()
        local, self._local = self._local, []
        for server in local:
            await server.aclose()
