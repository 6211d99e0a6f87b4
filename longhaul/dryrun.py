"""`longhaul run --dry-run`: what a run would ask for, before a token is paid for.

Per cell: trials, the output tokens a complete answer needs (counted with the model's tokenizer,
or o200k as an estimate where the tokenizer is not public) against the request budget, and with a
price file, a cost ceiling. longhaul never guesses prices: a model without one says so.

Price file (USD per million tokens):

    ["openai/gpt-4.1"]
    input = 2.00
    output = 8.00
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from longhaul.errors import BadInput
from longhaul.tokens import count_tokens, encoding_name_for, needed_tokens


class Price(BaseModel):
    input: float = Field(ge=0)
    """USD per million input tokens."""
    output: float = Field(ge=0)
    """USD per million output tokens (thinking included)."""


def read_prices(path: Path) -> dict[str, Price]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"--prices {path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"--prices {path}: not valid TOML: {exc}") from None
    prices = {}
    for model, entry in raw.items():
        try:
            prices[model] = Price.model_validate(entry)
        except ValidationError as exc:
            e = exc.errors()[0]
            raise BadInput(
                f"--prices {path}: [{model}] {'.'.join(map(str, e['loc']))}: {e['msg']} (input and output, USD per million tokens)"
            ) from None
    return prices


def dry_run(the_plan: Any, prices_path: Path | None = None) -> str:
    """The dry run's table of a plan (its cells, with the tasks and strategies of its catalog)."""
    suite = the_plan.suite
    tasks = the_plan.catalog.tasks
    strategies = the_plan.catalog.strategies  # the plan's strategies are known: planning checked them
    prices = read_prices(prices_path) if prices_path else {}
    budget = suite.max_tokens - (suite.thinking_budget or 0)
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
        + (f", of which thinking up to {suite.thinking_budget}" if suite.thinking_budget else "")
        + f"; agent strategies take at most {suite.max_turns} turns.",
        "",
        "| model | task | size | strategy | trials | tokens a complete answer needs | fits one request | cost ceiling (USD) |",
        "|---|---|---:|---|---:|---:|---|---:|",
    ]
    judge = suite.refusal_judge
    if judge:
        # An upper bound: every trial judged once, the answer's excerpt at its longest and at one
        # token a character (byte-level tokenizers never make fewer characters a token on ASCII
        # text), and the reply at its whole budget.
        from longhaul.refusal_judge import MAX_TOKENS, SYSTEM, prompt_bound

        lines[3] = lines[3] + " refusal judge tokens (bound) |"
        lines[4] = lines[4] + "---:|"
    judge_in = judge_out = 0
    judge_price = prices.get(judge) if judge else None
    total_cost = 0.0
    unpriced: set[str] = set()
    cannot = 0
    for cell, samples in planned:
        task = tasks[cell.task]
        params = task.params(cell.params)
        needed = needed_tokens(task, params, cell.model)
        exact = encoding_name_for(cell.model)[1]
        prompt = count_tokens(task.prompt(params).text, cell.model)
        fits = needed <= budget
        cannot += 0 if fits else 1
        strategy = strategies[cell.strategy]
        turns = 1 if strategy.single_turn else suite.max_turns
        if strategy.grows_conversation:
            # The conversation grows: turn t carries the prompt and every earlier answer.
            input_tokens = sum(prompt + t * (suite.max_tokens + 16) for t in range(turns))
        else:
            input_tokens = turns * (prompt + 2 * suite.resume_tail * max(1, needed // max(1, task.expected_count(params) or 1)) + 64)
        output_tokens = turns * suite.max_tokens
        price = prices.get(cell.model)
        if price is None:
            cost = "no price" if not cell.model.startswith("sim/") else "0 (simulated)"
            if not cell.model.startswith("sim/"):
                unpriced.add(cell.model)
        else:
            value = samples * (input_tokens * price.input + output_tokens * price.output) / 1e6
            total_cost += value
            cost = f"{value:.4f}"
        row = (
            f"| {cell.model} | {cell.task} | {cell.size} | {cell.strategy} | {samples} | {needed:,}{'' if exact else ' (est.)'}"
            f" | {'yes' if fits else 'NO: needs more turns or budget'} | {cost} |"
        )
        if judge:
            template, excerpt_chars = prompt_bound(task.prompt(params).user)
            one_in = count_tokens(SYSTEM + "\n" + template, judge) + excerpt_chars + 16
            judge_in += samples * one_in
            judge_out += samples * MAX_TOKENS
            row += f" {samples * one_in:,} in / {samples * MAX_TOKENS:,} out |"
        lines.append(row)
    lines.append("")
    lines.append(f"{cannot} of {len(planned)} cells cannot fit a complete answer in one request's output budget ({budget:,} tokens).")
    if judge:
        judge_cost = ""
        if judge_price is not None:
            value = (judge_in * judge_price.input + judge_out * judge_price.output) / 1e6
            total_cost += value
            judge_cost = f", at most {value:.4f} USD"
        elif not judge.startswith("sim/"):
            unpriced.add(judge)
        lines.append(
            f"refusal judge {judge}: at most {len(the_plan.trials)} answers judged, at most {judge_in:,} input and "
            f"{judge_out:,} output tokens{judge_cost} (an upper bound: it assumes every trial is judged once, with the "
            "longest excerpt and a reply of its whole budget; only answers the detector is unsure of are)."
        )
    if prices:
        lines.append(
            f"cost ceiling for the priced models: {total_cost:.2f} USD (every request spending its whole budget"
            + (", the refusal judge's included)." if judge and judge_price is not None else ").")
        )
    if unpriced:
        lines.append(f"no price given for: {', '.join(sorted(unpriced))} (longhaul does not guess prices; pass --prices FILE).")
    return "\n".join(lines)
