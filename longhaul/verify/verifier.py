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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longhaul.task import Checker, Item, Mistake, Task, TaskParams
from longhaul.verdict import Evidence, FirstError, StopReason, Verdict, WontDoKind
from longhaul.verify import refusal
from longhaul.verify.lexer import Event, Lexer
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

    @property
    def active(self) -> bool:
        return self.mistake is None and self.cut is None and not self.done


@dataclass
class Progress:
    """What the verifier knows mid-stream (the final word is `finish`)."""

    items_correct: int
    failed: FirstError | None


@dataclass
class _Edges:
    head: str = ""
    tail: str = ""
    length: int = 0

    def add(self, text: str) -> None:
        if len(self.head) < _EDGE:
            self.head += text[: _EDGE - len(self.head)]
        self.tail = (self.tail + text)[-_EDGE:]
        self.length += len(text)


@dataclass
class StreamingVerifier:
    """Verifies one answer as it streams. `feed` answer text, `feed_thinking` thinking text, then
    `finish` with the stop reason. Chunking never changes the verdict."""

    task: Task[Any]
    params: TaskParams
    prefix: Sequence[Any] = ()
    """Items already accepted (earlier turns of an agent loop): this text continues after them.
    Its first list is checked from item `len(prefix)` on, with the checker's state as the prefix
    left it; a list that starts again from the first item is checked on its own."""
    _lexer: Lexer = field(init=False)
    _candidates: list[_Candidate] = field(default_factory=list, init=False)
    _edges: _Edges = field(default_factory=_Edges, init=False)
    _thinking: list[str] = field(default_factory=list, init=False)
    _markers: list[Evidence] = field(default_factory=list, init=False)
    _code: list[Evidence] = field(default_factory=list, init=False)
    _first_value: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.params = self.task.params(self.params)
        self._lexer = Lexer(self.task, self.params)
        if self.task.solvable(self.params):
            self._first_value = next(iter(self.task.reference(self.params)), None)
        if self.prefix:
            # The answer so far stands even if this text adds nothing to it.
            self._candidates.append(self._continued(0))

    # -- feeding --------------------------------------------------------------------------

    def feed(self, chunk: str) -> Progress:
        self._edges.add(chunk)
        for event in self._lexer.feed(chunk):
            self._on(event)
        return self.progress()

    def feed_thinking(self, chunk: str) -> None:
        self._thinking.append(chunk)

    def progress(self) -> Progress:
        cand = self._candidates[-1] if self._candidates else None
        if cand is None:
            return Progress(0, None)
        return Progress(cand.n_ok, cand.mistake)

    # -- events ---------------------------------------------------------------------------

    def _on(self, ev: Event) -> None:
        cand = self._candidates[-1] if self._candidates else None
        kind = ev.kind
        if kind == "items":
            self._on_items(ev, cand)
        elif kind in ("elision", "subset"):
            evidence = Evidence(source="answer", start=ev.start, end=ev.end, kind=kind, text=ev.text[:200])
            if cand is not None and cand.active and cand.n_emitted > 0:
                cand.cut = evidence
            else:
                self._markers.append(evidence)
        elif kind == "code":
            self._code.append(Evidence(source="answer", start=ev.start, end=ev.end, kind="code", text=ev.text[:200]))
            if cand is not None:
                cand.broken = True
        elif kind == "close":
            if cand is not None:
                cand.closed = True
                cand.broken = True
        elif cand is not None:  # prose, open, opener, fence: a boundary between runs
            cand.broken = cand.broken or kind != "fence"
            if kind in ("open", "opener"):
                cand.closed = True

    def _is_restart(self, cand: _Candidate, index: int | None, value: Any) -> bool:
        if cand.n_emitted == 0 or cand.continued:
            return False
        if index is not None:
            return index == 0
        if not (cand.broken or cand.closed):
            return False
        if value != self._first_value:
            return False
        return self.task.checker(self.params).check(value) is None

    def _on_items(self, ev: Event, cand: _Candidate | None) -> None:
        items = ev.items
        index, value = (None, ev.values[0]) if ev.values is not None else items[0]
        if cand is None or self._is_restart(cand, index, value):
            cand = _Candidate(self.task.checker(self.params), start=ev.start)
            # A list whose first item claims a later number: its first item is wrong (missing
            # items) unless it is a stray numbered line in prose, which `_answer_list` drops.
            cand.fragment = index is not None and index > cand.next_index
            self._candidates.append(cand)
        elif not cand.active:
            if cand.mistake is not None and cand.cut is None:
                cand.n_emitted += len(ev.values) if ev.values is not None else len(items)
            return  # items after a cut, an error or the end of a closed, complete list
        elif cand.closed and cand.done:
            return
        cand.broken = False
        cand.closed = False
        if ev.values is not None:
            self._check_run(cand, ev.values, ev)
            return
        if all(idx is None for idx, _ in items):
            self._check_run(cand, [v for _, v in items], ev)
            return
        for k, (idx, val) in enumerate(items):
            if not cand.active:
                cand.n_emitted += len(items) - k
                return
            if idx is not None and idx != cand.next_index:
                cand.n_emitted += 1
                self._fail(cand, ev, idx, val, self._order_mistake(cand.next_index, idx))
                continue
            self._check_run(cand, [val], ev)

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
            cand.n_emitted += 1
            self._fail(cand, ev, None, values[ok], mistake, offset_in_run=ok)
        elif checker.done():
            cand.done = True

    def _fail(self, cand: _Candidate, ev: Event, idx: int | None, value: Any, mistake: Mistake, offset_in_run: int = 0) -> None:
        line = ev.line
        if offset_in_run and ev.text and self.task.list_item:
            # A run can span lines ([[...],\n [...]]); find the wrong item within it.
            for k, m in enumerate(re.finditer(self.task.list_item, ev.text, re.VERBOSE | re.IGNORECASE)):
                if k == offset_in_run:
                    line += ev.text.count("\n", 0, m.start())
                    break
        cand.mistake_span = (ev.start, ev.end)
        cand.mistake = FirstError(
            index=cand.n_ok,
            expected=mistake.expected,
            got=self.task.show(value, self.params),
            rule=mistake.rule,
            line=line,
        )

    # -- the verdict ----------------------------------------------------------------------

    def finish(self, stop_reason: StopReason | None = "end_turn") -> Verdict:
        for event in self._lexer.finish():
            self._on(event)
        return self._verdict(stop_reason)

    def _answer_list(self) -> _Candidate | None:
        candidates = [c for c in self._candidates if not (c.fragment and c.n_emitted < 3)]
        if not candidates:
            return None
        final = candidates[-1]
        # A short list after a complete one is an explanation ("the first move, [1, 0, 2], ..."),
        # not a new answer.
        for cand in reversed(candidates[:-1]):
            if cand.done and cand.mistake is None and final.n_emitted < cand.n_emitted and not final.done:
                return cand
        # "first 20 ... last 10": after an elided list, only a complete list counts as a new
        # answer. Anything else may be the elided list's tail, and a tail can look like a fresh
        # start by content alone (Hanoi's last moves repeat its first ones).
        if len(candidates) > 1 and candidates[-2].cut is not None and not final.done:
            return candidates[-2]
        return final

    def _verdict(self, stop: StopReason | None) -> Verdict:
        task, p = self.task, self.params
        expected = task.expected_count(p)
        cand = self._answer_list()
        head, tail, length = self._edges.head, self._edges.tail, self._edges.length
        tail_offset = length - len(tail)
        thinking = "".join(self._thinking)
        evidence: list[Evidence] = []
        notes: list[str] = []
        claims = _claims(head, tail, tail_offset)
        finding = refusal.detect_edges(head, tail, tail_offset)
        thinking_finding = refusal.detect_intent(thinking)

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

        # An instance with no solution: saying so is the complete answer; any list is wrong.
        if not task.solvable(p):
            said = IMPOSSIBLE.search(head) or IMPOSSIBLE.search(tail)
            if cand is not None and cand.n_emitted > 0:
                first = cand.mistake or FirstError(
                    index=cand.n_ok, expected="a statement that the instance has no solution",
                    got=f"{cand.n_emitted} moves", rule="this instance is unsolvable: any move list is wrong",
                )
                return verdict("cant_do", f"The instance has no solution, but the answer gives moves ({first.rule}).", first_error=first)
            if said:
                evidence.append(_span(head if said.string is head else tail, said, 0 if said.string is head else tail_offset, "impossible"))
                return verdict("complete", "The instance has no solution, and the answer says so.")

        if cand is not None and cand.mistake is not None:
            e = cand.mistake
            start, end = cand.mistake_span
            evidence.append(Evidence(source="answer", start=start, end=end, kind="first_error", text=f"item {e.index + 1}: {e.got}"))
            return verdict("cant_do", f"Item {e.index + 1} is wrong: {e.rule} (expected {e.expected}, got {e.got}).", first_error=e)

        if cand is not None and cand.done:
            return verdict("complete", f"All {cand.n_ok} items are present and correct.")

        if task.can_be_impossible and (IMPOSSIBLE.search(head) or IMPOSSIBLE.search(tail)) and task.solvable(p):
            err = FirstError(index=0, expected="a solution (this instance has one)", got="a claim that none exists",
                             rule="the instance is solvable")
            return verdict("cant_do", "The answer claims the instance is impossible, but it has a solution.", first_error=err)

        n_ok = cand.n_ok if cand else 0
        of = f"{n_ok} of {expected}" if expected is not None else f"{n_ok}"
        if cand is not None and cand.cut is not None:
            evidence.append(cand.cut)
            kind: WontDoKind = "subset" if cand.cut.kind == "subset" else "elision"
            return verdict("wont_do", f"The list is cut short by {cand.cut.text.strip()!r} after {of} correct items.", wont_do_kind=kind)

        if stop == "max_tokens":
            where = "in thinking, before any answer" if length == 0 and thinking else f"after {of} correct items"
            return verdict("budget_exhausted", f"The output hit the token limit {where}.")

        kind_found = finding.kind
        if kind_found is None and self._code and n_ok == 0:
            kind_found = "code_instead"
            evidence.extend(self._code[:3])
        if kind_found is None and self._markers and cand is None:
            kind_found = "subset" if self._markers[0].kind == "subset" else "elision"
            evidence.extend(self._markers[:3])
        if kind_found is None and thinking_finding.kind is not None and n_ok == 0:
            kind_found = thinking_finding.kind
        if cand is None and kind_found is None and length > 0 and _looks_like_a_list(head + tail):
            return verdict("unparseable", "The answer seems to hold a list, but not in a form this task can read.")
        kind_found = kind_found or "early_stop"
        what = {
            "refusal": "declined",
            "subset": "gave a subset",
            "code_instead": "gave code instead of the items",
            "offer_to_continue": "stopped and offered to continue",
            "elision": "elided items",
            "early_stop": "stopped early",
        }[kind_found]
        return verdict("wont_do", f"The model {what} after {of} correct items, and was not cut off.", wont_do_kind=kind_found)


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


def _looks_like_a_list(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    listy = sum(1 for ln in lines if sum(ch.isdigit() for ch in ln) >= 2 and len(ln) < 120)
    return listy >= 5 and listy >= len(lines) / 2


def verify(
    task: Task[Any],
    params: TaskParams | dict[str, Any] | None,
    answer: str,
    *,
    thinking: str = "",
    stop_reason: StopReason | None = "end_turn",
) -> Verdict:
    """Verify one whole answer. Same result as streaming it through `StreamingVerifier`."""
    v = StreamingVerifier(task, task.params(params))
    if thinking:
        v.feed_thinking(thinking)
    v.feed(answer)
    return v.finish(stop_reason)
