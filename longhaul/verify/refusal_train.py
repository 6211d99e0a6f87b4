"""Fit the shipped refusal model: `python -m longhaul.verify.refusal_train CORPORA [JUDGED_CSV]`.

CORPORA is the folder holding `xstest/` and `refusal-direction/` (`../shared/corpora` beside the
checkout); JUDGED_CSV holds labels read by hand that replace a set's implied label
(`tests/fixtures/refusal_judged.csv`). Writes `longhaul/verify/refusal_model.json`, with the
SHA-256 and row count of every corpus file read (`tests/test_refusal_heldout.py` checks them
against the files present, and that the weights are the fit of those files).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from longhaul.verify.refusal_corpus import Label, Labelled, fingerprint, load
from longhaul.verify.refusal_features import normalise, read
from longhaul.verify.refusal_model import RefusalModel, fit


def judged(path: Path) -> dict[tuple[str, str, str], Label]:
    """Hand-judged labels from a CSV with columns model, source, row, label, reason."""
    with path.open(encoding="utf-8") as f:
        # csv gives str; the file's label column holds the three class names (not validated here).
        return {(r["model"], r["source"], r["row"]): r["label"] for r in csv.DictReader(f)}  # type: ignore[misc]


def features(row: Labelled) -> tuple[float, ...]:
    """The feature values of one whole answer, as `refusal.detect` computes them."""
    text = normalise(row.text)
    return read(text, text, len(text), 0).values


def train(rows: list[Labelled]) -> RefusalModel:
    """Fit on the full-refusal and full-compliance rows (partial refusals carry no binary label)."""
    used = [r for r in rows if r.label != "partial"]
    return fit([features(r) for r in used], [int(r.label == "refusal") for r in used], [r.model for r in used])


def main() -> None:
    corpora = Path(sys.argv[1])
    labels = judged(Path(sys.argv[2])) if len(sys.argv) > 2 else {}
    model = train(load(corpora, labels)).model_copy(update={"corpora": fingerprint(corpora)})
    out = Path(__file__).with_name("refusal_model.json")
    out.write_text(model.model_dump_json(indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({model.rows} answers from {len(model.trained_on)} models)")


if __name__ == "__main__":
    main()
