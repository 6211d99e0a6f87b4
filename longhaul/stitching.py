"""Stitching: where a turn's items go in the answer so far, and the verdict on the whole.

A turn's items are aligned to the items so far by the numbers they carry where they carry them (a
count line `21`, a move number), else by the overlap of the turn's first items with the last
items so far; repeated items are not counted twice; a turn that starts again from the first item
is a restart and is judged on its own. A turn placed anywhere but straight after the items so far
is verified again with the aligned items as its prefix, so its verdict is the verdict on the
stitched answer. The turn's items are the ones its streaming verifier read (`ItemsGiven`): the
answer is not read again unless it has to be verified again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from longhaul.task import Task, TaskParams
from longhaul.verdict import StopReason, Verdict
from longhaul.verify import ItemsGiven, StreamingVerifier

OVERLAP = 64
"""Longest run of repeated items looked for at the seam of two turns."""

RESTART_HEAD = 3
"""Items a turn must share with the answer's opening to be read as starting over: fewer would
mistake a continuation for a restart (Hanoi's moves repeat)."""


class Alignment(BaseModel):
    """Where a turn's items go in the stitched answer."""

    start: int
    """0-based position of the turn's first item in the stitched answer."""

    restarted: bool
    """The turn started again from the first item."""


def align(task: Task[Any], params: TaskParams, so_far: Sequence[Any], first: int | None, values: Sequence[Any], seam_ok: bool) -> Alignment:
    """Where a turn's items (`values`, the first claiming position `first` if numbered) go after
    the items so far. `seam_ok`: read as going straight on, the turn's first item is right."""
    if not so_far:
        return Alignment(start=0, restarted=False)
    if not values:
        return Alignment(start=len(so_far), restarted=False)
    if first is not None:  # numbered: the numbers say where
        return Alignment(start=min(first, len(so_far)), restarted=first == 0)
    if seam_ok:  # unnumbered and it fits straight on: a continuation, whatever it resembles
        return Alignment(start=len(so_far), restarted=False)
    for k in range(min(OVERLAP, len(so_far), len(values)), 0, -1):
        if list(so_far[-k:]) == list(values[:k]):
            return Alignment(start=len(so_far) - k, restarted=False)
    # Starting over, by content: the turn opens with the answer's opening items.
    head = [v for _, v in zip(range(RESTART_HEAD), task.reference(params))]
    if len(values) >= RESTART_HEAD and len(head) == RESTART_HEAD and list(values[:RESTART_HEAD]) == head:
        return Alignment(start=0, restarted=True)
    return Alignment(start=len(so_far), restarted=False)


class Stitched(BaseModel):
    """The answer so far with one more turn stitched in."""

    start: int
    """Where the turn's items were placed (0-based)."""

    restarted: bool
    """The turn started again from the first item."""

    items: list[Any]
    """The stitched answer's items after the turn."""

    new_items: int
    """Items the turn added (repeats not counted)."""

    verdict: Verdict
    """The verdict on the stitched answer."""


def stitch(
    task: Task[Any],
    params: TaskParams,
    so_far: Sequence[Any],
    given: ItemsGiven,
    answer: str,
    thinking: str,
    stop: StopReason,
    straight_on: Verdict,
) -> Stitched:
    """Stitch a turn into the items so far: `given` is what its answer holds (as the streaming
    verifier read it, `StreamingVerifier(keep_items=True).given`), `answer` and `thinking` its
    texts, for when it must be verified again. `straight_on` is its verdict as streamed, read as
    going straight on after `so_far`; it stands when the alignment agrees."""
    before = len(so_far)
    seam_ok = not (straight_on.first_error is not None and straight_on.first_error.index == before)
    first, values = given
    where = align(task, params, so_far, first, values, seam_ok)
    verdict = straight_on
    if where.start != before:
        verdict = reverify(task, params, so_far[: where.start], answer, thinking, stop)
    items = [*so_far[: where.start], *values]
    return Stitched(start=where.start, restarted=where.restarted, items=items, new_items=max(0, len(items) - before), verdict=verdict)


def reverify(task: Task[Any], params: TaskParams, prefix: Sequence[Any], answer: str, thinking: str, stop: StopReason) -> Verdict:
    """The verdict on a turn's answer placed after `prefix` (the whole text at once: chunking
    never changes a verdict)."""
    again = StreamingVerifier(task, params, prefix=prefix)
    again.feed_thinking(thinking)
    again.feed(answer)
    return again.finish(stop)
