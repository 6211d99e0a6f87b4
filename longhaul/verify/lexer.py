"""Turns answer text, fed chunk by chunk, into events: item runs, list brackets, markers, code, prose.

The lexer gives the same events whatever the chunking, which is what lets the streaming verifier
and the whole-text verifier agree. It holds back the last `HOLD` characters of its buffer until
more text (or the end) arrives, and every pattern it uses is bounded well below `HOLD`, so a match
that ends before the held tail can never change when more text comes. Item blocks are bounded
repeats, so a million-move list is handled in blocks of at most `BLOCK` items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from longhaul.task import Item, Task, TaskParams
from longhaul.verify.markers import CODE, CODE_FENCE, ELISION, ELISION_WORDS, SUBSET

HOLD = 1024
BLOCK = 512
_TRIM = 1 << 16
_BATCH = 8192

EventKind = Literal["items", "keyed", "open", "close", "opener", "elision", "subset", "code", "fence", "prose"]


@dataclass(slots=True)
class Event:
    """One thing the lexer found, at absolute offsets of the answer text."""

    kind: EventKind
    start: int
    end: int
    line: int
    text: str = ""
    items: list[Item] = field(default_factory=list)
    values: list[Any] | None = None
    """For a run of unnumbered list items: their values (no per-item tuples: runs can be long)."""
    notes: list[str] = field(default_factory=list)
    """For a keyed row: what is malformed about it besides the item (a note, never a mistake)."""


@dataclass(frozen=True, slots=True)
class _Patterns:
    outside: re.Pattern[str]
    inside: re.Pattern[str] | None


_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=64)
def _patterns(task_type: type[Task[Any]]) -> _Patterns:
    parts = [CODE_FENCE]
    item = task_type.list_item
    if item:
        sep = r"[ \t\r\n,;]{0,16}"
        parts.append(r"(?P<open>\[[ \t\r\n]{0,16}(?=\[))")
        parts.append(
            r"(?P<lead>^[ \t]{0,12}(?:[-*•+>][ \t]{1,4})?(?:(?:move|step)[ \t]{0,4})?"
            r"(?:(?P<leadnum>\d{1,7})[ \t]{0,4}[.):][ \t]{0,4})?)"
            rf"(?P<leadblock>(?:{item})(?:{sep}(?:{item})){{0,{BLOCK - 1}}})"
        )
    if task_type.list_opener:
        parts.append(rf"(?P<opener>^[ \t]{{0,12}}(?:{task_type.list_opener})[ \t]{{0,12}}$)")
    if task_type.keyed_item:
        parts.append(rf"(?P<keyed>^[ \t]{{0,12}}(?:{task_type.keyed_item}))")
    if task_type.line_item:
        parts.append(rf"(?P<line>^[ \t]{{0,12}}(?:[-*•+>][ \t]{{1,4}})?(?:{task_type.line_item}))")
    parts += [CODE, ELISION, SUBSET]
    outside = re.compile("|".join(parts), re.VERBOSE | re.MULTILINE | re.IGNORECASE)
    inside = None
    if item:
        sep = r"[ \t\r\n,;]{0,16}"
        inside = re.compile(
            rf"(?P<block>(?:{item})(?:{sep}(?:{item})){{0,{BLOCK - 1}}})"
            r"|(?P<close>\])"
            rf"|{ELISION}"
            r"|(?P<comment>(?:\#|//)[^\n]{0,400})"
            r"|(?P<sep>[ \t\r\n,;]{1,64})"
            r"|(?P<junk>[\s\S])",
            re.VERBOSE | re.IGNORECASE,
        )
    return _Patterns(outside, inside)


class Lexer:
    """Incremental lexer for one answer of one task instance."""

    def __init__(self, task: Task[Any], params: TaskParams) -> None:
        self._task = task
        self._params = params
        pats = _patterns(type(task))
        self._outside = pats.outside
        self._inside = pats.inside
        self._buf = ""
        self._pos = 0
        self._base = 0  # absolute offset of _buf[0]
        self._line_at = (0, 1)  # (buffer position, line number there), advanced as we go
        self._in_list = False

    def feed(self, text: str) -> list[Event]:
        self._buf += text
        # Scanning pauses are free to choose (the result does not depend on them); scanning only
        # once a few KB are waiting keeps a fast stream of small deltas from rescanning the tail.
        if len(self._buf) - self._pos < HOLD + _BATCH:
            return []
        return self._scan(final=False)

    def finish(self) -> list[Event]:
        return self._scan(final=True)

    # -- internals -------------------------------------------------------------------------

    def _line(self, pos: int) -> int:
        at, line = self._line_at
        if pos >= at:
            line += self._buf.count("\n", at, pos)
        else:
            line -= self._buf.count("\n", pos, at)
        self._line_at = (pos, line)
        return line

    def _event(self, kind: EventKind, start: int, end: int, **kw: Any) -> Event:
        return Event(kind, self._base + start, self._base + end, self._line(start), **kw)

    def _gap(self, events: list[Event], start: int, end: int) -> None:
        if end > start and _LETTER.search(self._buf, start, end):
            events.append(self._event("prose", start, end, text=self._buf[start : min(end, start + 200)]))

    def _scan(self, final: bool) -> list[Event]:
        buf = self._buf
        limit = len(buf) if final else len(buf) - HOLD
        events: list[Event] = []
        pos = self._pos
        while pos < limit:
            if self._in_list:
                assert self._inside is not None
                m = self._inside.match(buf, pos)
                assert m is not None  # the junk alternative matches any character
                if not final and m.end() > limit:
                    break
                kind = m.lastgroup
                if kind == "block":
                    values = self._task.list_values(m.group(), self._params)
                    if values:
                        events.append(self._event("items", m.start(), m.end(), values=values, text=m.group()))
                elif kind == "close":
                    events.append(self._event("close", m.start(), m.end()))
                    self._in_list = False
                elif kind == "elision":
                    events.append(self._event("elision", m.start(), m.end(), text=m.group()))
                elif kind == "comment":
                    hit = ELISION_WORDS.search(m.group())
                    if hit:
                        events.append(self._event("elision", m.start(), m.end(), text=m.group()))
                elif kind == "junk":
                    # Something that is not an item: the list was not a list of items after all
                    # (a state like [[3, 2], [], [1]]), or it ends in prose. Rescan it outside.
                    self._in_list = False
                    continue
                pos = m.end()
                continue
            m = self._outside.search(buf, pos)
            if m is None or (not final and m.end() > limit):
                end = len(buf) if final else max(pos, min(limit, m.start() if m else limit))
                self._gap(events, pos, end)
                pos = end
                break
            self._gap(events, pos, m.start())
            kind = m.lastgroup
            if kind == "open":
                events.append(self._event("open", m.start(), m.end()))
                self._in_list = True
            elif kind == "leadblock":
                values = self._task.list_values(m.group("leadblock"), self._params)
                num = m.group("leadnum")
                if num is not None and values:
                    items: list[Item] = [(int(num) - 1, values[0])] + [(None, v) for v in values[1:]]
                    events.append(self._event("items", m.start(), m.end(), items=items))
                elif values:
                    events.append(self._event("items", m.start(), m.end(), values=values, text=m.group()))
            elif kind == "keyed" or (kind is not None and kind.startswith("k_")):
                found = self._task.items(m, self._params)
                if found:
                    notes = self._task.item_notes(m, self._params)
                    events.append(self._event("keyed", m.start(), m.end(), items=found, notes=notes))
                else:
                    self._gap(events, m.start(), m.end())
            elif kind == "line" or (kind is not None and kind.startswith("t_")):
                found = self._task.items(m, self._params)
                if found:
                    events.append(self._event("items", m.start(), m.end(), items=found))
                else:
                    self._gap(events, m.start(), m.end())
            elif kind in ("opener", "code", "fence", "elision", "subset"):
                events.append(self._event(kind, m.start(), m.end(), text=m.group()))  # type: ignore[arg-type]
            pos = max(m.end(), pos + 1) if m.end() == m.start() else m.end()
        self._pos = pos
        if pos > _TRIM:
            keep = pos - 1  # keep one character so that ^ and lookbehinds see the line start
            self._line(keep)
            at, line = self._line_at
            self._buf = buf[keep:]
            self._base += keep
            self._pos = pos - keep
            self._line_at = (at - keep, line)
        return events


def items_in(task: Task[Any], params: TaskParams, text: str) -> tuple[int | None, list[Any]]:
    """Every item a text holds, in order, right or wrong, wherever it stands; and the position
    the first one claims (its number), if it claims one. What a reader who continues a list, or
    stitches turns together, needs."""
    lexer = Lexer(task, params)
    first: int | None = None
    values: list[Any] = []
    for e in lexer.feed(text) + lexer.finish():
        if e.kind not in ("items", "keyed"):
            continue
        if e.values is not None:
            values.extend(e.values)
        else:
            if not values and e.items:
                first = e.items[0][0]
            values.extend(v for _, v in e.items)
    return first, values


def count_items(task: Task[Any], params: TaskParams, text: str) -> int:
    """How many items a text holds (the simulated model reads its own earlier turns with it)."""
    return len(items_in(task, params, text)[1])
