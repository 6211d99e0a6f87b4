"""`run --batch`: a suite's one-turn trials (`direct`) sent through the providers' batch APIs.

Batch requests cost half and need not stream: nightly runs. Each model's trials not yet stored
go up as batches (chunked at the provider's limits), each admitted by the spend guard first
(`admit`, priced as batched), each batch id stored in the run the moment it is submitted
(`RunStore.add_batch`), so a resume polls the batches a crash left instead of submitting their
trials again; one the provider no longer knows (404) is marked lost and its trials submitted
again. The batches are polled with a backoff (`Polling`, injectable), and each result is verified
as a `direct` trial on the normal path would be: the answer is replayed through `run_trial` by a
provider that answers with it (`_Answered`), so the verdict, the turn and the record are the normal
path's, with `batch_id` set and the batch's usage and stop reason. Each failed request's error is
read by `status_error`, as on the streamed path: a refusal of the model (401, 403, 404, a max_tokens
above its output limit: `ModelUnavailable`) stops the model, its trials left unstored; a transient
error (429, 5xx, 529, a timeout) is sent again in a new batch, up to `suite.retry.attempts` in all
(counted per trial within one invocation: a resume counts again), then is an `error` trial with the
last message; any other failure, an expired or a cancelled request, is an `error` trial at once. A batch
that fails as a whole, or a batch API that fails, stops that model alone (a run stop), its trials
left for a resume (one without --batch streams the trials of a model whose last batch failed as a
whole: `streamed_on_resume`); a server with no batch endpoints is bad input. Trials of other strategies
(follow-ups need turns) and searches run streamed meanwhile (`runner.arun`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from longhaul.errors import BadInput
from longhaul.providers import Message, Provider, ProviderError, Providers, Request
from longhaul.providers.address import parse_address
from longhaul.providers.base import End, RetrySettings, Sleep, status_error
from longhaul.providers.batches import BatchApi, BatchLimits, BatchNotFound, BatchResult, BatchState, NoBatchApi
from longhaul.providers.request import ThinkingDelta
from longhaul.providers.retry import ModelUnavailable, Transient
from longhaul.stop_reasons import normalise_stop_reason
from longhaul.store import RunStop, RunStore, StoredBatch
from longhaul.strategy import Settings, Strategy
from longhaul.task import Task, TaskParams
from longhaul.trial import TrialRecord, TrialSpec, run_trial


@dataclass(frozen=True)
class Polling:
    """How often a batch is polled: first `first` seconds after it is submitted (a batch stored by
    an earlier invocation: at once), then each wait `factor` times the last, never more than `cap`
    (a batch takes minutes to hours)."""

    first: float = 10.0
    factor: float = 2.0
    cap: float = 300.0
    sleep: Sleep = asyncio.sleep
    """What waits (a test's instant, recording one)."""

    def waits(self) -> Iterator[float]:
        wait = self.first
        while True:
            yield wait
            wait = min(self.cap, wait * self.factor)


def batched(strategy: Strategy) -> bool:
    """A strategy of one turn, the task's prompt (`direct`): what a batch can answer. Follow-ups need turns."""
    return strategy.graph is None


def check_batch_models(models: Sequence[str]) -> None:
    """`--batch` with a model that has no batch API is one line, before anything is sent."""
    for model in models:
        if parse_address(model).local:
            raise BadInput(f"--batch: {model} is a local llama.cpp model, which has no batch API; run it without --batch")


def check_plan_batches(the_plan: Any) -> None:
    """`check_batch_models` for the models of a plan's batched trials (a `runner.Plan`; a search's
    trials stream, so its models need no batch API)."""
    strategies = the_plan.catalog.strategies
    check_batch_models(sorted({s.model for s in the_plan.trials if batched(strategies[s.strategy])}))


def streamed_on_resume(store: RunStore, batch: bool) -> set[str]:
    """The models whose one-turn trials a resume streams though their run batched them: those whose
    server has no batch API, and, unless this resume is `--batch` (which tries a batch again), those
    whose last batch failed as a whole (a batch that keeps failing would never let the run finish)."""
    models = {s.model for s in store.manifest.stops if s.reason == "no_batch_api" and s.model is not None}
    if not batch:
        last = {b.model: b.state for b in store.batches()}  # in submission order: each model's last wins
        models |= {model for model, state in last.items() if state == "failed"}
    return models


def request_for(task: Task[Any], params: TaskParams, settings: Settings) -> Request:
    """The one request of a one-turn trial, as its first turn on the normal path sends it
    (`TrialContext.take_turn` with the task's prompt)."""
    return Request(
        system=task.prompt(params).system,
        messages=[Message(role="user", content=task.prompt(params).user)],
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        thinking_budget=settings.thinking_budget,
    )


def chunks(lines: Sequence[tuple[str, bytes]], limits: BatchLimits) -> Iterator[list[tuple[str, bytes]]]:
    """(key, encoded request) pairs in batches within the provider's request and byte limits."""
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for key, line in lines:
        if chunk and (len(chunk) >= limits.requests or size + len(line) > limits.bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append((key, line))
        size += len(line)
    if chunk:
        yield chunk


class _Answered(Provider):
    """A provider whose one answer is a batch result: the normal path verifies it, unchanged."""

    def __init__(self, model: str, result: BatchResult) -> None:
        super().__init__(parse_address(model), limit=asyncio.Semaphore(1), retry=RetrySettings(attempts=1))
        self._result = result

    async def _attempt(self, request: Request) -> AsyncGenerator[str | ThinkingDelta | End, None]:
        r = self._result
        if r.error is not None:
            raise ProviderError(f"{self.address.text}: {r.error}")
        if r.thinking:
            yield ThinkingDelta(text=r.thinking)
        if r.answer:
            yield r.answer
        stop = normalise_stop_reason(r.raw_stop_reason or "") or "other"
        yield End(r.raw_stop_reason, stop, r.usage, r.served_model, r.simulated)

    def _classify(self, exc: Exception) -> Transient | ProviderError:
        return ProviderError(f"{type(exc).__name__}: {exc}")


Finish = Callable[[TrialRecord], Awaitable[None]]
"""What the run does with a verified trial: judge it if it judges, store it, count it, show it."""


class BatchRun:
    """The batches of one run (or resume): submit what no stored batch holds, poll every open one,
    verify and finish each result. Each model's batches go on alone: one model's failure stops
    that model, never another's polls."""

    def __init__(
        self,
        store: RunStore,
        providers: Providers,
        tasks: Mapping[str, Task[Any]],
        strategies: Mapping[str, Strategy],
        settings_for: Callable[[TrialSpec], Settings],
        finish: Finish,
        note: Callable[[str], None],
        polling: Polling,
        started: Callable[[TrialSpec], None] = lambda spec: None,
        admit: Callable[[TrialSpec], bool] = lambda spec: True,
        release: Callable[[str], None] = lambda key: None,
        attempts: int = 1,
    ) -> None:
        """`attempts`: how many times in all a request that failed transiently (429, 5xx, 529, a
        timeout) is sent, each time again in a new batch: the streamed path's `suite.retry.attempts`."""
        self._store, self._providers = store, providers
        self._tasks, self._strategies = tasks, strategies
        self._settings_for, self._finish, self._note, self._polling = settings_for, finish, note, polling
        self._started = started
        self._admit, self._release = admit, release
        self._apis: dict[str, BatchApi] = {}
        self._no_api: list[str] = []
        self._submitting = asyncio.Lock()
        """One submission at a time, in order: a crash then leaves at most one batch the provider
        took but the store did not (models submitting at once could leave one each)."""
        self._attempts = attempts
        self._sent: dict[str, int] = {}
        """Times each trial's request went up in a batch in this invocation (a resume counts again)."""
        self.stopped: dict[str, Provider] = {}
        """Models a batch result refused for good (401, 403, 404, a max_tokens above the output limit:
        `ModelUnavailable`), with their streamed providers, marked unavailable as the streamed path
        marks them: the run's one stop line per model counts them (`runner._stops`)."""
        self.stops: list[RunStop] = []

    def held(self) -> set[str]:
        """Keys in stored batches whose results are not all stored: polled, never sent again."""
        return {k for b in self._store.batches() if b.state == "submitted" for k in b.keys}

    async def run(self, specs: Sequence[TrialSpec], trials: Mapping[str, TrialSpec]) -> list[RunStop]:
        """Submit `specs` (one-turn trials not stored) that no open batch holds, then follow every
        open batch until it ends; `trials`: the plan's trials by key, to find a stored batch's.
        A server without batch endpoints is bad input (`BadInput`, once every other model's batches
        are done): its trials are left for a run without --batch."""
        try:
            open_ = [b for b in self._store.batches() if b.state == "submitted"]
            held = {k for b in open_ for k in b.keys}
            if open_:
                self._note(f"batches: {len(open_)} submitted earlier, polled again ({len(held)} trials)")
            todo = [s for s in specs if s.key not in held]
            models = dict.fromkeys([b.model for b in open_] + [s.model for s in todo])
            await _all(self._model(m, [b for b in open_ if b.model == m], [s for s in todo if s.model == m], trials) for m in models)
            if self._no_api:
                raise BadInput(
                    "--batch: "
                    + "; ".join(self._no_api)
                    + f"; run it without --batch (its trials are not stored: longhaul resume {self._store.folder} streams them)"
                )
            return self.stops
        finally:
            for api in self._apis.values():
                await api.aclose()

    async def _api(self, model: str) -> BatchApi:
        if model not in self._apis:
            self._apis[model] = await self._providers.batch_api(model)
        return self._apis[model]

    async def _model(self, model: str, stored: list[StoredBatch], todo: list[TrialSpec], trials: Mapping[str, TrialSpec]) -> None:
        """One model's batches: those a crash left, and its trials submitted now. A failure of its
        batch API (after the SDK's retries) stops this model alone, its trials left for a resume."""
        admitted: list[TrialSpec] = []
        try:
            admitted = [s for s in todo if self._admit(s)]  # refused: left missing, the guard's run stop says so
            fresh = await self._submit(model, admitted)
            await _all([*(self._follow(b, trials, fresh=False) for b in stored), *(self._follow(b, trials, fresh=True) for b in fresh)])
        except NoBatchApi as exc:
            self._no_api.append(str(exc))
            # Recorded, so that a resume streams this model's trials instead of meeting the 404 again.
            self._store.add_stop(RunStop(reason="no_batch_api", model=model, message=str(exc), not_sent=len(admitted)))
        except ProviderError as exc:
            done = self._store.done_keys()
            left = {k for b in stored for k in b.keys if k in trials} | {s.key for s in todo}
            n = len(left - done)
            why = f"its batch API failed ({exc})"
            message = (
                f"{model}: {why}; its {n} trial{'s' if n != 1 else ''} not stored "
                f"{'are' if n != 1 else 'is'} left for a resume (longhaul resume {self._store.folder})"
            )
            self._stop(RunStop(reason="batch_failed", model=model, message=message, not_sent=n, why=why))
        finally:
            done = self._store.done_keys()
            for spec in admitted:
                if spec.key not in done:
                    self._release(spec.key)  # no longer expected to spend: the guard's projection drops it

    async def _submit(self, model: str, todo: list[TrialSpec]) -> list[StoredBatch]:
        if not todo or await self._is_stopped(model):
            return []  # a model refused for good is sent nothing more, batched or streamed
        async with self._submitting:
            return await self._submit_now(model, todo)

    async def _is_stopped(self, model: str) -> bool:
        """Refused for good, by a batch result or by a streamed trial of the same model."""
        return model in self.stopped or (await self._providers.get(model)).unavailable is not None

    async def _submit_now(self, model: str, todo: list[TrialSpec]) -> list[StoredBatch]:
        api = await self._api(model)
        lines = []
        sent: dict[str, int] = {}
        for spec in todo:
            task = self._tasks[spec.task]
            request = request_for(task, task.params(spec.params), self._settings_for(spec))
            lines.append((spec.key, api.encode(spec.key, request)))
            sent[spec.key] = request.max_tokens
            self._sent[spec.key] = self._sent.get(spec.key, 0) + 1
        submitted = []
        for chunk in chunks(lines, api.limits):
            batch_id = await api.submit([line for _, line in chunk])
            # One model's requests share its max_tokens (`runner.trial_settings`): the batch keeps it.
            batch = StoredBatch(batch_id=batch_id, model=model, keys=[k for k, _ in chunk], state="submitted", max_tokens=sent[chunk[0][0]])
            self._store.add_batch(batch)  # before anything else: a crash from here on loses no batch id
            self._note(f"batch {batch_id}: {model}, {len(chunk)} request{'s' if len(chunk) != 1 else ''} submitted")
            submitted.append(batch)
        return submitted

    async def _follow(self, batch: StoredBatch, trials: Mapping[str, TrialSpec], *, fresh: bool) -> None:
        """Poll a batch until it ends and finish its results; `fresh`: submitted by this invocation,
        so first polled `Polling.first` after submission (a stored one is polled at once)."""
        api = await self._api(batch.model)
        waits = self._polling.waits()
        seen: tuple[int, int] | None = None
        try:
            if fresh:
                await self._polling.sleep(next(waits))
            while True:
                state = await api.poll(batch.batch_id)
                if (state.done, state.failed) != seen and state.status == "pending":
                    seen = (state.done, state.failed)
                    self._note(
                        f"batch {batch.batch_id}: {state.raw_status}, {state.done}/{state.total or len(batch.keys)} back, "
                        f"{state.failed} failed"
                    )
                if state.status != "pending":
                    break
                await self._polling.sleep(next(waits))
            if state.status == "failed":
                self._failed(batch, state)
                return
            results = {r.custom_id: r for r in await api.results(batch.batch_id)}
        except BatchNotFound:
            if fresh:
                raise  # a batch it took moments ago: not a lost batch, a broken batch API
            await self._lost(batch, trials)
            return
        done = self._store.done_keys()
        refused = 0
        again: list[TrialSpec] = []
        last = ""
        for key in batch.keys:
            spec = trials.get(key)
            if spec is None or key in done:
                continue  # stored before a crash, or not this plan's (the suite is checked unchanged on resume)
            result = results.get(key) or BatchResult(custom_id=key, error=f"no result: the batch ended {state.raw_status} before it ran")
            error = status_error(result.status, result.error or "", None) if result.status is not None else None
            if isinstance(error, ModelUnavailable):
                # As the streamed path: a bad key, a missing permission, an unknown model or a
                # max_tokens above its output limit is about the model, not this trial. Its streamed
                # provider is stopped too, so that its other trials are not sent; these stay missing.
                provider = self.stopped.get(batch.model) or await self._providers.get(batch.model)
                provider.unavailable = provider.unavailable or error
                self.stopped[batch.model] = provider
                refused += 1
                continue
            tries = self._sent.setdefault(key, 1)  # a batch an earlier invocation submitted: one attempt
            if isinstance(error, Transient) and tries < self._attempts:
                again.append(spec)  # as the streamed path retries it: sent again, in a new batch (or, the model stopped, left)
                last = result.error or ""
                continue
            if isinstance(error, Transient) and tries > 1:
                result = result.model_copy(update={"error": f"{result.error} (the last of {tries} attempts, each in a batch)"})
            await self._finish(await self._verify(spec, result, batch, retries=tries - 1))
        self._store.set_batch_state(batch.batch_id, "ended")
        left = f", {refused} refused for good left unstored (the model is stopped)" if refused else ""
        retried = f", {len(again)} failed transiently" if again else ""
        self._note(
            f"batch {batch.batch_id}: {state.raw_status}, {len(batch.keys) - refused - len(again)} trials stored "
            f"({state.failed} failed requests{left}{retried})"
        )
        if not again:
            return
        n = len(again)
        what = f"batch {batch.batch_id}: {batch.model}: {n} request{'s' if n != 1 else ''} failed transiently ({last})"
        if await self._is_stopped(batch.model):
            # Left unstored with the model's refused trials, whatever order the results came in.
            self._note(f"{what}; left for a resume, as the model is stopped")
            return
        # A stored batch's trials were admitted by an earlier invocation's guard: this one's asks again.
        admitted = again if fresh else [s for s in again if self._admit(s)]
        self._note(f"{what}; submitted again in a new batch (up to {self._attempts} attempts in all, as streamed)")
        try:
            await _all(self._follow(b, trials, fresh=True) for b in await self._submit(batch.model, admitted))
        finally:
            if not fresh:
                done = self._store.done_keys()
                for spec in admitted:
                    if spec.key not in done:
                        self._release(spec.key)

    async def _lost(self, batch: StoredBatch, trials: Mapping[str, TrialSpec]) -> None:
        """A stored batch the provider no longer knows: none of its results can come, so its trials
        not stored are submitted again (they were never answered from our side)."""
        self._store.set_batch_state(batch.batch_id, "lost")
        done = self._store.done_keys()
        again = [trials[k] for k in batch.keys if k in trials and k not in done]
        self._note(
            f"batch {batch.batch_id}: {batch.model}: the provider no longer knows it (HTTP 404), marked lost; "
            f"its {len(again)} trial{'s' if len(again) != 1 else ''} not stored submitted again"
        )
        admitted = [s for s in again if self._admit(s)]
        try:
            await _all(self._follow(b, trials, fresh=True) for b in await self._submit(batch.model, admitted))
        finally:
            done = self._store.done_keys()
            for spec in admitted:
                if spec.key not in done:
                    self._release(spec.key)

    def _failed(self, batch: StoredBatch, state: BatchState) -> None:
        self._store.set_batch_state(batch.batch_id, "failed")
        n = len(batch.keys)
        why = f"batch {batch.batch_id} failed as a whole ({state.message})"
        message = (
            f"{batch.model}: {why}; its {n} trial{'s were' if n != 1 else ' was'} not answered "
            f"(longhaul resume {self._store.folder} streams them, at full price; resume --batch tries a batch again)"
        )
        self._stop(RunStop(reason="batch_failed", model=batch.model, message=message, not_sent=n, why=why))

    def _stop(self, stop: RunStop) -> None:
        self._store.add_stop(stop)
        self.stops.append(stop)
        self._note(stop.message)

    async def _verify(self, spec: TrialSpec, result: BatchResult, batch: StoredBatch, retries: int = 0) -> TrialRecord:
        """The trial as the normal path would record it, from the batch's answer, at the max_tokens
        the batch sent (a resume may plan another; its budget check refuses that while batches pend);
        `retries`: the earlier batches its request went up in, failed transiently (as a streamed
        trial counts its failed attempts)."""
        task = self._tasks[spec.task]
        self._started(spec)
        # The answer is whole and paid for: no early stop, the provider's own usage is what it cost.
        settings = replace(self._settings_for(spec), early_stop=False)
        if batch.max_tokens is not None:
            settings = replace(settings, max_tokens=batch.max_tokens)
        record = await run_trial(
            spec, _Answered(spec.model, result), task, task.params(spec.params), self._strategies[spec.strategy], settings
        )
        return record.model_copy(update={"batch_id": batch.batch_id, "retries": record.retries + retries})


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Await them together; when one raises, the others are cancelled (not left running, as
    `asyncio.gather` leaves them) before its error goes on."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
