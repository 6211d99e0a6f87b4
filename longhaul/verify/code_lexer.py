"""Turns a code answer, fed chunk by chunk, into the verifier's events: the entries of one container.

A code task (`longhaul.code_task`) names the container its entries stand in (`FRENCH = {`, a
`parametrize` list, a JSON array, `INSERT` statements, a class body). This lexer finds it, cuts it
into entries at the language's separators (top-level commas, statement ends, lines of a class body)
while tracking strings, comments and brackets, and parses every entry with the language's own
parser (`longhaul.verify.code_entries`). Entries become `items` events, as line items do; what is
not an entry becomes the events the verifier already knows: `elision` (`...`, a comment saying the
rest is left out), `instead` (a comprehension, a loop, a call that computes the entries), `syntax`
(the parser's message, where it points), and `open`, `close`, `fence`, `prose`.

It reads whole lines only (the tail of a line waits for its newline, or the end), so chunking
never changes what it finds. A fenced block that holds the container is parsed whole when it
closes: code that does not parse for a reason the entries do not show is a `syntax` event too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longhaul.code_task import CodeTask
from longhaul.task import Item, TaskParams
from longhaul.verify import code_entries
from longhaul.verify.code_entries import Entry
from longhaul.verify.lexer import Event, EventKind
from longhaul.verify.markers import ELISION, SUBSET

_FENCE = re.compile(r"[ \t]{0,8}(?:```|~~~)([\w+-]{0,20})[ \t]*\r?\n?$")
_MARKERS = re.compile(ELISION + "|" + SUBSET, re.IGNORECASE | re.VERBOSE)
_LETTER = re.compile(r"[^\W\d_]")
# A comment that says entries are left out: the markers every task knows, and a coder's own words.
_ELIDING_COMMENT = re.compile(
    ELISION
    + "|"
    + SUBSET
    + r"""| (?P<todo>\b(?:TODO|FIXME)\b
      | \badd\s+(?:the\s+)?(?:rest|remaining|more|others?|other\s+\w+)\b
      | \bmore\s+(?:entries|cases|members|rows|records|values)\b
      | \bsame\s+(?:pattern|way|format)\b
      | \bfill\s+in\b | \bgo(?:es)?\s+here\b
      | \bcontinu\w*\s+(?:until|up\s+to|to|through|for)\b | \brepeat\s+(?:for|until|up\s+to|through)\b)""",
    re.IGNORECASE | re.VERBOSE,
)
# A line of code that makes entries instead of writing them: a loop, a comprehension, a function,
# a `range`, `update`/`append` of a computed value into a table (of a literal, `FRENCH.update({`,
# it writes entries out), a script that converts the data, a query that generates rows. An item
# assignment on its own (`FRENCH[10] = "dix"`) writes a value out; inside a loop, the loop tells.
_GENERATING = re.compile(
    r"""^[ \t]*(?:
        (?:async\s+)?for\s+[\w, ()]{1,60}\s+in\b | while\b | (?:async\s+)?def\s+\w+\s*\(
      | .*\bfor\s+[\w, ()]{1,60}\s+in\s+\S
      | .*\brange\s*\(
      | .*\.(?:update|append|extend|setdefault|insert)\s*\((?!\s*[\[{(]?\s*$)(?!\s*[\[{(]\s*(?:\d|["'{(]))
      | .*\bjson\.dumps?\s*\( | .*\bcsv\.(?:reader|DictReader)\b | .*\bread_csv\s*\( | .*\.to_json\s*\(
      | .*\bgenerate_series\s*\( | .*\bWITH\s+RECURSIVE\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Fence tags of each language: a block tagged with another one (a Python script in a JSON task's
# answer) is code, but never the container or its entries, even where a line looks like one.
_TAGS = {
    "python": frozenset({"python", "py", "python3"}),
    "json": frozenset({"json", "jsonc", "json5"}),
    "sql": frozenset({"sql", "postgres", "postgresql", "psql", "mysql", "sqlite", "plpgsql", "tsql"}),
}
_SHELL_TAGS = frozenset({"bash", "sh", "shell", "console", "csv", "yaml", "yml", "toml"})
_PROSE_LINE = re.compile(r"[ \t]*[^\W\d_][\w'’]*(?:[ \t]+[\w'’,.:;!?()-]+){2,}[ \t]*\r?\n?$")
"""A line of words (at least three, the first a word): prose between a container's entries."""
_SQL_ROW = re.compile(r"""\((?:[^()'"\-/.…;\n]|'(?:[^'\n]|'')*'(?!')|\.(?!\.)|-(?!-)|/(?!\*))*\)""")
"""A row of values with no bracket, comment, `...` or statement end inside: read as one token."""
_SQL_LINE = re.compile(r"[ \t]*(?:$|--|/\*|(?:INSERT|CREATE|BEGIN|COMMIT|WITH|DROP|SET|DO|VALUES|START|END)\b)", re.IGNORECASE)
"""A line that goes on an SQL script (a row is one too where it starts as the task's rows do)."""

# Tokens: strings (a quote that opens one not closed in the text so far waits), comments, `...`,
# brackets, separators, words (SQL's VALUES), and everything else in runs.
_TOKENS = {
    "python": re.compile(
        r"""(?P<tri>[rRbBuUfF]{0,2}(?:\"\"\"|'''))
          | (?P<str>[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
          | (?P<com>\#[^\n]*)
          | (?P<ell>\.\.\.|…)
          | (?P<open>[\[({])
          | (?P<close>[\])}])
          | (?P<sep>,)
          | (?P<nl>\n)
          | (?P<other>[^\[\](){},'"\#.…\n]+|.)""",
        re.VERBOSE,
    ),
    "json": re.compile(
        r"""(?P<str>"(?:[^"\\\n]|\\.)*")
          | (?P<com>//[^\n]*|\#[^\n]*)
          | (?P<ell>\.\.\.|…)
          | (?P<open>[\[{])
          | (?P<close>[\]}])
          | (?P<sep>,)
          | (?P<nl>\n)
          | (?P<other>[^\[\]{},"/\#.…\n]+|.)""",
        re.VERBOSE,
    ),
    "sql": re.compile(
        r"""(?P<str>'(?:[^']|'')*'(?!')|"(?:[^"\n]|"")*")
          | (?P<wait>')
          | (?P<com>--[^\n]*|/\*[\s\S]*?\*/)
          | (?P<waitcom>/\*)
          | (?P<ell>\.\.\.|…)
          | (?P<open>\()
          | (?P<close>\))
          | (?P<sep>,)
          | (?P<end>;)
          | (?P<nl>\n)
          | (?P<word>[A-Za-z_][\w$]*)
          | (?P<other>[^()',;"\-/.…\n\w]+|.)""",
        re.VERBOSE,
    ),
}


@dataclass
class _Box:
    """The container being read."""

    explicit: bool
    """Opened by the task's opener (not bare entries continuing an earlier turn's list)."""
    opened_at: int = -1
    """Absolute offset of the opener."""
    opened_line: int = 0
    opener: str = ""
    """The opener's text (`FRENCH = {`)."""
    indent: int = -1
    """For a class body: the indentation of its `class` line; a line at most that deep ends it."""
    depth: int = 0
    entry_at: int = -1
    """Buffer index where the current entry starts (its first character), or -1 between entries."""
    ellipsis: bool = False
    comments: list[tuple[int, int]] = field(default_factory=list)
    """Comments inside the current entry (buffer spans), blanked before it is parsed."""
    header: str | None = None
    """SQL: the statement up to and with VALUES, while its rows are read."""
    statement_at: int = -1
    """SQL: where the current statement starts."""
    suspended: bool = False
    """A dict, list or array left open where its fenced block closed, or where prose came between
    its entries: the lines that follow are read outside it until entries or its closer go on
    (a long answer split over several blocks), and it is never closed if none do."""
    tail: bool = False
    """SQL: in the clauses after an INSERT's rows (`ON CONFLICT`, `RETURNING`), up to its `;`."""
    row_closed: bool = False
    """SQL: the current row's last token closed its tuple (nothing but `,` or `;` can follow it)."""


def _closed(entry: str, container: str) -> bool:
    """Whether an entry that parses is whole however the text goes on: it ends in a closing bracket
    or quote (`{"id": 7}`, `(5, "V")`, `5: "cinq"`). A class body's `DIX_SEPT = 1` may be the start
    of `DIX_SEPT = 17`."""
    return container != "block" and entry[-1:] in ")]}\"'"


@dataclass
class _Row:
    header: str
    text: str
    start: int
    end: int
    at_end: bool
    """The text ended in it: a row that does not parse was cut, not written wrong."""


class CodeLexer:
    """Incremental lexer for one code answer of one task instance (the interface of `Lexer`)."""

    def __init__(self, task: CodeTask[Any], params: TaskParams) -> None:
        self._task = task
        self._params = params
        syntax = task.code
        self._language = syntax.language
        self._container = syntax.container
        self._tokens = _TOKENS[syntax.language]
        flags = re.IGNORECASE if syntax.language == "sql" else 0
        self._opener = re.compile(syntax.opener, flags)
        self._entry_start = re.compile(r"[ \t]*(?:" + syntax.entry_start + ")", flags) if syntax.entry_start else None
        self._opener_lines = syntax.opener_lines
        self._boilerplate = re.compile(syntax.boilerplate, re.IGNORECASE) if syntax.boilerplate else None
        self._buf = ""
        self._pending: list[str] = []
        self._base = 0
        self._pos = 0
        self._line_pos = 0
        self._line_no = 1
        self._box: _Box | None = None
        self._fenced = False
        self._foreign = False
        """The open fence is tagged with another language than the task's."""
        self._block_at = -1
        """Absolute offset where the open fence's code starts."""
        self._block: list[str] = []
        """The open fence's code that has left the buffer."""
        self._block_line = 0
        self._block_opened = False
        """The open fence holds the task's opener: it is parsed whole when it closes."""
        self._block_flagged = False
        """An entry of the block was elided, computed or broken: the whole parse would only repeat it."""
        self._events: list[Event] = []
        self._run: list[Item] = []
        self._run_starts: list[int] = []
        self._run_ends: list[int] = []
        self._rows: list[_Row] = []
        self._last_header: str | None = None
        self._cut = False

    # -- the interface -------------------------------------------------------------------------

    def feed(self, text: str) -> Sequence[Event]:
        # Only whole lines are read: nothing happens until a line ends.
        self._pending.append(text)
        if "\n" not in text:
            return ()
        return self._scan(final=False)

    def finish(self, cut: bool = False) -> list[Event]:
        """`cut`: the token limit ended the text, so an entry it ends in was cut and is no entry,
        even one that parses (`DIX_SEPT = 1` of `DIX_SEPT = 17`)."""
        self._cut = cut
        return self._scan(final=True)

    # -- scanning -----------------------------------------------------------------------------

    def _scan(self, final: bool) -> list[Event]:
        if self._pending:
            self._buf += "".join(self._pending)
            self._pending.clear()
        buf = self._buf
        limit = len(buf) if final else buf.rfind("\n") + 1
        pos = self._pos
        while pos < limit:
            if self._box is not None and not self._box.suspended:
                reached = self._scan_box(pos, limit, final)
                if reached == pos and self._box is not None:
                    break  # a string or comment that is not closed yet: wait for more lines
                pos = reached
                continue
            nl = buf.find("\n", pos, limit)
            end = nl + 1 if nl >= 0 else limit
            reached = self._outside(pos, end, limit, final)
            if reached == pos and (self._box is None or self._box.suspended):
                break  # an opener may span the next lines: wait for them
            pos = reached
        if final:
            self._end_of_text(pos)
        self._flush()
        self._pos = pos
        keep = min(pos, self._box.entry_at if self._box and self._box.entry_at >= 0 else pos)
        if self._box is not None and self._box.statement_at >= 0:
            keep = min(keep, self._box.statement_at)
        keep -= 1  # one character before, so that a line start is still seen as one
        if keep > 0:
            self._line_at(keep)
            if self._fenced:
                self._block.append(buf[max(0, self._block_at - self._base) : keep])
                self._block_at = max(self._block_at, self._base + keep)
            self._buf = buf[keep:]
            self._base += keep
            self._pos -= keep
            self._line_pos -= keep
            if self._box is not None:
                box = self._box
                box.entry_at = box.entry_at - keep if box.entry_at >= 0 else -1
                box.statement_at = box.statement_at - keep if box.statement_at >= 0 else -1
                box.comments = [(a - keep, b - keep) for a, b in box.comments]
        events, self._events = self._events, []
        return events

    def _line_at(self, i: int) -> int:
        at, line = self._line_pos, self._line_no
        line = line + self._buf.count("\n", at, i) if i >= at else line - self._buf.count("\n", i, at)
        self._line_pos, self._line_no = i, line
        return line

    def _emit(self, kind: EventKind, start: int, end: int, text: str = "") -> None:
        self._flush()
        self._events.append(Event(kind, self._base + start, self._base + end, self._line_at(start), text=text[:200]))

    def _flush(self) -> None:
        """Emit the entries read so far as one run (rows of SQL are parsed first, in one go)."""
        if self._rows:
            rows, self._rows = self._rows, []
            self._parse_rows(rows)
        if self._run:
            start, end = self._run_starts[0] - self._base, self._run_ends[-1] - self._base
            event = Event(
                "items",
                self._run_starts[0],
                self._run_ends[-1],
                self._line_at(start),
                items=self._run,
                starts=self._run_starts,
                ends=self._run_ends,
                text=self._buf[start:end],
            )
            self._run, self._run_starts, self._run_ends = [], [], []
            self._events.append(event)

    # -- outside the container ----------------------------------------------------------------

    def _outside(self, start: int, end: int, limit: int, final: bool) -> int:
        """One line outside the container; returns where scanning goes on (the container may open
        in it), or `start` to wait for the lines an opener may run over."""
        buf = self._buf
        line = buf[start:end]
        fence = _FENCE.match(line)
        if fence is not None:
            self._on_fence(start, end, fence.group(1))
            return end
        box = self._box
        if box is not None and box.suspended and line.strip():
            if self._opener.search(line):
                self._box = None  # a new container: the one left open was an earlier attempt
            elif (self._entry_start is not None and self._entry_start.match(line)) or line.lstrip()[:1] in ")]}":
                box.suspended = False  # its entries, or its closer, go on
                self._block_flagged = True  # this block holds only a part of the container
                return start
        if self._foreign:
            self._other_line(start, end, code=True)
            return end
        if self._language == "sql":
            opened = self._opener.match(line) is not None
            if opened or (self._fenced and self._block_opened and self._sql_line(line) and line.strip()):
                self._open(start, start, explicit=opened)
                return start
        else:
            # An opener may run over a few lines (a decorator's arguments, one per line): it is
            # looked for in this line and the next ones, and must start in this one.
            window = end
            for _ in range(self._opener_lines - 1):
                if window >= limit:
                    if not final:
                        return start
                    break
                nl = buf.find("\n", window, limit)
                window = nl + 1 if nl >= 0 else limit
            m = self._opener.search(buf, start, window)
            if m is not None and m.start() < end:
                self._open(m.start(), m.end(), explicit=True)
                if self._container == "block":
                    assert self._box is not None
                    self._box.indent = len(line) - len(line.lstrip(" \t"))
                    nl = buf.find("\n", m.end(), limit)
                    return nl + 1 if nl >= 0 else limit
                return m.end()
        if self._entry_start is not None and self._entry_start.match(line):
            self._box = _Box(explicit=False)
            return start
        self._other_line(start, end, code=self._fenced)
        return end

    def _open(self, start: int, end: int, explicit: bool) -> None:
        if explicit:
            self._emit("open", start, end)
            if self._fenced:
                self._block_opened = True
        self._box = _Box(explicit=explicit, opened_at=self._base + start, opened_line=self._line_at(start), opener=self._buf[start:end])

    def _broken_at_end(self, box: _Box) -> None:
        """The text ended before the container's closer: a syntax error where it was opened."""
        self._block_flagged = True
        self._flush()
        closer = {"{": "}", "[": "]", "(": ")"}.get(box.opener.rstrip()[-1:], "its closer")
        text = f"`{box.opener.strip()}` is never closed: the answer ends before its `{closer}` (line {box.opened_line})"
        self._events.append(Event("syntax", box.opened_at, box.opened_at + 1, box.opened_line, text=f"{text}: {box.opener.strip()}"))

    def _on_fence(self, start: int, end: int, tag: str) -> None:
        if not self._fenced:
            self._fenced, self._block, self._block_at = True, [], self._base + end
            tag = tag.lower()
            self._foreign = tag in _SHELL_TAGS or any(tag in tags for language, tags in _TAGS.items() if language != self._language)
            self._block_line = self._line_at(start) + 1
            self._block_opened = self._block_flagged = False
        else:
            self._fenced = self._foreign = False
            if self._block_opened and not self._block_flagged:
                self._block.append(self._buf[max(0, self._block_at - self._base) : start])
                self._parse_block()
            self._block = []
        self._emit("fence", start, end, self._buf[start:end])

    def _parse_block(self) -> None:
        """The whole fenced block that held the container: code that does not parse is wrong code."""
        text = "".join(self._block)
        if self._language == "python":
            result = code_entries.python_module(text)
        elif self._language == "json":
            result = code_entries.json_document(text)
        else:
            return  # every SQL statement was parsed on its own
        if result.kind == "syntax":
            at = result.at
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            where = (self._block_line + text.count("\n", 0, at), at - line_start + 1)
            origin = self._block_at - len(text) + len(self._block[-1])  # where the block's code starts
            self._broken(origin + at - self._base, text[line_start : line_end if line_end >= 0 else len(text)], result, where)

    def _other_line(self, start: int, end: int, code: bool) -> None:
        """A line that is no entry: in code, a comment or a line that makes entries; in prose, markers."""
        buf = self._buf
        line = buf[start:end]
        if code:
            comment = line.find("#") if self._language == "python" else line.find("--") if self._language == "sql" else line.find("//")
            if comment >= 0 and _ELIDING_COMMENT.search(line, comment):
                self._emit("elision", start + comment, end, line[comment:].strip())
            elif _GENERATING.match(line) and not (self._boilerplate and self._boilerplate.search(line)):
                self._emit("instead", start, end, line.strip())
            return
        found = False
        for m in _MARKERS.finditer(buf, start, end):
            self._emit(m.lastgroup, m.start(), m.end(), m.group())  # type: ignore[arg-type]
            found = True
        if not found and _LETTER.search(line):
            self._emit("prose", start, end, line.strip())

    def _end_of_text(self, pos: int) -> None:
        box = self._box
        if box is None:
            return
        # The text ended inside the container: its last entry is read if it is whole (a model that
        # stopped after it), and dropped if it does not parse (the token limit cut it).
        if box.entry_at >= 0:
            self._end_entry(pos, at_end=True)
        if self._container == "inserts" and box.statement_at >= 0 and box.header is None:
            self._end_statement(pos, at_end=True)
        if box.explicit and box.opened_at >= 0 and self._container in ("dict", "list", "array") and not self._cut:
            # The model ended its answer with the container still open: the code does not parse.
            self._broken_at_end(box)
        self._box = None

    # -- inside the container -----------------------------------------------------------------

    def _scan_box(self, pos: int, limit: int, final: bool) -> int:
        """Tokens of the container from `pos`; returns where it stopped (at `pos` if it must wait)."""
        box = self._box
        assert box is not None
        buf = self._buf
        match = self._tokens.match
        sql = self._container == "inserts"
        block = self._container == "block"
        json_array = self._container == "array"
        while pos < limit:
            if (
                ((pos == 0 and self._base == 0) or (pos > 0 and buf[pos - 1] == "\n"))
                and box.depth == 0
                and self._line_ends_box(pos, limit, box)
            ):
                return pos  # the container ended: the line is read outside it
            if sql and box.header is not None and box.depth == 0 and box.entry_at < 0 and buf.startswith("(", pos):
                # A flat row (values, strings, no brackets, comments or `...` inside) is one token:
                # most rows are, and reading them value by value is most of the time they take.
                flat = _SQL_ROW.match(buf, pos, limit)
                if flat is not None:
                    box.entry_at, box.row_closed = pos, True
                    pos = flat.end()
                    continue
            m = match(buf, pos, limit)
            assert m is not None
            kind = m.lastgroup
            end = m.end()
            if kind == "tri":
                close = buf.find(m.group()[-3:], end, limit)
                if close < 0:
                    if not final:
                        return pos
                    close = limit - 3
                end = close + 3
                kind = "str"
            elif kind in ("wait", "waitcom"):
                if not final:
                    return pos
                kind = "other"
            if kind == "nl":
                # A line ends a class body's entry, and a JSON value whole at the line's end (nothing
                # can go on a JSON value but `,` or `]`): so the last one is read before its `]` comes.
                if (block or json_array) and box.depth == 0 and box.entry_at >= 0:
                    self._end_entry(pos)
                elif sql and box.row_closed and box.entry_at >= 0:
                    # A row whole at its line's end is read there: a comment on the next line
                    # (`-- ... remaining rows`) then comes after it, as it stands in the text.
                    self._end_entry(pos)
                pos = end
                continue
            if kind == "com":
                if _ELIDING_COMMENT.search(m.group()):
                    if box.entry_at >= 0 and not block:
                        box.comments.append((pos, end))
                    self._emit("elision", pos, end, m.group().strip())
                    self._block_flagged = True
                elif box.entry_at >= 0:
                    box.comments.append((pos, end))
                pos = end
                continue
            if sql:
                pos = self._sql_token(box, kind, pos, end, m)
                continue
            if kind == "close" and box.depth == 0 and not block:
                self._end_entry(pos)
                if box.explicit:
                    self._emit("close", pos, end)
                self._box = None
                return end
            if kind == "sep" and box.depth == 0 and not block:
                self._end_entry(pos)
                pos = end
                continue
            if box.entry_at < 0:
                if kind == "other" and not m.group().strip():
                    pos = end
                    continue
                box.entry_at = pos
            if kind == "open":
                box.depth += 1
            elif kind == "close":
                box.depth -= 1
            elif kind == "ell":
                box.ellipsis = True
            pos = end
        return pos

    def _line_ends_box(self, pos: int, limit: int, box: _Box) -> bool:
        """At the start of a line: whether it is past the container (a fence, a dedent, prose)."""
        buf = self._buf
        nl = buf.find("\n", pos, limit)
        line = buf[pos : nl + 1 if nl >= 0 else limit]
        bracketed = self._container in ("dict", "list", "array") and box.explicit
        if _FENCE.match(line):
            if bracketed and self._fenced:
                # The block closes with the container open: the next block may go on with it.
                if box.entry_at >= 0:
                    self._end_entry(pos)
                box.suspended, self._block_flagged = True, True
                return True
            ends = True
        elif not line.strip():
            return False
        elif bracketed and box.entry_at < 0 and _PROSE_LINE.match(line) and not (self._entry_start and self._entry_start.match(line)):
            box.suspended = True  # words between entries: read as prose, not as an entry
            return True
        elif self._container == "block":
            ends = box.entry_at < 0 and len(line) - len(line.lstrip(" \t")) <= box.indent
        elif self._container == "inserts":
            ends = box.statement_at < 0 and box.header is None and not box.explicit and not self._sql_line(line)
            ends = ends or (box.statement_at < 0 and not self._sql_line(line) and not self._fenced)
        else:
            # Bare entries end where a line is neither an entry nor the rest of one.
            ends = not box.explicit and box.entry_at < 0 and self._entry_start is not None and not self._entry_start.match(line)
        if not ends:
            return False
        if box.entry_at >= 0:
            self._end_entry(pos, at_end=not self._fenced)
        if self._container == "inserts" and box.statement_at >= 0 and box.header is None:
            self._end_statement(pos)
        if self._container == "block" and box.explicit:
            self._emit("close", pos, pos)
        self._box = None
        return True

    def _end_entry(self, end: int, at_end: bool = False) -> None:
        """The entry from `box.entry_at` to `end`: parse it and emit what it is."""
        box = self._box
        assert box is not None
        start = box.entry_at
        box.entry_at, box.row_closed = -1, False
        if start < 0:
            return
        text = self._buf[start:end]
        for a, b in box.comments:
            text = text[: a - start] + " " * (b - a) + text[b - start :]
        box.comments = []
        stripped = text.rstrip()
        ellipsis, box.ellipsis = box.ellipsis, False
        if not stripped.strip():
            return
        if ellipsis:
            self._elided(start, start + len(stripped), stripped)
            return
        if self._container == "inserts":
            header = box.header or self._last_header or "INSERT INTO t VALUES"
            if at_end and self._cut:
                return
            self._rows.append(_Row(header, stripped, start, start + len(stripped), at_end))
            return
        if self._container == "dict":
            result = code_entries.python_dict_entry(stripped)
        elif self._container == "list":
            result = code_entries.python_list_entry(stripped)
        elif self._container == "block":
            result = code_entries.python_statement_entry(stripped)
        else:
            result = code_entries.json_entry(stripped)
        if at_end and (result.kind == "syntax" or (self._cut and not _closed(stripped, self._container))):
            return  # cut mid-entry
        self._entry(result, start, start + len(stripped), stripped)

    def _entry(self, result: Entry, start: int, end: int, text: str) -> None:
        if result.kind == "value":
            self._run.append(self._task.entry(result.value, self._params))
            self._run_starts.append(self._base + start)
            self._run_ends.append(self._base + end)
        elif result.kind == "elision":
            self._elided(start, end, text)
        elif result.kind == "instead":
            self._block_flagged = True
            self._emit("instead", start, end, f"{text.strip()[:150]}  ({result.why})")
        elif result.kind == "syntax":
            self._broken(start + result.at, text, result)

    def _elided(self, start: int, end: int, text: str) -> None:
        self._block_flagged = True
        self._emit("elision", start, end, text.strip())

    def _broken(self, at: int, text: str, result: Entry, where: tuple[int, int] | None = None) -> None:
        """A parse error at buffer index `at` (line and column given when `at` has left the buffer)."""
        self._block_flagged = True
        self._flush()
        if where is None:
            line = self._line_at(at)
            where = (line, at - (self._buf.rfind("\n", 0, at) + 1) + 1)
        line, col = where
        snippet = text.strip().splitlines()[0][:120] if text.strip() else ""
        self._events.append(
            Event("syntax", self._base + at, self._base + at + 1, line, text=f"{result.why} (line {line}, column {col}): {snippet}"[:200])
        )

    # -- SQL ----------------------------------------------------------------------------------

    def _sql_token(self, box: _Box, kind: str | None, pos: int, end: int, m: re.Match[str]) -> int:
        if kind == "other" and not m.group().strip():
            return end
        if box.tail:
            # `ON CONFLICT ... ;`, `RETURNING ... ;`: the rest of an INSERT whose rows are read.
            if kind == "open":
                box.depth += 1
            elif kind == "close":
                box.depth -= 1
            elif kind == "end" and box.depth <= 0:
                box.tail, box.depth = False, 0
            return end
        if box.statement_at < 0 and box.header is None:
            if kind == "ell":
                self._elided(pos, end, m.group())
                return end
            row_like = self._entry_start is None or self._entry_start.match(self._buf, pos) is not None
            if kind == "open" and box.depth == 0 and row_like and (self._last_header or not box.explicit):
                # A row with no statement before it: the rows of the last INSERT go on.
                box.header = self._last_header or "INSERT INTO t VALUES"
            else:
                box.statement_at = pos
        if box.header is not None:
            # Rows of `INSERT ... VALUES`: each a bracketed tuple, split at top-level commas.
            if kind == "word" and box.depth == 0 and m.group().upper() in ("ON", "RETURNING"):
                # `ON CONFLICT ...`, `ON DUPLICATE KEY ...`, `RETURNING ...` after the rows.
                if box.entry_at >= 0:
                    self._end_entry(pos)
                box.header, box.tail = None, True
                return end
            if box.depth == 0 and kind in ("sep", "end"):
                if box.entry_at >= 0:
                    self._end_entry(pos)
                if kind == "end":
                    box.header, box.statement_at = None, -1
                return end
            if box.entry_at < 0:
                box.entry_at = pos
            if kind == "open":
                box.depth += 1
            elif kind == "close":
                box.depth -= 1
            elif kind == "ell":
                box.ellipsis = True
            box.row_closed = kind == "close" and box.depth == 0 and self._buf[box.entry_at] == "("
            return end
        if kind == "open":
            box.depth += 1
        elif kind == "close":
            box.depth -= 1
        elif kind == "word" and box.depth == 0 and m.group().upper() == "VALUES":
            header = self._buf[box.statement_at : end]
            if re.match(r"\s*INSERT\b", header, re.IGNORECASE):
                box.header = self._last_header = " ".join(header.split())
                box.statement_at = -1
        elif kind == "end" and box.depth <= 0:
            self._end_statement(end)
        return end

    def _sql_line(self, line: str) -> bool:
        return _SQL_LINE.match(line) is not None or (self._entry_start is not None and self._entry_start.match(line) is not None)

    def _end_statement(self, end: int, at_end: bool = False) -> None:
        box = self._box
        assert box is not None
        start, box.statement_at, box.depth = box.statement_at, -1, 0
        text = self._buf[start:end].strip()
        if not text.strip(" ;\n"):
            return
        self._flush()
        result = code_entries.sql_statement(text)
        if at_end and (result.kind == "syntax" or self._cut):
            return
        if result.kind != "skip":
            self._entry(result, start, start + len(text), text)

    def _parse_rows(self, rows: list[_Row]) -> None:
        """Rows in order, each group with one header parsed in one go."""
        i = 0
        while i < len(rows):
            j = i
            while j < len(rows) and rows[j].header == rows[i].header:
                j += 1
            group = rows[i:j]
            results = code_entries.sql_rows(group[0].header, [r.text for r in group])
            for row, result in zip(group, results, strict=True):
                if result.kind == "value":
                    self._run.append(self._task.entry(result.value, self._params))
                    self._run_starts.append(self._base + row.start)
                    self._run_ends.append(self._base + row.end)
                    continue
                if result.kind == "syntax" and row.at_end:
                    continue
                self._flush_run()
                if result.kind == "syntax":
                    self._broken(row.start + result.at, row.text, result)
                elif result.kind == "instead":
                    self._block_flagged = True
                    self._events.append(
                        Event("instead", self._base + row.start, self._base + row.end, self._line_at(row.start), text=row.text[:150])
                    )
            i = j

    def _flush_run(self) -> None:
        rows, self._rows = self._rows, []
        self._flush()
        self._rows = rows
