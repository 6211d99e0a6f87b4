"""Property tests, per task: the reference is complete; one changed item is `cant_do` at that index;
a cut at k is `wont_do` (ended naturally) or `budget_exhausted` (at max_tokens) with k correct; an
inserted elision is `wont_do`; and chunked verification equals whole-text verification."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longhaul.verify import StreamingVerifier, verify
from longhaul.verify.lexers import items_in

# Instances of every task, and a way to make one item wrong that any checker must reject. Where a
# task's answers can be long, an instance several times `HOLD + _STEP` characters long: the
# streaming lexer scans only once that many wait, so a shorter answer is read whole at `finish`
# and its chunking is never tested. Small ones beside them keep the edge cases near the start.
CASES: dict[str, list[dict[str, Any]]] = {
    "hanoi": [
        {"disks": 8},
        {"disks": 10, "format": "csv"},
        {"disks": 8, "format": "lines", "pegs": "A-C"},
        {"disks": 9, "format": "list", "pegs": "1-3"},
        {"disks": 3, "pegs": "1-3"},
    ],
    "checker_jumping": [{"checkers": 3}, {"checkers": 8}],
    "river_crossing": [{"pairs": 3, "capacity": 2}, {"pairs": 5, "capacity": 3}],
    "blocks_world": [{"blocks": 6}, {"blocks": 26}],
    "french_numbers": [{"start": 0, "end": 400}, {"start": 990, "end": 1010}],
    "count": [{"end": 60}, {"end": 1500}],
    "kill_script": [{"start": 4000, "end": 4400}],
    "sha256_digests": [{"end": 40}],
    "py_table": [{"start": 0, "end": 400}],
    "py_tests": [{"start": 1, "end": 400}, {"start": 3600, "end": 3999}, {"start": 0, "end": 300, "expected": "letters"}],
    "py_enum": [{"start": 0, "end": 400}, {"start": 79_990, "end": 80_100}],
    "json_records": [{"seed": 3, "count": 300}, {"seed": 4, "start": 0, "count": 5}],
    "sql_inserts": [{"seed": 5, "count": 300}, {"seed": 6, "start": 0, "count": 5}],
}


def spoil(name: str, value: Any) -> Any:
    if name in ("hanoi", "checker_jumping", "blocks_world"):
        return (value[0], value[2], value[1])  # the move backwards: never legal where the forward one is
    if name == "river_crossing":
        return frozenset({"a_1", "A_2"})  # an actor with another's agent, or someone on the far bank
    if name == "french_numbers":
        return (value[0], value[1], value[2] + 1)
    if name == "count":
        return value + 1
    if name == "kill_script":
        return value + 1
    if name == "py_table":
        return (value[0], value[1] + "x")
    if name == "py_enum":
        return (value[0] + "_X", value[1])
    if name == "py_tests" and isinstance(value[1], int):
        return (value[0], value[1] + 40)  # far from any accepted spelling's letter count
    if name == "py_tests":
        return (value[0], value[1] + "I")  # one more I: never n's numeral
    if name in ("json_records", "sql_inserts"):
        return {**value, "active": not value["active"]}
    if name == "sha256_digests":
        return (value[0], ("0" if value[1][0] != "0" else "1") + value[1][1:])
    raise AssertionError(name)


PAIRS = [(name, params) for name, plist in CASES.items() for params in plist]
IDS = [f"{n}-{'-'.join(str(v) for v in p.values())}" for n, p in PAIRS]


def setup(tasks, name, params):
    task = tasks[name]
    p = task.params(params)
    return task, p, list(task.reference(p))


def deltas(text: str, seed: int) -> list[str]:
    """The text as a stream gives it: stretches of small deltas (1 to 8 characters, as a model's
    tokens come) between larger random cuts."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(text):
        size = rng.randint(9, 3000) if rng.random() < 0.02 else rng.randint(1, 8)
        out.append(text[at : at + size])
        at += size
    return out


def chunked(task, p, text: str, seed: int, stop: str, whole) -> bool:
    """Whether the text streamed in deltas reads as it does whole: the verdict to the last field,
    and the items it gave (what stitching aligns) as `items_in` reads them."""
    v = StreamingVerifier(task, p, keep_items=True)
    for piece in deltas(text, seed):
        v.feed(piece)
    assert v.finish(stop).model_dump() == whole.model_dump()
    assert v.given == items_in(task, p, text, cut=stop == "max_tokens")
    return True


@pytest.mark.parametrize("name,params", PAIRS, ids=IDS)
def test_reference_is_complete(tasks, name, params):
    task, p, ref = setup(tasks, name, params)
    verdict = verify(task, p, task.render(p))
    assert verdict.outcome == "complete", verdict.explanation
    assert verdict.items_correct == len(ref) == task.expected_count(p)


@pytest.mark.parametrize("name,params", PAIRS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_one_changed_item_is_cant_do_at_its_index(tasks, name, params, data):
    task, p, ref = setup(tasks, name, params)
    i = data.draw(st.integers(0, len(ref) - 1))
    values = ref[:i] + [spoil(name, ref[i])] + ref[i + 1 :]
    text = task.render(p, values)
    verdict = verify(task, p, text)
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and verdict.first_error.index == i
    assert verdict.items_correct == i
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "end_turn", verdict)
    # A wrong item before the token limit is still a wrong item.
    assert verify(task, p, text, stop_reason="max_tokens").outcome == "cant_do"


@pytest.mark.parametrize("name,params", PAIRS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cut_prefix_is_wont_do_or_budget_exhausted(tasks, name, params, data):
    task, p, ref = setup(tasks, name, params)
    k = data.draw(st.integers(1, len(ref) - 1))
    text = task.render(p, ref[:k])
    ended = verify(task, p, text, stop_reason="end_turn")
    assert (ended.outcome, ended.items_correct) == ("wont_do", k), ended.explanation
    assert ended.wont_do_kind == "early_stop"
    cut = verify(task, p, text, stop_reason="max_tokens")
    assert (cut.outcome, cut.items_correct) == ("budget_exhausted", k), cut.explanation
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "max_tokens", cut)


@pytest.mark.parametrize("name,params", PAIRS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_inserted_elision_is_wont_do(tasks, name, params, data):
    task, p, ref = setup(tasks, name, params)
    k = data.draw(st.integers(1, len(ref) - 2))
    marker = data.draw(st.sampled_from(["...", "…", "and so on", "(the pattern continues)", "// remaining omitted"]))
    # At least one item is really missing: a marker that skips nothing is no elision (docs/verdicts.md).
    tail = data.draw(st.integers(1, len(ref) - k - 1))
    text = task.render(p, ref[:k]) + f"\n{marker}\n" + task.render(p, ref[-tail:])
    for stop in ("end_turn", "max_tokens"):
        verdict = verify(task, p, text, stop_reason=stop)
        assert verdict.outcome == "wont_do", verdict.explanation
        assert verdict.items_correct == k
        assert verdict.wont_do_kind == "elision"
    assert chunked(task, p, text, data.draw(st.integers(0, 2**32)), "end_turn", verify(task, p, text))
