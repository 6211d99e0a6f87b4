"""Turns answer text, fed chunk by chunk, into events: item runs, list brackets, markers, code, prose.

The lexer gives the same events whatever the chunking, which is what lets the streaming verifier
and the whole-text verifier agree. It holds back the last `HOLD` characters of its buffer until
more text (or the end) arrives, and every pattern it uses is bounded well below `HOLD`, so a match
that ends before the held tail can never change when more text comes; a stretch of prose that a
pause cuts is still one event. It scans a small block at a time as the text streams in, so that
the end of the answer leaves only the held tail to scan. Item blocks are bounded repeats, so a
million-move list is handled in blocks of at most `BLOCK` items. Line items that follow one
another are one event, a run, however many (a count's thousand lines are a few events): the one
difference chunking makes is where a run is cut, and the verifier reads a run item by item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from longhaul.task import Item, Task, TaskParams
from longhaul.verify.markers import CODE, CODE_FENCE, ELISION, ELISION_WORDS, SUBSET

HOLD = 1024
BLOCK = 512
_STEP = 1024
"""Characters past the held tail that make a scan worth it."""
_BATCH = 8192
"""The same where a scan's work on the held tail would be done again at every small step: inside a
bracketed list or at a long match cut by the tail (a block of items can be several KB), and in
prose, where the whole tail is searched in vain each time."""
_PROSE = 200
"""Characters of a stretch of prose kept in its event."""

EventKind = Literal["items", "keyed", "open", "close", "opener", "elision", "subset", "code", "fence", "prose", "instead", "syntax"]
"""`instead` and `syntax` come from code answers only (`longhaul.verify.code_lexer`): code that makes
entries instead of writing them, and code that does not parse."""


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
    starts: list[int] | None = None
    """For a run of line items: where each item's match starts and ends (absolute offsets), one per
    item of `items`; `text` is then the run's text, for the line number of any of them."""
    ends: list[int] | None = None


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
    """Incremental lexer for one answer of one task instance (of a task whose items are text)."""

    def __init__(self, task: Task[Any], params: TaskParams) -> None:
        self._task = task
        self._params = params
        pats = _patterns(type(task))
        self._outside = pats.outside
        self._inside = pats.inside
        self._buf = ""
        self._pending: list[str] = []
        """Chunks not yet joined to the buffer: joining once per scan, not per chunk, keeps a
        stream of small deltas from copying the buffer again at every one."""
        self._waiting = 0  # characters not yet scanned (pending, and the held tail)
        self._need = HOLD + _STEP  # scan once this many are waiting
        self._pos = 0
        self._base = 0  # absolute offset of _buf[0]
        self._line_pos = 0  # a buffer position and the line number there, advanced as we go
        self._line_no = 1
        self._in_list = False
        # A stretch of text with no match that a scan left open (it may go on in the next one):
        # where it started, its line, its opening characters, and whether it holds a letter. It
        # becomes one prose event when it ends, as the whole text would give, however cut.
        self._gap_at = -1
        self._gap_line = 0
        self._gap_head = ""
        self._gap_letter = False

    def feed(self, text: str) -> Sequence[Event]:
        self._pending.append(text)
        self._waiting += len(text)
        # Scanning pauses are free to choose (the result does not depend on them). Scanning a
        # small block at a time keeps the work in the stream, so that `finish` only closes the
        # held tail; where the next scan would redo much of this one's work on the tail (a block
        # of list items cut by it, prose searched in vain), it waits for a bigger block.
        if self._waiting < self._need:
            return ()
        return self._scan(final=False)

    def finish(self, cut: bool = False) -> list[Event]:
        # A line item is a whole match: a cut one does not match, whatever ended the text.
        return self._scan(final=True)

    # -- internals -------------------------------------------------------------------------

    def _line(self, pos: int) -> int:
        at, line = self._line_pos, self._line_no
        if pos >= at:
            line += self._buf.count("\n", at, pos)
        else:
            line -= self._buf.count("\n", pos, at)
        self._line_pos, self._line_no = pos, line
        return line

    def _event(self, kind: EventKind, start: int, end: int, **kw: Any) -> Event:
        return Event(kind, self._base + start, self._base + end, self._line(start), **kw)

    def _gap(self, events: list[Event], start: int, end: int, more: bool = False) -> None:
        """Text between matches: a prose event if it holds a letter. `more`: the scan stopped in
        it, so it may go on."""
        buf = self._buf
        if self._gap_at < 0:
            if not more:
                if end > start and _LETTER.search(buf, start, end):
                    events.append(self._event("prose", start, end, text=buf[start : min(end, start + _PROSE)]))
                return
            self._gap_at, self._gap_line, self._gap_head, self._gap_letter = self._base + start, self._line(start), "", False
        if len(self._gap_head) < _PROSE:
            self._gap_head += buf[start : min(end, start + _PROSE - len(self._gap_head))]
        self._gap_letter = self._gap_letter or (end > start and _LETTER.search(buf, start, end) is not None)
        if not more:
            if self._gap_letter:
                events.append(Event("prose", self._gap_at, self._base + end, self._gap_line, text=self._gap_head))
            self._gap_at = -1

    def _scan(self, final: bool) -> list[Event]:
        if self._pending:
            self._buf += "".join(self._pending)
            self._pending.clear()
        buf = self._buf
        limit = len(buf) if final else len(buf) - HOLD
        events: list[Event] = []
        pos = self._pos
        search = self._outside.search
        task, params = self._task, self._params
        patient = False  # the next scan would redo much of this one's work on the tail
        while pos < limit:
            if self._in_list:
                assert self._inside is not None
                m = self._inside.match(buf, pos)
                assert m is not None  # the junk alternative matches any character
                if m.end() > limit:
                    patient = True
                    break
                kind = m.lastgroup
                if kind == "block":
                    values = task.list_values(m.group(), params)
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
            m = search(buf, pos)
            if m is None or m.end() > limit:
                end = len(buf) if final else max(pos, min(limit, m.start() if m else limit))
                self._gap(events, pos, end, more=not final)
                patient = m is None or m.end() - m.start() > _STEP // 2
                pos = end
                break
            self._gap(events, pos, m.start())
            kind = m.lastgroup
            if kind == "open":
                events.append(self._event("open", m.start(), m.end()))
                self._in_list = True
            elif kind == "leadblock":
                values = task.list_values(m.group("leadblock"), params)
                num = m.group("leadnum")
                if num is not None and values:
                    items: list[Item] = [(int(num) - 1, values[0])] + [(None, v) for v in values[1:]]
                    events.append(self._event("items", m.start(), m.end(), items=items))
                elif values:
                    events.append(self._event("items", m.start(), m.end(), values=values, text=m.group()))
            elif kind == "keyed" or (kind is not None and kind.startswith("k_")):
                found = task.items(m, params)
                if found:
                    notes = task.item_notes(m, params)
                    events.append(self._event("keyed", m.start(), m.end(), items=found, notes=notes))
                else:
                    self._gap(events, m.start(), m.end())
            elif kind == "line" or (kind is not None and kind.startswith("t_")):
                found = task.items(m, params)
                if found:
                    m = self._line_run(events, m, found, limit)
                else:
                    self._gap(events, m.start(), m.end())
            elif kind in ("opener", "code", "fence", "elision", "subset"):
                events.append(self._event(kind, m.start(), m.end(), text=m.group()))  # type: ignore[arg-type]
            pos = max(m.end(), pos + 1) if m.end() == m.start() else m.end()
        if final and self._gap_at >= 0:
            self._gap(events, pos, pos)  # the end of the text ends any stretch of prose
        self._pos = pos
        if pos > 1:
            # Keep one character so that ^ and lookbehinds see the line start.
            keep = pos - 1
            self._line(keep)
            self._buf = buf[keep:]
            self._base += keep
            self._pos = pos - keep
            self._line_pos -= keep
        self._waiting = len(self._buf) - self._pos
        self._need = HOLD + (_BATCH if self._in_list or patient else _STEP)
        return events

    def _line_run(self, events: list[Event], m: re.Match[str], found: list[Item], limit: int) -> re.Match[str]:
        """Line items one after another, with no other event between them, as one `items` event
        (a count's thousand lines are a few events, not a thousand). The matches are the ones the
        scan would make, item by item; the run stops where anything else would be an event.
        Returns the run's last match."""
        buf, base, search, task, params = self._buf, self._base, self._outside.search, self._task, self._params
        start = m.start()
        items = list(found)
        starts = [base + start] * len(found)
        ends = [base + m.end()] * len(found)
        last = m
        pos = m.end()
        while True:
            nxt = search(buf, pos)
            if nxt is None:
                break
            s, e = nxt.span()
            if e > limit or e == s:
                break
            kind = nxt.lastgroup
            if kind != "line" and not (kind is not None and kind.startswith("t_")):
                break
            # Prose between is an event of its own (the regex is spared for a bare newline).
            if (s > pos + 1 or (s > pos and buf[pos] != "\n")) and _LETTER.search(buf, pos, s):
                break
            more = task.items(nxt, params)
            if not more:
                break
            items += more
            if len(more) == 1:
                starts.append(base + s)
                ends.append(base + e)
            else:
                starts += [base + s] * len(more)
                ends += [base + e] * len(more)
            last, pos = nxt, e
        events.append(self._event("items", start, pos, items=items, starts=starts, ends=ends, text=buf[start:pos]))
        return last


class ItemsGiven(NamedTuple):
    """Every item an answer holds, in order, right or wrong, wherever it stands; and the position
    the first one claims (its number), if it claims one. What a reader who continues a list, or
    stitches turns together, needs."""

    first: int | None
    values: list[Any]
