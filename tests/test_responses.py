"""OpenAI's Responses API (`openai-responses/...`) through the real openai SDK against the sim: the
sim's event sequence and whole reply, an answer split over several output items joined whole,
reasoning summaries kept apart as thinking with their reasoning tokens, `incomplete` as a budget
verdict, failures in the stream classified, a cut stream retried, `sim/...?api=responses`, and a
run end to end against `longhaul sim serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter

import openai
import pytest
from aiohttp import web
from test_providers import FakeSleep, final, with_sim

from longhaul.ask import ask
from longhaul.errors import BadInput
from longhaul.providers import Message, ProviderError, Providers, Request, Restart, RetrySettings, parse_address
from longhaul.providers.openai_responses import OpenAIResponses, SimResponses, stop_reason
from longhaul.sim.responses_wire import SPLIT_ABOVE
from longhaul.sim.server import start
from longhaul.tokens import encoding


def run(coro):
    return asyncio.run(coro)


def hanoi(tasks, disks=5):
    t = tasks["hanoi"]
    return t, t.params({"disks": disks}), t.prompt(t.params({"disks": disks}))


# -- the sim's wire, read by the SDK ---------------------------------------------------------------


def test_the_sim_streams_the_responses_event_sequence_and_agrees_with_its_whole_reply(tasks):
    _, _, prompt = hanoi(tasks)

    async def scenario():
        sim = await start(tasks)
        try:
            client = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
            ask_for = dict(model="diligent", instructions=prompt.system, input=prompt.user, max_output_tokens=4000)
            reasoning = {"effort": "low", "summary": "auto"}
            stream = await client.responses.create(**ask_for, reasoning=reasoning, stream=True)
            events = [e async for e in stream]
            whole = await client.responses.create(**ask_for, reasoning=reasoning)
            plain = await client.responses.create(**ask_for)
            return events, whole, plain
        finally:
            await sim.aclose()

    events, whole, plain = run(scenario())
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed" and kinds[-2] == "response.output_item.done"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    counts = Counter(kinds)
    for kind in ("reasoning_summary_part.added", "reasoning_summary_text.done", "reasoning_summary_part.done"):
        assert counts[f"response.{kind}"] == 1
    assert counts["response.reasoning_summary_text.delta"] > 5 and counts["response.output_text.delta"] > 5
    # The answer (above SPLIT_ABOVE tokens) comes as two message items, the second of two parts.
    items = [e.item.type for e in events if e.type == "response.output_item.added"]
    assert items == ["reasoning", "message", "message"]
    assert counts["response.content_part.added"] == counts["response.output_text.done"] == 3
    streamed = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    done = events[-1].response
    assert done.output_text == streamed == whole.output_text and whole.status == "completed"
    assert [o.type for o in whole.output] == ["reasoning", "message", "message"]
    assert whole.output[0].summary[0].text == summary and summary not in streamed
    enc = encoding("o200k_base")
    assert done.usage.output_tokens_details.reasoning_tokens == len(enc.encode(summary))
    assert done.usage.output_tokens == len(enc.encode(summary)) + len(enc.encode(streamed))
    assert done.usage.input_tokens > 100 and done.usage.input_tokens_details.cached_tokens == 0
    # Without a reasoning effort, no reasoning item: the same answer, the same split.
    assert [o.type for o in plain.output] == ["message", "message"] and plain.output_text == streamed
    assert len(enc.encode(streamed)) > SPLIT_ABOVE


def test_the_sim_answers_bad_responses_requests_as_the_api_does(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            client = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
            errors = []
            for kw in (
                {"model": "nosuch", "input": "hi"},
                {"model": "diligent", "input": []},
                {"model": "diligent?faults=429:1", "input": "hi"},
            ):
                try:
                    await client.responses.create(**kw)
                except openai.APIStatusError as exc:
                    errors.append((exc.status_code, exc.body.get("code"), exc.message))
            return errors
        finally:
            await sim.aclose()

    (unknown, empty, limited) = run(scenario())
    assert unknown[:2] == (404, "model_not_found") and "known profiles" in unknown[2]
    assert empty[0] == 400 and "input:" in empty[2]
    assert limited[:2] == (429, "rate_limit_exceeded")  # OpenAI's own code on both OpenAI wires


# -- the provider ----------------------------------------------------------------------------------


def test_an_answer_over_several_output_items_is_joined_whole(tasks):
    t, p, _ = hanoi(tasks, disks=6)

    async def body(providers, sim):
        provider = await providers.get("openai-responses/diligent")
        assert isinstance(provider, OpenAIResponses)
        chat = await ask(await providers.get("openai/diligent"), t, p, max_tokens=8000)
        return await ask(provider, t, p, max_tokens=8000), chat

    asked, chat = run(with_sim(tasks, body))
    c = asked.completion
    assert asked.verdict.outcome == "complete", asked.verdict.explanation
    # The same answer as Chat Completions gives, though it came as three parts of two items.
    assert c.answer == chat.completion.answer and c.usage.output_tokens > 3 * SPLIT_ABOVE
    assert (c.stop_reason, c.raw_stop_reason, c.simulated, c.served_model) == ("end_turn", "completed", True, "diligent")
    assert c.usage.cached_input_tokens == 0 and c.usage.input_tokens == chat.completion.usage.input_tokens


def test_reasoning_summaries_are_thinking_apart_with_their_reasoning_tokens(tasks):
    t, p, _ = hanoi(tasks)

    async def body(providers, sim):
        return await ask(await providers.get("openai-responses/diligent"), t, p, max_tokens=8000, thinking_budget=2000)

    asked = run(with_sim(tasks, body))
    c = asked.completion
    assert asked.verdict.outcome == "complete"
    assert "Let me work through it" in c.thinking and "Let me work through it" not in c.answer
    enc = encoding("o200k_base")
    # Every token of the summary is reported as reasoning (effort "low": at most 1024 in the sim).
    assert 0 < c.usage.reasoning_tokens == len(enc.encode(c.thinking)) <= 1024
    assert c.usage.output_tokens == c.usage.reasoning_tokens + len(enc.encode(c.answer))


@pytest.mark.parametrize("max_tokens,thinking", [(60, None), (500, 2000)])
def test_incomplete_is_the_token_limit_and_the_verdict_budget_exhausted(tasks, max_tokens, thinking):
    t, p, _ = hanoi(tasks, disks=7)

    async def body(providers, sim):
        return await ask(await providers.get("openai-responses/diligent"), t, p, max_tokens=max_tokens, thinking_budget=thinking)

    asked = run(with_sim(tasks, body))
    c = asked.completion
    assert (c.stop_reason, c.raw_stop_reason) == ("max_tokens", "incomplete:max_output_tokens")
    assert c.usage.output_tokens == max_tokens and asked.verdict.outcome == "budget_exhausted"
    if thinking:  # the thinking took the whole budget: no message item was begun
        assert c.answer == "" and c.usage.reasoning_tokens == max_tokens and "thinking" in asked.verdict.explanation


@pytest.mark.parametrize(
    "status,reason,raw,stop",
    [
        ("completed", None, "completed", "end_turn"),
        ("incomplete", "max_output_tokens", "incomplete:max_output_tokens", "max_tokens"),
        ("incomplete", "content_filter", "incomplete:content_filter", "content_filter"),
        ("incomplete", None, "incomplete", "max_tokens"),
        ("incomplete", "steered", "incomplete:steered", "other"),
    ],
)
def test_a_responses_status_and_reason_map_like_the_other_stop_reasons(status, reason, raw, stop):
    assert stop_reason(status, reason) == (raw, stop)


def test_a_cut_stream_is_retried_and_voids_what_it_streamed(tasks):
    t = tasks["count"]
    prompt = t.prompt(t.params({"end": 200}))

    async def body(providers, sim):
        provider = await providers.get("openai-responses/diligent?faults=cut:0.5")
        request = Request(system=prompt.system, messages=[Message(role="user", content=prompt.user)], max_tokens=4000)
        return [[e async for e in provider.stream(request)] for _ in range(8)], sim.server.requests

    seen, requests = run(with_sim(tasks, body, sleep=FakeSleep()))
    restarted = [events for events in seen if any(isinstance(e, Restart) for e in events)]
    assert restarted and requests == sum(events[-1].attempts for events in seen)
    for events in restarted:
        last = max(i for i, e in enumerate(events) if isinstance(e, Restart))
        assert "".join(e for e in events[last:] if isinstance(e, str)) == events[-1].answer
        assert "no response.completed" in events[last].retry.error
        assert events[-1].answer.split()[-1] == "200"


def test_http_faults_on_the_responses_wire_are_retried_with_retry_after(tasks):
    sleep = FakeSleep()

    async def body(providers, sim):
        provider = await providers.get("openai-responses/diligent?faults=429:1&retry_after=5")
        with pytest.raises(ProviderError) as info:
            await final(provider, Request(messages=[Message(role="user", content="count to 3")]))
        return info.value, sim.server.requests

    error, requests = run(with_sim(tasks, body, retry=RetrySettings(attempts=3), sleep=sleep))
    assert requests == 3 and sleep.waits == [5.0, 5.0] and "gave up after 3 attempts" in str(error)


# -- failures inside the stream (a canned server: the sim fails only over HTTP or by a cut) ---------


def _sse(events):
    return "".join(f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n" for i, e in enumerate(events)).encode()


def _created():
    response = {"id": "resp_1", "object": "response", "created_at": 0, "model": "m", "output": [], "status": "in_progress"}
    return {"type": "response.created", "response": response}


FAILED_SERVER = [_created(), {"type": "response.output_text.delta", "delta": "1\n", "item_id": "m", "output_index": 0, "content_index": 0}]
FAILED_SERVER.append(
    {
        "type": "response.failed",
        "response": {**_created()["response"], "status": "failed", "error": {"code": "server_error", "message": "The server had an error"}},
    }
)


@pytest.mark.parametrize(
    "events,retried,needle",
    [
        (FAILED_SERVER, True, "response.failed server_error: The server had an error"),
        (
            [_created(), {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None}],
            True,
            "rate_limit_exceeded",
        ),
        ([_created(), {"type": "error", "code": "invalid_prompt", "message": "flagged", "param": None}], False, "invalid_prompt: flagged"),
        (
            [
                _created(),
                {**FAILED_SERVER[2], "response": {**FAILED_SERVER[2]["response"], "error": {"code": "bio_policy", "message": "no"}}},
            ],
            False,
            "response.failed bio_policy: no",
        ),
    ],
    ids=["failed-server-error", "error-event-rate", "error-event-prompt", "failed-policy"],
)
def test_failures_in_the_stream_are_retried_only_when_the_server_owns_them(events, retried, needle):
    sleep = FakeSleep()
    body = _sse(events)

    async def scenario():
        hits = 0

        async def handler(request: web.Request) -> web.StreamResponse:
            nonlocal hits
            hits += 1
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(body)
            await resp.write_eof()
            return resp

        app = web.Application()
        app.router.add_post("/v1/responses", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
        try:
            async with Providers(env=env, retry=RetrySettings(attempts=3), sleep=sleep) as providers:
                provider = await providers.get("openai-responses/m")
                with pytest.raises(ProviderError) as info:
                    await final(provider, Request(messages=[Message(role="user", content="hi")]))
                return info.value, hits
        finally:
            await runner.cleanup()

    error, hits = run(scenario())
    assert needle in str(error)
    assert hits == (3 if retried else 1) and len(sleep.waits) == (2 if retried else 0)


# -- the address, the sim's own switch, and a run ---------------------------------------------------


def test_the_address_is_listed_and_takes_openais_key():
    address = parse_address("openai-responses/o4-mini")
    assert (address.provider, address.model, address.env_prefix) == ("openai-responses", "o4-mini", "OPENAI")
    with pytest.raises(BadInput, match="openai-responses"):
        parse_address("nosuch/model")

    async def missing():
        async with Providers(env={}) as providers:
            await providers.get("openai-responses/o4-mini")

    with pytest.raises(BadInput, match="set OPENAI_API_KEY"):
        run(missing())


def test_sim_api_responses_answers_as_sim_over_the_responses_wire(tasks):
    t, p, _ = hanoi(tasks, disks=6)

    async def body(providers, sim):
        over = await providers.get("sim/diligent?api=responses")
        assert isinstance(over, SimResponses)
        via_responses = await ask(over, t, p, max_tokens=8000, thinking_budget=200, seed=3)
        via_chat = await ask(await providers.get("sim/diligent"), t, p, max_tokens=8000, thinking_budget=200, seed=3)
        return via_responses, via_chat

    via_responses, via_chat = run(with_sim(tasks, body))
    a, b = via_responses.completion, via_chat.completion
    assert a.simulated and a.raw_stop_reason == "completed" and b.raw_stop_reason == "stop"
    # The same answer and thinking: the budget (exact, 200, not an effort's) and the seed reach the sim on both wires.
    assert (a.answer, a.thinking, a.usage.reasoning_tokens) == (b.answer, b.thinking, b.usage.reasoning_tokens)
    assert a.usage.reasoning_tokens == 200


@pytest.mark.slow
def test_a_run_through_the_responses_api_against_sim_serve(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "responses"\nmodels = ["sim/diligent"]\nstrategies = ["direct", "continue"]\nmax_tokens = 4000\n'
        '[[tasks]]\ntask = "count"\nend = 40\n'
    )
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    serve = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True, env=base
    )
    try:
        url = serve.stdout.readline().split(" at ")[1].split(" ")[0]
        env = {**base, "OPENAI_API_KEY": "sk-test-not-a-key-123", "OPENAI_BASE_URL": url}

        def cli(*args):
            return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env=env)

        out = tmp_path / "run"
        r = cli(
            "run", str(suite), "--model", "openai-responses/lazy?k=10", "--model", "openai-responses/diligent", "--out", str(out), "--plain"
        )
        assert r.returncode == 0, r.stderr
        trials = [json.loads(line) for line in cli("export", str(out)).stdout.splitlines()]
        turns = [json.loads(line) for line in cli("export", str(out), "--turns").stdout.splitlines()]
    finally:
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0
    outcomes = {(t["model"], t["strategy"]): t["outcome"] for t in trials}
    assert outcomes == {
        ("openai-responses/diligent", "direct"): "complete",
        ("openai-responses/diligent", "continue"): "complete",
        ("openai-responses/lazy?k=10", "direct"): "wont_do",
        ("openai-responses/lazy?k=10", "continue"): "complete",  # told to continue, it goes on by 10 each turn
    }
    assert all(t["simulated"] for t in trials)  # reached as openai-responses/..., still known to be the sim
    assert {t["raw_stop_reason"] for t in turns} == {"completed"} and len(turns) > 4
    assert "sk-test-not-a-key-123" not in (out / "manifest.json").read_text()
