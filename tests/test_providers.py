"""The provider layer against the simulated model over real HTTP: every profile gives the verdict
it is built to give, through both SDKs and all three wires (Chat Completions, Responses, Messages); faults end in a correct answer or in `error` after the
configured attempts, with `Retry-After` honoured (checked without sleeping); connections are
limited per provider and base URL; addresses, keys and lazy imports behave."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from longhaul.ask import ask
from longhaul.errors import BadInput
from longhaul.providers import Message, Provider, ProviderError, Providers, Request, Restart, RetrySettings, parse_address
from longhaul.providers.base import End
from longhaul.sim.server import start
from longhaul.tokens import count_tokens
from longhaul.verify.lexers import count_items


def run(coro):
    return asyncio.run(coro)


class FakeSleep:
    """Records the waits the retry policy asks for, and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def with_sim(tasks, body, **providers_kw):
    """Run `body(providers, sim)` with a sim server reachable as anthropic/..., openai/...,
    openai-responses/... and openai-api/sim/..., so tests can count what reached the server."""
    sim = await start(tasks)
    env = {
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": sim.root,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": sim.url,
        "SIM_API_KEY": "test-key",
        "SIM_BASE_URL": sim.url,
    }
    try:
        async with Providers(env=env, tasks=tasks, **providers_kw) as providers:
            return await body(providers, sim)
    finally:
        await sim.aclose()


# -- every profile, through both SDKs --------------------------------------------------------------

PROFILE_CASES = [
    # profile, task, params, expected outcome, expected won't-do kinds (None: any)
    ("diligent", "hanoi", {"disks": 5}, "complete", None),
    ("diligent", "river_crossing", {"pairs": 4, "capacity": 2}, "complete", None),  # unsolvable: says so
    ("lazy?k=5", "hanoi", {"disks": 5}, "wont_do", {"elision", "offer_to_continue"}),
    ("lazy?k=7&seed=3", "french_numbers", {"start": 0, "end": 60}, "wont_do", {"elision", "offer_to_continue"}),
    ("refuser?above=10", "count", {"end": 50}, "wont_do", {"refusal", "code_instead"}),
    ("refuser?above=10", "count", {"end": 8}, "complete", None),
    ("drifter?at=5", "count", {"end": 100}, "cant_do", None),
    ("truncating?limit=60", "french_numbers", {"start": 0, "end": 100}, "budget_exhausted", None),
    ("claimer", "count", {"end": 40}, "wont_do", {"early_stop"}),
    ("trigger_shy", "kill_script", {"start": 1000, "end": 1050}, "wont_do", {"refusal"}),
    ("trigger_shy", "count", {"end": 30}, "complete", None),
    ("hedger", "sha256_digests", {"end": 20}, "wont_do", {"refusal"}),
    ("hedger", "count", {"end": 30}, "complete", None),
]


@pytest.mark.parametrize("via", ["sim", "anthropic", "openai-responses"])
@pytest.mark.parametrize("profile,task,params,outcome,kinds", PROFILE_CASES, ids=[f"{c[0]}-{c[1]}" for c in PROFILE_CASES])
def test_each_profile_gives_its_verdict(tasks, via, profile, task, params, outcome, kinds):
    async def body(providers, sim):
        provider = await providers.get(f"{via}/{profile}")
        t = tasks[task]
        return await ask(provider, t, t.params(params), max_tokens=4000)

    asked = run(with_sim(tasks, body))
    # Reached as anthropic/..., the sim's replies are still known to be simulated.
    assert asked.completion is not None and asked.completion.simulated
    assert asked.verdict.outcome == outcome, asked.verdict.explanation
    if kinds is not None:
        assert asked.verdict.wont_do_kind in kinds
    if profile == "claimer":
        assert asked.verdict.claims_complete
    if outcome == "budget_exhausted":
        assert asked.completion.stop_reason == "max_tokens" and asked.completion.usage.output_tokens == 60


def test_thinking_that_eats_the_budget_is_budget_exhausted_in_thinking(tasks):
    async def body(providers, sim):
        t = tasks["hanoi"]
        sim_chat = await ask(await providers.get("sim/diligent"), t, t.params({"disks": 7}), max_tokens=500, thinking_budget=800)
        claude = await ask(await providers.get("anthropic/diligent"), t, t.params({"disks": 7}), max_tokens=1100, thinking_budget=1024)
        return sim_chat, claude

    sim_chat, claude = run(with_sim(tasks, body))
    c = sim_chat.completion
    assert c.answer == "" and c.thinking and c.stop_reason == "max_tokens" and c.raw_stop_reason == "length"
    assert c.usage.reasoning_tokens == c.usage.output_tokens == 500
    assert sim_chat.verdict.outcome == "budget_exhausted" and "thinking" in sim_chat.verdict.explanation
    # Anthropic keeps the budget under max_tokens: the answer starts, and is cut.
    assert claude.completion.thinking and claude.completion.answer
    assert claude.completion.raw_stop_reason == "max_tokens" and claude.completion.usage.reasoning_tokens is None
    assert claude.verdict.outcome == "budget_exhausted"


def conversation(task, params, *turns):
    prompt = task.prompt(params)
    messages = [Message(role="user", content=prompt.user)]
    for i, turn in enumerate(turns):
        messages.append(Message(role="assistant" if i % 2 == 0 else "user", content=turn))
    return Request(system=prompt.system, messages=messages, max_tokens=4000)


async def final(provider, request):
    async for event in provider.stream(request):
        last = event
    return last


def test_lazy_goes_on_by_k_more_when_told_to_continue(tasks):
    t = tasks["count"]
    p = t.params({"end": 50})

    async def body(providers, sim):
        lazy = await providers.get("sim/lazy?k=12")
        first = await final(lazy, conversation(t, p))
        second = await final(lazy, conversation(t, p, first.answer, "continue"))
        third = await final(lazy, conversation(t, p, first.answer, "continue", second.answer, "Please continue."))
        return first.answer, second.answer, third.answer

    first, second, third = run(with_sim(tasks, body))
    assert count_items(t, p, first) == count_items(t, p, second) == count_items(t, p, third) == 12
    numbers = [int(line) for line in second.splitlines() if line.strip().isdigit()]
    assert numbers == list(range(13, 25))
    assert [int(x) for x in third.split() if x.isdigit()][:2] == [25, 26]


def test_refuser_gives_in_to_one_insistence(tasks):
    t = tasks["count"]
    p = t.params({"end": 40})

    async def body(providers, sim):
        refuser = await providers.get("sim/refuser?above=10")
        first = await final(refuser, conversation(t, p))
        again = await final(refuser, conversation(t, p, first.answer, "continue"))
        nudged = await final(refuser, conversation(t, p, first.answer, "I do want the full list written out; that is fine."))
        return first.answer, again.answer, nudged.answer

    first, again, nudged = run(with_sim(tasks, body))
    assert "too much output" in first and "too much output" in again
    from longhaul.verify import verify

    assert verify(t, p, nudged).outcome == "complete"


def test_drifter_collapses_past_its_size(tasks):
    t = tasks["count"]

    async def body(providers, sim):
        drifter = await providers.get("sim/drifter?at=20")
        rates = {}
        for end in (5, 60):
            outcomes = [(await ask(drifter, t, t.params({"end": end}), seed=seed)).verdict.outcome for seed in range(20)]
            rates[end] = outcomes.count("complete") / len(outcomes)
            assert set(outcomes) <= {"complete", "cant_do"}
        return rates

    rates = run(with_sim(tasks, body))
    assert rates[5] >= 0.75 and rates[60] == 0.0


def test_the_same_seed_gives_the_same_answer(tasks):
    t = tasks["hanoi"]
    p = t.params({"disks": 6})

    async def body(providers, sim):
        drifter = await providers.get("sim/drifter?at=30")
        answers = [(await ask(drifter, t, p, seed=s)).completion.answer for s in (1, 1, 2, 3, 4, 5)]
        return answers

    answers = run(with_sim(tasks, body))
    assert answers[0] == answers[1]
    assert len(set(answers[1:])) > 1


# -- faults and retries ----------------------------------------------------------------------------


def count_request(tasks, seed=None):
    t = tasks["count"]
    prompt = t.prompt(t.params({"end": 30}))
    return Request(messages=[Message(role="user", content=prompt.user)], max_tokens=500, seed=seed)


@pytest.mark.parametrize(
    "model,retry_after",
    [
        ("openai-api/sim/diligent?faults=429:1&retry_after=7", 7.0),
        ("anthropic/diligent?faults=529:1&retry_after=3", 3.0),
        ("openai-responses/diligent?faults=503:1&retry_after=4", 4.0),
    ],
)
def test_rate_limits_honour_retry_after_then_end_in_error(tasks, model, retry_after):
    sleep = FakeSleep()

    async def body(providers, sim):
        provider = await providers.get(model)
        with pytest.raises(ProviderError) as info:
            await final(provider, count_request(tasks))
        return info.value, sim.server.requests

    error, requests = run(with_sim(tasks, body, retry=RetrySettings(attempts=4), sleep=sleep))
    assert error.attempts == 4 and requests == 4  # the SDKs' own retries are off: one attempt, one request
    assert sleep.waits == [retry_after] * 3
    assert "gave up after 4 attempts" in str(error)


def test_server_errors_back_off_exponentially(tasks):
    sleep = FakeSleep()

    async def body(providers, sim):
        with pytest.raises(ProviderError):
            await final(await providers.get("openai-api/sim/diligent?faults=500:1"), count_request(tasks))
        return sim.server.requests

    requests = run(with_sim(tasks, body, retry=RetrySettings(attempts=5, initial_wait=1, max_wait=60), sleep=sleep))
    assert requests == 5 and len(sleep.waits) == 4
    for i, wait in enumerate(sleep.waits):
        assert 2**i <= wait <= 2**i + 1  # doubling, plus up to a second of jitter


def test_a_retry_after_past_the_time_bound_ends_at_once(tasks):
    sleep = FakeSleep()

    async def body(providers, sim):
        with pytest.raises(ProviderError) as info:
            await final(await providers.get("openai-api/sim/diligent?faults=429:1&retry_after=900"), count_request(tasks))
        return info.value, sim.server.requests

    error, requests = run(with_sim(tasks, body, retry=RetrySettings(attempts=6, max_seconds=600), sleep=sleep))
    assert requests == 1 and sleep.waits == [] and error.attempts == 1


def test_errors_that_will_not_improve_are_not_retried(tasks):
    sleep = FakeSleep()

    async def body(providers, sim):
        with pytest.raises(ProviderError) as info:
            await final(await providers.get("openai-api/sim/no-such-profile"), count_request(tasks))
        return info.value, sim.server.requests

    error, requests = run(with_sim(tasks, body, sleep=sleep))
    assert requests == 1 and sleep.waits == [] and "HTTP 404" in str(error)


@pytest.mark.parametrize("model", ["openai-api/sim/diligent", "anthropic/diligent", "openai-responses/diligent"])
def test_under_mixed_faults_every_request_ends_right_or_in_error(tasks, model):
    sleep = FakeSleep()
    t = tasks["count"]
    p = t.params({"end": 30})
    faults = "429:0.25,500:0.15,cut:0.25,slow:0.05" + (",529:0.1" if model.startswith("anthropic") else ",503:0.1")

    async def body(providers, sim):
        provider = await providers.get(f"{model}?faults={faults}&stall=0&retry_after=0.5")
        results = [await ask(provider, t, p, seed=seed) for seed in range(40)]
        return results, sim.server.requests

    results, requests = run(with_sim(tasks, body, retry=RetrySettings(attempts=3), sleep=sleep))
    outcomes = [r.verdict.outcome for r in results]
    assert set(outcomes) <= {"complete", "error"}
    assert "complete" in outcomes and "error" in outcomes  # both ends occur at these rates
    attempts = sum(r.completion.attempts if r.completion else 3 for r in results)
    assert attempts == requests  # every attempt reached the server exactly once
    retried = [r for r in results if r.completion and r.completion.attempts > 1]
    assert retried, "some request should succeed after a retry"
    for r in retried:
        assert len(r.completion.retries) == r.completion.attempts - 1
    assert len(sleep.waits) == sum(len(r.completion.retries) for r in results if r.completion) + 2 * outcomes.count("error")


def test_a_broken_stream_voids_what_it_streamed(tasks):
    t = tasks["count"]
    p = t.params({"end": 200})

    async def body(providers, sim):
        provider = await providers.get("openai-api/sim/diligent?faults=cut:0.5")
        seen = []
        for seed in range(12):
            events = [e async for e in provider.stream(Request(messages=[Message(role="user", content=t.prompt(p).user)], seed=seed))]
            seen.append(events)
        return seen

    seen = run(with_sim(tasks, body, sleep=FakeSleep()))
    restarted = [events for events in seen if any(isinstance(e, Restart) for e in events)]
    assert restarted
    for events in restarted:
        last_restart = max(i for i, e in enumerate(events) if isinstance(e, Restart))
        after = "".join(e for e in events[last_restart:] if isinstance(e, str))  # answer text comes as plain str
        assert after == events[-1].answer  # the completion holds only the successful attempt
        assert "ended before its final event" in events[last_restart].retry.error


# -- connection limits -----------------------------------------------------------------------------


def test_answer_text_streams_as_plain_str_and_a_missing_usage_is_counted():
    class NoUsage(Provider):
        async def _attempt(self, request: Request) -> AsyncIterator[str | End]:
            yield "1\n2\n"
            yield "3\n"
            yield End(raw_stop_reason="stop", stop_reason="end_turn", usage=None, served_model="stub")

        def _classify(self, exc: Exception) -> ProviderError:
            return ProviderError(str(exc))

    async def body():
        provider = NoUsage(parse_address("openai/stub"), limit=asyncio.Semaphore(1), retry=RetrySettings())
        return [e async for e in provider.stream(Request(messages=[Message(role="user", content="count")]))]

    *deltas, completion = run(body())
    assert deltas == ["1\n2\n", "3\n"]  # the SDK's text as it came, no wrapper per delta
    assert completion.answer == "1\n2\n3\n"
    assert completion.usage.estimated and completion.usage.output_tokens == count_tokens(completion.answer, "stub")


def test_connections_are_limited_per_provider_and_base_url(tasks):
    t = tasks["count"]
    request = Request(messages=[Message(role="user", content=t.prompt(t.params({"end": 60})).user)])

    async def body(providers, sim):
        a = await providers.get("openai-api/sim/diligent?speed=3000")
        b = await providers.get("openai-api/sim2/diligent?speed=3000")  # same base URL: shares the limit
        await asyncio.gather(*(final(p, request) for p in [a, b] * 4))
        return sim.server.most_in_flight

    async def two_servers(providers, sim):
        other = await start(tasks)
        try:
            providers._env["SIM3_BASE_URL"] = other.url
            providers._env["SIM3_API_KEY"] = "k"
            a = await providers.get("openai-api/sim/diligent?speed=3000")
            c = await providers.get("openai-api/sim3/diligent?speed=3000")
            await asyncio.gather(*(final(p, request) for p in [a, c] * 3))
            return sim.server.most_in_flight, other.server.most_in_flight
        finally:
            await other.aclose()

    async def shared_env_body(providers, sim):
        providers._env["SIM2_BASE_URL"] = sim.url
        providers._env["SIM2_API_KEY"] = "k"
        return await body(providers, sim)

    assert run(with_sim(tasks, shared_env_body, max_connections=2)) == 2
    assert run(with_sim(tasks, two_servers, max_connections=2)) == (2, 2)


def test_closing_or_cancelling_a_stream_frees_its_connection(tasks):
    t = tasks["count"]
    request = Request(messages=[Message(role="user", content=t.prompt(t.params({"end": 400})).user)])

    async def body(providers, sim):
        provider = await providers.get("sim/diligent?speed=5000")
        async with aclosing(provider.stream(request)) as stream:
            async for _event in stream:
                break  # stop early, as the runner does at a wrong item
        task = asyncio.create_task(final(provider, request))
        while sim_requests(providers) < 2:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # With one connection allowed, this only completes if both were released.
        return await asyncio.wait_for(final(provider, count_request(tasks)), timeout=30)

    def sim_requests(providers):
        return providers._sim.server.requests

    completion = run(with_sim(tasks, body, max_connections=1))
    assert completion.kind == "completion" and completion.stop_reason == "end_turn"


# -- addresses, keys, imports ----------------------------------------------------------------------


def test_addresses_parse_as_users_write_them():
    assert parse_address("openai/gpt-4.1").model == "gpt-4.1"
    a = parse_address("openai-api/vllm/meta-llama/Llama-3.1-8B")
    assert (a.provider, a.service, a.model, a.env_prefix) == ("openai-api", "vllm", "meta-llama/Llama-3.1-8B", "VLLM")
    assert parse_address("openai-api/lm-studio/x").env_prefix == "LM_STUDIO"
    assert parse_address("sim/lazy?k=20").simulated
    for bad in ["gpt-4.1", "google/gemini", "openai/", "openai-api/vllm", "sim/"]:
        with pytest.raises(BadInput, match=r"provider/model|openai-api/<service>/<model>"):
            parse_address(bad)


@pytest.mark.parametrize(
    "model,env,variable",
    [
        ("openai/gpt-4.1", {}, "OPENAI_API_KEY"),
        ("anthropic/claude-sonnet-4-5", {"OPENAI_API_KEY": "x"}, "ANTHROPIC_API_KEY"),
        ("openai-api/lm-studio/qwen", {}, "LM_STUDIO_BASE_URL"),
        ("openai-api/ollama/llama3", {"OLLAMA_BASE_URL": "http://localhost:11434/v1"}, "OLLAMA_API_KEY"),
    ],
)
def test_a_missing_key_is_one_line_naming_the_variable(model, env, variable):
    with pytest.raises(BadInput) as info:
        Providers(env=env).check(model)
    message = str(info.value)
    assert variable in message and "\n" not in message


def test_a_bad_profile_is_caught_before_any_request():
    with pytest.raises(BadInput, match="known profiles"):
        Providers().check("sim/nosuch")
    with pytest.raises(BadInput, match="k:"):
        Providers().check("sim/lazy?k=-1")


def test_keys_never_show_in_errors_or_records(tasks):
    canary = "sk-canary-5f2c9e"

    async def body(providers, sim):
        provider = await providers.get("openai-api/sim/diligent")
        completion = await final(provider, count_request(tasks))
        return provider, completion

    async def scenario():
        sim = await start(tasks)
        try:
            async with Providers(env={"SIM_BASE_URL": sim.url, "SIM_API_KEY": canary}, tasks=tasks) as providers:
                provider = await providers.get("openai-api/sim/diligent")
                completion = await final(provider, count_request(tasks))
                leaked = provider._classify(RuntimeError(f"401 Incorrect API key provided: {canary}"))
                redacted = provider._redact(str(leaked))
                return completion, redacted, repr(provider.__dict__)
        finally:
            await sim.aclose()

    completion, redacted, _state = run(scenario())
    assert canary not in completion.model_dump_json()
    assert canary not in redacted and "<api key>" in redacted
    from longhaul.providers.address import resolve_endpoint

    endpoint = resolve_endpoint(parse_address("openai/x"), {"OPENAI_API_KEY": canary})
    assert canary not in repr(endpoint) and canary not in endpoint.model_dump_json()


def test_sdks_are_imported_only_when_used():
    code = (
        "import sys, asyncio\n"
        "import longhaul.providers, longhaul.ask, longhaul.cli\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules, 'imported eagerly'\n"
        "from longhaul.providers import Providers\n"
        "async def main():\n"
        "    async with Providers() as p:\n"
        "        await p.get('sim/diligent')\n"
        "asyncio.run(main())\n"
        "assert 'openai' in sys.modules and 'anthropic' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_server_that_is_not_there_is_retried_then_an_error_outcome(tasks):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = FakeSleep()
    t = tasks["count"]

    async def scenario():
        env = {"GONE_BASE_URL": f"http://127.0.0.1:{port}/v1", "GONE_API_KEY": "k"}
        async with Providers(env=env, retry=RetrySettings(attempts=3), sleep=sleep) as providers:
            return await ask(await providers.get("openai-api/gone/model"), t, t.params({"end": 5}))

    asked = run(scenario())
    assert asked.completion is None and asked.verdict.outcome == "error"
    assert "gave up after 3 attempts" in asked.verdict.explanation and "connection" in asked.verdict.explanation
    assert len(sleep.waits) == 2


def test_the_error_outcome_says_what_the_server_said(tasks):
    sleep = FakeSleep()
    t = tasks["count"]

    async def scenario():
        async with Providers(tasks=tasks, retry=RetrySettings(attempts=2), sleep=sleep) as providers:
            return await ask(await providers.get("sim/diligent?faults=429:1"), t, t.params({"end": 5}))

    asked = run(scenario())
    assert asked.verdict.outcome == "error"
    assert asked.verdict.explanation.endswith("gave up after 2 attempts: HTTP 429: Rate limit reached (simulated).")
