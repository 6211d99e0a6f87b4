"""Records given as CSV, rewritten as SQL `INSERT` statements: seed data for a migration.

The prompt shows `count` records made from a seed (`longhaul.records`: id, name, city, score,
active) as CSV and asks for them as rows of `INSERT INTO people (id, name, city, score, active)
VALUES (...);`, in order.

What is checked: the entries are the rows, read with sqlglot (never run), in order however many
statements hold them; the index a row claims is its `id` minus the first id. Each row must give
every column once and no other, strings as strings equal to the CSV's, `id` an integer, `score` a
number, `active` a boolean (the Mistake names the column that is wrong and what it should be).

Accepted forms: one statement per row, or one multi-row `INSERT ... VALUES (...), (...);`, or
several; columns named in any order (matched by name, case-insensitive, `"quoted"` too); no column
list (`INSERT INTO people VALUES ...`, rows then read in the prompt's column order, as are bare
rows `(..), (..)` that continue an earlier turn's statement); `TRUE`/`FALSE` in any case, or `1`/`0`,
for `active`; `12.50` for `12.5`; `CREATE TABLE`, `BEGIN`/`COMMIT` and comments around the inserts.
A number in quotes (`'72.5'`) is wrong: the prompt asks for numbers unquoted, and what a quoted one
becomes is up to the database and the column's type (SQLite keeps `'72.5'` as text in a column
without numeric affinity), where an unquoted number means the same everywhere; it is the same rule
as `json_records`, where `"72.5"` is a string. Strings must be single-quoted with `''` for a quote
inside (`'O''Brien'`): a backslash escape (`'O\\'Brien'`, MySQL's) does not parse, and a
`"double-quoted"` value is an identifier to SQL, so it reads as computed. Rows made by a query
(`INSERT ... SELECT ... FROM generate_series(...)`, a recursive CTE, a `DO` block or loop) are
`code_instead`; `-- ... remaining rows` or `...` in place of rows is elision.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from longhaul import CodeSyntax, CodeTask, Item, Mistake, Prompt, SequenceChecker, records

Record = dict[str, Any]
"""A record as column to value: what the checker compares a row with."""

TABLE = "people"
_HEADER = f"INSERT INTO {TABLE} ({', '.join(records.COLUMNS)}) VALUES"


Params = records.RecordParams


def _sql(value: Any) -> str:
    """A value as an SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    return repr(value)


def _is_type(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool) or (type(value) is int and value in (0, 1))
    if kind == "integer":
        return type(value) is int
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _written(value: Any) -> str:
    if isinstance(value, str):
        return f"a string ({_sql(value)})"
    if isinstance(value, bool):
        return f"a boolean ({_sql(value)})"
    return "NULL" if value is None else f"a number ({value!r})"


def row_mistake(want: Record, got: Any, expected: str) -> Mistake | None:
    """Why the row `got` (column to value, or a tuple in the prompt's column order) is not the
    record `want`: the first column that is missing, extra, of the wrong type or value."""
    rid = want["id"]
    if isinstance(got, tuple):
        if len(got) != len(records.COLUMNS):
            return Mistake(
                expected,
                f"row {rid} has {len(got)} values; without a column list a row gives the {len(records.COLUMNS)} columns "
                f"{', '.join(records.COLUMNS)} in that order",
            )
        got = dict(zip(records.COLUMNS, got, strict=True))
    row = {str(k).lower(): v for k, v in got.items()}
    for column in records.COLUMNS:
        if column not in row:
            return Mistake(expected, f"row {rid} has no value for the column {column!r}")
    extra = [k for k in row if k not in want]
    if extra:
        return Mistake(expected, f"row {rid} has a column {extra[0]!r} the prompt does not ask for (columns: {', '.join(records.COLUMNS)})")
    for column in records.COLUMNS:
        kind = records.TYPES[column]
        value = row[column]
        if not _is_type(kind, value):
            allowed = " (TRUE/FALSE or 1/0)" if kind == "boolean" else " (numbers unquoted)" if kind in ("integer", "number") else ""
            return Mistake(
                expected, f"row {rid}: {column} must be {'an' if kind == 'integer' else 'a'} {kind}{allowed}, not {_written(value)}"
            )
        if value != want[column]:
            return Mistake(expected, f"row {rid}: {column} is {_sql(value)}, the CSV has {_sql(want[column])}")
    return None


class SqlInserts(CodeTask[Params]):
    name = "sql_inserts"
    summary = "Records given as CSV, rewritten as SQL INSERT rows (one statement each, or multi-row): seed data by hand."
    params_model = Params
    size_param = "count"
    code = CodeSyntax(
        language="sql",
        container="inserts",
        opener=r"[ \t]*INSERT\s+INTO\b",
        # A row continuing an earlier turn's statement: a tuple that starts with a value (not prose
        # in brackets, "(the pattern continues)").
        entry_start=r"\(\s*(?:-?\d|'|(?:TRUE|FALSE|NULL)\b)",
    )

    def prompt(self, p: Params) -> Prompt:
        return Prompt(
            system=None,
            user=(
                records.given(p) + f"Write SQL that inserts them into the table `{TABLE}`, in the same order, as "
                f"`{_HEADER} (...);` statements: one statement per record, or multi-row inserts. Write strings in single "
                "quotes (a quote inside doubled: 'O''Brien'), numbers unquoted, and active as TRUE or FALSE (1 or 0 also do). "
                "Write every row out in full: no comments in place of rows, no `...`, no INSERT ... SELECT, loops or generate_series."
            ),
        )

    def reference(self, p: Params) -> Iterator[Record]:
        return (r.as_dict() for r in records.records(p.seed, p.start, p.count))

    def expected_count(self, p: Params) -> int:
        return p.count

    def size(self, p: Params) -> int:
        return p.count

    def entry(self, value: Any, p: Params) -> Item:
        if isinstance(value, tuple):
            rid = value[0] if value else None
        else:
            rid = next((v for k, v in value.items() if str(k).lower() == "id"), None)
        ok = type(rid) is int and rid >= p.start
        return (rid - p.start if ok else None, value)

    def checker(self, p: Params) -> SequenceChecker:
        return SequenceChecker(self.reference(p), self.expected_count(p), lambda want, got: row_mistake(want, got, self.show(want, p)))

    def show(self, value: Record | tuple[Any, ...], p: Params) -> str:
        cells = value if isinstance(value, tuple) else tuple(value.values())
        return "(" + ", ".join(_sql(v) for v in cells) + ")"

    def render_entries(self, p: Params, entries: Iterable[str], tail: str = "") -> str:
        body = ",\n".join(f"  {e}" for e in entries)
        if tail:
            body += f"\n  {tail}\n"  # the comment on its own line, the `;` after it
        return f"```sql\n{_HEADER}\n{body};\n```\n"

    def generator(self, p: Params, written: Sequence[Record] = ()) -> str:
        head = f"{_HEADER}\n" + ",\n".join(f"  {self.show(v, p)}" for v in written) + ";\n\n" if written else ""
        first, last = p.start + len(written), p.start + p.count - 1
        query = (
            f"INSERT INTO {TABLE} ({', '.join(records.COLUMNS)})\n"
            "SELECT g, 'name_' || g, 'city_' || g, (g % 100) + 0.5, g % 2 = 0\n"
            f"FROM generate_series({first}, {last}) AS g;\n"
        )
        return f"```sql\n{head}{query}```\n"

    def recognise(self, text: str) -> Params | None:
        return records.read_given(text, f"Write SQL that inserts them into the table `{TABLE}`")

    def wrong(self, value: Record, p: Params, rng: random.Random) -> Record:
        return records.altered(value, rng)


TASK = SqlInserts()
