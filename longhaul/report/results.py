"""What a run measured, aggregated from its store: the data of `results.json`, `summary.md` and
`report.html` alike (`longhaul schema results` prints this model's JSON schema). The trials are
aggregated as they stream from the store (`Aggregator`), never held together."""

from __future__ import annotations

import statistics
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from longhaul.catalog import Catalog
from longhaul.judgement import JudgeTally
from longhaul.pricing import Counts, Price, cost_usd, price_for
from longhaul.providers.local_model import LocalModel
from longhaul.report.stats import wilson
from longhaul.search import SearchResult
from longhaul.search import results as search_results
from longhaul.store import Manifest, iter_trials, read_manifest
from longhaul.suite import searches
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
    first_errors: int = 0
    """Trials with a first wrong item: the population of `median_first_error` and its quartiles."""
    first_error_q1: float | None = None
    """Lower quartile of the first wrong item's 0-based index (the median's, with one trial)."""
    first_error_q3: float | None = None
    """Upper quartile of the first wrong item's 0-based index."""
    median_input_tokens: float | None
    """Median prompt tokens of a trial, over its turns, the cached and cache-written parts included."""
    median_cached_input_tokens: float | None = None
    """Median of a trial's input tokens read from the provider's prompt cache (0 where none were)."""
    median_cache_write_tokens: float | None = None
    """Median of a trial's input tokens written to the prompt cache (Anthropic)."""
    median_output_tokens: float | None
    median_thinking_tokens: float | None
    """Reasoning tokens where the provider reports them."""
    median_turns: float | None
    retries: int
    """Failed attempts, over all the cell's trials (errors included: retries are the provider's)."""
    median_seconds: float | None
    cost_usd: float | None = None
    """Total cost of all the cell's trials, errors included (they were paid for), where a price was
    given (longhaul never guesses): cached and cache-written input at their own prices where the
    price file gives them (else at `input`: see `Results.priced_at_full_input`), batch trials at half."""
    needed_tokens: int | None = None
    """Output tokens a complete answer needs, by the model's tokenizer (o200k as an estimate)."""
    max_tokens: int
    """The request budget: what the cell's trials were sent (the suite's max_tokens, or the
    model's output limit where the suite clamps to it; the largest, if a resume changed it)."""
    max_tokens_sent: list[int] = Field(default_factory=list)
    """Every max_tokens the cell's trials were sent, smallest first, as the report lists them: one,
    unless the run was resumed at another budget by a longhaul that did not refuse it (empty: none recorded)."""


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
    cant_do_rate: Share
    """`cant_do` (a wrong item, or an impossible answer), over the verdicts. Named for the outcome:
    "error" in longhaul is the provider's failure only."""
    overconfidence: Share
    """`cant_do` on `should_abstain` tasks, plus answers that claim to be complete and are not,
    over the verdicts."""
    provider_errors: int
    """Trials that ended in `error` (the provider failed): never counted as model behaviour."""
    cost_usd: float | None = None
    max_tokens: list[int] = Field(default_factory=list)
    """The max_tokens its trials were sent (one value, unless the limit changed between a run and
    its resume): the budget its budget verdicts mean."""


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
    local_models: list[LocalModel] = Field(default_factory=list)
    """Local models (`llamacpp/...`): the GGUF file, its SHA-256 and how it was served."""
    models: list[ModelSummary]
    cells: list[CellResult]
    elasticity: list[Elasticity]
    follow_up_strategies: list[str] = Field(default_factory=list)
    """The run's strategies that follow up a won't-do (their trials are the elasticity's)."""
    max_tokens: int
    thinking_budget: int | None
    refusal_judge: JudgeTotals | None = None
    """The refusal judge's judgements and tokens; None when no trial was judged."""
    priced_at_full_input: list[str] = Field(default_factory=list)
    """Models with cached or cache-written input tokens whose price entry has no `cached_input` or
    `cache_write`: those tokens were priced at the full `input` price (longhaul never guesses)."""
    unpriced: list[str] = Field(default_factory=list)
    """With a price file given, the models and refusal judges (`sim/` aside) it has no entry for: their
    costs are not shown (a key is the exact address, query string included; longhaul never guesses)."""
    searches: list[SearchResult] | None = None
    """The suite's adaptive searches (`[tasks.search]`): per model, strategy and task, the collapse
    size and every size tried with its outcome mix; None when the suite has none."""


def outcome_name(outcome: str) -> str:
    """An outcome as a person reads it (can't-do, won't-do, budget exhausted; `error` is the
    provider's failure), for the report's headings, legends and text."""
    return {"cant_do": "can't-do", "wont_do": "won't-do", "budget_exhausted": "budget exhausted", "error": "provider error"}.get(
        outcome, outcome
    )


def either(names: list[str]) -> str:
    """Strategy names as prose: "continue, resume or nudge"."""
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else "a follow-up strategy"


def _median(values: Iterable[float | int | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(statistics.median(vals)) if vals else None


def _cost(t: TrialRecord, price: Price) -> float:
    return cost_usd(price, t, batch=t.batch_id is not None)


def _quartiles(values: array[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def _values() -> array[float]:
    return array("d")


@dataclass
class _Cell:
    """One cell's counts, sums and the values its medians are of, as its trials stream past."""

    params: dict[str, Any]
    expectation: str
    items_expected: int | None
    trials: int = 0
    verdicts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    items_correct: array[float] = field(default_factory=_values)
    first_errors: array[float] = field(default_factory=_values)
    input_tokens: array[float] = field(default_factory=_values)
    cached_input_tokens: array[float] = field(default_factory=_values)
    cache_write_tokens: array[float] = field(default_factory=_values)
    output_tokens: array[float] = field(default_factory=_values)
    thinking_tokens: array[float] = field(default_factory=_values)
    turns: array[float] = field(default_factory=_values)
    seconds: array[float] = field(default_factory=_values)
    retries: int = 0
    cost: float = 0
    max_tokens: int = 0
    """The largest max_tokens its trials recorded (0: none did, before it was recorded)."""
    budgets: set[int] = field(default_factory=set)
    balked: int = 0
    """Trials whose first answer was a won't-do and that ended in a verdict."""
    yielded_turns: array[float] = field(default_factory=_values)
    """Turns of those that ended complete."""


@dataclass
class _Model:
    trials: int = 0
    verdicts: int = 0
    answerable: int = 0
    """Verdicts on `should_answer` tasks."""
    over_refusals: int = 0
    cant_do: int = 0
    overconfident: int = 0
    cost: float = 0
    max_tokens: set[int] = field(default_factory=set)


class Aggregator:
    """`Results` built trial by trial: `add` each trial of a run (in the order they were stored),
    then `results`. It keeps counts, sums and the numbers its medians are of, a few a trial, never
    a trial; the strategies' traits are read only at the end, when every strategy is known."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self.prices = prices or {}
        self.cells: dict[tuple[str, str, int, str], _Cell] = {}
        self.models: dict[str, _Model] = {}
        self.simulated: set[str] = set()
        self.outcomes: Counter[str] = Counter()
        self.trials = 0
        self.judging = JudgeTally()
        self.judge_cost: float = 0
        """Over the judgements whose judge has a price (the total stands only if every judge has one)."""
        self.full_input: set[str] = set()
        """Models whose cached or written tokens were priced at `input` (their price has no own price for them)."""
        self.unpriced: set[str] = set()
        """Models and judges (`sim/` aside) a given price file has no entry for."""
        self.outcome_of: dict[str, Outcome] = {}
        """Each trial's outcome by key: a search's state is recomputed from these (a short key a trial)."""

    def add(self, t: TrialRecord) -> None:
        s, v = t.spec, t.verdict
        self.trials += 1
        self.outcomes[t.outcome] += 1
        self.outcome_of[s.key] = t.outcome
        if t.simulated:
            self.simulated.add(s.model)
        price = price_for(self.prices, s.model)
        self._unpriced(s.model, price)
        cell = self.cells.get((s.model, s.task, s.size, s.strategy))
        if cell is None:
            cell = self.cells[(s.model, s.task, s.size, s.strategy)] = _Cell(s.params, v.expectation, v.items_expected)
        model = self.models.setdefault(s.model, _Model())
        cell.trials += 1
        model.trials += 1
        cell.retries += t.retries
        if t.max_tokens is not None:
            cell.max_tokens = max(cell.max_tokens, t.max_tokens)
            cell.budgets.add(t.max_tokens)
            model.max_tokens.add(t.max_tokens)
        if price is not None:
            cell.cost += _cost(t, price)
            model.cost += _cost(t, price)
            if price.lacks_cache_prices(t):
                self.full_input.add(s.model)
        if t.outcome != "error":
            cell.verdicts += 1
            cell.outcomes[t.outcome] += 1
            cell.items_correct.append(v.items_correct)
            if v.first_error:
                cell.first_errors.append(v.first_error.index)
            cell.input_tokens.append(t.input_tokens)
            cell.cached_input_tokens.append(t.cached_input_tokens)
            cell.cache_write_tokens.append(t.cache_write_tokens)
            cell.output_tokens.append(t.output_tokens)
            if t.reasoning_tokens:
                cell.thinking_tokens.append(t.reasoning_tokens)
            cell.turns.append(len(t.turns))
            cell.seconds.append(t.seconds)
            if t.turns and t.turns[0].verdict.outcome == "wont_do":
                cell.balked += 1
                if t.outcome == "complete":
                    cell.yielded_turns.append(len(t.turns))
            model.verdicts += 1
            if v.expectation == "should_answer":
                model.answerable += 1
                model.over_refusals += t.outcome == "wont_do"
            model.cant_do += t.outcome == "cant_do"
            model.overconfident += (t.outcome == "cant_do" and v.expectation == "should_abstain") or (
                v.claims_complete and t.outcome != "complete"
            )
        if (j := t.refusal_judgement) is not None:
            self.judging.add(j)
            if (judge_price := price_for(self.prices, j.judge)) is not None:
                self.judge_cost += cost_usd(judge_price, Counts(input_tokens=j.input_tokens, output_tokens=j.output_tokens))
            self._unpriced(j.judge, judge_price)

    def _unpriced(self, model: str, price: Price | None) -> None:
        # As the dry run: only where a price file was given (without one, no cost is asked for), the sim free.
        if price is None and self.prices and not model.startswith("sim/"):
            self.unpriced.add(model)

    def _judge_totals(self) -> JudgeTotals | None:
        j = self.judging
        if not j.judged:
            return None
        judges = sorted(j.judges)
        return JudgeTotals(
            judges=judges,
            judged=j.judged,
            cached=j.cached,
            failed=j.failed,
            kinds_changed=j.kinds_changed,
            input_tokens=j.input_tokens,
            output_tokens=j.output_tokens,
            cost_usd=self.judge_cost if all(price_for(self.prices, j) is not None for j in judges) else None,
        )

    def results(self, manifest: Manifest, run_dir: Path, catalog: Catalog | None = None) -> Results:
        """`Results` of the trials added, read with `catalog` (default: the one the run's manifest
        records). Strategies are read by their traits; one the catalog does not know neither
        follows up nor is single-turn."""
        catalog = catalog or Catalog.of_run(run_dir, manifest.catalog)
        tasks = catalog.tasks
        strategies = catalog.strategies
        run_strategies = sorted({strategy for (_, _, _, strategy) in self.cells})
        follow_ups = [name for name in run_strategies if name in strategies and strategies[name].follows_up]
        single = [name for name in run_strategies if name in strategies and strategies[name].single_turn]
        suite = manifest.suite
        simulated = sorted(self.simulated)
        by_cell = sorted(self.cells.items())

        def needed(model: str, task_name: str, params: dict[str, Any]) -> int | None:
            task = tasks.get(task_name)
            return tokens_needed(task, task.params(params), model) if task else None

        cells = []
        for (model, task_name, size, strategy), c in by_cell:
            cells.append(
                CellResult(
                    model=model,
                    simulated=model in simulated,
                    task=task_name,
                    size=size,
                    params=c.params,
                    strategy=strategy,
                    expectation=c.expectation,
                    trials=c.trials,
                    verdicts=c.verdicts,
                    provider_errors=Share.of_counts(c.trials - c.verdicts, c.trials),
                    outcomes={o: Share.of_counts(c.outcomes[o], c.verdicts) for o in VERDICTS},
                    items_expected=c.items_expected,
                    median_items_correct=_median(c.items_correct),
                    median_first_error=_median(c.first_errors),
                    first_errors=len(c.first_errors),
                    first_error_q1=_quartiles(c.first_errors)[0],
                    first_error_q3=_quartiles(c.first_errors)[1],
                    median_input_tokens=_median(c.input_tokens),
                    median_cached_input_tokens=_median(c.cached_input_tokens),
                    median_cache_write_tokens=_median(c.cache_write_tokens),
                    median_output_tokens=_median(c.output_tokens),
                    median_thinking_tokens=_median(c.thinking_tokens),
                    median_turns=_median(c.turns),
                    retries=c.retries,
                    median_seconds=_median(c.seconds),
                    cost_usd=c.cost if price_for(self.prices, model) is not None else None,
                    needed_tokens=needed(model, task_name, c.params),
                    max_tokens=c.max_tokens or suite.max_tokens,
                    max_tokens_sent=sorted(c.budgets),
                )
            )

        elasticity = []
        for (model, task_name, size, strategy), c in by_cell:
            if strategy not in follow_ups:
                continue
            direct = [self.cells[key] for name in single if (key := (model, task_name, size, name)) in self.cells]
            direct_verdicts = sum(d.verdicts for d in direct)
            elasticity.append(
                Elasticity(
                    model=model,
                    simulated=model in simulated,
                    task=task_name,
                    size=size,
                    strategy=strategy,
                    direct_wont_do=Share.of_counts(sum(d.outcomes["wont_do"] for d in direct), direct_verdicts)
                    if direct_verdicts
                    else None,
                    first_turn_wont_do=c.balked,
                    became_complete=Share.of_counts(len(c.yielded_turns), c.balked),
                    median_turns_to_complete=_median(c.yielded_turns),
                )
            )

        models = []
        for model, m in sorted(self.models.items()):
            followed = [c for (name, _, _, strategy), c in by_cell if name == model and strategy in follow_ups]
            yielded = [n for c in followed for n in c.yielded_turns]
            models.append(
                ModelSummary(
                    model=model,
                    simulated=model in simulated,
                    trials=m.trials,
                    verdicts=m.verdicts,
                    elasticity=Share.of_counts(len(yielded), sum(c.balked for c in followed)),
                    median_turns_to_complete=_median(yielded),
                    over_refusal=Share.of_counts(m.over_refusals, m.answerable),
                    cant_do_rate=Share.of_counts(m.cant_do, m.verdicts),
                    overconfidence=Share.of_counts(m.overconfident, m.verdicts),
                    provider_errors=m.trials - m.verdicts,
                    cost_usd=m.cost if price_for(self.prices, model) is not None else None,
                    max_tokens=sorted(m.max_tokens) or [suite.max_tokens],
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
            trials=self.trials,
            trials_planned=manifest.trials_total,
            outcomes={o: self.outcomes[o] for o in OUTCOMES},
            simulated_models=simulated,
            local_models=manifest.local_models,
            models=models,
            cells=cells,
            elasticity=elasticity,
            follow_up_strategies=follow_ups,
            max_tokens=suite.max_tokens,
            thinking_budget=suite.thinking_budget,
            refusal_judge=self._judge_totals(),
            priced_at_full_input=sorted(self.full_input),
            unpriced=sorted(self.unpriced),
            searches=search_results(found, self.outcome_of) if (found := searches(suite, tasks)) else None,
        )


def compute(run_dir: Path, prices: Mapping[str, Price] | None = None, catalog: Catalog | None = None) -> Results:
    """Aggregate a run's store into `Results`, with its own tasks and strategies unless `catalog` is given."""
    return aggregate(iter_trials(run_dir), read_manifest(run_dir), run_dir, prices or {}, catalog)


def aggregate(
    trials: Iterable[TrialRecord], manifest: Manifest, run_dir: Path, prices: Mapping[str, Price], catalog: Catalog | None = None
) -> Results:
    """`Results` of these trials (any iterable: `store.iter_trials` streams them), read with
    `catalog` (default: the one the run's manifest records)."""
    acc = Aggregator(prices)
    for t in trials:
        acc.add(t)
    return acc.results(manifest, run_dir, catalog)
