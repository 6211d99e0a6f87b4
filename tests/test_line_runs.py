"""Line items that follow one another reach the verifier as one event, a run (a count's thousand
lines are a few events, not a thousand). Property: however a stream cuts an answer, and whether
its lines come as runs or one event each, the verdict is the same to the last field (first error,
its line, the evidence's offsets), on answers with wrong lines, gaps, repeats, revisions, markers,
restarts and prose between the lines."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longhaul.catalog import Catalog
from longhaul.sequence import SequenceChecker
from longhaul.verify import StreamingVerifier, verify
from longhaul.verify.lexer import _STEP, HOLD, Lexer
from longhaul.verify.lexers import items_in

_HANOI = Catalog().task("hanoi")
HANOI_CHECKER = _HANOI.checker(_HANOI.params({"disks": 3}))
_hanoi_many = type(HANOI_CHECKER).check_many


def _hanoi_check(self: Any, move: Any) -> Any:
    return _hanoi_many(self, [move])[1]


# Long enough that the streaming lexer scans several times before the end (it scans once
# `HOLD + _STEP` characters wait), so a run of lines is cut by a scan, not read whole at `finish`.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("count", {"end": 1500}),
    ("french_numbers", {"start": 0, "end": 400}),
    ("hanoi", {"disks": 8, "format": "lines", "pegs": "A-C"}),
    ("hanoi", {"disks": 10, "format": "csv"}),
    ("hanoi", {"disks": 9, "format": "list", "pegs": "1-3"}),
    ("kill_script", {"start": 4000, "end": 4400}),
]
IDS = [f"{name}-{params.get('format', '')}" for name, params in CASES]

BETWEEN = ["...", "and so on", "Wait, no.", "Next ten numbers:", "Let me start over:", "Here they are:", "```", "", "--", "etc."]

EDITS = st.lists(
    st.tuples(st.sampled_from(["wrong", "drop", "repeat", "revise", "between", "restart", "bullet", "stop", "after"]), st.floats(0, 1)),
    max_size=5,
)


def answer(task: Any, p: Any, edits: list[tuple[str, float]], rng: random.Random) -> str:
    ref = list(task.reference(p))
    lines = [task.show(v, p) for v in ref]
    for op, where in edits:
        if not lines:
            break
        i = min(int(where * len(lines)), len(lines) - 1)
        if op == "wrong":
            lines[i] = task.show(task.wrong(ref[min(i, len(ref) - 1)], p, rng), p)
        elif op == "drop":
            del lines[i : i + rng.choice([1, 3])]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "revise":  # a line, then the same item again, after a word or straight away
            lines[i + 1 : i + 1] = [rng.choice(["Wait, no.", "Correction:"])] * rng.randint(0, 1) + [lines[i]]
            lines[i] = task.show(task.wrong(ref[min(i, len(ref) - 1)], p, rng), p)
        elif op == "between":
            lines.insert(i, rng.choice(BETWEEN))
        elif op == "restart":
            lines[i:i] = [task.show(v, p) for v in ref[: rng.randint(1, 6)]]
        elif op == "bullet":
            lines[i] = rng.choice(["- ", "  ", "1. "]) + lines[i]
        elif op == "stop":
            lines = lines[: i + 1]
        elif op == "after":  # lines after the last: one given before, or the last one again, wrong
            lines.append(rng.choice([lines[i], task.show(task.wrong(ref[-1], p, rng), p)]))
    return rng.choice(["", "Here you go:\n"]) + "\n".join(lines) + rng.choice(["\n", "", "\nDone."])


def one_event_per_line(self: Lexer, events: list[Any], m: Any, found: list[Any], limit: int) -> Any:
    """No runs: each line an `items` event of its own, as the lexer gave them before runs (the
    verifier reads such an event item by item, the way every rule was written)."""
    events.append(self._event("items", m.start(), m.end(), items=list(found)))
    return m


def deltas(text: str, seed: int) -> list[str]:
    """The text as a stream gives it: stretches of small deltas (1 to 8 characters, as a model's
    tokens come) between larger random cuts."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(text):
        size = rng.randint(9, 3000) if rng.random() < 0.02 else rng.randint(1, 8)  # now and then, a cut anywhere
        out.append(text[at : at + size])
        at += size
    return out


def same_reading(task: Any, p: Any, text: str, stop: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = verify(task, p, text, stop_reason=stop)
    streamed = StreamingVerifier(task, p, keep_items=True)
    for piece in deltas(text, seed):
        streamed.feed(piece)
    assert streamed.finish(stop).model_dump() == whole.model_dump()
    assert streamed.given == items_in(task, p, text)
    with monkeypatch.context() as patched:
        patched.setattr(Lexer, "_line_run", one_event_per_line)
        assert verify(task, p, text, stop_reason=stop) == whole


def without_check_many(monkeypatch: pytest.MonkeyPatch, off: bool) -> None:
    """A checker with only `check` (a task of one's own may have no `check_many`)."""
    if off:
        monkeypatch.delattr(SequenceChecker, "check_many")
        monkeypatch.delattr(type(HANOI_CHECKER), "check_many")
        monkeypatch.setattr(type(HANOI_CHECKER), "check", _hanoi_check)


@pytest.mark.parametrize("one_by_one", [False, True], ids=["check_many", "check"])
@pytest.mark.parametrize("name,params", CASES, ids=IDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=EDITS,
    seed=st.integers(0, 2**16),
    chunking=st.integers(0, 2**32),
    stop=st.sampled_from(["end_turn", "max_tokens"]),
)
def test_runs_read_as_lines_one_by_one_whatever_the_chunking(tasks, monkeypatch, name, params, one_by_one, edits, seed, chunking, stop):
    task = tasks[name]
    p = task.params(params)
    with monkeypatch.context() as patched:
        without_check_many(patched, one_by_one)
        text = answer(task, p, edits, random.Random(seed))
        if not any(op == "stop" for op, _ in edits):
            assert len(text) > 2 * (HOLD + _STEP)  # scans before the end, each cutting a run of lines
        same_reading(task, p, text, stop, chunking, monkeypatch)


FRENCH = "\n".join(f"{n} - {w} - {c}" for n, w, c in [(0, "zéro", 4), (1, "un", 2), (2, "deux", 4), (3, "trois", 5), (4, "quatre", 6)])
H3 = ["Move disk 1 from peg A to peg C", "Move disk 2 from peg A to peg B", "Move disk 1 from peg C to peg B"]

F4 = ("french_numbers", {"start": 0, "end": 4})
TRICKY = [
    # after the end: a line given before, then the last one revised, wrong
    (*F4, FRENCH + "\n2 - deux - 4\n4 - quatre - 7"),
    # the last line again, then revised
    (*F4, FRENCH + "\n4 - quatre - 6\n4 - quatre - 7"),
    # a wrong line, the next, then a late repeat of the wrong one's number
    (*F4, FRENCH.replace("2 - deux - 4", "2 - deux - 5") + "\n3 - trois - 5\n2 - deux - 4"),
    # a wrong line revised straight away
    (*F4, FRENCH.replace("2 - deux - 4", "2 - deux - 5\n2 - deux - 4")),
    # a wrong line, then a restart
    (*F4, FRENCH.replace("2 - deux - 4", "2 - deux - 5\n3 - trois - 5\n0 - zéro - 4")),
    # a complete list, then a recap
    (*F4, FRENCH + "\n0 - zéro - 4\n1 - un - 2"),
    # numbered and unnumbered lines in one run, then the last number revised
    ("hanoi", {"disks": 3, "format": "lines", "pegs": "A-C"}, f"1. {H3[0]}\n{H3[1]}\n3. {H3[2]}\n3. Move disk 1 from peg C to peg A"),
    # a wrong line, a marker, then lines that carry on being counted until one starts over
    ("count", {"end": 10}, "1\n2\n4\nFirst 5 numbers:\n5\n1\n2\n3\n4\n5"),
    # past the end, then a restart
    ("count", {"end": 5}, "1\n2\n3\n4\n5\n6\n7\n1\n2"),
]


@pytest.mark.parametrize("one_by_one", [False, True], ids=["check_many", "check"])
@pytest.mark.parametrize("name,params,text", TRICKY)
def test_tricky_runs_read_as_lines_one_by_one(tasks, monkeypatch, name, params, text, one_by_one):
    task = tasks[name]
    p = task.params(params)
    without_check_many(monkeypatch, one_by_one)
    for stop in ("end_turn", "max_tokens"):
        same_reading(task, p, text, stop, len(text), monkeypatch)


def test_a_long_count_streamed_in_small_deltas_is_read_as_it_streams(tasks):
    task = tasks["count"]
    p = task.params({"end": 1000})
    text = "".join(f"{n}\n" for n in range(1, 1001)).replace("\n500\n", "\n502\n", 1)
    v = StreamingVerifier(task, p)
    seen_at = None
    for i in range(0, len(text), 39):
        v.feed(text[i : i + 39])
        if seen_at is None and v.failed is not None:
            seen_at = i
    verdict = v.finish("end_turn")
    assert verdict == verify(task, p, text)
    assert verdict.first_error is not None and (verdict.first_error.index, verdict.first_error.line) == (499, 500)
    # The wrong line is found a small block after it streams (the held tail and one step), not at the end.
    assert seen_at is not None and seen_at < text.index("\n502\n") + 2200


def flat(events: list[Any]) -> list[tuple[Any, ...]]:
    """Events with each run of line items spread out, one tuple per item (with its line)."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if e.starts is None:
            out.append((e.kind, e.start, e.end, e.line, e.text, e.values, e.items, e.notes))
            continue
        for k, item in enumerate(e.items):
            out.append(("line item", e.starts[k], e.ends[k], e.line + e.text.count("\n", 0, e.starts[k] - e.start), item))
    return out


PIECES = [
    "1\n",
    "2\n",
    "3\n",
    "x" * 300 + " and so on\n",
    "Here is more text, " * 30 + "\n",
    "Words, " * 400 + "\n",  # longer than a scan's step
    "...\n",
    "```\n",
    "  \n",
    "7 - sept - 4\n",
    "4\n",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=40), cuts=st.lists(st.integers(0, 20_000), max_size=30))
def test_the_lexer_gives_the_same_events_whatever_the_chunking(tasks, pieces, cuts):
    # Prose longer than a scan's step, cut anywhere, is still one event with the text's opening.
    task = tasks["count"]
    p = task.params({"end": 10})
    text = "".join(pieces)
    whole = Lexer(task, p)
    expected = flat([*whole.feed(text), *whole.finish()])
    lexer = Lexer(task, p)
    got: list[Any] = []
    last = 0
    for c in sorted({min(c, len(text)) for c in cuts}) + [len(text)]:
        got += lexer.feed(text[last:c])
        last = c
    assert flat(got + lexer.finish()) == expected
