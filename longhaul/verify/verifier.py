"""The streaming verifier: answer text in, chunk by chunk; a `Verdict` out.

Precedence (each case has a test):
1. A wrong item in the answer list, before any elision marker, wins: `cant_do`, even if the
   stream later hit the token limit or the model apologised.
2. Elision and subset markers ("...", "and so on", "the last 10 moves") cut the list where they
   stand, before anything after them is checked: `wont_do` with the prefix correct, never an
   illegal move at the seam.
3. A list that is complete is `complete`.
4. A clean prefix cut by `max_tokens` is `budget_exhausted` (also an empty answer when thinking ate
   the budget); a clean prefix the model ended itself is `wont_do`, of the kind its words show.

The answer is the last well-formed list: a list that starts again from the first item replaces the
one before it; earlier lists and code are evidence, not items. Text after a closing bracket is not
items of that list.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longhaul.code_task import CodeTask
from longhaul.stop_reasons import read_stop_reason
from longhaul.task import Checker, Mistake, Task, TaskParams
from longhaul.verdict import WONT_DO_WORDS, Evidence, FirstError, StopReason, Verdict, WontDoKind
from longhaul.verify import refusal
from longhaul.verify.lexer import Event, ItemsGiven
from longhaul.verify.lexers import AnswerLexer, lexer_for
from longhaul.verify.markers import CLAIMS_COMPLETE, IMPOSSIBLE

_EDGE = 4000  # characters of the answer's opening and ending kept for phrase detection


@dataclass
class _Candidate:
    """One answer list being checked."""

    checker: Checker
    start: int
    n_ok: int = 0
    n_emitted: int = 0
    next_index: int = 0
    mistake: FirstError | None = None
    cut: Evidence | None = None
    broken: bool = False
    closed: bool = False
    done: bool = False
    fragment: bool = False
    mistake_span: tuple[int, int] = (0, 0)
    continued: bool = False
    """Holds the prefix: items after it continue it; where they belong was decided by the caller."""
    attempt: bool = True
    """Starts from the first item (numbered 1, or a legal first item): an attempt at the whole answer."""
    tail: bool = False
    """Introduced as the last or final items: the end of an elided list, never a new attempt."""
    values: list[Any] | None = field(default_factory=list)
    """The accepted items of a numbered list, kept so that a revision can replace the last one;
    None once an unnumbered run was taken (those can be a million items long)."""
    last_index: int | None = None
    """The number (0-based) the last numbered item claimed."""
    intro: Evidence | None = None
    """The subset marker that introduced the list ("First 10 moves:")."""
    pending_cut: Evidence | None = None
    """A marker after a numbered item: a cut only if the next item skips numbers."""
    keyed: dict[int, tuple[Any, int, int, int]] | None = None
    """For rows that carry their own id: id -> (value, start, end, line), the last instance of each."""
    keyed_marker: Evidence | None = None
    """The first elision or subset marker among the keyed rows: a cut only where ids are missing."""
    keyed_notes: list[str] = field(default_factory=list)
    keyed_malformed: int = 0

    @property
    def active(self) -> bool:
        return self.mistake is None and self.cut is None and not self.done


@dataclass
class StreamingVerifier:
    """Verifies one answer as it streams. `feed` answer text, `feed_thinking` thinking text, then
    `finish` with the stop reason. Chunking never changes the verdict. Mid-stream, `items_correct`
    and `failed` say how it goes; after `finish`, `answer` and `thinking` are the texts fed, and
    with `keep_items`, `given` is every item the answer gave (what stitching needs, so that the
    answer is not read a second time)."""

    task: Task[Any]
    params: TaskParams
    prefix: Sequence[Any] = ()
    """Items already accepted (earlier turns of an agent loop): this text continues after them.
    Its first list is checked from item `len(prefix)` on, with the checker's state as the prefix
    left it; a list that starts again from the first item is checked on its own."""
    keep_items: bool = False
    """Record every item the answer gives, right or wrong (`given`); off, a long answer's items
    are not kept."""
    _lexer: AnswerLexer = field(init=False)
    _chunks: list[str] = field(default_factory=list, init=False)
    """The answer as fed, joined once when it is asked for (the edges are read from it at the end)."""
    _candidates: list[_Candidate] = field(default_factory=list, init=False)
    _thinking: list[str] = field(default_factory=list, init=False)
    _markers: list[Evidence] = field(default_factory=list, init=False)
    _code: list[Evidence] = field(default_factory=list, init=False)
    _first_value: Any = field(default=None, init=False)
    _since_items: Evidence | None = field(default=None, init=False)
    """The last marker since the last items: what introduces the next list ("last few moves")."""
    _prose_since_marker: bool = field(default=False, init=False)
    _prose_text: str = field(default="", init=False)
    """The prose since that marker (bounded), read as one text however the stream cut it."""
    _prose_end: int = field(default=-1, init=False)
    _open_at: int | None = field(default=None, init=False)
    """Where the bracketed list being read opened, until it closes."""
    _first_claimed: int | None = field(default=None, init=False)
    _given: list[Any] = field(default_factory=list, init=False)
    _repeats_stand: bool = field(default=False, init=False)
    _run_line: tuple[Event | None, int, int] = field(default=(None, 0, 0), init=False)
    """A run of line items, an offset in its text and the line there: items of a run are reached
    in order, so their line numbers are counted on from the last one asked for."""

    def __post_init__(self) -> None:
        self.params = self.task.params(self.params)
        # In code such as an enum's body, an entry that repeats a position is kept beside the first:
        # no revision, no new start, but an entry checked where it stands.
        self._repeats_stand = isinstance(self.task, CodeTask) and not self.task.code.repeat_revises
        self._lexer = lexer_for(self.task, self.params)
        if self.task.solvable(self.params):
            self._first_value = next(iter(self.task.reference(self.params)), None)
        if self.prefix:
            # The answer so far stands even if this text adds nothing to it.
            self._candidates.append(self._continued(0))

    # -- feeding --------------------------------------------------------------------------

    def feed(self, chunk: str) -> None:
        # Called for every delta of a stream: nothing is built here unless the lexer scanned.
        self._chunks.append(chunk)
        for event in self._lexer.feed(chunk):
            self._on(event)

    def feed_thinking(self, chunk: str) -> None:
        self._thinking.append(chunk)

    @property
    def items_correct(self) -> int:
        """Items of the latest list checked and right, so far (the final word is `finish`)."""
        return self._candidates[-1].n_ok if self._candidates else 0

    @property
    def failed(self) -> FirstError | None:
        """The first wrong item of the latest list, so far."""
        return self._candidates[-1].mistake if self._candidates else None

    @property
    def answer(self) -> str:
        """The answer text fed so far."""
        chunks = self._chunks
        if len(chunks) != 1:
            self._chunks = chunks = ["".join(chunks)]
        return chunks[0]

    @property
    def thinking(self) -> str:
        """The thinking text fed so far."""
        if len(self._thinking) != 1:
            self._thinking = ["".join(self._thinking)]
        return self._thinking[0]

    @property
    def given(self) -> ItemsGiven:
        """Every item the answer gave, in order, right or wrong, wherever it stands, and the
        position the first claims if it is numbered (with `keep_items`; else none)."""
        return ItemsGiven(self._first_claimed, self._given)

    # -- events ---------------------------------------------------------------------------

    def _on(self, ev: Event) -> None:
        cand = self._candidates[-1] if self._candidates else None
        kind = ev.kind
        if self.keep_items and (kind == "items" or kind == "keyed"):
            self._keep(ev)
        if kind == "items":
            if ev.starts is not None:
                self._on_line_run(ev)
            else:
                self._on_items(ev, cand)
            self._since_items = None
        elif kind == "keyed":
            self._on_keyed(ev)
            self._since_items = None
        elif kind in ("elision", "subset"):
            evidence = Evidence(source="answer", start=ev.start, end=ev.end, kind=kind, text=ev.text[:200])
            self._since_items, self._prose_since_marker, self._prose_text = evidence, False, ""
            if cand is not None and cand.keyed is not None:
                cand.keyed_marker = cand.keyed_marker or evidence
            elif cand is not None and cand.active and cand.n_emitted > 0 and cand.pending_cut is None:
                # Wait and see: a heading "Now the 500s..." or "Next ten numbers:" skips nothing when
                # the next item carries straight on. Only a numbered list can show that after "...";
                # a marker that introduces the last items always ends the list.
                waits = cand.last_index is not None if kind == "elision" else not _TAIL.search(evidence.text)
                if waits:
                    cand.pending_cut = evidence
                else:
                    cand.cut = evidence
            elif cand is None or cand.n_emitted == 0:
                self._markers.append(evidence)
        elif kind == "code":
            self._code.append(Evidence(source="answer", start=ev.start, end=ev.end, kind="code", text=ev.text[:200]))
            if cand is not None:
                cand.broken = True
        elif kind == "instead":
            # Code that makes entries instead of writing them cuts the list where it stands.
            evidence = Evidence(source="answer", start=ev.start, end=ev.end, kind="code", text=ev.text[:200])
            self._code.append(evidence)
            if cand is not None and cand.active and cand.n_emitted > 0:
                cand.cut, cand.pending_cut = cand.pending_cut or evidence, None
        elif kind == "syntax":
            self._on_syntax(ev, cand)
        elif kind == "close":
            self._open_at = None
            if cand is not None:
                cand.closed = True
                cand.broken = True
        else:  # prose, open, opener, fence: a boundary between runs
            if kind == "open":
                self._open_at = ev.start
            elif kind != "prose":
                self._open_at = None
            if cand is None:
                return
            if kind == "prose" and self._since_items is not None and not self._prose_since_marker:
                # Words between ("Full list:"), not just "moves =". A stream may cut one stretch of
                # prose into several events: read them joined, as the whole text would be.
                joint = "" if ev.start == self._prose_end else " "
                self._prose_text = (self._prose_text + joint + ev.text)[-400:]
                self._prose_end = ev.start + len(ev.text)
                self._prose_since_marker = len(_WORD.findall(self._prose_text)) >= 2
            cand.broken = cand.broken or kind != "fence"
            if kind in ("open", "opener"):
                cand.closed = True

    def _on_syntax(self, ev: Event, cand: _Candidate | None) -> None:
        """Code that does not parse: the list fails where it stands, as a wrong item would."""
        if cand is None:
            # The first entry does not parse: the list starts, and fails, here.
            cand = _Candidate(self.task.checker(self.params), start=ev.start)
            self._candidates.append(cand)
        if cand.keyed is None and cand.mistake is None and cand.cut is None:
            if cand.pending_cut is not None:
                cand.cut, cand.pending_cut = cand.pending_cut, None
                return
            cand.n_emitted += 1
            cand.mistake_span = (ev.start, ev.end)
            got = ev.text.rpartition("): ")[2]
            rule = f"the code does not parse: {ev.text}"
            cand.mistake = FirstError(index=cand.n_ok, expected="code that parses", got=got, rule=rule, line=ev.line)

    def _in_open_list(self, cand: _Candidate) -> bool:
        """`cand` started inside a bracketed list that has not closed ("moves = [[1, 0, 2], ...
        (second part) [1, 0, 2], ...]" is one list)."""
        return self._open_at is not None and cand.start >= self._open_at

    def _legal_first(self, value: Any) -> bool:
        return self.task.checker(self.params).check(value) is None

    def _is_restart(self, cand: _Candidate, index: int | None, value: Any) -> bool:
        """Whether items that arrive now start a new attempt rather than carry on `cand`."""
        if cand.n_emitted == 0 or cand.continued or cand.keyed is not None:
            return False
        if index is not None:
            if self._repeats_stand and not (cand.closed or cand.broken):
                return False  # the same container goes on
            # Item 1 again starts over, unless it revises an item 1 just given.
            return index == 0 and cand.last_index != 0
        if not (cand.closed or (cand.broken and not self._in_open_list(cand))):
            return False  # inside one list: a block boundary, or prose within it, is no new list
        if not self._legal_first(value):
            return False
        if not cand.active:
            return True
        # A list that could still go on: a new list starts over only where its first item
        # cannot follow the items before it (legal non-optimal solutions start differently).
        fork = _fork(cand.checker)
        if fork is None:
            return bool(value == self._first_value)
        return fork.check(value) is not None

    def _start(self, ev: Event, index: int | None, value: Any) -> _Candidate:
        cand = _Candidate(self.task.checker(self.params), start=ev.start)
        # A list whose first item claims a later number: its first item is wrong (missing
        # items) unless it is a stray numbered line in prose, which `_answer_list` drops.
        cand.fragment = index is not None and index > 0
        cand.attempt = index == 0 if index is not None else self._legal_first(value)
        marker = self._since_items
        before = self._last_plain()
        if marker is not None and before is not None and before.cut is not None:
            # Right after an elided list, a list introduced as its end ("Last few moves:"), or
            # with nothing said between the marker and it, is that list's tail.
            cand.tail = bool(_TAIL.search(marker.text)) or (marker.kind == "elision" and not self._prose_since_marker)
        elif marker is not None and marker.kind == "subset":
            cand.intro = marker
        self._candidates.append(cand)
        return cand

    def _on_items(self, ev: Event, cand: _Candidate | None) -> None:
        items = ev.items
        index, value = (None, ev.values[0]) if ev.values is not None else items[0]
        if cand is not None and cand.keyed is not None:
            cand = self._last_plain()
        if cand is None or self._is_restart(cand, index, value):
            if cand is not None and cand.pending_cut is not None:
                cand.cut, cand.pending_cut = cand.pending_cut, None
            cand = self._start(ev, index, value)
        elif cand.intro is not None and cand.active and (cand.broken or cand.closed) and not self._carries_on(cand, index, value):
            # "First 10 moves: ..." then "The middle move: [12, 0, 2]": the model said it gives
            # a part, and what follows is not the next item. The part ends here.
            cand.cut = cand.intro
            return
        elif cand.pending_cut is not None:
            if self._carries_on(cand, index, value):
                cand.pending_cut = None  # the marker skipped nothing
            else:
                cand.cut, cand.pending_cut = cand.pending_cut, None
                return
        # Items that carry on this list, taken or not, keep the next line of the run from
        # looking like a fresh start.
        cand.broken = False
        cand.closed = False
        if index is not None and index == cand.last_index and cand.values is not None and cand.cut is None and not self._repeats_stand:
            if len(cand.values) > index and cand.values[index] == value and cand.mistake is None:
                return  # the same line again: nothing to revise
            self._revise(cand, index)  # "Move 5: ... Wait, no. Move 5: ...", right or wrong
        if not cand.active:
            if cand.mistake is not None and cand.cut is None:
                cand.n_emitted += len(ev.values) if ev.values is not None else len(items)
                if items and items[-1][0] is not None:
                    cand.last_index = items[-1][0]  # what a later line repeats is this one
            return  # items after a wrong one are counted, never checked; after a cut or the end, dropped
        if ev.values is not None:
            cand.values = None
            self._check_run(cand, ev.values, ev)
            return
        if all(idx is None for idx, _ in items):
            cand.values = None
            self._check_run(cand, [v for _, v in items], ev)
            return
        for k, (idx, val) in enumerate(items):
            if cand.mistake is not None or cand.done:  # the item before ended the checking
                cand.n_emitted += len(items) - k
                return
            if idx is not None:
                cand.last_index = idx
            if idx is not None and idx != cand.next_index:
                cand.n_emitted += 1
                # A repeat that stands is the task's to explain (an alias), in its own words.
                repeat = cand.checker.check(val) if self._repeats_stand and idx < cand.next_index else None
                self._fail(cand, ev, idx, val, repeat or self._order_mistake(cand.next_index, idx))
                continue
            ok_before = cand.n_ok
            self._check_run(cand, [val], ev)
            if cand.values is not None and cand.n_ok > ok_before:
                cand.values.append(val)

    def _keep(self, ev: Event) -> None:
        """Record an event's items for `given` (as `longhaul.verify.lexers.items_in` reads them)."""
        if ev.values is not None:
            self._given.extend(ev.values)
            return
        if not self._given and ev.items:
            self._first_claimed = ev.items[0][0]
        self._given.extend([v for _, v in ev.items])

    def _on_line_run(self, ev: Event) -> None:
        """A run of line items, read exactly as if each came as an event of its own (the lexer
        cuts runs where the chunking cuts them, and the verdict must not tell). Stretches of
        items that only carry on the list, or that follow a wrong item, are taken at once; any
        other item (a restart, a revision, the one after a marker) goes the whole way."""
        items = ev.items
        k, n = 0, len(items)
        while k < n:
            cand = self._candidates[-1] if self._candidates else None
            plain = self._last_plain() if cand is not None and cand.keyed is not None else cand
            j = self._straight_on(plain, ev, k) if plain is not None else k
            if j == k:
                self._on_items(self._one(ev, k), cand)
                j = k + 1
            self._since_items = None  # as after any items event
            k = j

    def _straight_on(self, cand: _Candidate, ev: Event, k: int) -> int:
        """Take the items of a run from `k` on that `_on_items` would take one by one without
        deciding anything (no restart, no revision, no marker to settle); return where it stopped."""
        if cand.broken or cand.closed or cand.pending_cut is not None:
            return k
        items = ev.items
        n = len(items)
        last = cand.last_index
        j = k
        if not cand.active:
            # Items after a wrong one are counted, never checked; after a cut or the end, dropped.
            # Item 1 again (a restart) or the last number again (a revision) goes the whole way.
            counted = cand.mistake is not None and cand.cut is None
            while j < n:
                idx = items[j][0]
                if idx is not None:
                    if idx == 0 or idx == last:
                        break
                    if counted:
                        last = idx
                j += 1
            if counted:
                cand.n_emitted += j - k
                cand.last_index = last
            return j
        # The items that go straight on: unnumbered, or numbered as the next one.
        nxt = cand.next_index
        numbered = False
        while j < n:
            idx = items[j][0]
            if idx is not None:
                if idx != nxt or idx == 0 or idx == last:
                    break
                numbered = True
            nxt += 1
            j += 1
        if j == k:
            return k
        values = [v for _, v in items[k:j]]
        checker = cand.checker
        check_many = getattr(checker, "check_many", None)
        ok: int
        mistake: Mistake | None
        done = False
        if check_many is not None:
            # Once done, a checker rejects any further item (the contract of `check_many`): a
            # mistake with the checker done is the first item past the end, where checking one by
            # one would have stopped with the list complete.
            ok, mistake = check_many(values)
            done = checker.done()
            if done:
                mistake = None
        else:
            ok, mistake = 0, None
            for v in values:
                mistake = checker.check(v)
                if mistake is not None:
                    break
                ok += 1
                if checker.done():
                    done = True
                    break
        taken = ok + (mistake is not None)  # the items that were looked at: the wrong one too
        if numbered:
            for idx, _ in reversed(items[k : k + taken]):
                if idx is not None:
                    cand.last_index = idx
                    break
        if cand.values is not None:
            if all(idx is not None for idx, _ in items[k : k + taken]):
                cand.values.extend(values[:ok])
            else:
                cand.values = None
        cand.n_ok += ok
        cand.next_index += ok
        cand.n_emitted += taken
        if mistake is not None:
            assert ev.starts is not None and ev.ends is not None
            self._fail_at(cand, ev.starts[k + ok], ev.ends[k + ok], self._line_in_run(ev, k + ok), values[ok], mistake)
        elif done:
            cand.done = True
        return k + taken

    def _line_in_run(self, ev: Event, k: int) -> int:
        """The line of item `k` of a run of line items."""
        assert ev.starts is not None
        off = ev.starts[k] - ev.start
        run, at, line = self._run_line
        if run is not ev or off < at:
            at, line = 0, ev.line
        line += ev.text.count("\n", at, off)
        self._run_line = (ev, off, line)
        return line

    def _one(self, ev: Event, k: int) -> Event:
        """Item `k` of a run of line items, as the event it would be on its own."""
        assert ev.starts is not None and ev.ends is not None
        return Event("items", ev.starts[k], ev.ends[k], self._line_in_run(ev, k), items=[ev.items[k]])

    def _carries_on(self, cand: _Candidate, index: int | None, value: Any) -> bool:
        if index is not None:
            return index == cand.next_index
        fork = _fork(cand.checker)
        return fork is None or fork.check(value) is None

    def _revise(self, cand: _Candidate, index: int) -> None:
        """A numbered item given again right after itself ("Move 5: ... Wait, no. Move 5: ..."):
        the revision replaces it, so check again from the items before it."""
        assert cand.values is not None
        if index > _REPLAY:
            # Replaying a long list for every revision would let an answer stall the verifier.
            cand.values = None
            return
        kept = cand.values[:index]
        checker = self.task.checker(self.params)
        for v in kept:
            checker.check(v)
        cand.checker, cand.values = checker, kept
        cand.n_ok = cand.n_emitted = cand.next_index = len(kept)
        cand.mistake, cand.done = None, False

    def _last_plain(self) -> _Candidate | None:
        for c in reversed(self._candidates):
            if c.keyed is None:
                return c
        return None

    def _on_keyed(self, ev: Event) -> None:
        cand = next((c for c in self._candidates if c.keyed is not None), None)
        if cand is None:
            cand = _Candidate(self.task.checker(self.params), start=ev.start, keyed={}, values=None)
            self._candidates.append(cand)
        elif cand is not self._candidates[-1]:
            # The rows go on after other lists: they are the latest attempt again.
            self._candidates.remove(cand)
            self._candidates.append(cand)
        assert cand.keyed is not None
        for idx, val in ev.items:
            if idx is not None and idx >= -1:  # -1: a row numbered 0, read at settling
                cand.keyed[idx] = (val, ev.start, ev.end, ev.line)
        if ev.notes:
            cand.keyed_notes = cand.keyed_notes or ev.notes
            cand.keyed_malformed += 1
        cand.n_emitted = len(cand.keyed)
        cand.n_ok = cand.n_emitted

    def _continued(self, start: int) -> _Candidate:
        """A candidate whose checker has already taken the prefix (checked when it was accepted)."""
        checker = self.task.checker(self.params)
        values = list(self.prefix)
        check_many = getattr(checker, "check_many", None)
        if check_many is not None:
            check_many(values)
        else:
            for v in values:
                checker.check(v)
        n = len(values)
        return _Candidate(checker, start=start, n_ok=n, n_emitted=n, next_index=n, done=checker.done(), continued=True)

    def _order_mistake(self, expected: int, got: int) -> Mistake:
        if got > expected:
            missing = f"item {expected + 1}" if got == expected + 1 else f"items {expected + 1} to {got}"
            return Mistake(expected=f"item {expected + 1}", rule=f"missing item: {missing} skipped without a marker")
        return Mistake(expected=f"item {expected + 1}", rule=f"item {got + 1} given again, out of order")

    def _check_run(self, cand: _Candidate, values: list[Any], ev: Event) -> None:
        checker = cand.checker
        check_many = getattr(checker, "check_many", None)
        if check_many is not None and len(values) > 1:
            ok, mistake = check_many(values)
        else:
            ok, mistake = 0, None
            for v in values:
                mistake = checker.check(v)
                if mistake is not None:
                    break
                ok += 1
        cand.n_ok += ok
        cand.next_index += ok
        cand.n_emitted += ok
        if mistake is not None:
            cand.n_emitted += len(values) - ok  # the list holds them all, right or wrong
            self._fail(cand, ev, None, values[ok], mistake, offset_in_run=ok)
        elif checker.done():
            cand.done = True

    def _fail(self, cand: _Candidate, ev: Event, idx: int | None, value: Any, mistake: Mistake, offset_in_run: int = 0) -> None:
        line, start, end = ev.line, ev.start, ev.end
        if ev.text and self.task.list_item:
            # A run can span lines ([[...],\n [...]]); find the wrong item within it, so that the
            # evidence marks that item and not the whole list.
            for k, m in enumerate(re.finditer(self.task.list_item, ev.text, re.VERBOSE | re.IGNORECASE)):
                if k == offset_in_run:
                    line += ev.text.count("\n", 0, m.start())
                    start, end = ev.start + m.start(), ev.start + m.end()
                    break
        self._fail_at(cand, start, end, line, value, mistake)

    def _fail_at(self, cand: _Candidate, start: int, end: int, line: int, value: Any, mistake: Mistake) -> None:
        cand.mistake_span = (start, end)
        cand.mistake = FirstError(
            index=cand.n_ok,
            expected=mistake.expected,
            got=self.task.show(value, self.params),
            rule=mistake.rule,
            line=line,
        )

    # -- the verdict ----------------------------------------------------------------------

    def finish(self, stop_reason: StopReason | None = "end_turn") -> Verdict:
        for event in self._lexer.finish(cut=stop_reason == "max_tokens"):
            self._on(event)
        for cand in self._candidates:
            if cand.keyed is not None:
                self._settle_keyed(cand)
            elif cand.pending_cut is not None and not cand.done:
                cand.cut, cand.pending_cut = cand.pending_cut, None
        return self._verdict(stop_reason)

    def _settle_keyed(self, cand: _Candidate) -> None:
        """Rows with ids, the last instance of each, checked in id order."""
        assert cand.keyed is not None
        rows = cand.keyed
        from_zero = -1 in rows
        if from_zero:
            # The ids count from 0 (the prompt counts from 1): read them as the model numbered them.
            rows = cand.keyed = {k + 1: row for k, row in rows.items()}
        checker = cand.checker
        i = 0
        while i in rows:
            value, start, end, line = rows[i]
            mistake = checker.check(value)
            if mistake is not None:
                cand.mistake_span = (start, end)
                cand.mistake = FirstError(
                    index=i, expected=mistake.expected, got=self.task.show(value, self.params), rule=mistake.rule, line=line
                )
                break
            i += 1
        cand.n_ok = i
        cand.next_index = i
        cand.done = cand.mistake is None and checker.done()
        later = [k for k in rows if k > i]
        if cand.mistake is None and not cand.done:
            if cand.keyed_marker is not None:
                cand.cut = cand.keyed_marker  # ids are missing where the model wrote "..."
            elif later:
                value, start, end, line = rows[min(later)]
                m = self._order_mistake(i, min(later))
                cand.mistake_span = (start, end)
                cand.mistake = FirstError(index=i, expected=m.expected, got=self.task.show(value, self.params), rule=m.rule, line=line)
        notes = []
        if cand.keyed_malformed:
            more = f" (and {cand.keyed_malformed - 1} more rows like it)" if cand.keyed_malformed > 1 else ""
            notes.append(cand.keyed_notes[0] + more)
        if from_zero:
            notes.append("move ids count from 0, not 1: read from 0")
        cand.keyed_notes = notes

    def _answer_list(self) -> _Candidate | None:
        """The last attempt (docs/verdicts.md, "Which list is the answer")."""
        answer: _Candidate | None = None
        for cand in self._candidates:
            if cand.fragment and cand.n_emitted < 3:
                continue  # a stray numbered line in prose
            if answer is None or (cand.attempt and not cand.tail and _replaces(answer, cand)):
                answer = cand
        return answer

    def _verdict(self, stop: StopReason | None) -> Verdict:
        task, p = self.task, self.params
        expected = task.expected_count(p)
        cand = self._answer_list()
        answer = self.answer
        head, tail, length = answer[:_EDGE], answer[-_EDGE:], len(answer)
        tail_offset = length - len(tail)
        thinking = self.thinking
        evidence: list[Evidence] = []
        notes: list[str] = []
        claims = _claims(head, tail, tail_offset)
        thinking_finding = refusal.detect_intent(thinking)
        # The refusal detector reads the edges only where the verdict can be a won't-do.
        finding = refusal.Finding()

        def verdict(outcome: str, explanation: str, **kw: Any) -> Verdict:
            ev = evidence + (finding.evidence if outcome == "wont_do" else []) + thinking_finding.evidence
            return Verdict(
                task=task.name,
                outcome=outcome,  # type: ignore[arg-type]
                explanation=explanation,
                items_expected=expected,
                items_correct=cand.n_ok if cand else 0,
                items_emitted=cand.n_emitted if cand else 0,
                claims_complete=bool(claims) and outcome != "complete",
                stop_reason=stop,
                expectation=task.expectation,
                evidence=ev + (claims if outcome != "complete" else []),
                notes=notes,
                **kw,
            )

        if cand is not None:
            notes.extend(cand.checker.notes())
            notes.extend(cand.keyed_notes)
        # An answer that is one thinking block that never closed (a model that ran out of turn
        # inside its reasoning) has no visible text.
        unclosed_think = head.lstrip().startswith("<think>") and "</think>" not in answer
        visible = length > 0 and not unclosed_think

        # An instance with no solution: saying so is the complete answer; any list is wrong.
        if not task.solvable(p):
            said = IMPOSSIBLE.search(head) or IMPOSSIBLE.search(tail)
            if cand is not None and cand.n_emitted > 0:
                first = cand.mistake or FirstError(
                    index=cand.n_ok,
                    expected="a statement that the instance has no solution",
                    got=f"{cand.n_emitted} moves",
                    rule="this instance is unsolvable: any move list is wrong",
                )
                return verdict("cant_do", f"The instance has no solution, but the answer gives moves ({first.rule}).", first_error=first)
            if said:
                evidence.append(_span(head if said.string is head else tail, said, 0 if said.string is head else tail_offset, "impossible"))
                return verdict("complete", "The instance has no solution, and the answer says so.")

        if cand is not None and cand.mistake is not None:
            e = cand.mistake
            start, end = cand.mistake_span
            evidence.append(Evidence(source="answer", start=start, end=end, kind="first_error", text=f"item {e.index + 1}: {e.got}"))
            if e.expected == "code that parses":
                where = f"at item {e.index + 1}" if expected is None or e.index < expected else f"after all {e.index} entries"
                return verdict("cant_do", f"{where[0].upper()}{where[1:]}, {e.rule}.", first_error=e)
            return verdict("cant_do", f"Item {e.index + 1} is wrong: {e.rule} (expected {e.expected}, got {e.got}).", first_error=e)

        if cand is not None and cand.done:
            return verdict("complete", f"All {cand.n_ok} items are present and correct.")

        if task.can_be_impossible and (IMPOSSIBLE.search(head) or IMPOSSIBLE.search(tail)) and task.solvable(p):
            err = FirstError(
                index=0, expected="a solution (this instance has one)", got="a claim that none exists", rule="the instance is solvable"
            )
            return verdict("cant_do", "The answer claims the instance is impossible, but it has a solution.", first_error=err)

        n_ok = cand.n_ok if cand else 0
        of = f"{n_ok} of {expected}" if expected is not None else f"{n_ok}"
        finding = refusal.detect_edges(head, tail, tail_offset)
        if cand is not None and cand.cut is not None:
            evidence.append(cand.cut)
            kind: WontDoKind = "subset" if cand.cut.kind == "subset" else "code_instead" if cand.cut.kind == "code" else "elision"
            return verdict("wont_do", f"The list is cut short by {cand.cut.text.strip()!r} after {of} correct items.", wont_do_kind=kind)

        if stop == "max_tokens":
            where = "in thinking, before any answer" if not visible else f"after {of} correct items"
            return verdict("budget_exhausted", f"The output hit the token limit {where}.")

        if not visible:
            # Nothing to judge: not a model's choice to stop at item 0.
            what = "only an unclosed thinking block" if length else "no text"
            return verdict("unparseable", f"The answer holds {what}, and the model stopped by itself.")

        kind_found = finding.kind
        if kind_found is None and self._code and n_ok == 0:
            kind_found = "code_instead"
            evidence.extend(self._code[:3])
        # With no list at all, "etc" or "..." skipped nothing; only saying that a part is given does.
        subsets = [m for m in self._markers if m.kind == "subset"]
        if kind_found is None and subsets and cand is None:
            kind_found = "subset"
            evidence.extend(subsets[:3])
        if kind_found is None and cand is not None and cand.intro is not None:
            kind_found = "subset"  # "First 10 moves:", and the answer ends after them
            evidence.append(cand.intro)
        if kind_found is None and thinking_finding.kind is not None and n_ok == 0:
            kind_found = thinking_finding.kind
        if cand is None and kind_found is None and length > 0 and _looks_like_a_list(answer if length <= 2 * _EDGE else head + "\n" + tail):
            return verdict("unparseable", "The answer seems to hold a list, but not in a form this task can read.")
        if kind_found is None and not finding.unsure and (cand is None or cand.n_emitted == 0) and stop in ("end_turn", None):
            # An attempt in the wrong shape ("1 23 456" for "count to 30", prose about the puzzle,
            # a script of comments) is not a decline: nothing declines, elides or offers, so it is
            # a failure at item 1 (docs/verdicts.md, "Answers with no items").
            err = _no_items(task, p, head)
            evidence.append(Evidence(source="answer", start=0, end=min(length, 80), kind="first_error", text=err.got))
            return verdict("cant_do", f"No item in the task's form: the answer gives none (expected {err.expected}).", first_error=err)
        kind_found = kind_found or "early_stop"
        what = WONT_DO_WORDS[kind_found]
        return verdict("wont_do", f"The model {what} after {of} correct items, and was not cut off.", wont_do_kind=kind_found)


def _replaces(a: _Candidate, b: _Candidate) -> bool:
    """Whether attempt `b`, later in the answer, replaces `a` as the answer."""
    if not a.attempt:
        return True  # stray lines (an outline's "Move disk 4 from peg 0 to peg 2") were no attempt
    if a.cut is not None:
        # After an elided list, a tail can look like a fresh start (Hanoi's last moves repeat
        # its first ones) but it soon breaks the rules from the start; a real attempt goes further.
        return b.done or b.n_ok > a.n_ok
    if a.mistake is not None:
        # A list starting again inside a long wrong list also breaks the rules at once.
        return b.n_ok > a.n_ok or (b.n_emitted >= a.n_emitted and b.n_ok >= min(a.n_ok, 3))
    if a.done:
        return b.n_emitted >= a.n_emitted  # a full-length restatement, not a recap
    return b.n_emitted >= a.n_emitted or b.n_ok > a.n_ok


# A marker that introduces the end of a list ("Last few moves:", "the final 10 lines"): what
# follows it is the tail of an elided list, not a new attempt.
_REPLAY = 20_000
"""The longest list a revision is replayed over; past it a repeated number is out of order."""
_WORD = re.compile(r"[^\W\d_]{2,}")
_TAIL = re.compile(r"\b(?:last|final|closing|ending)\b", re.IGNORECASE)


def _fork(checker: Checker) -> Checker | None:
    """A copy of a checker in its current state, to try an item without applying it; None for a
    checker that cannot be copied (one reading a generator)."""
    try:
        return copy.deepcopy(checker)
    except TypeError:
        return None


def _span(text: str, m: Any, offset: int, kind: str) -> Evidence:
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    line = text[start : end if end >= 0 else len(text)].strip()
    return Evidence(source="answer", start=offset + m.start(), end=offset + m.end(), kind=kind, text=line[:200])


def _claims(head: str, tail: str, tail_offset: int) -> list[Evidence]:
    found = []
    for text, offset in ((head[:600], 0), (tail[-600:], tail_offset + max(0, len(tail) - 600))):
        m = CLAIMS_COMPLETE.search(text)
        if m:
            found.append(_span(text, m, offset, "claims_complete"))
    return found[:1]


def _no_items(task: Task[Any], p: TaskParams, head: str) -> FirstError:
    """The first error of an answer with no items: the first reference item, and what came instead."""
    first = next(iter(task.reference(p)), None) if task.solvable(p) else None
    shown = " ".join(head.split())
    got = shown[:80] + ("…" if len(shown) > 80 else "")
    return FirstError(index=0, expected=task.show(first, p) if first is not None else "an item", got=got, rule=NO_ITEMS_RULE, line=1)


NO_ITEMS_RULE = "no items in the task's form"
"""The rule of an answer that has text, no items and no sign of declining (docs/verdicts.md)."""


def _looks_like_a_list(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    listy = [ln for ln in lines if sum(ch.isdigit() for ch in ln) >= 2 and len(ln) < 120]
    # One line repeated under new numbers ("1. 5 - 1 - 5 - 4 = 10", "2. 5 - 1 - 5 - 4 = 10", ...) is
    # a small model's repetition loop, not a list of items in a form the task cannot read.
    distinct = {_NUMBERING.sub("", ln).strip() for ln in listy}
    return len(listy) >= 5 and len(listy) >= len(lines) / 2 and len(distinct) >= 3


_NUMBERING = re.compile(r"^\s*(?:[-*•]\s*)?\(?\d{1,6}[.):]\s*")


def verify(
    task: Task[Any],
    params: TaskParams | dict[str, Any] | None,
    answer: str,
    *,
    thinking: str = "",
    stop_reason: str | None = "end_turn",
) -> Verdict:
    """Verify one whole answer. Same result as streaming it through `StreamingVerifier`.

    `stop_reason` may be longhaul's own name or a provider's (`length`, `STOP`, `refusal`, ... in
    any case, `longhaul/stop_reasons.py`); one longhaul does not know is judged as `other` and
    kept in `stop_reason_raw`, as is any value given in a provider's words."""
    stop, raw = read_stop_reason(stop_reason)
    v = StreamingVerifier(task, task.params(params))
    if thinking:
        v.feed_thinking(thinking)
    v.feed(answer)
    verdict = v.finish(stop)
    return verdict if raw is None else verdict.model_copy(update={"stop_reason_raw": raw})
