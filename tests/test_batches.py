"""`run --batch`: the direct trials through OpenAI's Batch API and Anthropic's Message Batches,
against the simulated model's batch endpoints, through the real SDKs."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from longhaul.batch import Polling, check_batch_models, chunks, request_for
from longhaul.catalog import Catalog
from longhaul.display.protocol import NullDisplay
from longhaul.dryrun import dry_run
from longhaul.errors import BadInput
from longhaul.providers import Provider, Providers
from longhaul.providers.address import parse_address
from longhaul.providers.base import End, RetrySettings
from longhaul.providers.batches import BatchLimits, BatchResult, BatchState
from longhaul.providers.openai_batch import OpenAIBatch
from longhaul.providers.request import Message, Request, Usage
from longhaul.runner import arun, plan, resume_plan
from longhaul.sim.server import start
from longhaul.store import RunStore, StoredBatch
from longhaul.strategy import Settings
from longhaul.trial import TrialSpec, run_trial

SUITE = """
name = "batched"
models = [{models}]
strategies = [{strategies}]
samples = {samples}
max_tokens = 3000
{extra}

[[tasks]]
task = "french_numbers"
start = 0
end = 40
"""


def suite(
    tmp_path: Path, models: list[str], strategies: tuple[str, ...] = ("direct", "continue"), samples: int = 2, extra: str = ""
) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        SUITE.format(
            models=", ".join(f'"{m}"' for m in models), strategies=", ".join(f'"{s}"' for s in strategies), samples=samples, extra=extra
        )
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


async def crash_once_submitted(the_plan: Any, run_dir: Path, env: dict[str, str]) -> None:
    """Start a `--batch` run and cancel it (a crash, as far as the run knows) once a batch id is stored."""
    notes = Notes()
    run = asyncio.create_task(arun(the_plan, out=run_dir, batch=True, polling=instant(), display=notes, env=env))
    await notes.submitted.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


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


def test_a_request_failing_transiently_in_a_batch_is_sent_again_in_a_new_batch_and_ends_as_streamed(tmp_path):
    # Decided first: about a third of the requests fail with a 500 (drawn per request and attempt); the streamed
    # run retries each up to 6 attempts, and so does the batched one, each retry in a new batch:
    # both end with every trial complete, and the batched run says what it sent again.
    the_plan = plan(suite(tmp_path, ["sim/diligent?faults=500:0.3"], ["direct"], samples=10, extra="[retry]\ninitial_wait = 0"))
    notes = Notes()
    batched = asyncio.run(arun(the_plan, out=tmp_path / "batched", batch=True, polling=instant(), display=notes))
    streamed = asyncio.run(arun(the_plan, out=tmp_path / "streamed"))
    assert {t.outcome for t in batched.trials} == {t.outcome for t in streamed.trials} == {"complete"}
    assert batched.stored == streamed.stored == 10
    again = [n for n in notes.notes if "failed transiently" in n and "submitted again in a new batch" in n]
    assert again and "HTTP 500" in again[0] and "up to 6 attempts in all" in again[0]
    assert len({t.batch_id for t in batched.trials}) > 1  # the retried ones came from later batches


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_request_that_keeps_failing_transiently_is_an_error_after_the_suites_attempts_as_streamed(tmp_path, wire):
    # Decided first: with [retry] attempts = 3 and every request failing (500), each trial's request
    # is sent 3 times on both paths (3 batches), and each ends as `error` with the provider's message.
    async def scenario() -> tuple[list[Any], list[Any], int, int, int]:
        model = f"{wire}/diligent?faults=500:1"
        the_plan = plan(suite(tmp_path, [model], ["direct"], samples=2, extra="[retry]\nattempts = 3\ninitial_wait = 0"))
        sims = [await start(Catalog().tasks), await start(Catalog().tasks)]
        try:
            envs = [{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": s.url, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": s.root} for s in sims]
            batched = await arun(the_plan, out=tmp_path / "batched", batch=True, polling=instant(), env=envs[0])
            streamed = await arun(the_plan, out=tmp_path / "streamed", env=envs[1])
            return (
                list(batched.trials),
                list(streamed.trials),
                sims[0].server.requests,
                sims[1].server.requests,
                sims[0].server.batches.created,
            )
        finally:
            for s in sims:
                await s.aclose()

    batched, streamed, batched_requests, streamed_requests, batches = asyncio.run(scenario())
    assert [t.outcome for t in batched] == [t.outcome for t in streamed] == ["error", "error"]
    assert batched_requests == streamed_requests == 6 and batches == 3
    for t in batched:
        error = t.turns[0].error or ""
        assert "500" in error and "(simulated)" in error and "the last of 3 attempts, each in a batch" in error
    # its failed attempts counted as a streamed trial's are: 2 retries each
    assert [t.retries for t in batched] == [t.retries for t in streamed] == [2, 2]


def test_once_a_batch_result_stops_the_model_its_transient_failures_are_left_unstored_whatever_their_order(tmp_path):
    # Decided first: a model whose batch results mix a 404 (the model is refused for good) with
    # 500s and 429s: once stopped, no transient failure of it is stored as a final `error` after
    # fewer than its attempts, nor is anything of it submitted again; the trials stay missing for a
    # resume and the run has one stop for the model, as the streamed path does.
    async def scenario() -> tuple[list[Any], list[Any], int]:
        model = "openai/diligent?faults=404:0.1,500:0.3,429:0.3&seed=22"
        the_plan = plan(suite(tmp_path, [model], ["direct"], samples=30, extra="[retry]\nattempts = 3\ninitial_wait = 0"))
        sim = await start(Catalog().tasks)
        try:
            env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": sim.url}
            result = await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=env)
            return list(result.trials), result.stops, sim.server.batches.created
        finally:
            await sim.aclose()

    trials, stops, batches = asyncio.run(scenario())
    assert [s.reason for s in stops] == ["model_unavailable"] and "404" in (stops[0].why or "")
    assert len(trials) < 30 and stops[0].not_sent == 30 - len(trials)
    for t in trials:  # what was stored before the stop: answers, or errors only after every attempt
        assert t.outcome != "error" or "the last of 3 attempts" in (t.turns[0].error or "")
    assert batches == 1  # the first batch's 404 stopped the model: nothing was sent again


@pytest.mark.parametrize("fault", ["401", "403", "404"])
def test_a_request_refused_for_good_in_a_batch_stops_the_model_as_the_streamed_path_does(tmp_path, fault):
    # Decided first: a 401/403/404 result is no trial's error: the model is stopped (one stop, its
    # trials left missing for a resume, exit 3), the other model finishes, exactly as streamed.
    from longhaul.cli import _report_stops

    refused = f"sim/diligent?faults={fault}:1"
    the_plan = plan(suite(tmp_path, [refused, "sim/diligent"], ["direct"], samples=2))
    batched = asyncio.run(arun(the_plan, out=tmp_path / "batched", batch=True, polling=instant()))
    streamed = asyncio.run(arun(the_plan, out=tmp_path / "streamed"))
    for result in (batched, streamed):
        assert [t.spec.model for t in result.trials] == ["sim/diligent"] * 2 and result.interrupted
        (stop,) = result.stops
        assert (stop.reason, stop.model, stop.not_sent) == ("model_unavailable", refused, 2)
        assert _report_stops(result.stops) == 3
    assert batched.stops[0].why == streamed.stops[0].why and batched.stops[0].message == streamed.stops[0].message.replace(
        str(tmp_path / "streamed"), str(tmp_path / "batched")
    )
    assert "error" not in batched.outcomes


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_crash_after_submission_resumes_by_polling_the_stored_batches_without_submitting_again(tmp_path, wire):
    async def scenario() -> None:
        tasks = Catalog().tasks
        sim = await start(tasks)
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": sim.root}
        try:
            models = [f"{wire}/lazy?k=15", f"{wire}/diligent"]
            the_plan = plan(suite(tmp_path, models, ["direct"], samples=3))
            await crash_once_submitted(the_plan, tmp_path / "run", env)
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


def openai_env(url: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": url}


async def output_lines(url: str, batch_id: str) -> list[dict[str, Any]]:
    """An OpenAI batch's output file, read back through the SDK."""
    client = openai.AsyncOpenAI(api_key="test-key", base_url=url)
    try:
        batch = await client.batches.retrieve(batch_id)
        assert batch.output_file_id is not None
        return [json.loads(line) for line in (await client.files.content(batch.output_file_id)).text.splitlines() if line.strip()]
    finally:
        await client.close()


@pytest.mark.parametrize("thinking", [None, 1024])
def test_responses_addresses_batch_through_v1_responses_with_the_streamed_paths_verdicts_items_stops_and_tokens(tmp_path, thinking):
    profiles = ["lazy?k=15", "diligent", "drifter?at=10", "truncating?limit=100"]
    models = [f"openai-responses/{p}" for p in profiles]
    extra = f"thinking_budget = {thinking}" if thinking else ""

    async def scenario() -> None:
        tasks = Catalog().tasks
        # One sim per run: each starts with an empty prompt cache, so cached tokens compare too.
        batch_sim, stream_sim = await start(tasks), await start(tasks)
        try:
            the_plan = plan(suite(tmp_path, models, ["direct"], samples=2, extra=extra))
            await arun(the_plan, out=tmp_path / "batched", batch=True, polling=instant(), env=openai_env(batch_sim.url))
            await arun(the_plan, out=tmp_path / "streamed", env=openai_env(stream_sim.url))
            b, s = by_key(tmp_path / "batched"), by_key(tmp_path / "streamed")
            assert b.keys() == s.keys() and len(b) == 8
            stops = set()
            for key, trial in b.items():
                twin = s[key]
                assert twin.batch_id is None and trial.batch_id is not None and trial.batch_id.startswith("batch_sim")
                assert (trial.outcome, trial.verdict.items_correct, trial.verdict.first_error) == (
                    twin.outcome,
                    twin.verdict.items_correct,
                    twin.verdict.first_error,
                ), key
                (turn,), (streamed,) = trial.turns, twin.turns
                assert (turn.answer, turn.thinking) == (streamed.answer, streamed.thinking), key
                assert (turn.stop_reason, turn.raw_stop_reason) == (streamed.stop_reason, streamed.raw_stop_reason), key
                tokens = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")
                assert [getattr(trial, t) for t in tokens] == [getattr(twin, t) for t in tokens], key
                assert trial.output_tokens > 0 and trial.simulated
                assert bool(turn.thinking) == bool(thinking) and (trial.reasoning_tokens > 0) == bool(thinking)
                stops.add(turn.raw_stop_reason)
            assert stops == {"completed", "incomplete:max_output_tokens"}
            assert {t.outcome for t in b.values()} >= {"complete", "wont_do", "cant_do", "budget_exhausted"}

            # what the sim received: Responses lines under a /v1/responses batch, each the streamed provider's body
            batch_ids = {t.batch_id for t in b.values() if t.batch_id is not None}
            assert len(batch_ids) == 4
            for batch_id in batch_ids:
                lines = batch_sim.server.batches.input_lines(batch_id)
                assert {line["url"] for line in lines} == {"/v1/responses"}
                for line in lines:
                    body = line["body"]
                    assert "messages" not in body and "stream" not in body and "max_completion_tokens" not in body
                    assert body["input"][0]["role"] == "user" and body["max_output_tokens"] == 3000 and body["store"] is False
                    assert ("reasoning" in body) == bool(thinking)

            # a long answer came as several message items, and was joined in order
            diligent = next(t for t in b.values() if t.spec.model == "openai-responses/diligent")
            assert diligent.batch_id is not None
            (line,) = [x for x in await output_lines(batch_sim.url, diligent.batch_id) if x["custom_id"] == diligent.spec.key]
            messages = [item for item in line["response"]["body"]["output"] if item["type"] == "message"]
            assert len(messages) >= 2 and sum(len(m["content"]) for m in messages) >= 3
            assert diligent.turns[0].answer == "".join(part["text"] for m in messages for part in m["content"])
            assert diligent.outcome == "complete"
        finally:
            await batch_sim.aclose()
            await stream_sim.aclose()

    asyncio.run(scenario())


def test_a_sim_address_on_the_responses_wire_batches_through_v1_responses(tmp_path):
    the_plan = plan(suite(tmp_path, ["sim/diligent?api=responses", "sim/diligent"], ["direct"], samples=1))
    notes = Notes()
    result = asyncio.run(arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), display=notes))
    trials = {t.spec.model: t for t in result.trials}
    assert {m: t.outcome for m, t in trials.items()} == {"sim/diligent?api=responses": "complete", "sim/diligent": "complete"}
    # the Responses wire's stop reason and the Chat wire's, each as its streamed provider records it
    assert trials["sim/diligent?api=responses"].turns[0].raw_stop_reason == "completed"
    assert trials["sim/diligent"].turns[0].raw_stop_reason == "stop"


def test_a_line_whose_url_is_not_the_batchs_endpoint_fails_the_batch_in_validation_as_openais_does(tmp_path, monkeypatch):
    """OpenAI validates every line's `url` against the batch's `endpoint` before running any: a
    mixed or unknown url fails the whole batch (`errors` naming the line), so its trials are not
    answered, the run stops saying why, and a resume submits them again."""
    encode = OpenAIBatch.encode
    wrong = iter([b"/v1/responses", b"/v1/unknown", b"/v1/chat/completions"])

    def mixed(self: OpenAIBatch, custom_id: str, request: Request) -> bytes:
        return encode(self, custom_id, request).replace(b'"url":"/v1/responses"', b'"url":"' + next(wrong) + b'"')

    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        try:
            the_plan = plan(suite(tmp_path, ["openai-responses/diligent"], ["direct"], samples=3))
            with monkeypatch.context() as patch:
                patch.setattr(OpenAIBatch, "encode", mixed)
                result = await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=openai_env(sim.url))
            assert result.stored == 0
            (stop,) = result.stops
            assert stop.reason == "batch_failed" and stop.not_sent == 3
            assert (
                "invalid_url (line 2): The URL provided for this request ('/v1/unknown') does not match the batch endpoint" in stop.message
            )
            assert "invalid_url (line 3)" in stop.message and "(line 1)" not in stop.message
            assert "longhaul resume" in stop.message

            resumed = await arun(resume_plan(tmp_path / "run"), resume=tmp_path / "run", polling=instant(), env=openai_env(sim.url))
            assert resumed.stored == 3 and {t.outcome for t in resumed.trials} == {"complete"}
        finally:
            await sim.aclose()

    asyncio.run(scenario())


def test_the_sim_refuses_a_batch_endpoint_it_does_not_serve_at_create(tmp_path):
    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        client = openai.AsyncOpenAI(api_key="test-key", base_url=sim.url, max_retries=0)
        try:
            line = {"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"model": "diligent", "input": "x"}}
            upload = await client.files.create(file=("b.jsonl", json.dumps(line).encode()), purpose="batch")
            with pytest.raises(openai.BadRequestError, match="the sim batches /v1/chat/completions and /v1/responses only"):
                await client.batches.create(completion_window="24h", endpoint="/v1/embeddings", input_file_id=upload.id)
        finally:
            await client.close()
            await sim.aclose()

    asyncio.run(scenario())


# -- the batch path's failures (issue 19's review) -------------------------------------------------------


def test_a_stored_batch_the_provider_no_longer_knows_is_marked_lost_and_its_trials_submitted_again_while_others_are_polled(tmp_path):
    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        env = openai_env(sim.url)
        try:
            models = ["openai/lazy?k=15", "openai/diligent"]
            the_plan = plan(suite(tmp_path, models, ["direct"], samples=3))
            await crash_once_submitted(the_plan, tmp_path / "run", env)
            store = RunStore.open(tmp_path / "run")
            (known,) = store.batches()
            # the other model's batch lived on a server that is gone: this one never heard of it
            gone = [s.key for s in the_plan.trials if s.model != known.model]
            store.add_batch(
                StoredBatch(batch_id="batch_gone", model=next(m for m in models if m != known.model), keys=gone, state="submitted")
            )
            store.close()

            notes = Notes()
            result = await arun(resume_plan(tmp_path / "run"), resume=tmp_path / "run", polling=instant(), env=env, display=notes)
            assert result.stored == 6 and not result.interrupted and result.stops == []
            assert {t.outcome for t in result.trials} == {"wont_do", "complete"}  # no error trial: none was answered by the lost batch
            assert sim.server.batches.created == 2  # the known batch polled, the lost one's trials submitted once
            store = RunStore.open(tmp_path / "run")
            states = {b.batch_id: b.state for b in store.batches()}
            store.close()
            assert states[known.batch_id] == "ended" and states["batch_gone"] == "lost"
            assert sorted(states.values()) == ["ended", "ended", "lost"]
            (line,) = [n for n in notes.notes if "batch_gone" in n]
            assert "no longer knows it (HTTP 404)" in line and "its 3 trials not stored submitted again" in line
        finally:
            await sim.aclose()

    asyncio.run(scenario())


def test_a_batch_api_that_fails_stops_that_model_alone_with_a_line_and_exit_3_while_other_models_finish(tmp_path, monkeypatch):
    from longhaul.cli import _report_stops
    from longhaul.sim.batches import SimBatches

    retrieve = SimBatches._openai_retrieve

    async def forbidden_for_lazy(self: SimBatches, request: Any) -> Any:
        batch = self._batches.get(request.match_info["id"])
        if batch is not None and any(b'"lazy' in body for _, body, _ in batch.requests):
            from aiohttp import web

            return web.json_response({"error": {"message": "no access to batches", "type": "permission_error"}}, status=403)
        return await retrieve(self, request)

    async def scenario() -> None:
        monkeypatch.setattr(SimBatches, "_openai_retrieve", forbidden_for_lazy)  # before the server binds its routes
        sim = await start(Catalog().tasks)
        try:
            the_plan = plan(suite(tmp_path, ["openai/lazy?k=15", "openai/diligent"], ["direct"], samples=3))
            result = await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=openai_env(sim.url))
        finally:
            await sim.aclose()
        assert [t.spec.model for t in result.trials] == ["openai/diligent"] * 3
        (stop,) = result.stops
        assert stop.reason == "batch_failed" and stop.model == "openai/lazy?k=15" and stop.not_sent == 3
        assert "its batch API failed (HTTP 403 on GET /v1/batches/" in stop.message and "no access to batches" in stop.message
        assert "longhaul resume" in stop.message
        assert _report_stops(result.stops) == 3

    asyncio.run(scenario())


def test_a_server_without_batch_endpoints_is_one_line_of_bad_input_and_nothing_is_stored(tmp_path):
    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        try:
            # a base URL under which nothing is served: no /v1/files, as Ollama or llama.cpp's server
            env = {"OLLAMA_API_KEY": "none", "OLLAMA_BASE_URL": sim.root + "/elsewhere/v1"}
            the_plan = plan(suite(tmp_path, ["openai-api/ollama/diligent"], ["direct"], samples=2))
            with pytest.raises(BadInput) as raised:
                await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=env)
        finally:
            await sim.aclose()
        message = str(raised.value)
        assert "\n" not in message and message.startswith("--batch: openai-api/ollama/diligent at ")
        assert "/elsewhere/v1/ has no Batch API (HTTP 404 on POST /v1/files); run it without --batch" in message
        store = RunStore.open(tmp_path / "run")
        try:
            assert store.count() == 0 and store.batches() == []
            # only a note for a resume: this model streams then
            assert [(s.reason, s.model) for s in store.manifest.stops] == [("no_batch_api", "openai-api/ollama/diligent")]
        finally:
            store.close()

    asyncio.run(scenario())


def test_a_resume_without_batch_streams_the_model_whose_server_has_no_batch_api_and_polls_the_others(tmp_path):
    # Decided first: the --batch run batches sim/diligent and stops on the server without a batch
    # API (bad input); a plain resume then collects nothing new from batches for sim/diligent (its
    # batch is done) and streams the other model's trials, as the message said to.
    async def scenario() -> tuple[set[str | None], set[str | None], int]:
        sim = await start(Catalog().tasks)
        try:
            env = {"OLLAMA_API_KEY": "none", "OLLAMA_BASE_URL": sim.root + "/elsewhere/v1"}
            the_plan = plan(suite(tmp_path, ["sim/diligent", "openai-api/ollama/diligent"], ["direct"], samples=2))
            with pytest.raises(BadInput):
                await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=env)
            env["OLLAMA_BASE_URL"] = sim.url  # the server answers chat completions, not batches
            await arun(the_plan, resume=tmp_path / "run", polling=instant(), env=env)
        finally:
            await sim.aclose()
        store = RunStore.open(tmp_path / "run")
        try:
            trials = list(store.trials())
            sim_ids = {t.batch_id for t in trials if t.spec.model == "sim/diligent"}
            other_ids = {t.batch_id for t in trials if t.spec.model != "sim/diligent"}
            return sim_ids, other_ids, len(trials)
        finally:
            store.close()

    sim_ids, other_ids, n = asyncio.run(scenario())
    assert n == 4
    assert None not in sim_ids  # batched in the first run
    assert other_ids == {None}  # streamed on resume


def test_batched_trials_are_admitted_by_the_spend_guard_priced_at_half_and_those_refused_are_not_submitted(tmp_path):
    from longhaul.pricing import Price
    from longhaul.spend import SpendGuard, SpendLimits

    the_plan = plan(suite(tmp_path, ["openai/gpt-4.1"], ["direct"], samples=1))
    (spec,) = the_plan.trials
    price = Price(input=2.0, output=8.0)

    def guard(cap: float) -> SpendGuard:
        return SpendGuard(SpendLimits(max_cost=cap, prices={"openai/gpt-4.1": price}), the_plan.suite, the_plan.catalog.tasks)

    probe = guard(1000.0)
    assert probe.admit(spec)
    full = probe._in_flight[spec.key].cost
    assert full > 0
    between = full * 0.75
    assert not guard(between).admit(spec)  # streamed: the full price passes the cap
    assert guard(between).admit(spec, batch=True)  # batched: half of it does not

    # through a run: the guard's limit admits some of a batch's trials; the others are never sent
    from longhaul.spend import SpendLimits as Limits

    result = asyncio.run(
        arun(
            plan(suite(tmp_path, ["sim/diligent"], ["direct"], samples=8)),
            out=tmp_path / "run",
            batch=True,
            polling=instant(),
            limits=Limits(max_output_tokens=600),
        )
    )
    assert 0 < result.stored < 8
    (stop,) = result.stops
    assert stop.reason == "spend_guard" and stop.not_sent == 8 - result.stored
    assert all(t.batch_id is not None for t in result.trials)


@pytest.mark.parametrize("wire", ["openai-api/local", "anthropic"])
def test_max_tokens_too_large_in_a_batch_stops_the_model_as_the_streamed_path_does(tmp_path, wire):
    """The sim's batch reply applies the profile's max_output as its streamed handler does; the
    result's 400 is read by `status_error`: that model's trials stay missing, one stop names the limit."""

    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        env = {"LOCAL_API_KEY": "k", "LOCAL_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": sim.root}
        try:
            limited = f"{wire}/diligent?max_output=500"
            # direct batched, continue streamed: whichever path meets the 400, one stop for the model
            the_plan = plan(suite(tmp_path, [limited, f"{wire}/diligent"], ["direct", "continue"], samples=3))
            return await arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), env=env)
        finally:
            await sim.aclose()

    result = asyncio.run(scenario())
    assert {t.spec.model for t in result.trials} == {f"{wire}/diligent"} and result.stored == 6
    (stop,) = result.stops
    assert stop.reason == "model_unavailable" and stop.model == f"{wire}/diligent?max_output=500" and stop.not_sent == 6
    assert "max_tokens 3000 is above its output limit of 500 tokens" in stop.message and "longhaul resume" in stop.message


def test_a_batch_that_fails_as_a_whole_is_a_stop_with_exit_3_and_the_sim_can_fail_one(tmp_path):
    from longhaul.cli import _report_stops

    the_plan = plan(suite(tmp_path, ["sim/diligent?batch=fail", "sim/diligent"], ["direct"], samples=2))
    result = asyncio.run(arun(the_plan, out=tmp_path / "run", batch=True, polling=instant()))
    assert [t.spec.model for t in result.trials] == ["sim/diligent"] * 2
    (stop,) = result.stops
    assert stop.reason == "batch_failed" and stop.model == "sim/diligent?batch=fail" and stop.not_sent == 2
    assert "failed as a whole (batch_failed (line 1): the batch failed (simulated" in stop.message
    assert _report_stops(result.stops) == 3


def test_a_new_batch_is_first_polled_after_pollings_first_wait(tmp_path, monkeypatch):
    events: list[str] = []
    poll = OpenAIBatch.poll

    async def recorded_poll(self: OpenAIBatch, batch_id: str) -> Any:
        events.append("poll")
        return await poll(self, batch_id)

    class Sleep(Recorded):
        async def __call__(self, seconds: float) -> None:
            events.append(f"sleep {seconds:g}")
            await super().__call__(seconds)

    monkeypatch.setattr(OpenAIBatch, "poll", recorded_poll)
    asyncio.run(
        arun(
            plan(suite(tmp_path, ["sim/diligent"], ["direct"], samples=1)),
            out=tmp_path / "run",
            batch=True,
            polling=Polling(first=10.0, sleep=Sleep()),
        )
    )
    assert events[:2] == ["sleep 10", "poll"]


def test_dry_run_with_batch_refuses_a_local_model_as_the_run_does_and_says_searches_stream(tmp_path, capsys):
    from longhaul.cli import main

    assert main(["run", "local-demo", "--batch", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a local llama.cpp model, which has no batch API; run it without --batch" in err[0]

    searched = plan(Path(__file__).parent.parent / "tasks" / "illusion-search.toml", models=["openai/gpt-4.1"])
    text = dry_run(searched, None, batch=True)
    assert "--batch: 0 trials of the fixed one-turn (direct) cells go through the providers' batch APIs" in text
    assert "every search (its rounds depend on the results stored) stream, at full price" in text


def test_a_batch_run_of_a_search_suite_says_once_that_searches_stream(tmp_path):
    notes = Notes()
    path = tmp_path / "search.toml"
    path.write_text(
        'name = "s"\nmodels = ["sim/diligent"]\nstrategies = ["direct"]\nmax_tokens = 3000\n\n'
        '[[tasks]]\ntask = "french_numbers"\nstart = 0\n[tasks.search]\nparam = "end"\nlow = 10\nhigh = 40\nsamples = 1\nmax_samples = 1\n'
    )
    asyncio.run(arun(plan(path), out=tmp_path / "run", batch=True, polling=instant(), display=notes))
    assert sum("searches stream" in n for n in notes.notes) == 1


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_batch_cancelled_at_the_provider_ends_with_the_answers_it_had_and_the_rest_unanswered(tmp_path, wire):
    # Decided first: a batch cancelled while it runs ends (OpenAI `cancelled`, Anthropic `ended`)
    # with the answers given before the cancel. Anthropic gives every other request a `canceled`
    # result (an error naming it); OpenAI's output file has the partial results only, as its docs
    # say, and longhaul makes a request without a result an `error` trial ("no result: ..."). 400
    # requests: the sim answers one per turn of its event loop, so the cancel lands long before the last.
    async def scenario() -> tuple[BatchState, list[BatchResult]]:
        sim = await start(Catalog().tasks)
        model = "openai/diligent" if wire == "openai" else "anthropic/diligent"
        env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": sim.url, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": sim.root}
        try:
            async with Providers(env=env) as providers:
                api = await providers.batch_api(model)
                request = Request(messages=[Message(role="user", content="Print every integer from 1 to 5.")], max_tokens=200)
                batch_id = await api.submit([api.encode(f"t{i}", request) for i in range(400)])
                if wire == "openai":
                    async with openai.AsyncOpenAI(api_key="k", base_url=sim.url) as client:
                        await client.batches.cancel(batch_id)
                else:
                    async with anthropic.AsyncAnthropic(api_key="k", base_url=sim.root) as client:
                        await client.messages.batches.cancel(batch_id)
                state = await api.poll(batch_id)
                while state.status == "pending":
                    await asyncio.sleep(0)
                    state = await api.poll(batch_id)
                results = await api.results(batch_id)
                await api.aclose()
                return state, results
        finally:
            await sim.aclose()

    state, results = asyncio.run(scenario())
    assert state.status == "ended" and state.raw_status in ("cancelled", "ended")
    answered = [r for r in results if r.error is None]
    assert answered and all(r.answer for r in answered) and len(answered) < 400
    if wire == "anthropic":
        cancelled = [r for r in results if r.error is not None]
        assert sorted(r.custom_id for r in results) == sorted(f"t{i}" for i in range(400))
        assert all("cancel" in (r.error or "").lower() for r in cancelled) and len(cancelled) == 400 - len(answered)
    else:
        assert len(results) == len(answered)  # partial results only


@pytest.mark.parametrize("thinking", [None, 1024])
def test_the_anthropic_batch_body_is_the_streamed_body_breakpoints_included_and_cached_tokens_are_recorded(tmp_path, thinking):
    # Decided first: each params the sim's Message Batch received is, key for key, the body the
    # streamed provider POSTs to /v1/messages less `stream` (so its cache_control breakpoints), and
    # the batched trials record the cache reads and writes the streamed ones do (two samples share a prompt).
    from longhaul.sim.server import SimServer

    streamed_bodies: list[dict[str, Any]] = []
    messages = SimServer._messages

    async def recording(self: SimServer, request: Any) -> Any:
        streamed_bodies.append(json.loads(await request.read()))
        return await messages(self, request)

    async def scenario() -> None:
        tasks = Catalog().tasks
        batch_sim, stream_sim = await start(tasks), await start(tasks)
        try:
            the_plan = plan(
                suite(
                    tmp_path,
                    ["anthropic/diligent?cache_min=32"],
                    ["direct"],
                    samples=2,
                    extra=f"thinking_budget = {thinking}" if thinking else "",
                )
            )
            env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": batch_sim.root}
            await arun(the_plan, out=tmp_path / "batched", batch=True, polling=instant(), env=env)
            await arun(the_plan, out=tmp_path / "streamed", env={"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": stream_sim.root})
            (batch,) = batch_sim.server.batches._batches.values()
            batched_bodies = [json.loads(raw) for _, raw, _ in batch.requests]
        finally:
            await batch_sim.aclose()
            await stream_sim.aclose()
        assert len(streamed_bodies) == 2 and all(body.pop("stream") is True for body in streamed_bodies)
        assert sorted(batched_bodies, key=json.dumps) == sorted(streamed_bodies, key=json.dumps)
        assert batched_bodies[0]["messages"][-1]["content"][0]["cache_control"] == {"type": "ephemeral"}
        b, s = by_key(tmp_path / "batched"), by_key(tmp_path / "streamed")
        for tokens in ("input_tokens", "cached_input_tokens", "cache_write_tokens"):
            assert sorted(getattr(t, tokens) for t in b.values()) == sorted(getattr(t, tokens) for t in s.values()), tokens
        assert sum(t.cached_input_tokens for t in b.values()) > 0 and sum(t.cache_write_tokens for t in b.values()) > 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SimServer, "_messages", recording)  # before the servers bind their routes
        asyncio.run(scenario())


def test_a_resume_counts_trials_in_pending_batches_at_the_max_tokens_their_batch_sent(tmp_path, monkeypatch):
    # Decided first: the batch keeps the max_tokens its requests were sent (3000); a resume that would
    # clamp the model to 1000 is refused in one line while that batch pends, as for stored trials; and
    # the trials collected from it are recorded at 3000 whatever the resume planned (the check bypassed).
    import longhaul.runner

    limits = tmp_path / "limits.toml"
    limits.write_text('["openai/diligent"]\noutput = 1000\nsource = "test"\nread = 2026-01-02\n', encoding="utf-8")

    async def scenario() -> None:
        sim = await start(Catalog().tasks)
        env = openai_env(sim.url)
        try:
            the_plan = plan(suite(tmp_path, ["openai/diligent"], ["direct"], samples=2))
            await crash_once_submitted(the_plan, tmp_path / "run", env)
            store = RunStore.open(tmp_path / "run")
            assert [(b.state, b.max_tokens) for b in store.batches()] == [("submitted", 3000)]
            store.close()

            clamped = resume_plan(tmp_path / "run", model_limits=limits, over_model_limit="clamp")
            assert clamped.max_tokens("openai/diligent") == 1000
            with pytest.raises(BadInput) as refused:
                await arun(clamped, resume=tmp_path / "run", polling=instant(), env=env)
            assert "\n" not in str(refused.value)
            assert "model 'openai/diligent'" in str(refused.value) and "sent max_tokens 3,000, this resume would send 1,000" in str(
                refused.value
            )

            monkeypatch.setattr(longhaul.runner, "check_budgets", lambda *a: None)
            result = await arun(clamped, resume=tmp_path / "run", polling=instant(), env=env)
            assert result.stored == 2 and {t.max_tokens for t in result.trials} == {3000}
        finally:
            await sim.aclose()

    asyncio.run(scenario())


def test_a_run_whose_batches_table_predates_max_tokens_opens_and_resumes(tmp_path):
    import sqlite3

    result = asyncio.run(
        arun(plan(suite(tmp_path, ["sim/diligent"], ["direct"], samples=1)), out=tmp_path / "run", batch=True, polling=instant())
    )
    db = sqlite3.connect(result.run_dir / "trials.sqlite")
    db.execute("ALTER TABLE batches DROP COLUMN max_tokens")  # as a run made before the column was
    db.commit()
    db.close()
    store = RunStore.open(result.run_dir)
    try:
        assert [b.max_tokens for b in store.batches()] == [None] and store.max_tokens_sent() == {"sim/diligent": {3000}}
    finally:
        store.close()


def test_a_model_whose_last_batch_failed_as_a_whole_streams_on_a_plain_resume_and_resume_batch_tries_a_batch_again(tmp_path):
    # Decided first: the failed batch's stop has its reason (the end line says it, never "None") and
    # says how a resume goes on; `resume --batch` submits a batch again (and it fails again: the sim
    # fails every one); a plain resume streams that model's trials at full price and finishes.
    class Ended(Notes):
        def run_finished(self, summary: Any) -> None:
            self.stopped = summary.stopped

    failing = "sim/diligent?batch=fail"
    the_plan = plan(suite(tmp_path, [failing, "sim/diligent"], ["direct"], samples=2))
    display = Ended()
    first = asyncio.run(arun(the_plan, out=tmp_path / "run", batch=True, polling=instant(), display=display))
    (stop,) = first.stops
    assert stop.why is not None and stop.why.startswith("batch batch_sim") and "failed as a whole (batch_failed (line 1)" in stop.why
    (phrase,) = display.stopped
    assert phrase.startswith(f"{failing}'s 2 not sent: batch batch_sim") and "None" not in phrase
    assert "streams them, at full price; resume --batch tries a batch again" in stop.message

    again = asyncio.run(arun(resume_plan(tmp_path / "run"), resume=tmp_path / "run", batch=True, polling=instant()))
    assert [s.reason for s in again.stops] == ["batch_failed"] and again.stored == 2

    told = Notes()
    plain = asyncio.run(arun(resume_plan(tmp_path / "run"), resume=tmp_path / "run", polling=instant(), display=told))
    assert plain.stops == [] and not plain.interrupted and plain.stored == 4
    assert f"--batch: {failing}: its one-turn trials stream on this resume, at full price" in told.notes
    trials = by_key(tmp_path / "run").values()
    assert {t.batch_id for t in trials if t.spec.model == failing} == {None}  # streamed
    assert all(t.batch_id is not None for t in trials if t.spec.model == "sim/diligent")
    assert {t.outcome for t in trials} == {"complete"}
    store = RunStore.open(tmp_path / "run")
    try:
        assert [b.state for b in store.batches() if b.model == failing] == ["failed", "failed"]
    finally:
        store.close()


def test_an_interrupted_batch_runs_end_line_says_how_many_batches_are_pending_and_that_resume_collects_them(tmp_path):
    # Decided first: a Ctrl-C once two models' batches are submitted ends with the plain display's
    # one end line saying "2 batches still pending at the provider: longhaul resume RUN collects them".
    import io

    from longhaul.display.plain import PlainDisplay

    class Watching(PlainDisplay):
        def __init__(self, out: io.StringIO) -> None:
            super().__init__(out)
            self.both = asyncio.Event()
            self.submitted = 0

        def run_note(self, text: str) -> None:
            super().run_note(text)
            self.submitted += "submitted" in text
            if self.submitted == 2:
                self.both.set()

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()  # the batches are never polled: both still pending at the Ctrl-C

    async def scenario() -> str:
        sim = await start(Catalog().tasks)
        out = io.StringIO()
        try:
            display = Watching(out)
            the_plan = plan(suite(tmp_path, ["openai/diligent", "openai/lazy?k=15"], ["direct"], samples=2))
            run = asyncio.create_task(
                arun(the_plan, out=tmp_path / "run", batch=True, polling=Polling(sleep=never), display=display, env=openai_env(sim.url))
            )
            await display.both.wait()
            run.cancel()  # Ctrl-C
            with pytest.raises(asyncio.CancelledError):
                await run
        finally:
            await sim.aclose()
        return out.getvalue()

    (end,) = [line for line in asyncio.run(scenario()).splitlines() if line.startswith(("run finished", "run interrupted", "run stopped"))]
    assert end.startswith("run interrupted: 0/4 trials stored")
    assert end.endswith(f"; 2 batches still pending at the provider: longhaul resume {tmp_path / 'run'} collects them")
