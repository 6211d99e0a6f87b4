"""The run: a suite's trials, run concurrently, each stored the moment it ends.

`arun` is the engine (async); `run` is the Python API for scripts, and the CLI is a thin layer
over both. The engine talks to a display only through the `Display` protocol.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from longhaul._version import __version__
from longhaul.batch import BatchRun, Polling, batched, check_plan_batches, streamed_on_resume
from longhaul.catalog import Catalog
from longhaul.display.protocol import Display, NullDisplay, RunControl, RunInfo, RunSummary
from longhaul.errors import BadInput, StoreError
from longhaul.model_limits import Fit, LimitEntry, check, limit_fix, needs_prompts, read_table, read_user, refuse, used
from longhaul.providers import ModelUnavailable, Provider, Providers, RetryRecord
from longhaul.providers.address import parse_address
from longhaul.providers.local_model import check_context, describe
from longhaul.providers.retry import OutputLimitExceeded
from longhaul.refusal_judge import RefusalJudge
from longhaul.refusal_judge import check_address as check_judge
from longhaul.search import Search, next_trials
from longhaul.shard import Shard, parse_shard
from longhaul.spend import SpendGuard, SpendLimits
from longhaul.store import Manifest, RunStop, RunStore, StoredTrials, git_revision, read_index, read_manifest
from longhaul.strategy import Listener, Settings, Turn
from longhaul.suite import Cell, Suite, cells, differences, find_suite, parse_suite, runnable_limits, searches, with_limit_flags
from longhaul.summary import Tally
from longhaul.task import Task, TaskParams
from longhaul.tokens import count_tokens
from longhaul.trial import TrialRecord, TrialSpec, run_trial, trial_key
from longhaul.verdict import Outcome

DEFAULT_REPORTS = Path("reports")


class RunResult(BaseModel):
    """What a run left behind: its folder, and counts of its trials (the trials are in the store)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_dir: Path
    manifest: Manifest
    total: int
    """Trials the suite has."""
    interrupted: bool = False
    stops: list[RunStop] = Field(default_factory=list)
    """Why this run (or resume) left trials unsent on purpose: models stopped by auth failures,
    the spend guard. Also recorded in the manifest."""
    tally: Tally = Field(default_factory=Tally, repr=False)
    """Outcome counts by cell and the refusal judge's totals, of every trial in the store (this
    run's and any earlier run's it resumed), counted as each was stored."""

    @property
    def trials(self) -> StoredTrials:
        """Every trial in the store, this run's and any earlier run's it resumed, read from the store
        when iterated (in batches: never all in memory at once); `len` and indexing work too."""
        return StoredTrials(self.run_dir)

    @property
    def stored(self) -> int:
        """Trials in the store."""
        return self.tally.trials

    @property
    def outcomes(self) -> Counter[str]:
        return self.tally.outcomes


class Plan(BaseModel):
    """A suite resolved into cells and trials, before anything is sent."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    suite: Suite
    suite_path: str | None
    catalog: Catalog
    """The tasks and strategies the trials were planned with: the run uses these, and records where
    they came from."""
    cells: list[Cell]
    trials: list[TrialSpec]
    """The trials to run: with a shard, only its share."""
    shard: Shard | None = None
    """The share of the suite's trials this plan runs (`--shard i/n`); None: all of them."""
    searches: list[Search] = Field(default_factory=list)
    """The suite's adaptive searches: their trials are planned round by round from the store."""
    fits: list[Fit] = Field(default_factory=list)
    """Each model's max_tokens against its known limits (`longhaul/model_limits.py`): what it is
    sent, and the refusal, if the suite cannot run on it as written (`check_limits`)."""
    limit_entries: dict[str, LimitEntry] = Field(default_factory=dict)
    """The `--model-limits` entries its models are checked against: a run records them in its
    manifest, for its resumes."""

    def max_tokens(self, model: str) -> int:
        """What each request to `model` is sent: the suite's max_tokens, or its limit when clamped."""
        return next((f.sent for f in self.fits if f.model == model), self.suite.max_tokens)


def plan(
    suite: Suite | str | Path,
    *,
    models: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    max_connections: int | None = None,
    tasks_dir: Path | str | None = None,
    agents_dir: Path | str | None = None,
    refusal_judge: str | None = None,
    catalog: Catalog | None = None,
    shard: Shard | str | None = None,
    concurrency: int | None = None,
    rpm: Sequence[str] = (),
    tpm: Sequence[str] = (),
    model_limits: Path | str | Mapping[str, LimitEntry] | None = None,
    over_model_limit: Literal["refuse", "clamp"] | None = None,
) -> Plan:
    """Resolve a suite (a `Suite`, a path or a built-in name) and command-line choices into trials.
    The tasks and strategies are `catalog`'s, or those of `tasks_dir` and `agents_dir` with the built-ins.
    With `shard` (`"2/3"` or a `Shard`), only the trials whose keys are that shard's. `rpm`/`tpm` are the flags' values:
    `N` for every model, `MODEL=N` for one. Each model's max_tokens is checked against the known
    limits (the built-in table, with `model_limits` over it: a TOML file, or a run's recorded
    entries): `Plan.fits`; `over_model_limit` replaces the suite's."""
    if isinstance(shard, str):
        shard = parse_shard(shard)
    if catalog is None:
        catalog = Catalog(tasks_dir, agents_dir)
    if refusal_judge is not None:
        check_judge(refusal_judge)  # the flag named in the message, not the suite field; keys wait for the run
    overrides: dict[str, Any] = {
        "models": list(models) if models else None,
        "strategies": list(strategies) if strategies else None,
        "max_connections": max_connections,
        "concurrency": concurrency,
        "refusal_judge": refusal_judge,
        "over_model_limit": over_model_limit,
    }
    text, where = "", "<suite>"
    if isinstance(suite, Suite):
        resolved = Suite.model_validate(runnable_limits(suite.model_dump() | {k: v for k, v in overrides.items() if v is not None}))
        path = None
    else:
        found = find_suite(suite)
        text, where, path = found.read_text(encoding="utf-8"), str(found), str(found)
        resolved = parse_suite(text, where, overrides)
    resolved = with_limit_flags(resolved, rpm, tpm)
    task_map = catalog.tasks
    resolved_cells = cells(resolved, task_map, catalog.strategies, where, text)
    user = read_user(Path(model_limits)) if isinstance(model_limits, str | Path) else dict(model_limits or {})
    growing = {c.model: resolved.max_turns for c, _ in resolved_cells if catalog.strategies[c.strategy].grows_conversation}
    fits = _fits(resolved, resolved_cells, task_map, user, path or "the suite", growing)
    specs = []
    for cell, params in resolved_cells:
        task = task_map[cell.task]
        for sample in range(cell.samples):
            specs.append(
                TrialSpec(
                    key=trial_key(task, params, cell.model, cell.strategy, sample),
                    model=cell.model,
                    task=cell.task,
                    params=cell.params,
                    size=cell.size,
                    strategy=cell.strategy,
                    sample=sample,
                    seed=resolved.seed + sample,
                )
            )
    searched = searches(resolved, task_map, where, text, {f.model: f.sent for f in fits})
    if shard is not None:
        if searched:
            raise BadInput(f"--shard {shard}: a suite with a [tasks.search] cannot be sharded (each round depends on the last)")
        specs = [s for s in specs if shard.owns(s.key)]
    return Plan(
        suite=resolved,
        suite_path=path,
        catalog=catalog,
        cells=[c for c, _ in resolved_cells],
        trials=specs,
        shard=shard,
        searches=searched,
        fits=fits,
        limit_entries=used(user, resolved.models),
    )


def _fits(
    suite: Suite,
    planned: Sequence[tuple[Cell, TaskParams]],
    tasks: Mapping[str, Task[Any]],
    user: Mapping[str, LimitEntry],
    where: str,
    growing: Mapping[str, int],
) -> list[Fit]:
    """Each model's max_tokens against its limits; the prompts are counted only for the models
    whose context window is known (the longest first prompt of their cells, and of their searches at `high`)."""
    table = read_table(user)
    prompts: dict[str, int] = {}
    for model in needs_prompts(suite.models, table):
        firsts = [(tasks[cell.task], params) for cell, params in planned if cell.model == model]
        for entry in suite.tasks:
            task = tasks.get(entry.task)
            if entry.search is not None and task is not None:
                firsts += [(task, task.params(combo | {entry.search.param: entry.search.high})) for combo in entry.combinations()]
        prompts[model] = max((count_tokens(task.prompt(params).text, model) for task, params in firsts), default=0)
    return check(suite.models, suite.max_tokens, suite.thinking_budget, suite.over_model_limit, table, where, prompts, growing)


def check_limits(the_plan: Plan) -> None:
    """Refuse, in one line naming the model, its limit and the setting, a plan whose max_tokens is
    above a model's known output limit (unless the suite clamps) or does not fit its context."""
    refuse(the_plan.fits)


def check_budgets(store: RunStore, the_plan: Plan, resume: Path) -> None:
    """Refuse a resume that would send a model with stored trials another max_tokens than they
    were sent (a changed `--model-limits` entry or `over_model_limit`, or a longhaul whose table
    changed): budget verdicts at two budgets would be pooled in one cell. A model with no stored
    trial (one its provider refused) may be sent anything that passes the limit check."""
    for model, sent in sorted(store.max_tokens_sent().items()):
        # A trial stored before max_tokens was recorded was sent the suite's: nothing was clamped then.
        was = {store.manifest.suite.max_tokens if n is None else n for n in sent}
        now = the_plan.max_tokens(model)
        if was != {now}:
            fit = next((f for f in the_plan.fits if f.model == model), None)
            why = (
                f"clamped to its output limit, {fit.limit.where}"
                if fit is not None and fit.clamped and fit.limit
                else "the suite's max_tokens"
            )
            raise BadInput(
                f"--resume {resume}: model {model!r}: its trials (stored, or in a batch still pending) were sent max_tokens {' and '.join(f'{n:,}' for n in sorted(was))},"
                f" this resume would send {now:,} ({why}); budget verdicts at two budgets would be pooled in one cell; start a new run"
            )


def trial_settings(settings: Settings, the_plan: Plan, spec: TrialSpec) -> Settings:
    """The settings one trial is run with: the run's, with its seed and its model's max_tokens."""
    return replace(settings, seed=spec.seed, max_tokens=the_plan.max_tokens(spec.model))


class _Relay(Listener):
    """Passes one trial's events to the display."""

    def __init__(self, display: Display, spec: TrialSpec) -> None:
        self._display, self._spec = display, spec

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        self._display.trial_delta(self._spec, kind, text)

    def progress(self, items_correct: int, failed: bool) -> None:
        self._display.trial_progress(self._spec, items_correct, failed)

    def restart(self, retry: RetryRecord) -> None:
        self._display.trial_retry(self._spec, retry)

    def turn(self, turn: Turn) -> None:
        self._display.trial_turn(self._spec, turn)


def new_run_dir(base: Path, suite: Suite) -> Path:
    """Make a new, empty run folder under `base` and return it: `<UTC time>-<suite>-<6 hex>`. The
    random suffix and an exclusive `mkdir` (retried with another suffix if the name is taken) mean
    two runs started at once, in one process or two, never get the same folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        base.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            path = base / f"{stamp}-{suite.name}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path
    except OSError as exc:
        raise StoreError(f"{base}: cannot make a run folder there ({exc.strerror or exc}); pass --out DIR") from None
    raise StoreError(f"{base}: no free run folder name after 100 tries; pass --out DIR")


def check_keys(suite: Suite, env: Mapping[str, str] | None = None) -> None:
    """Every model's (and the refusal judge's) address and key, before a folder is made or a
    request sent: a missing key is one `BadInput` line naming the variable."""
    checker = Providers(env=env)
    for model in suite.models:
        if checker.check(model).local:
            check_context(parse_address(model), suite.max_tokens)
    if suite.refusal_judge is not None:
        check_judge(suite.refusal_judge, checker)


async def arun(
    the_plan: Plan,
    *,
    out: Path | None = None,
    resume: Path | None = None,
    display: Display | None = None,
    control: RunControl | None = None,
    env: Mapping[str, str] | None = None,
    limits: SpendLimits | None = None,
    batch: bool = False,
    polling: Polling | None = None,
) -> RunResult:
    """Run every trial of the plan not already in the store; store each as it ends. The tasks and
    strategies are the plan's catalog's, recorded in a new run's manifest. With `limits`, the spend
    guard stops starting trials once the projected spend would pass them (`longhaul.spend`). With
    `batch`, the one-turn trials go through the providers' batch APIs (`longhaul.batch`, polled as
    `polling` says), the others streamed meanwhile; a resume of a run that stored batches does so too."""
    display = display or NullDisplay()
    control = control or RunControl()
    suite = the_plan.suite
    task_map = the_plan.catalog.tasks
    strategy_map = the_plan.catalog.strategies
    check_keys(suite, env)  # a missing key stops the run here: no folder, no request
    check_limits(the_plan)  # so does a max_tokens above a model's known output limit
    if batch:
        check_plan_batches(the_plan)
    guard = SpendGuard(limits, suite, task_map) if limits is not None and limits.active else None
    if resume is not None:
        store = RunStore.open(resume)
        changed = differences(store.manifest.suite, suite)
        if changed:
            store.close()
            raise BadInput(f"--resume {resume}: the suite changed since that run, so its trials would not match: " + "; ".join(changed))
        if store.manifest.shard != the_plan.shard:
            store.close()
            was, now = store.manifest.shard or "the whole suite", the_plan.shard or "the whole suite"
            raise BadInput(f"--resume {resume}: that run ran shard {was}, not {now}; resume it with the same --shard")
        try:
            check_budgets(store, the_plan, resume)
        except BadInput:
            store.close()
            raise
        kept = store.manifest
        if (kept.suite.over_model_limit, kept.model_limits) != (suite.over_model_limit, the_plan.limit_entries):
            # What this resume checked its models with is what the next one does.
            store.update_manifest(
                suite=kept.suite.model_copy(update={"over_model_limit": suite.over_model_limit}), model_limits=the_plan.limit_entries
            )
    else:
        run_dir = out if out is not None else new_run_dir(DEFAULT_REPORTS, suite)
        manifest = Manifest(
            run_id=run_dir.name,
            suite=suite,
            suite_path=the_plan.suite_path,
            catalog=the_plan.catalog.source,
            longhaul_version=__version__,
            git_revision=git_revision(Path(__file__).parent),
            trials_total=len(the_plan.trials),
            shard=the_plan.shard,
            local_models=[describe(a, suite.temperature) for a in map(parse_address, suite.models) if a.local],
            model_limits=the_plan.limit_entries,
        )
        store = RunStore.create(run_dir, manifest)
    try:
        async with Providers(
            max_connections=suite.max_connections,
            retry=suite.retry,
            env=env,
            tasks=task_map,
            limits=suite.limits,
            temperature=suite.temperature,
        ) as providers:
            done = store.done_keys()
            todo = [s for s in the_plan.trials if s.key not in done]
            tally = Tally.of(store.trials()) if done else Tally()  # a resumed run's earlier trials, streamed
            if guard is not None and done:
                for earlier in store.trials():
                    guard.observe(earlier)  # their cells' means: what the next trials of each are expected to spend
            display.run_started(
                RunInfo(
                    store.folder,
                    suite.name,
                    len(the_plan.trials),
                    len(the_plan.trials) - len(todo),
                    suite.simulated_only(),
                    rates=providers.rates,
                    searches=len(the_plan.searches),
                )
            )
            settings = Settings(
                max_tokens=suite.max_tokens,
                temperature=suite.temperature,
                thinking_budget=suite.thinking_budget,
                early_stop=suite.early_stop,
                max_turns=suite.max_turns,
                resume_tail=suite.resume_tail,
                range_size=suite.range_size,
            )

            def settings_for(spec: TrialSpec) -> Settings:
                """One trial's settings, streamed or batched: the one place a per-trial setting is made."""
                return trial_settings(settings, the_plan, spec)

            judge = None
            if suite.refusal_judge is not None:
                judge = RefusalJudge(suite.refusal_judge, await providers.get(suite.refusal_judge), store)
            interrupted = False
            stops: list[RunStop] = []
            used: dict[str, Provider] = {}  # the providers of the models trials were started for

            async def one(spec: TrialSpec) -> None:
                provider = used[spec.model] = await providers.get(spec.model)
                if provider.unavailable is not None:
                    return  # the model refused for good (401, 403, 404): this trial stays missing, for a resume
                if guard is not None and not guard.admit(spec):
                    return  # the spend guard stopped the run: this trial stays missing, for a resume
                task = task_map[spec.task]
                display.trial_started(spec)
                params = task.params(spec.params)
                try:
                    record = await run_trial(
                        spec,
                        provider,
                        task,
                        params,
                        strategy_map[spec.strategy],
                        settings_for(spec),
                        _Relay(display, spec),
                    )
                except ModelUnavailable:
                    # The refusal is about the key or the name, not this trial: it is not stored,
                    # so a resume once that is fixed runs it (`_stops` counts it as not sent).
                    display.trial_dropped(spec)
                    return
                await finish(record)

            async def finish(record: TrialRecord) -> None:
                if judge is not None:
                    task = task_map[record.spec.task]
                    record = await judge.review(record, task, task.params(record.spec.params))
                store.record(record)
                if guard is not None:
                    guard.finished(record)
                tally.add(record)
                display.trial_finished(record)

            batches: BatchRun | None = None
            in_batches: list[TrialSpec] = []
            if batch or store.batches():  # a resume of a batch run polls its batches and batches what is left
                batches = BatchRun(
                    store,
                    providers,
                    task_map,
                    strategy_map,
                    settings_for,
                    finish,
                    display.run_note,
                    polling or Polling(),
                    started=display.trial_started,
                    admit=(lambda spec: guard.admit(spec, batch=True)) if guard is not None else (lambda spec: True),
                    release=guard.release if guard is not None else (lambda key: None),
                    attempts=suite.retry.attempts,
                )
                held = batches.held()
                if the_plan.searches:
                    # A search's next round is planned from its stored results: it cannot wait on a batch.
                    display.run_note(
                        "--batch: searches stream, at full price (each round depends on the results stored); "
                        "only the fixed one-turn trials are batched"
                    )
                # A model whose server has no batch API, or whose last batch failed as a whole, streams on resume, as its message said.
                unbatched = streamed_on_resume(store, batch)
                in_batches = [s for s in todo if s.key in held or (batched(strategy_map[s.strategy]) and s.model not in unbatched)]
                if streaming := sorted({s.model for s in todo if s.model in unbatched and batched(strategy_map[s.strategy])}):
                    display.run_note(f"--batch: {', '.join(streaming)}: its one-turn trials stream on this resume, at full price")
            batch_keys = {s.key for s in in_batches}

            async def worker(pending: Iterator[TrialSpec]) -> None:
                # `concurrency` workers take a round's trials in order, one at a time each: only a
                # trial in flight is an asyncio task (its own, so that it can be cancelled alone); a
                # trial waiting its turn is a spec in the plan, however many the run has.
                for spec in pending:
                    if not await control.wait_to_start():
                        return
                    if spec.key in control.cancelled:
                        continue
                    job = asyncio.create_task(one(spec))
                    control.track(spec.key, job)
                    try:
                        await job
                    except asyncio.CancelledError:
                        me = asyncio.current_task()
                        if spec.key not in control.cancelled or (me is not None and me.cancelling()):
                            raise  # the run is being cancelled, not this one trial
                    finally:
                        control.untrack(spec.key)
                        if guard is not None:
                            guard.release(spec.key)

            workers: list[asyncio.Task[None]] = []
            sent: set[str] = set(batch_keys)
            round_ = [s for s in todo if s.key not in batch_keys] + _search_round(the_plan, store, sent)
            batch_job = asyncio.create_task(batches.run(in_batches, {s.key: s for s in the_plan.trials})) if batches else None
            try:
                while round_:  # the fixed trials and the searches' first round; then each search's next, until none
                    sent.update(spec.key for spec in round_)
                    pending = iter(round_)
                    round_workers = [asyncio.create_task(worker(pending)) for _ in range(min(suite.concurrency, len(round_)))]
                    workers += round_workers
                    await asyncio.gather(*round_workers)
                    round_ = [] if control.stopping else _search_round(the_plan, store, sent)
                batch_stops = await batch_job if batch_job is not None else []
                if batches is not None:
                    used.update(batches.stopped)  # one stop line per model, however its trials were sent
                stops = _stops(store, todo, used) + batch_stops
                if guard is not None and guard.message is not None:
                    n = guard.refused
                    message = (
                        f"spend guard, {guard.message}: {n} trial{'s' if n != 1 else ''} not started, those in flight finished and stored "
                        f"(resume with: longhaul resume {store.folder}, a new limit optional)"
                    )
                    stops.append(RunStop(reason="spend_guard", message=message, not_sent=n))
                    store.add_stop(stops[-1])
            except BaseException:
                # Cancelled (Ctrl-C), or one trial failed (a full disk, a bug): stop every other
                # trial before the providers and the store are closed, so none of them runs on.
                interrupted = True
                for w in [*workers, *([batch_job] if batch_job is not None else [])]:
                    w.cancel()
                await asyncio.gather(*workers, *([batch_job] if batch_job is not None else []), return_exceptions=True)
                raise
            finally:
                stored = store.count()
                interrupted = (
                    interrupted or control.stopping or stored < len(the_plan.trials) or bool(_search_round(the_plan, store, set()))
                )
                outcomes = store.outcome_counts()
                # A model stopped is said as such: "interrupted" would read as a Ctrl-C or a crash.
                stopped = [
                    f"{s.model}'s {s.not_sent} not sent: {s.why or s.reason.replace('_', ' ')}" for s in stops if s.model is not None
                ]
                open_batches = sum(b.state == "submitted" for b in store.batches()) if batches is not None else 0
                display.run_finished(
                    RunSummary(
                        store.folder, len(the_plan.trials), stored, outcomes, interrupted, bool(the_plan.searches), stopped, open_batches
                    )
                )
        return RunResult(
            run_dir=store.folder, manifest=store.manifest, total=len(the_plan.trials), interrupted=interrupted, stops=stops, tally=tally
        )
    finally:
        store.close()


def _search_round(the_plan: Plan, store: RunStore, sent: set[str]) -> list[TrialSpec]:
    """The searches' next trials, from what is stored, leaving out any this run already sent: one
    sent but not stored (its model refused, the spend guard) stalls its search until a resume."""
    if not the_plan.searches:
        return []
    outcomes = cast(dict[str, Outcome], {key: outcome for key, _, _, _, _, outcome in read_index(store.folder)})
    return [s for s in next_trials(the_plan.searches, outcomes) if s.key not in sent and s.key not in outcomes]


def _stops(store: RunStore, todo: list[TrialSpec], used: Mapping[str, Provider]) -> list[RunStop]:
    """The models stopped by a refused key, a missing permission or an unknown model, each with
    the trials it was not sent, recorded in the manifest."""
    done = store.done_keys()
    unsent = Counter(s.model for s in todo if s.key not in done)
    stops = []
    for model, provider in used.items():
        reason = provider.unavailable_reason()
        if reason is None:
            continue
        n = unsent[model]
        left = f"its {n} remaining trial{'s were' if n != 1 else ' was'} not sent" if n else "no trial of it was left to send"
        if isinstance(provider.unavailable, OutputLimitExceeded):
            message = f"{model}: {reason}; {left}; {limit_fix(model, provider.unavailable, store.folder, stored=model in store.max_tokens_sent())}"
        else:
            message = f"{model}: {reason}; {left} (resume after fixing it: longhaul resume {store.folder})"
        stop = RunStop(reason="model_unavailable", model=model, message=message, not_sent=n, why=reason)
        store.add_stop(stop)
        stops.append(stop)
    return stops


def run(
    suite: Suite | str | Path,
    *,
    models: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    out: Path | str | None = None,
    resume: Path | str | None = None,
    max_connections: int | None = None,
    display: Display | None = None,
    tasks_dir: Path | str | None = None,
    agents_dir: Path | str | None = None,
    refusal_judge: str | None = None,
    shard: Shard | str | None = None,
    concurrency: int | None = None,
    limits: SpendLimits | None = None,
    model_limits: Path | str | Mapping[str, LimitEntry] | None = None,
) -> RunResult:
    """Run a suite (a `Suite`, a path, or a built-in name such as `"demo"`) and return its results.

    Command-line choices are the keyword arguments: they override the suite. With `resume`, only
    trials missing from that run's store are run, and the suite must be the one it was run with
    (its `refusal_judge`, `concurrency` and `max_connections` aside: runtime choices). With `shard`
    (`"2/3"` or a `Shard`), only that share of the trials is run: `longhaul merge` joins the shards.
    `model_limits`: a TOML file of models' limits over the built-in table (`--model-limits`).
    """
    if resume is not None and model_limits is None:
        model_limits = read_manifest(Path(resume)).model_limits  # the entries the run was checked with, again
    the_plan = plan(
        suite,
        models=models,
        strategies=strategies,
        max_connections=max_connections,
        concurrency=concurrency,
        tasks_dir=tasks_dir,
        agents_dir=agents_dir,
        refusal_judge=refusal_judge,
        shard=parse_shard(shard) if isinstance(shard, str) else shard,
        model_limits=model_limits,
    )
    return asyncio.run(
        arun(the_plan, out=Path(out) if out else None, resume=Path(resume) if resume else None, display=display, limits=limits)
    )


def resume_plan(
    run_dir: Path,
    tasks_dir: Path | str | None = None,
    agents_dir: Path | str | None = None,
    refusal_judge: str | None = None,
    *,
    concurrency: int | None = None,
    max_connections: int | None = None,
    rpm: Sequence[str] = (),
    tpm: Sequence[str] = (),
    model_limits: Path | str | None = None,
    over_model_limit: Literal["refuse", "clamp"] | None = None,
) -> Plan:
    """The plan of an earlier run, from its manifest (for `longhaul resume RUN`): its tasks and
    strategies unless other folders are given, its refusal judge and runtime limits (concurrency,
    connections, rate limits) unless others are, its `--model-limits` entries unless a file is
    given, its `over_model_limit` unless another is; a shard's run plans only its share."""
    manifest = read_manifest(run_dir)
    catalog = Catalog.of_run(run_dir, manifest.catalog, tasks_dir, agents_dir)
    return plan(
        manifest.suite,
        refusal_judge=refusal_judge,
        catalog=catalog,
        shard=manifest.shard,
        concurrency=concurrency,
        max_connections=max_connections,
        rpm=rpm,
        tpm=tpm,
        model_limits=model_limits if model_limits is not None else manifest.model_limits,
        over_model_limit=over_model_limit,
    )
