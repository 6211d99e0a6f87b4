"""The real Tower of Hanoi transcripts: every one gets a verdict, and the hand labels agree."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIGURES, corpus

from longhaul.verify import verify

FORMATS = {"hanoi-csv": "csv", "hanoi-trck": "csv"}
JUDGED = Path(__file__).parent / "fixtures" / "hanoi_judged.csv"


def _records():
    with corpus("hanoi-illusion", "dev.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _verdict(tasks, r):
    params = {"disks": r["n"], "format": FORMATS.get(r["experiment"], "list")}
    return verify(tasks["hanoi"], params, r["text"], thinking=r["thinking"], stop_reason=r["stop_reason"])


@pytest.mark.slow
def test_every_transcript_gets_a_verdict(tasks):
    counts = Counter()
    for r in _records():
        v = _verdict(tasks, r)
        assert v.outcome != "error"
        counts[v.outcome] += 1
    FIGURES.append(f"hanoi-illusion: verdicts on {sum(counts.values())} transcripts: {dict(counts)}")
    assert sum(counts.values()) == 1080


def _judged():
    with JUDGED.open(encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def _model(record_id: str) -> str:
    return record_id.split("-", 4)[4].rsplit("-t", 1)[0]


def test_judged_labels_agree(tasks):
    """Every transcript where longhaul and the upstream verdict differed (or where a verifier
    change moved the verdict) was read and judged by hand under docs/verdicts.md."""
    judged = _judged()
    outcome_ok = index_ok = n_cant = 0
    per_model: dict[str, list[int]] = {}
    misses = []
    for r in _records():
        label = judged.get(r["id"])
        if label is None:
            continue
        v = _verdict(tasks, r)
        same = v.outcome == label["outcome"]
        outcome_ok += same
        if label["outcome"] == "cant_do":
            n_cant += 1
            got = v.first_error.index if v.first_error else None
            index_ok += same and got == int(label["first_error_index"])
        both = same and (
            label["outcome"] != "cant_do" or (v.first_error is not None and v.first_error.index == int(label["first_error_index"]))
        )
        per_model.setdefault(_model(r["id"]), [0, 0])
        per_model[_model(r["id"])][0] += both
        per_model[_model(r["id"])][1] += 1
        if not both:
            misses.append(
                f"{r['id']}: longhaul {v.outcome} {v.first_error.index if v.first_error else ''}, judged {label['outcome']} {label['first_error_index']}"
            )
    n = len(judged)
    FIGURES.append(
        f"hanoi-illusion: {n} transcripts judged by reading; outcomes agree {outcome_ok}/{n} ({outcome_ok / n:.1%}), "
        f"first-error index on cant_do {index_ok}/{n_cant} ({index_ok / n_cant:.1%})"
    )
    FIGURES.append(
        "hanoi-illusion judged, by model (outcome and index): " + ", ".join(f"{m} {a}/{b}" for m, (a, b) in sorted(per_model.items()))
    )
    FIGURES.extend(f"hanoi-illusion judged miss: {m}" for m in misses)
    assert outcome_ok / n >= 0.995 and index_ok / n_cant >= 0.97


def test_upstream_valid_natural_stops_are_complete(tasks):
    with corpus("hanoi-illusion", "upstream-dev.csv").open(encoding="utf-8") as f:
        valid = {row["id"] for row in csv.DictReader(f) if row["upstream_is_valid_solution"] == "1"}
    wrong = [
        r["id"] for r in _records() if r["id"] in valid and r["stop_reason"] == "end_turn" and _verdict(tasks, r).outcome != "complete"
    ]
    assert len(valid) > 300 and wrong == []


def test_hand_labels_agree(tasks):
    with corpus("hanoi-illusion", "labels-dev.csv").open(encoding="utf-8") as f:
        labels = {row["id"]: row for row in csv.DictReader(f)}
    # Where a label was read again and judged otherwise, the judged label stands, with its reason
    # in the fixture.
    for record_id, row in _judged().items():
        if record_id in labels and row["reason"].startswith("OVERRIDES the hand label"):
            labels[record_id] = {"label": row["outcome"], "first_illegal_index_0based": row["first_error_index"]}
    agree, rows = 0, []
    for r in _records():
        if r["id"] not in labels:
            continue
        label = labels[r["id"]]
        v = _verdict(tasks, r)
        same = v.outcome == label["label"]
        if same and label["label"] == "cant_do":
            same = v.first_error is not None and v.first_error.index == int(label["first_illegal_index_0based"])
        agree += same
        rows.append(f"{'agree' if same else 'DISAGREE':8} {label['label']:17} {v.outcome:17} {r['id']}")
    print("\n" + "\n".join(rows))
    FIGURES.append(f"hanoi-illusion: hand labels {agree}/{len(labels)} agree (after 1 judged override, see the fixture)")
    assert len(rows) == len(labels)
    assert agree == len(labels)
