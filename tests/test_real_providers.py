"""The same trial against the real APIs, when keys are present (never in CI here: no network, no keys)."""

from __future__ import annotations

import asyncio
import os

import pytest

from longhaul.ask import ask
from longhaul.providers import Providers


@pytest.mark.parametrize(
    "model,variable",
    [
        (os.environ.get("LONGHAUL_TEST_OPENAI_MODEL", "openai/gpt-4.1-mini"), "OPENAI_API_KEY"),
        (os.environ.get("LONGHAUL_TEST_RESPONSES_MODEL", "openai-responses/gpt-4.1-mini"), "OPENAI_API_KEY"),
        (os.environ.get("LONGHAUL_TEST_ANTHROPIC_MODEL", "anthropic/claude-haiku-4-5"), "ANTHROPIC_API_KEY"),
    ],
)
def test_a_small_count_against_the_real_provider(tasks, model, variable):
    if not os.environ.get(variable):
        pytest.skip(f"{variable} is not set")

    async def scenario():
        async with Providers(tasks=tasks) as providers:
            t = tasks["count"]
            return await ask(await providers.get(model), t, t.params({"end": 20}), max_tokens=400)

    asked = asyncio.run(scenario())
    assert asked.completion is not None and not asked.completion.simulated
    assert asked.completion.usage.output_tokens > 0 and asked.completion.stop_reason in ("end_turn", "max_tokens")
    assert asked.verdict.outcome in ("complete", "wont_do", "cant_do", "budget_exhausted")
