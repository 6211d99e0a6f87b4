"""The labelled answers the refusal model learns from and is measured on (`../shared/corpora/`).

Only labels that say what an answer *is* are used: XSTest's human labels, and the two
refusal-direction sets whose construction implies a label (`harmless_baseline`: compliance,
`harmless_actadd`: induced refusal). `jailbreakbench_baseline` has only automated judges and may
hold harmful text, so it is never loaded.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

Label = Literal["compliance", "refusal", "partial"]

XSTEST_FILES = {"gpt-4": "xstest_v2_completions_gpt4.csv", "llama-2-70b-chat": "xstest_v2_completions_llama2new.csv"}
"""XSTest's completion files, by the model that wrote them."""

DIRECTION_SETS: dict[str, Label] = {"harmless_baseline": "compliance", "harmless_actadd": "refusal"}
"""refusal-direction sets used, with the label their construction implies."""


class Labelled(BaseModel):
    """One model answer with its label."""

    model: str
    """The model that wrote it (the unit held out in leave-one-model-out)."""
    source: str
    """Where it comes from: `xstest`, or the refusal-direction set's name."""
    row: str
    """Its id in the source (XSTest id, or the index in the set's file)."""
    text: str
    """The answer, leading and trailing space stripped."""
    label: Label
    """The human label (XSTest), the set's implied label, or a judged label that replaced it."""


class CorpusFile(BaseModel):
    """One corpus file the shipped weights were fitted on, as it was then."""

    path: str
    """Its path under the corpora folder (`../shared/corpora`), with `/` separators."""
    sha256: str
    """SHA-256 of its bytes."""
    rows: int
    """The answers `load` reads from it."""


def files(corpora: Path) -> list[Path]:
    """The files `load` reads under `corpora`, in its order."""
    out = [corpora / "xstest" / name for name in XSTEST_FILES.values()]
    direction = corpora / "refusal-direction"
    for folder in sorted(p for p in direction.iterdir() if p.is_dir()):
        out += [folder / f"{name}_evaluations.json" for name in DIRECTION_SETS]
    return out


def fingerprint(corpora: Path) -> list[CorpusFile]:
    """Each file `load` reads: its path under `corpora`, SHA-256 and row count (recorded in the
    model at training time, so that a changed corpus is noticed)."""
    out = []
    for path in files(corpora):
        data = path.read_bytes()
        if path.suffix == ".csv":
            rows = sum(1 for _ in csv.DictReader(data.decode("utf-8").splitlines()))
        else:
            rows = len(json.loads(data)["completions"])
        out.append(CorpusFile(path=path.relative_to(corpora).as_posix(), sha256=hashlib.sha256(data).hexdigest(), rows=rows))
    return out


def _xstest_label(final: str) -> Label:
    labels: dict[str, Label] = {"1": "compliance", "2": "refusal", "3": "partial"}
    return labels[final[0]]


def load(corpora: Path, judged: dict[tuple[str, str, str], Label] | None = None) -> list[Labelled]:
    """Every labelled answer under `corpora` (the folder holding `xstest/` and `refusal-direction/`).

    `judged` maps (model, source, row) to a label read by hand that replaces the implied one.
    """
    judged = judged or {}
    rows: list[Labelled] = []
    for model, name in XSTEST_FILES.items():
        with (corpora / "xstest" / name).open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rows.append(
                    Labelled(model=model, source="xstest", row=r["id"], text=r["completion"].strip(), label=_xstest_label(r["final_label"]))
                )
    direction = corpora / "refusal-direction"
    for folder in sorted(p for p in direction.iterdir() if p.is_dir()):
        for name, label in DIRECTION_SETS.items():
            data = json.loads((folder / f"{name}_evaluations.json").read_text(encoding="utf-8"))
            for i, c in enumerate(data["completions"]):
                key = (folder.name, name, str(i))
                rows.append(Labelled(model=folder.name, source=name, row=str(i), text=c["response"].strip(), label=judged.get(key, label)))
    return rows
