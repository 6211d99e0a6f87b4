"""What a run measured, aggregated from its store: the data of `results.json`, `summary.md` and
`report.html` alike (`longhaul schema results` prints this model's JSON schema)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from longhaul.catalog import Catalog
from longhaul.dryrun import Price
from longhaul.report.stats import wilson
from longhaul.store import Manifest, read_manifest, read_trials
from longhaul.tokens import needed_tokens as tokens_needed
from longhaul.trial import TrialRecord
from longhaul.verdict import OUTCOMES, VERDICTS, Outcome


class Share(BaseModel):
    """k of n, with its 95% Wilson interval."""

    count: int
    """Trials with the property."""
    of: int
    """Trials counted: for a model's rate, only trials with a verdict (never a provider error)."""
    share: float | None
    """count / of (None when of is 0)."""
    low: float | None
    """Lower end of the 95% Wilson interval."""
    high: float | None
    """Upper end of the 95% Wilson interval."""

    @classmethod
    def of_counts(cls, k: int, n: int) -> Share:
        ci = wilson(k, n)
        return cls(count=k, of=n, share=k / n if n else None, low=ci[0] if ci else None, high=ci[1] if ci else None)


class CellResult(BaseModel):
    """One model, task, size and strategy. Its rates and medians are over `verdicts`, the trials
    the model answered: a provider failure says nothing about the model."""

    model: str
    simulated: bool
    """The model is longhaul's simulated model: not a measurement of a real one."""
    task: str
    size: int
    params: dict[str, Any]
    strategy: str
    expectation: str
    """`should_answer` or `should_abstain`."""
    trials: int
    """Trials stored, provider errors included."""
    verdicts: int
    """Trials that ended in a verdict on the model (every outcome but `error`): the denominator
    of `outcomes` and the population of every median below."""
    provider_errors: Share
    """Trials that ended in `error` (the provider failed after retries), over `trials`."""
    outcomes: dict[Outcome, Share]
    """Share of each model outcome over `verdicts` (`error` is not one: see `provider_errors`)."""
    items_expected: int | None
    median_items_correct: float | None
    """Median correct prefix."""
    median_first_error: float | None
    """Median 0-based index of the first wrong item, over `cant_do` trials."""
    median_input_tokens: float | None
    median_output_tokens: float | None
    median_thinking_tokens: float | None
    """Reasoning tokens where the provider reports them."""
    median_turns: float | None
    retries: int
    """Failed attempts, over all the cell's trials (errors included: retries are the provider's)."""
    median_seconds: float | None
    cost_usd: float | None = None
    """Total cost of all the cell's trials, errors included (they were paid for), where a price was
    given (longhaul never guesses)."""
    needed_tokens: int | None = None
    """Output tokens a complete answer needs, by the model's tokenizer (o200k as an estimate)."""
    max_tokens: int
    """The request budget."""


class Elasticity(BaseModel):
    """How far a won't-do yields to a follow-up, for one cell of a follow-up strategy."""

    model: str
    simulated: bool
    task: str
    size: int
    strategy: str
    direct_wont_do: Share | None
    """Share of `wont_do` among the verdicts under the single-turn strategies (`direct`) for the
    same model, task and size (if the run has any)."""
    first_turn_wont_do: int
    """Trials of this strategy whose first answer was a won't-do and that ended in a verdict (one
    cut short by a provider failure never showed whether it yields)."""
    became_complete: Share
    """Of those, how many ended complete."""
    median_turns_to_complete: float | None
    """Turns the ones that became complete took."""


class ModelSummary(BaseModel):
    """Per model, over the run's tasks."""

    model: str
    simulated: bool
    trials: int
    """Trials stored, provider errors included."""
    verdicts: int
    """Trials that ended in a verdict on the model: the population of every rate below."""
    elasticity: Share
    """Of the trials under a strategy that follows up (continue, resume, nudge, or a user's own
    that declares `follows_up`) whose first answer was a won't-do and that ended in a verdict, how
    many ended complete: the share of won't-do that was a choice, not a limit."""
    median_turns_to_complete: float | None
    over_refusal: Share
    """`wont_do` on `should_answer` tasks, over those tasks' verdicts."""
    error_rate: Share
    """`cant_do`, over the verdicts."""
    overconfidence: Share
    """`cant_do` on `should_abstain` tasks, plus answers that claim to be complete and are not,
    over the verdicts."""
    provider_errors: int
    """Trials that ended in `error` (the provider failed): never counted as model behaviour."""
    cost_usd: float | None = None


class JudgeTotals(BaseModel):
    """The refusal judge's part in a run (`--refusal-judge`): its tokens are counted here, apart
    from the models' own (which every cell's token medians and costs are over)."""

    judges: list[str]
    """The judge model addresses that judged this run's trials."""
    judged: int
    """Trials whose answer was judged (the detector was unsure of it)."""
    cached: int
    """Of those, judgements reused from the run's cache: no request was sent for them."""
    failed: int
    """Of those, judgements without a class (the judge failed, or named none): the detector's decision stood."""
    kinds_changed: int
    """Of those, trials whose won't-do kind the judgement changed."""
    input_tokens: int
    """The judge's prompt tokens, over the run."""
    output_tokens: int
    """The judge's reply tokens, over the run."""
    cost_usd: float | None = None
    """What the judge cost, where a price was given for it (every judge of the run priced)."""


class Results(BaseModel):
    """Everything `longhaul report` says about one run."""

    run_id: str
    run_dir: str
    suite: str
    description: str
    longhaul_version: str
    git_revision: str | None
    started_at: datetime
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trials: int
    trials_planned: int
    outcomes: dict[Outcome, int]
    """Trials of each outcome, `error` included: counts, not rates."""
    simulated_models: list[str]
    """Models that are longhaul's simulation: their numbers measure longhaul, not a model."""
    models: list[ModelSummary]
    cells: list[CellResult]
    elasticity: list[Elasticity]
    follow_up_strategies: list[str] = Field(default_factory=list)
    """The run's strategies that follow up a won't-do (their trials are the elasticity's)."""
    max_tokens: int
    thinking_budget: int | None
    refusal_judge: JudgeTotals | None = None
    """The refusal judge's judgements and tokens; None when no trial was judged."""


def either(names: list[str]) -> str:
    """Strategy names as prose: "continue, resume or nudge"."""
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else "a follow-up strategy"


def _judge_totals(trials: list[TrialRecord], prices: Mapping[str, Price]) -> JudgeTotals | None:
    judged = [t.refusal_judgement for t in trials if t.refusal_judgement is not None]
    if not judged:
        return None
    judges = sorted({j.judge for j in judged})
    priced = all(j in prices for j in judges)
    return JudgeTotals(
        judges=judges,
        judged=len(judged),
        cached=sum(j.cached for j in judged),
        failed=sum(j.label is None for j in judged),
        kinds_changed=sum(j.kind_after != j.kind_before for j in judged),
        input_tokens=sum(j.input_tokens for j in judged),
        output_tokens=sum(j.output_tokens for j in judged),
        cost_usd=sum((j.input_tokens * prices[j.judge].input + j.output_tokens * prices[j.judge].output) / 1e6 for j in judged)
        if priced
        else None,
    )


def _median(values: Iterable[float | int | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(statistics.median(vals)) if vals else None


def answered(trials: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The trials that ended in a verdict on the model: a provider failure is not one."""
    return [t for t in trials if t.outcome != "error"]


def _cost(t: TrialRecord, price: Price | None) -> float | None:
    if price is None:
        return None
    return (t.input_tokens * price.input + t.output_tokens * price.output) / 1e6


def _balked(trials: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Trials whose first answer was a won't-do and that ended in a verdict."""
    return [t for t in answered(trials) if t.turns and t.turns[0].verdict.outcome == "wont_do"]


def compute(run_dir: Path, prices: Mapping[str, Price] | None = None, catalog: Catalog | None = None) -> Results:
    """Aggregate a run's store into `Results`, with its own tasks and strategies unless `catalog` is given."""
    manifest = read_manifest(run_dir)
    return aggregate(read_trials(run_dir), manifest, run_dir, prices or {}, catalog)


def aggregate(
    trials: list[TrialRecord], manifest: Manifest, run_dir: Path, prices: Mapping[str, Price], catalog: Catalog | None = None
) -> Results:
    """`Results` of these trials, read with `catalog` (default: the one the run's manifest records).
    Strategies are read by their traits; one the catalog does not know neither follows up nor is
    single-turn."""
    catalog = catalog or Catalog.of_run(run_dir, manifest.catalog)
    tasks = catalog.tasks
    strategies = catalog.strategies
    run_strategies = sorted({t.spec.strategy for t in trials})
    follow_ups = [name for name in run_strategies if name in strategies and strategies[name].follows_up]
    single = [name for name in run_strategies if name in strategies and strategies[name].single_turn]
    suite = manifest.suite
    by_cell: dict[tuple[str, str, int, str], list[TrialRecord]] = defaultdict(list)
    for t in trials:
        by_cell[(t.spec.model, t.spec.task, t.spec.size, t.spec.strategy)].append(t)
    simulated = sorted({t.spec.model for t in trials if t.simulated})

    def needed(model: str, task_name: str, params: dict[str, Any]) -> int | None:
        task = tasks.get(task_name)
        return tokens_needed(task, task.params(params), model) if task else None

    cells = []
    for (model, task_name, size, strategy), group in sorted(by_cell.items()):
        n = len(group)
        judged = answered(group)
        price = prices.get(model)
        costs = [_cost(t, price) for t in group]
        first = group[0]
        cells.append(
            CellResult(
                model=model,
                simulated=model in simulated,
                task=task_name,
                size=size,
                params=first.spec.params,
                strategy=strategy,
                expectation=first.verdict.expectation,
                trials=n,
                verdicts=len(judged),
                provider_errors=Share.of_counts(n - len(judged), n),
                outcomes={o: Share.of_counts(sum(t.outcome == o for t in judged), len(judged)) for o in VERDICTS},
                items_expected=first.verdict.items_expected,
                median_items_correct=_median(t.verdict.items_correct for t in judged),
                median_first_error=_median(t.verdict.first_error.index for t in judged if t.verdict.first_error),
                median_input_tokens=_median(t.input_tokens for t in judged),
                median_output_tokens=_median(t.output_tokens for t in judged),
                median_thinking_tokens=_median(t.reasoning_tokens or None for t in judged),
                median_turns=_median(len(t.turns) for t in judged),
                retries=sum(t.retries for t in group),
                median_seconds=_median(t.seconds for t in judged),
                cost_usd=None if price is None else sum(c for c in costs if c is not None),
                needed_tokens=needed(model, task_name, first.spec.params),
                max_tokens=suite.max_tokens,
            )
        )

    elasticity = []
    for (model, task_name, size, strategy), group in sorted(by_cell.items()):
        if strategy not in follow_ups:
            continue
        balked = _balked(group)
        yielded = [t for t in balked if t.outcome == "complete"]
        direct = answered([t for name in single for t in by_cell.get((model, task_name, size, name), [])])
        elasticity.append(
            Elasticity(
                model=model,
                simulated=model in simulated,
                task=task_name,
                size=size,
                strategy=strategy,
                direct_wont_do=Share.of_counts(sum(t.outcome == "wont_do" for t in direct), len(direct)) if direct else None,
                first_turn_wont_do=len(balked),
                became_complete=Share.of_counts(len(yielded), len(balked)),
                median_turns_to_complete=_median(len(t.turns) for t in yielded),
            )
        )

    models = []
    for model in sorted({t.spec.model for t in trials}):
        mine = [t for t in trials if t.spec.model == model]
        judged = answered(mine)
        answerable = [t for t in judged if t.verdict.expectation == "should_answer"]
        balked = _balked(t for t in mine if t.spec.strategy in follow_ups)
        yielded = [t for t in balked if t.outcome == "complete"]
        overconfident = [
            t
            for t in judged
            if (t.outcome == "cant_do" and t.verdict.expectation == "should_abstain")
            or (t.verdict.claims_complete and t.outcome != "complete")
        ]
        price = prices.get(model)
        models.append(
            ModelSummary(
                model=model,
                simulated=model in simulated,
                trials=len(mine),
                verdicts=len(judged),
                elasticity=Share.of_counts(len(yielded), len(balked)),
                median_turns_to_complete=_median(len(t.turns) for t in yielded),
                over_refusal=Share.of_counts(sum(t.outcome == "wont_do" for t in answerable), len(answerable)),
                error_rate=Share.of_counts(sum(t.outcome == "cant_do" for t in judged), len(judged)),
                overconfidence=Share.of_counts(len(overconfident), len(judged)),
                provider_errors=len(mine) - len(judged),
                cost_usd=None if price is None else sum(_cost(t, price) or 0 for t in mine),
            )
        )
    return Results(
        run_id=manifest.run_id,
        run_dir=str(run_dir),
        suite=suite.name,
        description=suite.description,
        longhaul_version=manifest.longhaul_version,
        git_revision=manifest.git_revision,
        started_at=manifest.started_at,
        trials=len(trials),
        trials_planned=manifest.trials_total,
        outcomes={o: sum(t.outcome == o for t in trials) for o in OUTCOMES},
        simulated_models=simulated,
        models=models,
        cells=cells,
        elasticity=elasticity,
        follow_up_strategies=follow_ups,
        max_tokens=suite.max_tokens,
        thinking_budget=suite.thinking_budget,
        refusal_judge=_judge_totals(trials, prices),
    )
