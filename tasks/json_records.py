"""Records given as CSV, rewritten as a JSON array of objects: fixtures, the data-entry side of coding.

The prompt shows `count` records made from a seed (`longhaul.records`: id, name, city, score,
active) as CSV and asks for the same records as one JSON array of objects, in order, with the keys
and types it names: `id` integer, `name` string, `city` string, `score` number, `active` boolean.

What is checked: the entries are the array's elements, read with `json` (never run); the index an
object claims is its `id` minus the first id, so an object out of order or a skipped id is a
missing item there. Each object must have every key, no other key, each value of the stated type
and equal to the CSV's (the Mistake names the key that is wrong and what it should be).

Accepted forms: keys in any order, any whitespace and line breaks (one object per line, or pretty
printed over several), the array inside a ```json fence or bare, `12.50` for `12.5` (the same
number). Not accepted: a number or boolean written as a string (`"score": "72.5"`, `"active":
"true"`): the prompt states the types, and a consumer of the JSON would read a string. JSON that
does not parse (a trailing comma before `]`, single quotes) is `cant_do` with the parser's message:
a JSON reader rejects it. A comment (`// ... remaining records`) or `...` in place of objects is
elision; a script that builds the array instead of writing it is `code_instead`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from longhaul import CodeSyntax, CodeTask, Item, Mistake, Prompt, SequenceChecker, records

Record = dict[str, Any]
"""A record as its JSON object: key to value."""

# What each stated type is in Python as `json` reads it (a bool is an int to Python: excluded).
_IS_TYPE = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
_JSON_TYPE = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


Params = records.RecordParams


def key_mistake(want: Record, got: Any, expected: str) -> Mistake | None:
    """Why `got` is not the record `want`: the first key that is missing, extra, of the wrong type
    or with the wrong value. (Shared in spirit with `sql_inserts`, which reads rows into the same dicts.)"""
    rid = want["id"]
    if not isinstance(got, dict):
        return Mistake(expected, f"record {rid} must be a JSON object, not {_JSON_TYPE.get(type(got), type(got).__name__)}")
    for key in records.COLUMNS:
        if key not in got:
            return Mistake(expected, f"record {rid} has no key {key!r}")
    extra = [k for k in got if k not in want]
    if extra:
        return Mistake(expected, f"record {rid} has a key {extra[0]!r} the prompt does not ask for (keys: {', '.join(records.COLUMNS)})")
    for key in records.COLUMNS:
        kind = records.TYPES[key]
        value = got[key]
        if not _IS_TYPE[kind](value):
            written = _JSON_TYPE.get(type(value), type(value).__name__)
            return Mistake(
                expected, f"record {rid}: {key!r} must be {'an' if kind == 'integer' else 'a'} {kind}, not {written} ({json.dumps(value)})"
            )
        if value != want[key]:
            return Mistake(
                expected,
                f"record {rid}: {key!r} is {json.dumps(value, ensure_ascii=False)}, the CSV has {json.dumps(want[key], ensure_ascii=False)}",
            )
    return None


class JsonRecords(CodeTask[Params]):
    name = "json_records"
    summary = "Records given as CSV, rewritten as a JSON array of objects with stated keys and types: fixtures by hand."
    params_model = Params
    size_param = "count"
    code = CodeSyntax(
        language="json",
        container="array",
        # A line that opens the array: `[` alone, or with the first object after it.
        opener=r"(?m)^[ \t]*\[(?=[ \t]*(?:$|\{|//))",
        entry_start=r",?[ \t]*\{",  # a continuation may start with the comma after the last record
    )

    def prompt(self, p: Params) -> Prompt:
        types = ", ".join(f'"{k}" ({records.TYPES[k]})' for k in records.COLUMNS)
        return Prompt(
            system=None,
            user=(
                records.given(p)
                + f"Write them as one JSON array of objects, one object per record, in the same order, with exactly these keys: {types}. "
                "Write every record out in full: no comments, no `...`, no code that builds the array."
            ),
        )

    def reference(self, p: Params) -> Iterator[Record]:
        return (r.as_dict() for r in records.records(p.seed, p.start, p.count))

    def expected_count(self, p: Params) -> int:
        return p.count

    def size(self, p: Params) -> int:
        return p.count

    def entry(self, value: Any, p: Params) -> Item:
        rid = value.get("id") if isinstance(value, dict) else None
        ok = isinstance(rid, int) and not isinstance(rid, bool) and rid >= p.start
        return (rid - p.start if ok else None, value)

    def checker(self, p: Params) -> SequenceChecker:
        return SequenceChecker(self.reference(p), self.expected_count(p), lambda want, got: key_mistake(want, got, self.show(want, p)))

    def show(self, value: Record, p: Params) -> str:
        return json.dumps(value, ensure_ascii=False)

    def render_entries(self, p: Params, entries: Iterable[str], tail: str = "") -> str:
        body = ",\n".join(f"  {e}" for e in entries)
        if tail:
            body = f"{body}\n  {tail}" if body else f"  {tail}"
        return f"```json\n[\n{body}\n]\n```\n"

    def generator(self, p: Params, written: Sequence[Record] = ()) -> str:
        script = (
            "```python\nimport csv\nimport json\n\n"
            'with open("records.csv", newline="") as f:\n'
            "    rows = [\n"
            '        {"id": int(r["id"]), "name": r["name"], "city": r["city"], "score": float(r["score"]), "active": r["active"] == "true"}\n'
            "        for r in csv.DictReader(f)\n"
            "    ]\n"
            f"rows = rows[{len(written)}:]\n"
            "print(json.dumps(rows, indent=2))\n```\n"
        )
        if not written:
            return script
        head = self.render_entries(p, (self.show(v, p) for v in written))
        return head + "\nThe remaining records can be generated with this script:\n\n" + script

    def recognise(self, text: str) -> Params | None:
        return records.read_given(text, "Write them as one JSON array of objects, one object per record")

    def wrong(self, value: Record, p: Params, rng: random.Random) -> Record:
        return records.altered(value, rng)


TASK = JsonRecords()
