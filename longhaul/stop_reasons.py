"""Providers' own stop reasons, mapped onto longhaul's `StopReason`: the one table every part uses
(the providers as they stream, and `verify` on transcripts a user brings)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import get_args

from longhaul.verdict import StopReason

NORMALISED: tuple[StopReason, ...] = get_args(StopReason)
"""longhaul's own names, which map to themselves."""

STOP_REASONS: Mapping[str, StopReason] = MappingProxyType(
    {
        # The model ended its answer itself (a stop sequence is an end the caller asked for).
        "end_turn": "end_turn",
        "stop": "end_turn",  # OpenAI Chat Completions, OpenAI-compatible servers, Gemini's STOP
        "completed": "end_turn",  # OpenAI Responses status
        "stop_sequence": "end_turn",  # Anthropic
        # The token limit ended it.
        "max_tokens": "max_tokens",  # Anthropic, Gemini's MAX_TOKENS
        "length": "max_tokens",  # OpenAI Chat Completions
        "max_output_tokens": "max_tokens",  # OpenAI Responses incomplete_details.reason
        "incomplete": "max_tokens",  # OpenAI Responses status; its other cause, a filter, comes with its own reason
        "incomplete:max_output_tokens": "max_tokens",  # OpenAI Responses: the status and its reason, as recorded
        "model_context_window_exceeded": "max_tokens",  # Anthropic: the context window, not the budget, ran out
        # A filter or the provider's policy ended it: never the model's own choice to stop.
        "content_filter": "content_filter",  # OpenAI
        "incomplete:content_filter": "content_filter",  # OpenAI Responses
        "refusal": "content_filter",  # Anthropic's streaming classifiers
        "safety": "content_filter",  # Gemini, and the Gemini ones below
        "recitation": "content_filter",
        "prohibited_content": "content_filter",
        "blocklist": "content_filter",
        "spii": "content_filter",
        # Known, but neither an end, a limit nor a filter: the model paused for a tool (longhaul's
        # tasks offer none) or the server paused a long turn. Such an answer is unfinished by design,
        # so it must not read as the model's own end.
        "other": "other",
        "tool_use": "other",  # Anthropic
        "tool_calls": "other",  # OpenAI
        "function_call": "other",  # OpenAI, deprecated
        "pause_turn": "other",  # Anthropic
    }
)
"""Raw stop reason, lower-cased, to the normalised one. Providers differ only in case (Gemini
writes `STOP`, `MAX_TOKENS`), so lookups ignore case."""


def normalise_stop_reason(raw: str) -> StopReason | None:
    """The normalised stop reason for a provider's raw one, ignoring case and surrounding blanks;
    None when the value is not known (the caller decides: `other` with a warning, or an error)."""
    return STOP_REASONS.get(raw.strip().lower())


def allowed_stop_reasons() -> str:
    """What a stop reason may be, for a one-line message."""
    raw = [name for name in STOP_REASONS if name not in NORMALISED]
    return f"{', '.join(NORMALISED)}, or a provider's own ({', '.join(raw)}; any case)"


def read_stop_reason(given: str | None) -> tuple[StopReason | None, str | None]:
    """A stop reason as given (None: not given) to what a verdict records: the normalised one
    (`other` when the value is not known) and the raw one, kept when it differs from its
    normalised name (`Verdict.stop_reason_raw`)."""
    if given is None:
        return None, None
    stop = normalise_stop_reason(given)
    if stop is None:
        return "other", given
    return stop, None if given == stop else given
