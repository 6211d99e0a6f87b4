"""The spend guard (`--max-cost USD` with `--prices`, `--max-output-tokens N`): a run stops starting
trials once its projected spend would pass a limit, lets the trials in flight finish, and stays
resumable (the trials not started are simply missing).

The limits bound what one invocation (a `run`, or one `resume`) spends, so a resume with the same
limit spends up to it again. Before each trial starts, the projection is what the finished trials
of this invocation spent, plus the expected spend of every trial in flight, plus the next trial's.
A trial's expected spend is the mean of the finished trials of its cell (model, task, parameters,
strategy; on a resume the stored ones count too). Before any of its cell has finished, it is one
request answering in full: the prompt's tokens in, and out the tokens a complete answer needs
(`needed_tokens`, as the dry run counts them) plus the thinking budget, at most `max_tokens`.
The refusal judge's tokens are spent too: they count, at the judge's price. A trial put in a
provider batch (`run --batch`) is admitted before it is submitted, priced at the batch half price.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from longhaul.errors import BadInput
from longhaul.pricing import Counts, Price, cost_usd, price_for
from longhaul.suite import Suite
from longhaul.task import Task
from longhaul.tokens import count_tokens, needed_tokens
from longhaul.trial import TrialRecord, TrialSpec


class SpendLimits(BaseModel):
    """What one invocation of a run may spend; unset limits do not apply."""

    max_cost: float | None = Field(None, gt=0)
    """USD (`--max-cost`), priced with `prices`."""

    max_output_tokens: int | None = Field(None, ge=1)
    """Output tokens, thinking included (`--max-output-tokens`)."""

    prices: dict[str, Price] = Field(default_factory=dict)
    """USD per million tokens by model address (`--prices`); a simulated model without one costs 0."""

    @property
    def active(self) -> bool:
        return self.max_cost is not None or self.max_output_tokens is not None


def check_limits(limits: SpendLimits, suite: Suite) -> None:
    """`--max-cost` needs a price for every real model the run pays for: longhaul never guesses."""
    if limits.max_cost is None:
        return
    paid = [*suite.models, *([suite.refusal_judge] if suite.refusal_judge else [])]
    missing = [m for m in paid if price_for(limits.prices, m) is None and not m.startswith("sim/")]
    if missing:
        raise BadInput(
            f"--max-cost: the price file has no price for {', '.join(missing)}; longhaul never guesses prices (add them to --prices)"
        )


@dataclass(slots=True)
class _Spend:
    cost: float = 0.0
    output: int = 0

    def add(self, other: _Spend) -> None:
        self.cost += other.cost
        self.output += other.output


class SpendGuard:
    """Admits trials while the projection stays within the limits; once one would pass them, it
    admits none again (so a run stops, rather than hunting for cheaper trials)."""

    def __init__(self, limits: SpendLimits, suite: Suite, tasks: Mapping[str, Task[Any]]) -> None:
        check_limits(limits, suite)
        self._limits, self._suite, self._tasks = limits, suite, tasks
        self._spent = _Spend()
        self._in_flight: dict[str, _Spend] = {}
        self._cells: dict[tuple[str, str, str, str], tuple[int, _Spend]] = {}
        self._priors: dict[tuple[tuple[str, str, str, str], bool], _Spend] = {}
        self.message: str | None = None
        """Set when the guard stopped the run: which limit, what was spent, what was projected."""
        self.refused = 0
        """Trials it did not let start."""

    def observe(self, record: TrialRecord) -> None:
        """A trial stored by an earlier invocation: it informs the means, it is not spent now."""
        self._learn(record.spec, self._cost(record))

    def admit(self, spec: TrialSpec, *, batch: bool = False) -> bool:
        """May this trial start (`batch`: be put in a provider batch, priced at half)? If so it
        counts as in flight until `finished` or `release`."""
        if self.message is None:
            expected = self._expected(spec, batch)
            projected = _Spend(self._spent.cost, self._spent.output)
            for s in self._in_flight.values():
                projected.add(s)
            projected.add(expected)
            self.message = self._passes(projected)
            if self.message is None:
                self._in_flight[spec.key] = expected
                return True
        self.refused += 1
        return False

    def finished(self, record: TrialRecord) -> None:
        """A trial this invocation ran has been stored: its spend replaces its expected spend."""
        self._in_flight.pop(record.spec.key, None)
        spend = self._cost(record)
        self._spent.add(spend)
        self._learn(record.spec, spend)

    def release(self, key: str) -> None:
        """A trial that ended without a record (cancelled): no longer in flight."""
        self._in_flight.pop(key, None)

    def _passes(self, projected: _Spend) -> str | None:
        cap, tokens = self._limits.max_cost, self._limits.max_output_tokens
        if cap is not None and projected.cost > cap:
            return (
                f"--max-cost {cap:g} USD: {self._spent.cost:.4f} spent by then, and the trials in flight with the next one "
                f"projected {projected.cost:.4f}"
            )
        if tokens is not None and projected.output > tokens:
            return (
                f"--max-output-tokens {tokens:,}: {self._spent.output:,} spent by then, "
                f"and the trials in flight with the next one projected {projected.output:,}"
            )
        return None

    def _expected(self, spec: TrialSpec, batch: bool) -> _Spend:
        cell = _cell(spec)
        if cell in self._cells:
            n, total = self._cells[cell]
            return _Spend(total.cost / n, round(total.output / n))
        if (cell, batch) not in self._priors:
            task = self._tasks[spec.task]
            params = task.params(spec.params)
            suite = self._suite
            output = min(suite.max_tokens, needed_tokens(task, params, spec.model) + (suite.thinking_budget or 0))
            prompt = count_tokens(task.prompt(params).text, spec.model)
            price = price_for(self._limits.prices, spec.model)
            cost = 0.0 if price is None else cost_usd(price, Counts(input_tokens=prompt, output_tokens=output), batch=batch)
            self._priors[cell, batch] = _Spend(cost, output)
        return self._priors[cell, batch]

    def _learn(self, spec: TrialSpec, spend: _Spend) -> None:
        cell = _cell(spec)
        n, total = self._cells.get(cell, (0, _Spend()))
        total = _Spend(total.cost, total.output)
        total.add(spend)
        self._cells[cell] = (n + 1, total)

    def _cost(self, record: TrialRecord) -> _Spend:
        prices = self._limits.prices
        price = price_for(prices, record.spec.model)
        spend = _Spend(0.0 if price is None else cost_usd(price, record, batch=record.batch_id is not None), record.output_tokens)
        judged = record.refusal_judgement
        if judged is not None:
            judge = price_for(prices, self._suite.refusal_judge or "")
            counts = Counts(input_tokens=judged.input_tokens, output_tokens=judged.output_tokens)
            spend.add(_Spend(0.0 if judge is None else cost_usd(judge, counts), judged.output_tokens))
        return spend


def _cell(spec: TrialSpec) -> tuple[str, str, str, str]:
    return (spec.model, spec.task, json.dumps(spec.params, sort_keys=True), spec.strategy)
