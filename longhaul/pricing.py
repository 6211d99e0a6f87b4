"""Prices and what tokens cost: the price file (`--prices`) and the one function every cost goes
through (the dry run, the report and results.json, the spend guard).

Price file (USD per million tokens; `cached_input` and `cache_write` optional):

    ["anthropic/claude-sonnet-4-5"]
    input = 3.00
    output = 15.00
    cached_input = 0.30   # tokens read from the prompt cache
    cache_write = 3.75    # tokens written to it

longhaul never guesses prices: an entry without `cached_input` prices cached tokens at `input`,
one without `cache_write` prices written tokens at `input`, and the callers say which models were
priced so. A batch request (`run --batch`) costs half, at OpenAI and at Anthropic alike.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from longhaul.errors import BadInput

BATCH_DISCOUNT = 0.5
"""What a batch request costs, as a share of the same request sent alone (both providers)."""


class Price(BaseModel):
    """One model's prices, USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)  # no true, "3", inf or nan

    input: float = Field(ge=0)
    """USD per million input tokens."""
    output: float = Field(ge=0)
    """USD per million output tokens (thinking included)."""
    cached_input: float | None = Field(None, ge=0)
    """USD per million input tokens read from the provider's prompt cache; None: priced at `input`."""
    cache_write: float | None = Field(None, ge=0)
    """USD per million input tokens written to the prompt cache (Anthropic); None: priced at `input`."""

    def lacks_cache_prices(self, counts: TokenCounts) -> bool:
        """Whether these counts have cached or written tokens this price has no own price for."""
        return (counts.cached_input_tokens > 0 and self.cached_input is None) or (
            counts.cache_write_tokens > 0 and self.cache_write is None
        )


class TokenCounts(Protocol):
    """What a cost is of: a request's `Usage`, a `TrialRecord` (summed over its turns), or `Counts`."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def cached_input_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Counts:
    """Token counts without a record behind them (an estimate, a judge's reply). `input_tokens` is
    the whole prompt, the cached and written parts included, as in `Usage`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0


def cost_usd(price: Price, counts: TokenCounts, batch: bool = False) -> float:
    """What these tokens cost in USD: the cached part of the input at `cached_input`, the written
    part at `cache_write` (each at `input` where the price has none), the rest at `input`, the
    output at `output`; half that for a batch request."""
    cached, written = counts.cached_input_tokens, counts.cache_write_tokens
    fresh = max(0, counts.input_tokens - cached - written)
    value = (
        fresh * price.input
        + cached * (price.input if price.cached_input is None else price.cached_input)
        + written * (price.input if price.cache_write is None else price.cache_write)
        + counts.output_tokens * price.output
    ) / 1e6
    return value * BATCH_DISCOUNT if batch else value


def price_for(prices: Mapping[str, Price], model: str) -> Price | None:
    """The price of a model address: `openai-responses/<m>` is the same model as `openai/<m>`, and
    takes its price when the file has none of its own."""
    price = prices.get(model)
    if price is None and model.startswith("openai-responses/"):
        price = prices.get("openai/" + model.removeprefix("openai-responses/"))
    return price


def full_input_line(models: set[str]) -> str | None:
    """The one line that says which models' cached or written tokens were priced at `input`."""
    if not models:
        return None
    return (
        f"priced at the full input price for want of cached_input/cache_write in the price file: the cached or "
        f"cache-written input tokens of {', '.join(sorted(models))}."
    )


def unpriced_line(models: set[str], file_given: bool) -> str | None:
    """The one line that says which models have no price, the same in the dry run and the report:
    a key matches only the exact address, so `openai/lazy` prices no `openai/lazy?k=50`."""
    if not models:
        return None
    return (
        f"no price given for: {', '.join(sorted(models))} (a price key is the exact model address, query string included; "
        f"longhaul does not guess prices{'' if file_given else '; pass --prices FILE'})."
    )


def read_prices(path: Path) -> dict[str, Price]:
    """A price file, by model address; a bad one is `BadInput` naming the file, the model and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"--prices {path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise BadInput(f"--prices {path}: not UTF-8 text (a TOML file is UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"--prices {path}: not valid TOML: {exc}") from None
    prices = {}
    for model, entry in raw.items():
        try:
            prices[model] = Price.model_validate(entry)
        except ValidationError as exc:
            e = exc.errors()[0]
            raise BadInput(
                f"--prices {path}: [{model}] {'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']} (input and output, optionally "
                "cached_input and cache_write: USD per million tokens, finite unquoted numbers at least 0)"
            ) from None
    return prices
