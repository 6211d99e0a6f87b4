"""`longhaul export`: one row per trial (or per turn), as JSON lines or CSV, for pandas, DuckDB or
a spreadsheet. Model output is data here: it is written as text, never interpreted."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from longhaul.store import RunStore
from longhaul.trial import TrialRecord

TRIAL_COLUMNS = [
    "key",
    "model",
    "simulated",
    "task",
    "params",
    "size",
    "strategy",
    "sample",
    "outcome",
    "wont_do_kind",
    "items_correct",
    "items_expected",
    "first_error_index",
    "claims_complete",
    "stop",
    "turns",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "retries",
    "tokens_saved",
    "seconds",
    "explanation",
    "finished_at",
    "refusal_judge",
    "refusal_judge_label",
    "refusal_judge_cached",
    "refusal_judge_input_tokens",
    "refusal_judge_output_tokens",
    "refusal_detector_probability",
    "wont_do_kind_before_judge",
    "max_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "batch_id",
]
TURN_COLUMNS = [
    "key",
    "model",
    "task",
    "size",
    "strategy",
    "sample",
    "turn",
    "kind",
    "messages",
    "stop_reason",
    "raw_stop_reason",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "attempts",
    "retries",
    "start_item",
    "new_items",
    "restarted",
    "stopped_early",
    "outcome_after",
    "items_correct_after",
    "seconds",
    "error",
    "user",
    "answer",
    "max_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "batch_id",
]


def trial_row(t: TrialRecord) -> dict[str, Any]:
    s, v = t.spec, t.verdict
    return {
        "key": s.key,
        "model": s.model,
        "simulated": t.simulated,
        "task": s.task,
        "params": json.dumps(s.params, sort_keys=True),
        "size": s.size,
        "strategy": s.strategy,
        "sample": s.sample,
        "outcome": t.outcome,
        "wont_do_kind": v.wont_do_kind,
        "items_correct": v.items_correct,
        "items_expected": v.items_expected,
        "first_error_index": v.first_error.index if v.first_error else None,
        "claims_complete": v.claims_complete,
        "stop": t.stop,
        "turns": len(t.turns),
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "reasoning_tokens": t.reasoning_tokens,
        "retries": t.retries,
        "tokens_saved": t.tokens_saved,
        "seconds": round(t.seconds, 3),
        "explanation": v.explanation,
        "finished_at": t.finished_at.isoformat(),
        **_judgement(t),
        "max_tokens": t.max_tokens,
        "cached_input_tokens": t.cached_input_tokens,
        "cache_write_tokens": t.cache_write_tokens,
        "batch_id": t.batch_id,
    }


def _judgement(t: TrialRecord) -> dict[str, Any]:
    """The refusal judge's columns: empty for a trial it did not judge (its tokens are not in
    `input_tokens`/`output_tokens`, which are the model's own)."""
    j = t.refusal_judgement
    if j is None:
        return {c: None for c in TRIAL_COLUMNS if c.startswith(("refusal_", "wont_do_kind_before"))}
    return {
        "refusal_judge": j.judge,
        "refusal_judge_label": j.label or "failed",
        "refusal_judge_cached": j.cached,
        "refusal_judge_input_tokens": j.input_tokens,
        "refusal_judge_output_tokens": j.output_tokens,
        "refusal_detector_probability": j.detector_probability,
        "wont_do_kind_before_judge": j.kind_before,
    }


def turn_rows(t: TrialRecord) -> Iterator[dict[str, Any]]:
    s = t.spec
    for turn in t.turns:
        yield {
            "key": s.key,
            "model": s.model,
            "task": s.task,
            "size": s.size,
            "strategy": s.strategy,
            "sample": s.sample,
            "turn": turn.index,
            "kind": turn.kind,
            "messages": turn.messages,
            "stop_reason": turn.stop_reason,
            "raw_stop_reason": turn.raw_stop_reason,
            "input_tokens": turn.usage.input_tokens,
            "output_tokens": turn.usage.output_tokens,
            "reasoning_tokens": turn.usage.reasoning_tokens,
            "attempts": turn.attempts,
            "retries": len(turn.retries),
            "start_item": turn.start_item,
            "new_items": turn.new_items,
            "restarted": turn.restarted,
            "stopped_early": turn.stopped_early,
            "outcome_after": turn.verdict.outcome,
            "items_correct_after": turn.verdict.items_correct,
            "seconds": round(turn.seconds, 3),
            "error": turn.error,
            "user": turn.user,
            "answer": turn.answer,
            "max_tokens": t.max_tokens,  # the trial's: every request of it was sent the same
            "cached_input_tokens": turn.usage.cached_input_tokens,
            "cache_write_tokens": turn.usage.cache_write_tokens,
            "batch_id": t.batch_id,
        }


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _inert(row: dict[str, Any]) -> dict[str, Any]:
    """Text a spreadsheet would run as a formula gets a leading quote (model output is untrusted)."""
    return {k: "'" + v if isinstance(v, str) and v.startswith(_FORMULA) else v for k, v in row.items()}


def export(run_dir: Path, fmt: Literal["jsonl", "csv"], *, turns: bool = False, out: TextIO) -> int:
    """Write the rows; returns how many."""
    store = RunStore.open(run_dir)
    try:
        columns = TURN_COLUMNS if turns else TRIAL_COLUMNS
        writer = csv.DictWriter(out, fieldnames=columns) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        n = 0
        for trial in store.trials():
            for row in turn_rows(trial) if turns else [trial_row(trial)]:
                if writer is not None:
                    writer.writerow(_inert(row))
                else:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        return n
    finally:
        store.close()
