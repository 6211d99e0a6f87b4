"""A trial: one sample of one cell, run by its strategy, recorded with every turn.

Trial keys are stable (a hash of task, parameters, model, strategy, sample index and prompt), so
a resumed run knows what it already has.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from longhaul.judgement import RefusalJudgement
from longhaul.providers import Provider
from longhaul.strategy import Listener, LoopStop, Settings, Strategy, TrialContext, Turn
from longhaul.task import Task, TaskParams
from longhaul.verdict import Outcome, Verdict


class TrialSpec(BaseModel):
    """What to run: a cell and a sample index, with its stable key."""

    key: str
    """Stable identity: hash of task, params, model, strategy, sample and prompt."""

    model: str
    task: str
    params: dict[str, Any]
    size: int
    """The task's size parameter (disks, end, ...), for figures against size."""
    strategy: str
    sample: int
    """0-based sample index within the cell."""
    seed: int
    """The seed its requests carry (the suite's seed plus the sample index)."""


def trial_key(task: Task[Any], params: TaskParams, model: str, strategy: str, sample: int) -> str:
    prompt = task.prompt(params)
    blob = json.dumps(
        {
            "task": task.name,
            "params": params.model_dump(mode="json"),
            "model": model,
            "strategy": strategy,
            "sample": sample,
            "prompt": prompt.text,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class TrialRecord(BaseModel):
    """A finished trial, as stored: the verdict on the stitched answer, and every turn."""

    spec: TrialSpec
    outcome: Outcome
    """The trial's outcome (the verdict after its last turn)."""

    verdict: Verdict
    """The verdict on the stitched answer."""

    turns: list[Turn]
    """Every turn: request, answer, stop reason, usage, the verdict after it."""

    stop: LoopStop | None
    """Why the strategy's loop ended."""

    simulated: bool
    """The model was longhaul's simulated model: never a measurement of a real one."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    """Of `input_tokens`, those read from the provider's prompt cache."""

    cache_write_tokens: int = 0
    """Of `input_tokens`, those written to the provider's prompt cache."""

    output_tokens: int = 0
    reasoning_tokens: int = 0
    retries: int = 0
    """Failed attempts, over all turns."""

    tokens_saved: int = 0
    """Output tokens early stop saved (estimate)."""

    seconds: float = 0.0
    started_at: datetime
    refusal_judgement: RefusalJudgement | None = None
    """The refusal judge's reading of the answer, when the run had one (`--refusal-judge`) and the
    detector was unsure of this answer; its tokens are not in `input_tokens`/`output_tokens`
    above, which are the model's own."""
    finished_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    max_tokens: int | None = None
    """The output limit each request of the trial was sent with: the suite's `max_tokens`, or the
    model's own limit where the suite clamps to it. A budget verdict means this many tokens; None
    in runs stored before it was recorded."""

    batch_id: str | None = None
    """The provider's batch that answered the trial, when it ran through a batch API (`run --batch`)."""

    endpoint: str | None = None
    """The base URL that answered the trial's last answered turn: with several replicas of a
    model, the one it used (each turn records its own). None when no turn was answered, and in
    runs stored before endpoints were recorded."""


async def run_trial(
    spec: TrialSpec,
    provider: Provider,
    task: Task[Any],
    params: TaskParams,
    strategy: Strategy,
    settings: Settings,
    listener: Listener | None = None,
) -> TrialRecord:
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    ctx = TrialContext(provider, task, params, settings, listener or Listener())
    state = await strategy.run(ctx)
    turns = state["turns"]
    verdict = turns[-1].verdict
    return TrialRecord(
        spec=spec,
        outcome=verdict.outcome,
        verdict=verdict,
        turns=turns,
        stop=state["stop"],
        simulated=provider.address.simulated or any(t.simulated for t in turns),
        input_tokens=sum(t.usage.input_tokens for t in turns),
        cached_input_tokens=sum(t.usage.cached_input_tokens for t in turns),
        cache_write_tokens=sum(t.usage.cache_write_tokens for t in turns),
        output_tokens=sum(t.usage.output_tokens for t in turns),
        reasoning_tokens=sum(t.usage.reasoning_tokens or 0 for t in turns),
        retries=sum(len(t.retries) for t in turns),
        tokens_saved=sum(t.tokens_saved for t in turns),
        seconds=time.monotonic() - t0,
        started_at=started_at,
        max_tokens=settings.max_tokens,
        endpoint=next((t.endpoint for t in reversed(turns) if t.endpoint), None),
    )
