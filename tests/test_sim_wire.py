"""The simulated model speaks the real wire formats: the openai and anthropic SDKs, unmodified,
talk to it over HTTP on loopback, streamed and not, and read what a real API would send."""

from __future__ import annotations

import asyncio
from collections import Counter

import anthropic
import openai
import pytest

from longhaul.sim.server import start
from longhaul.tokens import encoding


def run(coro):
    return asyncio.run(coro)


def hanoi_messages(tasks, disks=4):
    task = tasks["hanoi"]
    prompt = task.prompt(task.params({"disks": disks}))
    return prompt, [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]


def test_openai_streamed_and_whole_agree_and_report_usage(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            client = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
            _, messages = hanoi_messages(tasks)
            whole = await client.chat.completions.create(model="diligent", messages=messages, max_completion_tokens=4000)
            stream = await client.chat.completions.create(
                model="diligent", messages=messages, max_completion_tokens=4000, stream=True, stream_options={"include_usage": True}
            )
            parts, finishes, usage, n = [], [], None, 0
            async for chunk in stream:
                n += 1
                for choice in chunk.choices:
                    parts.append(choice.delta.content or "")
                    if choice.finish_reason:
                        finishes.append(choice.finish_reason)
                if chunk.usage:
                    usage = chunk.usage
            models = await client.models.list()
            return whole, "".join(parts), finishes, usage, n, [m.id for m in models.data]
        finally:
            await sim.aclose()

    whole, streamed, finishes, usage, n, models = run(scenario())
    assert whole.choices[0].message.content == streamed
    assert whole.choices[0].finish_reason == "stop" and finishes == ["stop"]
    assert n > 10  # really streamed, a few tokens per event
    answer_tokens = len(encoding("o200k_base").encode(streamed))
    assert usage.completion_tokens == whole.usage.completion_tokens == answer_tokens
    assert usage.prompt_tokens > 100
    assert {"diligent", "lazy", "refuser", "drifter", "truncating", "claimer", "trigger_shy", "hedger"} <= set(models)


def test_openai_max_tokens_is_exact_and_stops_with_length(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            client = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
            _, messages = hanoi_messages(tasks, disks=6)
            return await client.chat.completions.create(model="truncating", messages=messages, max_tokens=37)
        finally:
            await sim.aclose()

    reply = run(scenario())
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 37
    assert len(encoding("o200k_base").encode(reply.choices[0].message.content)) == 37


def test_anthropic_stream_has_the_full_event_sequence_with_thinking_apart(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            client = anthropic.AsyncAnthropic(base_url=sim.root, api_key="unused", max_retries=0)
            prompt, _ = hanoi_messages(tasks)
            stream = await client.messages.create(
                model="diligent",
                max_tokens=3000,
                system=prompt.system,
                stream=True,
                messages=[{"role": "user", "content": prompt.user}],
                thinking={"type": "enabled", "budget_tokens": 1024},
            )
            events = [e async for e in stream]
            whole = await client.messages.create(
                model="diligent",
                max_tokens=3000,
                system=prompt.system,
                messages=[{"role": "user", "content": prompt.user}],
                thinking={"type": "enabled", "budget_tokens": 1024},
            )
            return events, whole
        finally:
            await sim.aclose()

    events, whole = run(scenario())
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == ["thinking", "text"]
    deltas = Counter(e.delta.type for e in events if e.type == "content_block_delta")
    assert deltas["thinking_delta"] > 0 and deltas["text_delta"] > 0 and deltas["signature_delta"] == 1
    thinking = "".join(e.delta.thinking for e in events if e.type == "content_block_delta" and e.delta.type == "thinking_delta")
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert "Let me work through it" in thinking and "Let me work through it" not in text
    assert [b.type for b in whole.content] == ["thinking", "text"] and whole.content[1].text == text
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn" == whole.stop_reason
    enc = encoding("o200k_base")
    # Thinking counts against max_tokens and is billed as output, as Anthropic counts it.
    assert delta.usage.output_tokens == len(enc.encode(thinking)) + len(enc.encode(text)) == whole.usage.output_tokens


def test_anthropic_thinking_can_eat_the_budget(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            client = anthropic.AsyncAnthropic(base_url=sim.root, api_key="unused", max_retries=0)
            prompt, _ = hanoi_messages(tasks, disks=8)
            return await client.messages.create(
                model="diligent",
                max_tokens=1100,
                system=prompt.system,
                messages=[{"role": "user", "content": prompt.user}],
                thinking={"type": "enabled", "budget_tokens": 1024},
            )
        finally:
            await sim.aclose()

    reply = run(scenario())
    assert reply.stop_reason == "max_tokens" and reply.usage.output_tokens == 1100
    assert len(encoding("o200k_base").encode(reply.content[0].thinking)) == 1024


def test_the_sim_answers_bad_requests_as_the_apis_do(tasks):
    async def scenario():
        sim = await start(tasks)
        try:
            oa = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
            an = anthropic.AsyncAnthropic(base_url=sim.root, api_key="unused", max_retries=0)
            errors = []
            for call in (
                oa.chat.completions.create(model="nosuch", messages=[{"role": "user", "content": "hi"}]),
                oa.chat.completions.create(model="lazy?k=0", messages=[{"role": "user", "content": "hi"}]),
                an.messages.create(
                    model="diligent",
                    max_tokens=1000,
                    messages=[{"role": "user", "content": "hi"}],
                    thinking={"type": "enabled", "budget_tokens": 1000},
                ),
            ):
                try:
                    await call
                except (openai.APIStatusError, anthropic.APIStatusError) as exc:
                    errors.append((exc.status_code, str(exc)))
            unknown = await oa.chat.completions.create(model="diligent", messages=[{"role": "user", "content": "Write a poem."}])
            return errors, unknown.choices[0].message.content
        finally:
            await sim.aclose()

    errors, unknown = run(scenario())
    assert errors[0][0] == 404 and "known profiles" in errors[0][1]
    assert errors[1][0] == 404 and "k:" in errors[1][1]
    assert errors[2][0] == 400 and "budget_tokens" in errors[2][1]
    assert "simulated model" in unknown


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_profile_reads_the_prompt_not_a_marker(tasks, wire):
    """The same prompt text with the task's parameters changed gets the changed answer."""

    async def scenario():
        sim = await start(tasks)
        try:
            out = []
            for end in (7, 12):
                prompt = tasks["count"].prompt(tasks["count"].params({"end": end}))
                if wire == "openai":
                    client = openai.AsyncOpenAI(base_url=sim.url, api_key="unused", max_retries=0)
                    r = await client.chat.completions.create(model="diligent", messages=[{"role": "user", "content": prompt.user}])
                    out.append(r.choices[0].message.content)
                else:
                    client = anthropic.AsyncAnthropic(base_url=sim.root, api_key="unused", max_retries=0)
                    r = await client.messages.create(model="diligent", max_tokens=500, messages=[{"role": "user", "content": prompt.user}])
                    out.append(r.content[0].text)
            return out
        finally:
            await sim.aclose()

    seven, twelve = run(scenario())
    assert seven.split()[-1] == "7" and twelve.split()[-1] == "12"
