"""Records made from a seed, for the tasks that ask to rewrite given data as code (`json_records`,
`sql_inserts`): the prompt shows them as CSV, the answer writes them out as JSON objects or SQL rows.

No knowledge is needed to answer: every value is in the prompt. A record has an `id` (consecutive
from a first id), a `name` (a first and a last name from fixed lists, some with an apostrophe, which
SQL must escape as `''`), a `city` (from a fixed list, some with spaces), a `score` (a number below
100 with one or two digits after the point, never a whole number, so `12.5` is never written `12`)
and `active` (a boolean). The same seed gives the same records on every Python version
(`random.Random` with an integer seed, and only `randrange`/`choice`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError

from longhaul.task import TaskParams

COLUMNS = ("id", "name", "city", "score", "active")
"""The fields of a record, in the order the CSV and the prompt name them."""

ColumnType = Literal["integer", "string", "number", "boolean"]

TYPES: dict[str, ColumnType] = {"id": "integer", "name": "string", "city": "string", "score": "number", "active": "boolean"}
"""Each field's type, as the prompt states it."""

FIRST_NAMES = (
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam",
    "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yusuf",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Baker", "Chen", "D'Souza", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
    "Lopez", "Moreau", "Nakamura", "O'Brien", "Petrov", "Rossi", "Silva", "Tanaka", "Novak", "Walsh", "Young",
)  # fmt: skip
CITIES = (
    "Amsterdam", "Berlin", "Cairo", "Denver", "Edinburgh", "Florence", "Glasgow", "Hanoi", "Istanbul", "Jakarta",
    "Kyoto", "Lima", "Madrid", "Nairobi", "Oslo", "Porto", "Quito", "Rio de Janeiro", "Seoul", "Toronto",
    "New York", "Vienna", "Warsaw", "Zurich",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Record:
    """One record, with its values as Python reads them from JSON."""

    id: int
    name: str
    city: str
    score: float
    """Read from `score_text`, so the float is the one that text denotes."""
    score_text: str
    """The score as the CSV writes it (`72.5`, `8.25`)."""
    active: bool

    def as_dict(self) -> dict[str, object]:
        """The record as its JSON object: field to value."""
        return {"id": self.id, "name": self.name, "city": self.city, "score": self.score, "active": self.active}


def records(seed: int, start: int, count: int) -> Iterator[Record]:
    """`count` records with ids from `start`, the same for the same seed."""
    rng = random.Random(seed)
    for i in range(count):
        whole = rng.randrange(100)
        # One digit after the point, or two; the last never 0, so the text is the float's repr.
        text = f"{whole}.{rng.randrange(1, 10)}" if rng.randrange(2) else f"{whole}.{rng.randrange(1, 10)}{rng.randrange(1, 10)}"
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        yield Record(start + i, name, rng.choice(CITIES), float(text), text, bool(rng.randrange(2)))


def csv_text(rows: Iterable[Record]) -> str:
    """The records as CSV with a header line (no field needs quoting: no value holds a comma or a quote `"`)."""
    lines = [",".join(COLUMNS)]
    lines += [f"{r.id},{r.name},{r.city},{r.score_text},{'true' if r.active else 'false'}" for r in rows]
    return "\n".join(lines) + "\n"


class RecordParams(TaskParams):
    """The parameters of a task over these records: which records, and how many."""

    seed: int = Field(1, ge=0, le=1_000_000_000, description="seed of the records (0-1000000000)")
    start: int = Field(1, ge=0, le=1_000_000, description="id of the first record (0-1000000)")
    count: int = Field(100, ge=1, le=10_000, description="number of records (1-10000)")


def altered(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The record (as its dict) with one field off, as a model that loses its place in the CSV
    writes it; the id stays, so it still claims its own place and the checker, not the order,
    rejects it (the simulated model's mistakes)."""
    key = rng.choice(("name", "city", "score", "active"))
    if key == "name":
        first, last = record["name"].split(" ", 1)
        return {**record, "name": f"{first} {next(n for n in LAST_NAMES if n != last)}"}
    if key == "city":
        return {**record, "city": next(c for c in CITIES if c != record["city"])}
    if key == "score":
        score = record["score"]
        return {**record, "score": round(score + 1, 2) if score < 99 else round(score - 1, 2)}
    return {**record, "active": not record["active"]}


def given(p: RecordParams) -> str:
    """The prompt's opening: the records of `p` as CSV (what `read_given` reads back)."""
    data = csv_text(records(p.seed, p.start, p.count))
    return f"Here are {p.count} records (data set {p.seed}, ids {p.start} to {p.start + p.count - 1}) as CSV:\n\n```csv\n{data}```\n\n"


def read_given(text: str, asks: str) -> RecordParams | None:
    """The parameters of a prompt that opens as `given` writes it and then `asks` (a task's own
    words, which tell the record tasks' prompts apart); None for any other text or out of range."""
    m = re.search(r"Here are (\d+) records \(data set (\d+), ids (\d+) to \d+\) as CSV:", text)
    if m is None or asks not in text[m.end() :]:
        return None
    try:
        return RecordParams(seed=int(m.group(2)), start=int(m.group(3)), count=int(m.group(1)))
    except ValidationError:
        return None
