"""`longhaul run --dry-run`: what a run would ask for, before a token is paid for.

Per cell: trials, the output tokens a complete answer needs (counted with the model's tokenizer,
or o200k as an estimate where the tokenizer is not public) against the request budget, and with a
price file (`pricing.py`), a cost ceiling and an estimate with prompt caching. longhaul never
guesses prices: a model without one says so.

The ceiling is an upper bound: every request spends its whole budget, and no input is read from a
cache (every input token at the dearer of `input` and `cache_write`, since an Anthropic request
writes its prompt to the cache). The estimate with caching differs only for a strategy whose
conversation grows (`continue`): each turn after the first reads the previous turn's whole prompt
from the cache (OpenAI caches it by itself, longhaul marks it for Anthropic), and on Anthropic every
other input token is written to the cache. It ignores the providers' minimum cacheable lengths and
the cache's lifetime: an estimate, not a bound.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from longhaul.pricing import Counts, Price, cost_usd, full_input_line, price_for, read_prices, unpriced_line
from longhaul.tokens import count_tokens, encoding_name_for, needed_tokens

__all__ = ["Price", "cached_estimate", "ceiling_counts", "dry_run", "read_prices"]


def ceiling_counts(price: Price, input_tokens: int, output_tokens: int) -> Counts:
    """The counts the ceiling prices: all input fresh, or all written where writing costs more."""
    dearer_write = price.cache_write is not None and price.cache_write > price.input
    return Counts(input_tokens=input_tokens, output_tokens=output_tokens, cache_write_tokens=input_tokens if dearer_write else 0)


def cached_estimate(prompts: list[int], output_tokens: int, writes: bool) -> Counts:
    """A growing conversation's tokens with prompt caching: turn t (t >= 1) reads turn t-1's whole
    prompt from the cache; with `writes` (Anthropic's breakpoints) every other input token is
    written to it, else (OpenAI) sent fresh."""
    total = sum(prompts)
    cached = sum(prompts[:-1])
    return Counts(
        input_tokens=total, output_tokens=output_tokens, cached_input_tokens=cached, cache_write_tokens=total - cached if writes else 0
    )


def dry_run(the_plan: Any, prices_path: Path | None = None, *, batch: bool = False) -> str:
    """The dry run's table of a plan (its cells, with the tasks and strategies of its catalog).
    With `batch` (`run --batch`), the one-turn cells (a strategy without a graph: what
    `longhaul.batch.batched` sends) are priced at the batch APIs' half price."""
    suite = the_plan.suite
    tasks = the_plan.catalog.tasks
    strategies = the_plan.catalog.strategies  # the plan's strategies are known: planning checked them
    prices = read_prices(prices_path) if prices_path else {}
    # What each model is sent: the suite's max_tokens, or its output limit where the suite clamps.
    sent: dict[str, int] = {fit.model: fit.sent for fit in the_plan.fits}

    def budget_of(model: str) -> int:
        asked: int = sent.get(model, suite.max_tokens)
        thinking: int = suite.thinking_budget or 0
        return asked - thinking

    budget = budget_of(suite.models[0]) if len({budget_of(m) for m in suite.models}) == 1 else None
    # A shard's plan has only its share of each cell's samples: its table and ceiling are its own.
    per_cell = Counter((t.model, t.task, json.dumps(t.params, sort_keys=True), t.strategy) for t in the_plan.trials)
    planned = [
        (cell, n)
        for cell in the_plan.cells
        if (n := per_cell[(cell.model, cell.task, json.dumps(cell.params, sort_keys=True), cell.strategy)])
    ]
    shard = f" (shard {the_plan.shard} of the suite's trials)" if the_plan.shard is not None else ""
    lines = [
        f"suite {suite.name}{shard}: {len(planned)} cells, {len(the_plan.trials)} trials; nothing is sent.",
        f"per request: max_tokens {suite.max_tokens}"
        # Where a model's limit is lower, the header's figure is not what it is sent: say why, and where it is.
        + (' (the suite\'s; clamped per model below: over_model_limit = "clamp")' if any(f.clamped for f in the_plan.fits) else "")
        + (f", of which thinking up to {suite.thinking_budget}" if suite.thinking_budget else "")
        + f"; agent strategies take at most {suite.max_turns} turns.",
        "model limits (output, and context: the longest first prompt + max_tokens):",
        *(f"  {fit.line()}" for fit in the_plan.fits),
        "model-limit check: "
        + ("passed" if all(f.problem is None for f in the_plan.fits) else "FAILED (the run would be refused: see REFUSED above)"),
        "",
        "| model | task | size | strategy | trials | tokens a complete answer needs | fits one request | cost ceiling (USD) |"
        + (" with caching (USD, est.) |" if prices else ""),
        "|---|---|---:|---|---:|---:|---|---:|" + ("---:|" if prices else ""),
    ]
    table = len(lines) - 2  # the cells' table's header row
    judge = suite.refusal_judge
    if judge:
        # An upper bound: every trial judged once, the answer's excerpt at its longest and at one
        # token a character (byte-level tokenizers never make fewer characters a token on ASCII
        # text), and the reply at its whole budget.
        from longhaul.refusal_judge import MAX_TOKENS, SYSTEM, prompt_bound

        lines[table] = lines[table] + " refusal judge tokens (bound) |"
        lines[table + 1] = lines[table + 1] + "---:|"
    judge_in = judge_out = 0
    judge_price = price_for(prices, judge) if judge else None
    total_cost = cached_cost = 0.0
    unpriced: set[str] = set()
    full_input: set[str] = set()
    cannot = 0

    def per_trial(model: str, task_name: str, params: Any, strategy_name: str) -> tuple[list[int], int, int, bool]:
        """A trial's input tokens turn by turn and its output tokens (bounds), the tokens its complete
        answer needs, and whether that count is exact."""
        task = tasks[task_name]
        needed = needed_tokens(task, params, model)
        exact = encoding_name_for(model)[1]
        prompt = count_tokens(task.prompt(params).text, model)
        strategy = strategies[strategy_name]
        turns = 1 if strategy.single_turn else suite.max_turns
        if strategy.grows_conversation:
            # The conversation grows: turn t carries the prompt and every earlier answer.
            prompts = [prompt + t * (sent.get(model, suite.max_tokens) + 16) for t in range(turns)]
        else:
            prompts = [prompt + 2 * suite.resume_tail * max(1, needed // max(1, task.expected_count(params) or 1)) + 64] * turns
        return prompts, turns * sent.get(model, suite.max_tokens), needed, exact

    def cost_of(
        model: str, samples: int, prompts: list[int], output_tokens: int, strategy_name: str, batched: bool = False
    ) -> tuple[str, float, str, float]:
        """The ceiling and the estimate with caching, each as shown and in USD (half of each for a
        batched cell: both providers' batch APIs bill half of every token)."""
        price = price_for(prices, model)
        if price is None:
            if not model.startswith("sim/"):
                unpriced.add(model)
                return "no price", 0.0, "no price", 0.0
            return "0 (simulated)", 0.0, "0 (simulated)", 0.0
        ceiling = samples * cost_usd(price, ceiling_counts(price, sum(prompts), output_tokens), batch=batched)
        if not strategies[strategy_name].grows_conversation:
            return f"{ceiling:.4f}", ceiling, f"{ceiling:.4f}", ceiling
        counts = cached_estimate(prompts, output_tokens, writes=model.startswith("anthropic/"))
        if price.lacks_cache_prices(counts):
            full_input.add(model)
        estimate = samples * cost_usd(price, counts, batch=batched)
        return f"{ceiling:.4f}", ceiling, f"{estimate:.4f}", estimate

    def judge_bound(task_name: str, params: Any, samples: int) -> tuple[int, int]:
        assert judge
        template, excerpt_chars = prompt_bound(tasks[task_name].prompt(params).user)
        one_in = count_tokens(SYSTEM + "\n" + template, judge) + excerpt_chars + 16
        return samples * one_in, samples * MAX_TOKENS

    batched_trials = 0
    for cell, samples in planned:
        params = tasks[cell.task].params(cell.params)
        prompts, output_tokens, needed, exact = per_trial(cell.model, cell.task, params, cell.strategy)
        fits = needed <= budget_of(cell.model)
        cannot += 0 if fits else 1
        batched = batch and strategies[cell.strategy].graph is None
        batched_trials += samples if batched else 0
        cost, value, cached_text, cached_value = cost_of(cell.model, samples, prompts, output_tokens, cell.strategy, batched)
        total_cost += value
        cached_cost += cached_value
        row = (
            f"| {cell.model} | {cell.task} | {cell.size} | {cell.strategy} | {samples} | {needed:,}{'' if exact else ' (est.)'}"
            f" | {_fits(fits, strategies[cell.strategy].single_turn)} | {cost} |" + (f" {cached_text} |" if prices else "")
        )
        if judge:
            j_in, j_out = judge_bound(cell.task, params, samples)
            judge_in += j_in
            judge_out += j_out
            row += f" {j_in:,} in / {j_out:,} out |"
        lines.append(row)
    if not planned and the_plan.searches:
        del lines[table - 1 :]  # no fixed cell: the searches' table alone
    else:
        lines.append("")
        of = f"{budget:,} tokens" if budget is not None else "its model's max_tokens, less thinking"
        lines.append(f"{cannot} of {len(planned)} cells cannot fit a complete answer in one request's output budget ({of}).")
    search_trials = 0
    if the_plan.searches:
        # A search runs only some sizes, round by round, from what its earlier rounds stored: its
        # bound is every size that fits at max_samples, never a forecast of what it will spend.
        lines += [
            "",
            f"{_searches(len(the_plan.searches))}: each runs only some of its sizes, round by round; its trials and cost here are the most"
            " it can spend (every value that fits, at max_samples).",
            "",
            "| model | strategy | task | searched | values that fit | beyond budget | trials (at most) | cost ceiling (USD, at most) |",
            "|---|---|---|---|---|---|---:|---:|",
        ]
        for search in the_plan.searches:
            cap, beyond = search.fits()
            values = list(range(search.spec.low, cap + 1)) if cap is not None else []
            samples = search.spec.max_samples
            search_trials += len(values) * samples
            cost, search_cost = "0 (simulated)" if search.model.startswith("sim/") else "no price", 0.0
            for v in values:
                params = search.task_params(v)
                prompts, output_tokens, _, _ = per_trial(search.model, search.task.name, params, search.strategy)
                text, value, _, cached_value = cost_of(search.model, samples, prompts, output_tokens, search.strategy)
                search_cost += value
                cached_cost += cached_value
                cost = text if text in ("no price", "0 (simulated)") else f"{search_cost:.4f}"
                if judge:
                    j_in, j_out = judge_bound(search.task.name, params, samples)
                    judge_in += j_in
                    judge_out += j_out
            total_cost += search_cost
            lines.append(
                f"| {search.model} | {search.strategy} | {search.task.name} | {search.spec.param} | {_span(values)} | {_span(beyond)}"
                f" | {len(values) * samples} | {cost} |"
            )
        lines[0] = (
            f"suite {suite.name}{shard}: {len(planned)} cells, {len(the_plan.trials)} trials, {_searches(len(the_plan.searches))}"
            f" (at most {len(the_plan.trials) + search_trials} trials in all); nothing is sent."
        )
    if judge:
        judge_cost = ""
        if judge_price is not None:
            value = cost_usd(judge_price, Counts(input_tokens=judge_in, output_tokens=judge_out))
            total_cost += value
            cached_cost += value
            judge_cost = f", at most {value:.4f} USD"
        elif not judge.startswith("sim/"):
            unpriced.add(judge)
        lines.append(
            f"refusal judge {judge}: at most {len(the_plan.trials) + search_trials} answers judged, at most {judge_in:,} input and "
            f"{judge_out:,} output tokens{judge_cost} (an upper bound: it assumes every trial is judged once, with the "
            "longest excerpt and a reply of its whole budget; only answers the detector is unsure of are)."
        )
    if batch:
        searched = " and every search (its rounds depend on the results stored)" if the_plan.searches else ""
        lines.append(
            f"--batch: {batched_trials} trial{'s' if batched_trials != 1 else ''} of the fixed one-turn (direct) cells go through the "
            f"providers' batch APIs, priced here at half; the other cells{searched} stream, at full price."
        )
    models = {cell.model for cell, _ in planned} | {search.model for search in the_plan.searches} | ({judge} if judge else set())
    if prices and any(price_for(prices, m) is not None for m in models):  # else the line below names them all unpriced
        lines.append(
            f"cost ceiling for the priced models: {total_cost:.2f} USD (an upper bound: every request spending its whole budget"
            + (", every search running every value that fits at max_samples" if the_plan.searches else "")
            + (", the refusal judge's included)." if judge and judge_price is not None else ").")
        )
        lines.append(
            f"estimate with prompt caching: {cached_cost:.2f} USD (not a bound: the same requests, with each turn of a growing "
            "conversation after the first reading the previous turn's prompt from the cache; other strategies as in the ceiling)."
        )
        if line := full_input_line(full_input):
            lines.append(line)
    if line := unpriced_line(unpriced, file_given=prices_path is not None):
        lines.append(line)
    return "\n".join(lines)


def _fits(fits: bool, single_turn: bool) -> str:
    """The fits column: a multi-turn strategy's later requests may finish what one cannot hold (not
    a failure); a single-turn strategy has only the one."""
    if fits:
        return "yes"
    return "NO: needs more budget" if single_turn else "no: not in one request"


def _span(values: list[int]) -> str:
    """Consecutive values as `low-high` (`none` for no value)."""
    if not values:
        return "none"
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _searches(n: int) -> str:
    return f"{n} search{'' if n == 1 else 'es'}"
