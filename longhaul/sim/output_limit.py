"""The simulated model's output limit (`max_output=N`): the HTTP 400 each provider sends a request
whose max_tokens is above its model's limit, in that provider's own words, so that longhaul's
classification of it (`providers/base.py` `status_error`) is tested on the real messages."""

from __future__ import annotations

from typing import Literal


def too_large(wire: Literal["openai", "anthropic", "responses"], asked: int, limit: int, model: str) -> str:
    """The error message for `asked` > `limit`: OpenAI Chat Completions', the Responses API's
    (its parameter validation's wording) or Anthropic Messages'."""
    if wire == "responses":
        return f"Invalid 'max_output_tokens': integer above maximum value. Expected a value <= {limit}, but got {asked} instead."
    if wire == "anthropic":
        return f"max_tokens: {asked} > {limit}, which is the maximum allowed number of output tokens for {model}"
    return f"max_tokens is too large: {asked}. This model supports at most {limit} completion tokens, whereas you provided {asked}."
