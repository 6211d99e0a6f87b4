"""Adaptive sweeps: find the largest size a model completes, without paying for every size.

A task entry of a suite with a `[tasks.search]` table names one integer parameter and a range;
for each model, strategy and combination of the entry's other parameters, a `Search` walks that
range from the stored outcomes alone (no state of its own, so a resumed run recomputes exactly
where it was):

1. sizes whose complete answer does not fit in `max_tokens` (`tokens.needed_tokens`) are beyond
   budget: never run, reported as such (the count grows with size, so the walk stops at the first);
2. bracket by galloping up from `low` (low, low+1, low+3, low+7, ...; capped at the largest size
   that fits) until a size fails: sizes above a failed one are never run;
3. bisect between the largest passing and the smallest failing size;
4. each size starts with `samples` trials; while the Wilson interval of its complete rate holds the
   threshold, `step` more are added, up to `max_samples`. A size passes when the interval's low end
   is at or above the threshold, fails when its high end is below; at `max_samples` the point
   estimate decides (and the size is marked not confident).

Provider errors (the `error` outcome) are never a verdict: they count against `max_samples` but
not in the rate. `docs/search.md` has a worked example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from longhaul.interval import wilson
from longhaul.task import Task, TaskParams
from longhaul.tokens import needed_tokens
from longhaul.trial import TrialSpec, trial_key
from longhaul.verdict import VERDICTS, Outcome


class SearchSpec(BaseModel):
    """A suite task's `[tasks.search]` table: which parameter to search, over which range, how sure to be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    param: str
    """The integer parameter searched (hanoi: `disks`); the entry must not also list it."""

    low: int = Field(ge=0)
    """The smallest value tried (the search starts there)."""

    high: int = Field(ge=0)
    """The largest value that may be tried."""

    threshold: float = Field(0.5, gt=0, lt=1)
    """A size passes when its complete rate is at least this."""

    samples: int = Field(4, ge=1, le=1000)
    """Trials a size starts with."""

    step: int | None = Field(None, ge=1, le=1000)
    """Trials added at a time where the interval holds the threshold (default: half of `samples`, at least 1)."""

    max_samples: int = Field(12, ge=1, le=10_000)
    """The most trials a size gets; at this many the point estimate decides."""

    @model_validator(mode="after")
    def _ordered(self) -> SearchSpec:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        if self.max_samples < self.samples:
            raise ValueError(f"max_samples ({self.max_samples}) is below samples ({self.samples})")
        return self

    @property
    def added(self) -> int:
        return self.step or max(1, self.samples // 2)


SizeCall = Literal["pass", "fail", "pending", "unknown"]
"""A size's state: passes, fails, needs more trials, or cannot be decided (all trials were errors)."""

Status = Literal["collapse", "fails_at_low", "holds_to_high", "beyond_budget", "in_progress", "errors"]
"""Where a search ended: a collapse found; the smallest size already fails; every size that fits
passes; not even the smallest size fits the budget; trials still missing; a size left undecided by
provider errors."""


class SizeTried(BaseModel):
    """One size a search ran, with what its trials were."""

    value: int
    """The searched parameter's value."""
    size: int
    """The task's size at that value (as in the cells)."""
    trials: int
    """Trials stored, errors included."""
    verdicts: int
    """Trials with a verdict (not `error`)."""
    complete: int
    """Of those, complete."""
    low: float | None
    """Wilson 95% interval of the complete rate: low end (None without verdicts)."""
    high: float | None
    """... and high end."""
    call: SizeCall
    """Passed, failed, still pending, or undecidable."""
    confident: bool
    """The interval decided (False: the point estimate did, at `max_samples`)."""
    outcomes: dict[Outcome, int]
    """Trials of each outcome, `error` included."""


class SearchResult(BaseModel):
    """What a search found for one model, strategy and task instance family."""

    model: str
    task: str
    strategy: str
    params: dict[str, Any]
    """The entry's other parameters (the searched one left out)."""
    param: str
    """The parameter searched."""
    threshold: float
    status: Status
    collapse: int | None
    """The largest value that passed (None: none did)."""
    first_failure: int | None
    """The smallest value that failed (None: none did); the collapse lies between the two."""
    collapse_kind: Outcome | None
    """The commonest non-complete outcome at `first_failure`: is the collapse can't-do, won't-do or budget?"""
    beyond_budget: list[int]
    """Values not run: their complete answer needs more than `max_tokens`."""
    sizes: list[SizeTried]
    """Every value tried, ascending."""
    trials: int
    """Trials this search has stored."""


def size_call(spec: SearchSpec, outcomes: list[Outcome]) -> tuple[SizeCall, bool]:
    """Whether a size with these stored outcomes passes, fails or needs more (and whether the
    interval, not the point estimate, decided)."""
    verdicts = [o for o in outcomes if o != "error"]
    n, k = len(verdicts), verdicts.count("complete")
    if n and len(outcomes) >= spec.samples:
        lo, hi = wilson(k, n) or (0.0, 1.0)
        if lo >= spec.threshold:
            return "pass", True
        if hi < spec.threshold:
            return "fail", True
    if len(outcomes) < spec.max_samples:
        return "pending", False
    if not n:
        return "unknown", False
    return ("pass" if k / n >= spec.threshold else "fail"), False


@dataclass(frozen=True)
class Search:
    """One search: a model, strategy and task instance family, over `spec.param`."""

    model: str
    strategy: str
    task: Task[Any]
    params: dict[str, Any]
    """The entry's other parameters (validated with the searched one set)."""
    spec: SearchSpec
    seed: int
    max_tokens: int

    def task_params(self, value: int) -> TaskParams:
        params: TaskParams = self.task.params(self.params | {self.spec.param: value})
        return params

    def trial(self, value: int, sample: int) -> TrialSpec:
        """The trial of sample `sample` at `value`: the same key a fixed sweep would give it."""
        p = self.task_params(value)
        return TrialSpec(
            key=trial_key(self.task, p, self.model, self.strategy, sample),
            model=self.model,
            task=self.task.name,
            params=p.model_dump(mode="json"),
            size=self.task.size(p),
            strategy=self.strategy,
            sample=sample,
            seed=self.seed + sample,
        )

    def fits(self) -> tuple[int | None, list[int]]:
        """The largest value whose complete answer fits in `max_tokens` (None: not even `low`),
        and the values beyond it. Counted upward, stopping at the first that does not fit: the
        count grows with size, and the largest sizes are the costliest to count."""
        for value in range(self.spec.low, self.spec.high + 1):
            if needed_tokens(self.task, self.task_params(value), self.model) > self.max_tokens:
                return (value - 1 if value > self.spec.low else None), list(range(value, self.spec.high + 1))
        return self.spec.high, []

    def walk(self, outcome_of: Callable[[str], Outcome | None]) -> tuple[list[TrialSpec], SearchResult]:
        """The trials to run next (none: the search is done or stalled) and the result so far,
        from the stored outcomes (`outcome_of(key)`, None for a trial not stored)."""
        cap, beyond = self.fits()
        tried: dict[int, list[Outcome]] = {}

        def look(value: int) -> tuple[SizeCall, list[TrialSpec]]:
            outcomes: list[Outcome] = []
            for sample in range(self.spec.max_samples):
                o = outcome_of(self.trial(value, sample).key)
                if o is None:
                    break  # samples are sent in order; a gap is where the next ones start
                outcomes.append(o)
            tried[value] = outcomes
            call, _ = size_call(self.spec, outcomes)
            if call != "pending":
                return call, []
            want = self.spec.samples if len(outcomes) < self.spec.samples else len(outcomes) + self.spec.added
            return call, [self.trial(value, s) for s in range(len(outcomes), min(want, self.spec.max_samples))]

        passed: int | None = None
        failed: int | None = None
        status: Status = "collapse"
        todo: list[TrialSpec] = []
        if cap is None:
            status = "beyond_budget"
        else:
            gap, value = 1, self.spec.low
            while True:  # bracket: gallop up until a size fails or the cap is reached
                call, todo = look(value)
                if call == "pass":
                    passed = value
                    if value == cap:
                        break
                    value, gap = min(value + gap, cap), gap * 2
                    continue
                if call == "fail":
                    failed = value
                break
            while not todo and call != "unknown" and passed is not None and failed is not None and failed - passed > 1:
                value = (passed + failed) // 2  # bisect the bracket
                call, todo = look(value)
                if call == "pass":
                    passed = value
                elif call == "fail":
                    failed = value
            if todo or call == "pending":
                status = "in_progress"
            elif call == "unknown":
                status = "errors"
            elif passed is None:
                status = "fails_at_low"
            elif failed is None:
                status = "holds_to_high"
        return todo, self._result(status, passed, failed, beyond, tried)

    def _result(
        self, status: Status, passed: int | None, failed: int | None, beyond: list[int], tried: dict[int, list[Outcome]]
    ) -> SearchResult:
        sizes = []
        for value, outcomes in sorted(tried.items()):
            if not outcomes:
                continue
            verdicts = [o for o in outcomes if o != "error"]
            interval = wilson(verdicts.count("complete"), len(verdicts))
            call, confident = size_call(self.spec, outcomes)
            counts = Counter(outcomes)
            sizes.append(
                SizeTried(
                    value=value,
                    size=self.task.size(self.task_params(value)),
                    trials=len(outcomes),
                    verdicts=len(verdicts),
                    complete=verdicts.count("complete"),
                    low=interval[0] if interval else None,
                    high=interval[1] if interval else None,
                    call=call,
                    confident=confident,
                    outcomes={o: counts[o] for o in (*VERDICTS, "error") if counts[o]},
                )
            )
        kind: Outcome | None = None
        if failed is not None:
            misses = Counter(o for o in tried.get(failed, []) if o not in ("complete", "error"))
            kind = misses.most_common(1)[0][0] if misses else None
        return SearchResult(
            model=self.model,
            task=self.task.name,
            strategy=self.strategy,
            params=self.params,
            param=self.spec.param,
            threshold=self.spec.threshold,
            status=status,
            collapse=passed,
            first_failure=failed,
            collapse_kind=kind,
            beyond_budget=beyond,
            sizes=sizes,
            trials=sum(s.trials for s in sizes),
        )


def next_trials(searches: list[Search], outcomes: Mapping[str, Outcome]) -> list[TrialSpec]:
    """The next round of every search: the trials each needs before it can take its next step."""
    return [spec for s in searches for spec in s.walk(outcomes.get)[0]]


def results(searches: list[Search], outcomes: Mapping[str, Outcome]) -> list[SearchResult]:
    """What every search has found from these stored outcomes."""
    return [s.walk(outcomes.get)[1] for s in searches]


_KIND_WORDS: dict[str, str] = {
    "cant_do": "can't-do (wrong items)",
    "wont_do": "won't-do (declined or stopped short)",
    "budget_exhausted": "budget (ran out of tokens)",
    "unparseable": "unparseable answers",
}


def describe(r: SearchResult) -> str:
    """The search's finding in one plain sentence, for the report."""
    p = r.param
    beyond = f"; {p} {r.beyond_budget[0]} and up need more than max_tokens, not run" if r.beyond_budget else ""
    if r.status == "collapse":
        kind = f", mostly {_KIND_WORDS.get(r.collapse_kind, r.collapse_kind)}" if r.collapse_kind else ""
        return f"complete rate ≥ {r.threshold:g} up to {p} = {r.collapse}, below it at {p} = {r.first_failure}{kind}{beyond}."
    if r.status == "fails_at_low":
        kind = f", mostly {_KIND_WORDS.get(r.collapse_kind, r.collapse_kind)}" if r.collapse_kind else ""
        return f"below {r.threshold:g} already at the smallest {p} tried ({r.first_failure}){kind}{beyond}."
    if r.status == "holds_to_high":
        return f"complete rate ≥ {r.threshold:g} at every {p} tried, up to {r.collapse}{beyond}."
    if r.status == "beyond_budget":
        return f"not run: even the smallest {p} needs more than max_tokens{beyond}."
    if r.status == "errors":
        return (
            f"stopped: a size's trials all ended in provider errors (so far: largest pass {r.collapse}, first failure {r.first_failure})."
        )
    return f"unfinished: trials missing (resume the run); so far largest pass {r.collapse}, first failure {r.first_failure}."


def mix(s: SizeTried) -> str:
    """A size's outcome mix: "8/12 complete [39–86%], cant_do 4"."""
    interval = "" if s.low is None or s.high is None else f" [{100 * s.low:.0f}–{100 * s.high:.0f}%]"
    rest = ", ".join(f"{o} {n}" for o, n in s.outcomes.items() if o != "complete")
    sure = "" if s.confident else " (point estimate)"
    return f"{s.complete}/{s.verdicts} complete{interval}{', ' + rest if rest else ''} → {s.call}{sure}"
