"""Providers' raw stop reasons: one table, any case, unknown values kept raw and judged as `other`."""

from __future__ import annotations

import pytest

from longhaul import verify
from longhaul.catalog import Catalog
from longhaul.stop_reasons import normalise_stop_reason

# Written out here rather than read from the table, so that a changed table fails a test.
MAPPING = [
    ("stop", "end_turn"),
    ("end_turn", "end_turn"),
    ("STOP", "end_turn"),
    ("completed", "end_turn"),
    ("stop_sequence", "end_turn"),
    ("End_Turn", "end_turn"),
    ("length", "max_tokens"),
    ("max_tokens", "max_tokens"),
    ("MAX_TOKENS", "max_tokens"),
    ("max_output_tokens", "max_tokens"),
    ("incomplete", "max_tokens"),
    ("incomplete:max_output_tokens", "max_tokens"),
    ("Incomplete:Max_Output_Tokens", "max_tokens"),
    ("model_context_window_exceeded", "max_tokens"),
    ("content_filter", "content_filter"),
    ("incomplete:content_filter", "content_filter"),
    ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"),
    ("refusal", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"),
    ("BLOCKLIST", "content_filter"),
    ("SPII", "content_filter"),
    ("tool_use", "other"),
    ("tool_calls", "other"),
    ("function_call", "other"),
    ("pause_turn", "other"),
    ("other", "other"),
]


@pytest.mark.parametrize("raw,expected", MAPPING)
def test_raw_stop_reasons_map_onto_the_normalised_set(raw, expected):
    assert normalise_stop_reason(raw) == expected


@pytest.mark.parametrize("raw,expected", MAPPING)
def test_verify_takes_raw_stop_reasons_and_keeps_them(raw, expected):
    # Two of three items and a stop: only the token limit makes it budget_exhausted.
    verdict = verify(Catalog().task("count"), {"end": 3}, "1\n2\n", stop_reason=raw)
    assert verdict.stop_reason == expected
    assert verdict.stop_reason_raw == (None if raw == expected else raw)
    assert (verdict.outcome == "budget_exhausted") == (expected == "max_tokens")


@pytest.mark.parametrize("raw", ["weird_stop", "", "finish"])
def test_unknown_stop_reason_is_other_with_the_raw_value(raw):
    assert normalise_stop_reason(raw) is None
    verdict = verify(Catalog().task("count"), {"end": 3}, "1\n2\n3\n", stop_reason=raw)
    assert (verdict.outcome, verdict.stop_reason, verdict.stop_reason_raw) == ("complete", "other", raw)


def test_no_stop_reason_stays_none():
    verdict = verify(Catalog().task("count"), {"end": 3}, "1\n2\n3\n", stop_reason=None)
    assert (verdict.stop_reason, verdict.stop_reason_raw) == (None, None)
