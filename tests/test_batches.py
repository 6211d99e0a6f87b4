"""`run --batch`: the direct trials through OpenAI's Batch API and Anthropic's Message Batches,
against the simulated model's batch endpoints, through the real SDKs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from longhaul.batch import Polling, check_batch_models, chunks, request_for
from longhaul.catalog import Catalog
from longhaul.display.protocol import NullDisplay
from longhaul.dryrun import dry_run
from longhaul.errors import BadInput
from longhaul.providers import Provider
from longhaul.providers.address import parse_address
from longhaul.providers.base import End, RetrySettings
from longhaul.providers.batches import BatchLimits
from longhaul.providers.request import Request, Usage
from longhaul.runner import arun, plan, resume_plan
from longhaul.sim.server import start
from longhaul.store import RunStore
from longhaul.strategy import Settings
from longhaul.trial import TrialSpec, run_trial

SUITE = """
name = "batched"
models = [{models}]
strategies = [{strategies}]
samples = {samples}
max_tokens = 3000

[[tasks]]
task = "french_numbers"
start = 0
end = 40
"""


def suite(tmp_path: Path, models: list[str], strategies: tuple[str, ...] = ("direct", "continue"), samples: int = 2) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        SUITE.format(models=", ".join(f'"{m}"' for m in models), strategies=", ".join(f'"{s}"' for s in strategies), samples=samples)
    )
    return path


class Recorded:
    """An instant sleep that records the waits it was asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)  # yields to the sim's background batch, waits for nothing


class Notes(NullDisplay):
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.submitted = asyncio.Event()

    def run_note(self, text: str) -> None:
        self.notes.append(text)
        if "submitted" in text:
            self.submitted.set()


def instant() -> Polling:
    return Polling(first=1.0, factor=2.0, cap=8.0, sleep=Recorded())


def by_key(run_dir: Path) -> dict[str, Any]:
    store = RunStore.open(run_dir)
    try:
        return {t.spec.key: t for t in store.trials()}
    finally:
        store.close()


def test_direct_trials_come_from_batches_with_the_verdicts_of_streamed_ones_and_follow_ups_stream(tmp_path):
    models = ["sim/lazy?k=15", "sim/diligent", "sim/drifter?at=10", "sim/truncating?limit=100"]
    the_plan = plan(suite(tmp_path, models))
    notes = Notes()
    polling = instant()
    batched = asyncio.run(arun(the_plan, out=tmp_path / "batched", batch=True, polling=polling, display=notes))
    streamed = asyncio.run(arun(the_plan, out=tmp_path / "streamed"))
    assert batched.stored == streamed.stored == len(the_plan.trials) == 16
    b, s = by_key(tmp_path / "batched"), by_key(tmp_path / "streamed")
    assert b.keys() == s.keys()
    outcomes = set()
    for key, trial in b.items():
        twin = s[key]
        assert (trial.outcome, trial.verdict.items_correct, trial.verdict.first_error) == (
            twin.outcome,
            twin.verdict.items_correct,
            twin.verdict.first_error,
        ), key
        assert twin.batch_id is None
        if trial.spec.strategy == "direct":
            outcomes.add(trial.outcome)
            assert trial.batch_id is not None and trial.batch_id.startswith("batch_sim")
            assert len(trial.turns) == 1 and trial.turns[0].stop_reason == twin.turns[0].stop_reason
            assert trial.turns[0].raw_stop_reason == twin.turns[0].raw_stop_reason
            assert trial.output_tokens == twin.output_tokens > 0 and trial.input_tokens == twin.input_tokens > 0
            assert trial.simulated
        else:
            assert trial.batch_id is None and len(trial.turns) >= 1
    assert outcomes >= {"complete", "wont_do", "cant_do", "budget_exhausted"}
    # one batch per model, each submitted, polled and ended on the display
    assert sum("submitted" in n for n in notes.notes) == 4
    assert sum(", 2 trials stored" in n for n in notes.notes) == 4


def test_a_failed_request_in_a_batch_is_an_error_trial_with_the_providers_message(tmp_path):
    the_plan = plan(suite(tmp_path, ["sim/diligent?faults=500:0.5"], ["direct"], samples=8))
    result = asyncio.run(arun(the_plan, out=tmp_path / "run", batch=True, polling=instant()))
    trials = list(result.trials)
    assert len(trials) == 8
    errors = [t for t in trials if t.outcome == "error"]
    assert 0 < len(errors) < 8  # drawn per request: the batch itself did not fail
    for t in errors:
        assert t.batch_id is not None and t.turns[0].error is not None
        assert "HTTP 500" in t.turns[0].error and "Internal server error (simulated)" in t.turns[0].error
        assert t.turns[0].retries == []  # never retried: a batch's result is final
    assert {t.outcome for t in trials} - {"error"} == {"complete"}


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_crash_after_submission_resumes_by_polling_the_stored_batches_without_submitting_again(tmp_path, wire):
    async def scenario() -> None:
        tasks = Catalog().tasks
        sim = await start(tasks)
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": sim.root}
        try:
            models = [f"{wire}/lazy?k=15", f"{wire}/diligent"]
            the_plan = plan(suite(tmp_path, models, ["direct"], samples=3))
            notes = Notes()
            run = asyncio.create_task(arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), display=notes, env=env))
            await notes.submitted.wait()
            run.cancel()  # a crash once the first batch id is stored
            with pytest.raises(asyncio.CancelledError):
                await run
            store = RunStore.open(tmp_path / "run")
            stored_batches = store.batches()
            store.close()
            assert stored_batches and all(b.state == "submitted" for b in stored_batches)
            before = sim.server.batches.created
            assert before == len(stored_batches)

            result = await arun(resume_plan(tmp_path / "run"), resume=tmp_path / "run", polling=instant(), env=env)
            assert result.stored == 6 and not result.interrupted
            # the stored batch was polled, not submitted again; only the model it did not reach was submitted
            assert sim.server.batches.created == 2
            trials = list(result.trials)
            ids = {b.batch_id for b in stored_batches}
            assert {t.batch_id for t in trials if t.spec.model == stored_batches[0].model} <= ids
            assert {t.spec.model: t.outcome for t in trials} == {models[0]: "wont_do", models[1]: "complete"}
            prefix = "batch_sim" if wire == "openai" else "msgbatch_sim"
            assert all(t.batch_id is not None and t.batch_id.startswith(prefix) for t in trials)
            store = RunStore.open(tmp_path / "run")
            assert {b.state for b in store.batches()} == {"ended"}
            store.close()
        finally:
            await sim.aclose()

    asyncio.run(scenario())


def test_polling_backs_off_from_an_injected_interval_up_to_a_cap(tmp_path):
    waits = Polling(first=1.0, factor=2.0, cap=5.0).waits()
    assert [next(waits) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    polling = instant()
    asyncio.run(arun(plan(suite(tmp_path, ["sim/diligent"], ["direct"], samples=30)), out=tmp_path / "run", batch=True, polling=polling))
    recorded = polling.sleep.waits  # type: ignore[attr-defined]
    assert recorded, "the batch was polled at least twice"
    assert recorded == [min(8.0, 2.0**i) for i in range(len(recorded))]


def test_the_batch_request_is_the_request_the_streamed_first_turn_sends():
    catalog = Catalog()
    task = catalog.tasks["french_numbers"]
    params = task.params({"start": 0, "end": 20})
    settings = Settings(max_tokens=1234, temperature=0.3, seed=7, thinking_budget=1024)
    sent: list[Request] = []

    class Recording(Provider):
        async def _attempt(self, request):  # type: ignore[no-untyped-def]
            sent.append(request)
            yield End("stop", "end_turn", Usage(output_tokens=1), None)

        def _classify(self, exc):  # type: ignore[no-untyped-def]
            raise exc

    provider = Recording(parse_address("sim/diligent"), limit=asyncio.Semaphore(1), retry=RetrySettings(attempts=1))
    spec = TrialSpec(
        key="k", model="sim/diligent", task=task.name, params=params.model_dump(), size=20, strategy="direct", sample=0, seed=7
    )
    asyncio.run(run_trial(spec, provider, task, params, catalog.strategies["direct"], settings))
    assert sent == [request_for(task, params, settings)]


def test_batches_are_chunked_at_the_providers_limits_and_a_local_model_has_no_batch_api():
    lines = [(str(i), b"x" * 10) for i in range(7)]
    assert [len(c) for c in chunks(lines, BatchLimits(requests=3, bytes=1000))] == [3, 3, 1]
    assert [len(c) for c in chunks(lines, BatchLimits(requests=100, bytes=25))] == [2, 2, 2, 1]
    with pytest.raises(BadInput, match=re.escape("llamacpp/smollm2 is a local llama.cpp model, which has no batch API")):
        check_batch_models(["sim/diligent", "llamacpp/smollm2"])


def test_dry_run_prices_batched_direct_cells_at_half(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n')
    the_plan = plan(suite(tmp_path, ["openai/gpt-4.1"], ["direct", "continue"]))

    def costs(text: str) -> dict[str, float]:
        rows = [line.split("|") for line in text.splitlines() if line.startswith("| openai/gpt-4.1")]
        return {r[4].strip(): float(r[-2]) for r in rows}

    streamed, batched = costs(dry_run(the_plan, prices)), costs(dry_run(the_plan, prices, batch=True))
    assert batched["direct"] == pytest.approx(streamed["direct"] / 2, abs=1e-4)
    assert batched["continue"] == streamed["continue"]
    assert "--batch" in dry_run(the_plan, prices, batch=True)
