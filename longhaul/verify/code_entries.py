"""One entry of code, parsed by its language's own parser: a value, or why it is not one.

The lexer (`longhaul.verify.code_lexer`) cuts a container into entries; each is parsed here with
`ast`, `json` or sqlglot, never run. An entry is a value (a literal the task can check), a mark of
elision (`...`), code that computes entries instead of writing them (a comprehension, a call, `**`),
or a syntax error with the parser's own message and the offset it points at.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

EntryKind = Literal["value", "skip", "elision", "instead", "syntax"]


@dataclass(frozen=True, slots=True)
class Entry:
    """What one entry is, as parsed."""

    kind: EntryKind
    value: Any = None
    why: str = ""
    """For `elision` and `instead`: what the code does; for `syntax`: the parser's message."""
    at: int = 0
    """For `syntax`: the offset in the entry's text that the parser points at."""


_SKIP = Entry("skip")
_ELIDED = Entry("elision", why="`...` in place of entries")


def _syntax_error(exc: SyntaxError, text: str, prefix: int) -> Entry:
    """The error at an offset of `text`, which was parsed with `prefix` characters before it."""
    lines = text.split("\n")
    row = max(1, min(exc.lineno or 1, len(lines)))
    col = max(0, (exc.offset or 1) - 1 - (prefix if row == 1 else 0))
    at = sum(len(line) + 1 for line in lines[: row - 1]) + col
    # The message's own "(detected at line 1)" counts the entry's lines, not the answer's.
    message = re.sub(r"\s*\(detected at line \d+\)", "", exc.msg)
    return Entry("syntax", why=message, at=max(0, min(at, len(text))))


def _literal(node: ast.expr) -> Any:
    """The value of a literal node; ValueError for anything computed (a call, a name, an f-string)."""
    return ast.literal_eval(node)


def python_dict_entry(text: str) -> Entry:
    """`key: value`, inside a dict literal."""
    try:
        node = ast.parse("{" + text + "}", mode="eval").body
    except SyntaxError as exc:
        return _syntax_error(exc, text, 1)
    if isinstance(node, ast.DictComp):
        return Entry("instead", why="a dict comprehension generates the entries")
    if isinstance(node, ast.Dict) and len(node.keys) == 1:
        key, value = node.keys[0], node.values[0]
        if key is None:
            return Entry("instead", why="`**` unpacks entries made elsewhere")
        if isinstance(value, ast.Constant) and value.value is Ellipsis:
            return _ELIDED
        try:
            return Entry("value", (_literal(key), _literal(value)))
        except ValueError:
            return Entry("instead", why="the entry is computed, not written out")
    return Entry("syntax", why="not a `key: value` entry of a dict")


def python_list_entry(text: str) -> Entry:
    """One element of a list literal; `pytest.param(...)` counts as the tuple of its arguments."""
    try:
        node = ast.parse("[" + text + "]", mode="eval").body
    except SyntaxError as exc:
        return _syntax_error(exc, text, 1)
    if isinstance(node, ast.ListComp):
        return Entry("instead", why="a list comprehension generates the entries")
    assert isinstance(node, ast.List)  # a bracketed text that parses is a list or a comprehension
    if len(node.elts) != 1:
        return _SKIP if not node.elts else Entry("syntax", why="more than one element between commas")
    elt = node.elts[0]
    if isinstance(elt, ast.Starred):
        return Entry("instead", why="`*` unpacks entries made elsewhere")
    if isinstance(elt, ast.Constant) and elt.value is Ellipsis:
        return _ELIDED
    if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Attribute) and elt.func.attr == "param":
        elt = ast.Tuple(elts=list(elt.args), ctx=ast.Load())
    try:
        return Entry("value", _literal(elt))
    except ValueError:
        return Entry("instead", why="the entry is computed, not written out")


_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef)


def python_statement_entry(text: str) -> Entry:
    """One statement of a class body: `NAME = literal` is an entry; a docstring or `pass` is not."""
    code = textwrap.dedent(text)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        # The lexer gives a class body line by line, so a loop or a method comes as its header
        # alone (`for n in range(2, 21):`): read with a body, it is code, not a broken line.
        header = _compound_header(code)
        if header is None:
            return _syntax_error(exc, text, 0)
        tree = header
    if len(tree.body) != 1:
        return _SKIP if not tree.body else Entry("syntax", why="more than one statement on a line")
    stmt = tree.body[0]
    if isinstance(stmt, _LOOPS):
        return Entry("instead", why="a loop or function makes the members")
    if isinstance(stmt, ast.If | ast.With | ast.Try | ast.ClassDef | ast.Match):
        return Entry("instead", why="the members are made by code, not written out")
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return _ELIDED if stmt.value.value is Ellipsis else _SKIP
    if isinstance(stmt, ast.Pass):
        return _SKIP
    target: ast.expr | None = None
    value: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AnnAssign):
        target, value = stmt.target, stmt.value
    if not isinstance(target, ast.Name) or value is None:
        return Entry("instead", why="the members are made by code, not written out")
    if isinstance(value, ast.Constant) and value.value is Ellipsis:
        return _ELIDED
    try:
        return Entry("value", (target.id, _literal(value)))
    except ValueError:
        return Entry("instead", why="the member's value is computed, not written out")


def _compound_header(code: str) -> ast.Module | None:
    """`code` as the header of a compound statement (`for ...:`, `def ...:`, `@decorator`), parsed
    with an empty body; None if it is not one."""
    stripped = code.strip()
    if stripped.startswith("@"):
        code = code + "\ndef _(): pass"
    elif stripped.endswith(":"):
        code = code + "\n    pass"
    else:
        return None
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def json_entry(text: str) -> Entry:
    """One element of a JSON array."""
    try:
        return Entry("value", json.loads(text))
    except json.JSONDecodeError as exc:
        return Entry("syntax", why=exc.msg, at=exc.pos)


def python_module(text: str) -> Entry:
    """A whole block of Python: does it parse?"""
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return _syntax_error(exc, text, 0)
    return _SKIP


def json_document(text: str) -> Entry:
    """A whole block of JSON: does it parse?"""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return Entry("syntax", why=exc.msg, at=exc.pos)
    return _SKIP


# -- SQL --------------------------------------------------------------------------------------------


def _sql_value(node: Any, exp: Any) -> Any:
    """A literal's value (`exp` is sqlglot's expression module, imported once by the caller)."""
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        number = node.this
        try:
            return int(number)
        except ValueError:
            return float(number)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = _sql_value(node.this, exp)
        return -value
    raise ValueError(node.sql())


def _sql_error(exc: Exception, text: str) -> Entry:
    """sqlglot's first error, at the offset of `text` it names (its line and column are 1-based)."""
    errors = getattr(exc, "errors", None) or [{}]
    first = errors[0]
    message = str(first.get("description") or exc).splitlines()[0]
    line, col = first.get("line"), first.get("col")
    at = 0
    if isinstance(line, int) and isinstance(col, int):
        lines = text.split("\n")
        at = sum(len(x) + 1 for x in lines[: max(0, line - 1)]) + max(0, col - 1)
    return Entry("syntax", why=message, at=max(0, min(at, len(text))))


def _parse_sql(text: str) -> Any:
    """One statement, in sqlglot's default dialect; with backquoted names, as MySQL writes them."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    _quiet_sqlglot()
    try:
        return sqlglot.parse_one(text)
    except (ParseError, TokenError):
        if "`" not in text:
            raise
        return sqlglot.parse_one(text, read="mysql")


@functools.cache
def _quiet_sqlglot() -> None:
    """sqlglot warns on its logger when it falls back to reading a statement as a bare command
    (prose that starts with `Set` or `Do`): the verdict says what matters, so those warnings are
    kept off the user's terminal."""
    logging.getLogger("sqlglot").addFilter(lambda record: record.levelno >= logging.ERROR)


def sql_rows(header: str, rows: Sequence[str]) -> list[Entry]:
    """Rows of one `INSERT ... VALUES` (the header is the statement up to and with VALUES), parsed
    as one statement; where that fails, each row alone, so that the failing row gets the parser's
    message. A row is a dict of column to value (a tuple when the header names no columns)."""
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        tree = _parse_sql(header + " " + ",\n".join(rows))
    except (ParseError, TokenError):
        if len(rows) == 1:
            text = header + " " + rows[0]
            try:
                _parse_sql(text)
            except (ParseError, TokenError) as exc:
                error = _sql_error(exc, text)
                return [Entry("syntax", why=error.why, at=max(0, error.at - len(header) - 1))]
            return [Entry("syntax", why="the row does not parse")]
        return [entry for row in rows for entry in sql_rows(header, [row])]
    if not isinstance(tree, exp.Insert) or not isinstance(tree.expression, exp.Values):
        return [Entry("instead", why="the statement is not an INSERT of values")] * len(rows)
    schema = tree.this
    columns = [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else None
    out: list[Entry] = []
    for row in tree.expression.expressions:
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        name = next((c for c in cells if isinstance(c, exp.Column)), None)
        if name is not None:
            # A name where a value goes is no computation: a stray character glued to a value
            # (`\x011` reads as a name), or a string in double quotes, which SQL reads as a name.
            out.append(Entry("syntax", why=f"{name.sql()!r} is a name, not a value (strings take single quotes)"))
            continue
        try:
            values = [_sql_value(c, exp) for c in cells]
        except ValueError:
            out.append(Entry("instead", why="a value is computed, not written out"))
            continue
        out.append(Entry("value", dict(zip(columns, values, strict=False)) if columns else tuple(values)))
    if len(out) != len(rows):  # the parser read the rows differently from the split: trust it row by row
        return [entry for row in rows for entry in sql_rows(header, [row])] if len(rows) > 1 else out[:1]
    return out


def sql_statement(text: str) -> Entry:
    """A statement that is not rows of values: an INSERT that selects (`generate_series`, a
    recursive CTE) computes its rows; other statements (CREATE TABLE, BEGIN) are no entries."""
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        tree = _parse_sql(text)
    except (ParseError, TokenError) as exc:
        # A statement the parser does not know (a dialect's PRAGMA) holds no rows: only an INSERT
        # that does not parse is wrong code.
        return _sql_error(exc, text) if re.search(r"\bINSERT\b", text, re.IGNORECASE) else _SKIP
    if tree is None:
        return _SKIP
    if isinstance(tree, exp.Insert) or tree.find(exp.Insert) is not None:
        return Entry("instead", why="the rows are computed by a query, not written out")
    if isinstance(tree, exp.Command) and str(tree.this).upper() in ("DO", "DECLARE", "LOOP", "FOR", "WHILE"):
        return Entry("instead", why="a procedural block makes the rows")
    return _SKIP
