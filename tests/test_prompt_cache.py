"""Prompt caching, against the simulated model through the real SDKs: longhaul marks the stable
prefix for Anthropic and records what both providers read from (and Anthropic writes to) their
caches; the sim's caches behave as the providers document; the dry run, the report and the spend
guard price cached tokens with the price file's own prices, or at `input` and say so."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

import longhaul
from longhaul.catalog import Catalog
from longhaul.dryrun import dry_run
from longhaul.pricing import Counts, Price, cost_usd, read_prices
from longhaul.providers import Message, Providers, Request
from longhaul.report import write_report
from longhaul.report.results import compute
from longhaul.runner import plan
from longhaul.sim.server import RunningSim, SimServer
from longhaul.spend import SpendGuard, SpendLimits
from longhaul.strategy import Settings
from longhaul.trial import TrialSpec, run_trial

ROOT = Path(__file__).resolve().parent.parent


async def recording_sim(tasks) -> tuple[RunningSim, list[dict]]:
    """A sim server that keeps every model request's JSON body, to see what reached the wire."""
    server = SimServer(tasks)
    bodies: list[dict] = []

    @web.middleware
    async def keep(request: web.Request, handler):
        if request.method == "POST":
            bodies.append(json.loads(await request.read()))
        return await handler(request)

    server.app.middlewares.append(keep)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return RunningSim(runner, server, "127.0.0.1", port), bodies


def env_for(sim: RunningSim) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": sim.root, "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": sim.url}


def continue_trial(tasks, model: str, end: int, max_tokens: int = 4000):
    """One `continue` trial of French numbers 0..end on `model`, and the request bodies the sim saw."""

    async def go():
        sim, bodies = await recording_sim(tasks)
        try:
            async with Providers(env=env_for(sim), tasks=tasks) as providers:
                provider = await providers.get(model)
                task = tasks["french_numbers"]
                params = task.params({"start": 0, "end": end})
                spec = TrialSpec(
                    key="k", model=model, task=task.name, params=params.model_dump(), size=end, strategy="continue", sample=0, seed=0
                )
                strategy = Catalog().strategies["continue"]
                record = await run_trial(spec, provider, task, params, strategy, Settings(max_tokens=max_tokens, max_turns=8))
                return record, bodies
        finally:
            await sim.aclose()

    return asyncio.run(go())


def marks(body: dict) -> list[str]:
    """Where a request's cache_control breakpoints are: `system`, or `messages[i]`."""
    out = []
    if isinstance(body.get("system"), list):
        out += ["system" for block in body["system"] if block.get("cache_control")]
    for i, m in enumerate(body["messages"]):
        if isinstance(m["content"], list):
            out += [f"messages[{i}]" for block in m["content"] if block.get("cache_control") == {"type": "ephemeral"}]
    return out


# -- the wire --------------------------------------------------------------------------------------


def test_a_continue_trial_on_the_anthropic_wire_marks_its_prefix_and_reads_the_previous_turn_from_the_cache(tasks):
    record, bodies = continue_trial(tasks, "anthropic/lazy?k=60&cache_min=256", 300)
    assert len(record.turns) >= 3 and record.outcome == "complete"
    assert len(bodies) == len(record.turns)
    for n, body in enumerate(bodies):
        last = len(body["messages"]) - 1
        # The system prompt, the newest message and (from the second turn) the user message before it.
        system = ["system"] if body.get("system") else []
        expected = [*system, f"messages[{last - 2}]", f"messages[{last}]"] if n else [*system, f"messages[{last}]"]
        assert marks(body) == expected, n
        assert len(marks(body)) <= 4
    usage = [t.usage for t in record.turns]
    for before, now in itertools.pairwise(usage):
        if before.input_tokens < 256:
            # Too short to be written (the profile's cache_min): nothing to read, the whole prompt written.
            assert (now.cached_input_tokens, now.cache_write_tokens) == (0, now.input_tokens)
            continue
        # Turn t+1 reads turn t's whole prompt and writes only what is new: the parts add up to the prompt.
        assert now.cached_input_tokens == before.input_tokens
        assert now.cache_write_tokens == now.input_tokens - before.input_tokens > 0
    assert sum(u.cached_input_tokens > 0 for u in usage) >= 2
    assert record.cached_input_tokens == sum(u.cached_input_tokens for u in usage) > 0
    assert record.cache_write_tokens == sum(u.cache_write_tokens for u in usage)


@pytest.mark.parametrize("via", ["openai", "openai-responses"])
def test_a_continue_trial_on_the_openai_wire_records_cached_tokens_in_128_steps_from_1024(tasks, via):
    # Chat Completions and the Responses API share OpenAI's automatic cache.
    record, _ = continue_trial(tasks, f"{via}/lazy?k=150", 800)
    usage = [t.usage for t in record.turns]
    assert len(usage) >= 3 and usage[0].cached_input_tokens == 0
    for before, now in itertools.pairwise(usage):
        if before.input_tokens < 1024:
            assert now.cached_input_tokens == 0
            continue
        # OpenAI caches by itself, the longest prefix seen before in 128-token steps from 1,024.
        assert now.cached_input_tokens == 1024 + 128 * ((before.input_tokens - 1024) // 128)
        assert now.cache_write_tokens == 0
    assert sum(u.cached_input_tokens >= 1024 for u in usage) >= 2


@pytest.mark.parametrize("via", ["openai", "openai-responses", "anthropic"])
def test_a_short_prompt_caches_nothing_and_a_long_one_is_read_the_second_time(tasks, via):
    def request(end: int) -> Request:
        prompt = tasks["count"].prompt(tasks["count"].params({"end": end}))
        # A long user message stands in for a long conversation.
        text = prompt.user + (" " + " ".join(str(i) for i in range(end)) if end > 100 else "")
        return Request(system=prompt.system, messages=[Message(role="user", content=text)], max_tokens=50)

    async def go():
        sim, _ = await recording_sim(tasks)
        try:
            async with Providers(env=env_for(sim), tasks=tasks) as providers:
                provider = await providers.get(f"{via}/diligent")
                out = []
                for req in (request(10), request(10), request(2000), request(2000)):
                    async for event in provider.stream(req):
                        last = event
                    out.append(last.usage)
                return out
        finally:
            await sim.aclose()

    short1, short2, long1, long2 = asyncio.run(go())
    assert short2.input_tokens == short1.input_tokens < 1024
    assert (short2.cached_input_tokens, short2.cache_write_tokens) == (0, 0)
    assert long1.cached_input_tokens == 0 and long2.input_tokens == long1.input_tokens >= 1024
    if via == "anthropic":
        assert long1.cache_write_tokens == long1.input_tokens and long2.cached_input_tokens == long1.input_tokens
    else:
        assert long2.cached_input_tokens == 1024 + 128 * ((long1.input_tokens - 1024) // 128)


def test_more_than_four_breakpoints_is_a_bad_request_at_the_sim(tasks):
    import anthropic

    async def go():
        sim, _ = await recording_sim(tasks)
        try:
            client = anthropic.AsyncAnthropic(api_key="k", base_url=sim.root, max_retries=0)
            block = {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
            messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": [block]} for i in range(5)]
            try:
                await client.messages.create(model="diligent", max_tokens=10, messages=messages)  # type: ignore[arg-type]
            except anthropic.BadRequestError as exc:
                return str(exc)
            finally:
                await client.close()
        finally:
            await sim.aclose()

    assert "A maximum of 4 blocks with cache_control" in asyncio.run(go())


# -- prices ----------------------------------------------------------------------------------------

MODEL = "sim/lazy?k=150"


def test_the_report_prices_cached_tokens_at_their_own_price_or_at_input_and_says_which(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(
        f'name = "c"\nmodels = ["{MODEL}"]\nstrategies = ["continue"]\nmax_tokens = 4000\n\n[[tasks]]\ntask = "french_numbers"\nstart = 0\nend = 800\n'
    )
    result = longhaul.run(suite, out=tmp_path / "run")
    [trial] = result.trials
    assert trial.cached_input_tokens >= 1024
    fresh = trial.input_tokens - trial.cached_input_tokens
    with_cached = Price(input=2.0, output=8.0, cached_input=0.5)
    without = Price(input=2.0, output=8.0)

    [cell] = compute(result.run_dir, {MODEL: with_cached}).cells
    assert cell.cost_usd == pytest.approx((fresh * 2.0 + trial.cached_input_tokens * 0.5 + trial.output_tokens * 8.0) / 1e6)
    assert cell.median_cached_input_tokens == trial.cached_input_tokens
    assert compute(result.run_dir, {MODEL: with_cached}).priced_at_full_input == []

    plain = compute(result.run_dir, {MODEL: without})
    assert plain.cells[0].cost_usd == pytest.approx((trial.input_tokens * 2.0 + trial.output_tokens * 8.0) / 1e6)
    assert plain.priced_at_full_input == [MODEL]
    assert plain.cells[0].cost_usd > cell.cost_usd

    # The spend guard prices a stored trial the same way.
    guard = SpendGuard(SpendLimits(max_cost=1000, prices={MODEL: with_cached}), plan(suite).suite, Catalog().tasks)
    guard.finished(trial)
    assert guard._spent.cost == pytest.approx(cell.cost_usd)

    # A batch trial costs half; the report's written page says which models were priced at input.
    assert cost_usd(with_cached, trial, batch=True) == pytest.approx(cell.cost_usd / 2)
    prices = tmp_path / "prices.toml"
    prices.write_text(f'["{MODEL}"]\ninput = 2.0\noutput = 8.0\n')
    paths = write_report(result.run_dir, prices=prices)
    page = paths["html"].read_text()
    assert "priced at the full input price" in page and "cached)" in page
    assert json.loads(paths["json"].read_text())["priced_at_full_input"] == [MODEL]


def test_cost_of_anthropic_reads_and_writes_by_hand():
    price = Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
    counts = Counts(input_tokens=10_000, cached_input_tokens=6_000, cache_write_tokens=3_000, output_tokens=500)
    assert cost_usd(price, counts) == pytest.approx((1_000 * 3.0 + 6_000 * 0.3 + 3_000 * 3.75 + 500 * 15.0) / 1e6)
    assert cost_usd(Price(input=3.0, output=15.0), counts) == pytest.approx((10_000 * 3.0 + 500 * 15.0) / 1e6)
    assert Price(input=3.0, output=15.0).lacks_cache_prices(counts) and not price.lacks_cache_prices(counts)


# -- the dry run -----------------------------------------------------------------------------------

DRY = """
name = "dry"
models = ["openai/gpt-4.1", "anthropic/claude-sonnet-4-5"]
strategies = ["direct", "continue"]
max_tokens = 2000
max_turns = 4

[[tasks]]
task = "french_numbers"
start = 0
end = 300
"""

PRICES = """
["openai/gpt-4.1"]
input = 2.0
output = 8.0
cached_input = 0.5

["anthropic/claude-sonnet-4-5"]
input = 3.0
output = 15.0
cached_input = 0.3
cache_write = 3.75
"""


def dry_rows(tmp_path: Path, prices: str) -> tuple[dict[tuple[str, str], tuple[float, float]], str]:
    suite = tmp_path / "dry.toml"
    suite.write_text(DRY)
    path = tmp_path / "prices.toml"
    path.write_text(prices)
    text = dry_run(plan(suite), path)
    rows = {}
    for line in text.splitlines():
        cols = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cols[0] in ("openai/gpt-4.1", "anthropic/claude-sonnet-4-5") and cols[7] != "no price":
            rows[(cols[0], cols[3])] = (float(cols[7]), float(cols[8]))
    return rows, text


def test_the_dry_run_estimates_continue_cheaper_with_caching_and_direct_the_same(tmp_path):
    rows, text = dry_rows(tmp_path, PRICES)
    for model in ("openai/gpt-4.1", "anthropic/claude-sonnet-4-5"):
        ceiling, cached = rows[(model, "continue")]
        assert cached < ceiling
        ceiling, cached = rows[(model, "direct")]
        assert cached == ceiling
    assert "with caching (USD, est.)" in text
    assert "estimate with prompt caching:" in text and "not a bound" in text and "an upper bound" in text
    assert "priced at the full input price" not in text
    # Without cached prices the cached tokens are priced at input, and the dry run says for which models.
    rows, text = dry_rows(tmp_path, '["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n')
    assert rows[("openai/gpt-4.1", "continue")][0] == rows[("openai/gpt-4.1", "continue")][1]
    assert "priced at the full input price" in text and "openai/gpt-4.1" in text.splitlines()[-2] + text.splitlines()[-1]


def test_the_ceiling_stays_an_upper_bound_where_cache_writes_cost_more(tmp_path):
    rows, _ = dry_rows(tmp_path, PRICES)
    plain, _ = dry_rows(tmp_path, PRICES.replace("cache_write = 3.75", ""))
    # Anthropic writes the prompt to the cache at 1.25x: the ceiling prices every input token so.
    assert rows[("anthropic/claude-sonnet-4-5", "direct")][0] > plain[("anthropic/claude-sonnet-4-5", "direct")][0]
    assert rows[("openai/gpt-4.1", "direct")] == plain[("openai/gpt-4.1", "direct")]


@pytest.mark.parametrize("bad", ["cached_input = -1", 'cached_input = "cheap"', "cache_writes = 1"])
def test_a_bad_cached_price_is_exit_2_naming_the_file_and_the_field(tmp_path, bad):
    suite = tmp_path / "dry.toml"
    suite.write_text(DRY)
    prices = tmp_path / "prices.toml"
    prices.write_text(f'["openai/gpt-4.1"]\ninput = 2.0\noutput = 8.0\n{bad}\n')
    with pytest.raises(longhaul.errors.BadInput):
        read_prices(prices)
    r = subprocess.run(
        [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--dry-run", "--prices", str(prices)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2
    assert str(prices) in r.stderr and bad.split(" ")[0] in r.stderr and len(r.stderr.strip().splitlines()) == 1
