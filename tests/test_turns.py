"""A turn directly: stitching by numbers, overlap and restart; verification of the stitched answer;
a provider failing for good inside an agent loop; and the live display fed a trial's events."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from longhaul import verify
from longhaul.catalog import Catalog
from longhaul.display.live import LiveDisplay
from longhaul.display.protocol import RunInfo, RunSummary
from longhaul.providers import Message, Provider, Request, RetryRecord, RetrySettings, Usage, parse_address
from longhaul.providers.base import End
from longhaul.providers.retry import ProviderError, Transient
from longhaul.stitching import Alignment, align, stitch
from longhaul.strategy import Settings, TrialContext
from longhaul.trial import TrialRecord, TrialSpec, run_trial
from longhaul.turn import Turn
from longhaul.verdict import error_verdict
from longhaul.verify import StreamingVerifier

HANOI = Catalog().task("hanoi")
H3 = HANOI.params({"disks": 3})
MOVES = list(HANOI.reference(H3))  # 7 moves, unnumbered when written as a list
COUNT = Catalog().task("count")
C10 = COUNT.params({"end": 10})


# -- alignment, on hand-made item lists ------------------------------------------------------------


def test_numbered_items_go_where_their_numbers_say():
    so_far = [1, 2, 3, 4, 5]
    assert align(COUNT, C10, so_far, 3, [4, 5, 6, 7], seam_ok=False) == Alignment(start=3, restarted=False)
    assert align(COUNT, C10, so_far, 5, [6, 7], seam_ok=True) == Alignment(start=5, restarted=False)
    assert align(COUNT, C10, so_far, 0, [1, 2, 3], seam_ok=False) == Alignment(start=0, restarted=True)
    # a number past the end cannot leave a hole: the items go straight on
    assert align(COUNT, C10, so_far, 8, [9, 10], seam_ok=False) == Alignment(start=5, restarted=False)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_unnumbered_items_that_repeat_the_last_k_overlap_them(k):
    so_far = MOVES[:4]
    turn = MOVES[4 - k :]
    assert align(HANOI, H3, so_far, None, turn, seam_ok=False) == Alignment(start=4 - k, restarted=False)


def test_a_turn_that_fits_straight_on_is_a_continuation_whatever_it_resembles():
    # MOVES[6] equals MOVES[0]: read straight on after six moves it is right, so no overlap is sought
    assert align(HANOI, H3, MOVES[:6], None, MOVES[6:], seam_ok=True) == Alignment(start=6, restarted=False)


def test_a_restart_is_told_by_its_content():
    # the last six moves share no tail with the turn's head, and the turn opens with the answer's first three
    assert align(HANOI, H3, MOVES[:6], None, MOVES[:5], seam_ok=False) == Alignment(start=0, restarted=True)
    # two of the opening moves are not enough to call it a restart
    assert align(HANOI, H3, MOVES[:6], None, MOVES[:2], seam_ok=False) == Alignment(start=6, restarted=False)


def test_nothing_so_far_or_nothing_new():
    assert align(HANOI, H3, [], None, MOVES[2:], seam_ok=False) == Alignment(start=0, restarted=False)
    assert align(HANOI, H3, MOVES[:4], None, [], seam_ok=False) == Alignment(start=4, restarted=False)


# -- verifying the stitched answer -----------------------------------------------------------------


def test_a_turn_repeating_the_last_items_is_verified_on_the_stitched_answer():
    so_far = MOVES[:4]
    text = HANOI.render(H3, MOVES[2:])  # repeats moves 3 and 4, then the last three
    after = StreamingVerifier(HANOI, H3, prefix=so_far, keep_items=True)
    after.feed(text)
    straight_on = after.finish("end_turn")
    assert straight_on.outcome == "cant_do" and straight_on.first_error.index == 4  # a repeat at the seam
    assert after.given == (None, MOVES[2:])  # the items it gave, read as it streamed
    s = stitch(HANOI, H3, so_far, after.given, text, "", "end_turn", straight_on)
    assert (s.start, s.restarted, s.new_items) == (2, False, 3)
    assert s.items == MOVES
    assert s.verdict.outcome == "complete" and s.verdict.items_correct == 7  # not 9: repeats count once


class Scripted(Provider):
    """A provider whose every request is scripted: an answer text, or `None` for a request that
    breaks mid-stream on every attempt (retried, then given up)."""

    def __init__(self, script: list[str | None], attempts: int = 3) -> None:
        async def no_wait(seconds: float) -> None:
            return None

        super().__init__(parse_address("openai/stub"), limit=asyncio.Semaphore(1), retry=RetrySettings(attempts=attempts), sleep=no_wait)
        self.script = list(script)
        self.requests: list[Request] = []
        self._current: str | None = None

    async def stream(self, request: Request) -> AsyncIterator:  # type: ignore[override]
        self.requests.append(request)
        self._current = self.script.pop(0)
        async for event in super().stream(request):
            yield event

    async def _attempt(self, request: Request) -> AsyncIterator[str | End]:
        if self._current is None:
            yield "moves = [[1, 0, 2],"  # void: the attempt breaks after it
            raise Transient("HTTP 503: overloaded")
        yield self._current
        yield End(raw_stop_reason="stop", stop_reason="end_turn", usage=Usage(input_tokens=10, output_tokens=20), served_model="stub")

    def _classify(self, exc: Exception) -> Transient | ProviderError:
        return ProviderError(str(exc))


def test_a_continuation_turn_stitches_through_the_trial_context():
    provider = Scripted([HANOI.render(H3, MOVES[:4]), HANOI.render(H3, MOVES[2:])])
    ctx = TrialContext(provider, HANOI, H3, Settings(max_tokens=1000))
    first = asyncio.run(ctx.take_turn("initial", [Message(role="user", content=ctx.prompt)], []))
    assert first.verdict.outcome == "wont_do" and first.new_items == 4
    second = asyncio.run(ctx.take_turn("continue", ctx.conversation([first], "continue"), [first]))
    assert (second.start_item, second.new_items, second.restarted) == (2, 3, False)
    assert second.verdict.outcome == "complete" and second.verdict.items_correct == 7
    assert ctx.items == MOVES


def test_a_provider_failing_for_good_on_turn_2_of_continue_ends_the_trial_in_error():
    provider = Scripted([HANOI.render(H3, MOVES[:4]), None], attempts=3)
    spec = TrialSpec(key="k", model="openai/stub", task="hanoi", params={"disks": 3}, size=3, strategy="continue", sample=0, seed=0)
    record = asyncio.run(run_trial(spec, provider, HANOI, H3, Catalog().strategy("continue"), Settings(max_tokens=1000)))
    assert record.outcome == "error" and record.stop == "error" and len(record.turns) == 2
    kept, failed = record.turns
    assert kept.answer == HANOI.render(H3, MOVES[:4]) and kept.verdict.outcome == "wont_do" and kept.error is None
    assert failed.kind == "continue" and failed.verdict.outcome == "error"
    assert failed.error is not None and "gave up after 3 attempts" in failed.error and "503" in failed.error
    assert failed.attempts == 3 and len(failed.retries) == 2 and record.retries == 2
    assert failed.answer == "" and failed.stop_reason is None  # what the broken attempts streamed is void
    assert failed.messages == 3 and len(provider.requests) == 2  # it asked "continue" with the conversation


# -- the live display ------------------------------------------------------------------------------


def _spec(sample: int) -> TrialSpec:
    return TrialSpec(
        key=f"k{sample}", model="sim/diligent", task="count", params={"end": 3}, size=3, strategy="direct", sample=sample, seed=sample
    )


def _record(spec: TrialSpec, complete: bool) -> TrialRecord:
    if complete:
        verdict = verify(COUNT, COUNT.params({"end": 3}), "1\n2\n3\n", stop_reason="end_turn")
    else:
        verdict = error_verdict("count", "HTTP 500", items_expected=3, expectation=COUNT.expectation)
    return TrialRecord(
        spec=spec, outcome=verdict.outcome, verdict=verdict, turns=[], stop=None, simulated=True, started_at=datetime.now(UTC)
    )


def test_the_live_display_counts_what_it_is_told():
    out = io.StringIO()
    console = Console(file=out, record=True, width=120, force_terminal=False, color_system=None)
    display = LiveDisplay(console)
    display.run_started(RunInfo(Path("reports/r1"), "small", total=3, already_done=1, simulated=True))
    a, b = _spec(0), _spec(1)
    display.trial_started(a)
    display.trial_started(b)
    display.trial_delta(a, "text", "1\n")
    display.trial_progress(a, 1, False)
    display.trial_retry(b, RetryRecord(attempt=1, error="HTTP 500", wait=0.0))
    verdict = verify(COUNT, COUNT.params({"end": 3}), "1\n2\n3\n", stop_reason="end_turn")
    display.trial_turn(
        a, Turn(index=0, kind="initial", user="go", messages=1, usage=Usage(input_tokens=120, output_tokens=45), verdict=verdict)
    )
    display.trial_finished(_record(a, complete=True))
    display.trial_finished(_record(b, complete=False))
    display.run_finished(RunSummary(Path("reports/r1"), total=3, done=3))
    text = console.export_text()
    assert "longhaul run reports/r1 · suite small" in text and "simulated models" in text
    assert "complete 1" in text and "error 1" in text and "wont_do 0" in text and "cant_do 0" in text
    assert "in flight 0" in text and "tokens in 120" in text and "out 45" in text and "retries 1" in text
    assert "3/3" in text  # one already done, two finished
    assert "run finished: 3/3 trials stored in reports/r1" in text
