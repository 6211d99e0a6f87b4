"""Strategies: how a trial talks to a model, one turn or an agent loop, and how turns are stitched.

A strategy is a langgraph graph in `agents/` (one file each, binding `STRATEGY`). Its nodes take
turns through a `TrialContext`, which streams each request through the provider, verifies it as
it streams in the context of what earlier turns already gave, and keeps every turn. What is
generic lives here: the turn, the stitching, the loop's stopping rules, the wording of follow-ups.

Stitching: a turn's items are aligned to the items so far by the numbers they carry where they
carry them (a count line `21`, a move number), else by the overlap of the turn's first items with
the last items so far; repeated items are not counted twice; a turn that starts again from the
first item is a restart and is judged on its own. The turn is then verified with the aligned
items so far as its prefix, so its verdict is the verdict on the stitched answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field

from longhaul.providers import Message, Provider, ProviderError, Request, RetryRecord, Usage
from longhaul.task import Task, TaskParams
from longhaul.tokens import count_tokens, needed_tokens
from longhaul.verdict import StopReason, Verdict, error_verdict
from longhaul.verify import StreamingVerifier
from longhaul.verify.lexer import items_in

TurnKind = Literal["initial", "continue", "resume", "range", "nudge"]
LoopStop = Literal["complete", "wrong_item", "error", "turn_budget", "no_progress", "no_follow_up"]
"""Why a trial's loop ended: the answer is complete or has a wrong item, the provider failed, the
turn budget ran out, two turns added nothing, or the strategy has no follow-up for this verdict."""

OVERLAP = 64
"""Longest run of repeated items looked for at the seam of two turns."""


class Turn(BaseModel):
    """One request of a trial and what came of it."""

    index: int
    """0-based turn number."""

    kind: TurnKind
    """What the turn asked: the task, to continue, to resume from an item, a range, or a nudge."""

    user: str
    """The user message this turn added (the conversation is the turns before it, for
    strategies that keep one; a fresh request for those that do not)."""

    messages: int
    """How many messages the request held (the conversation's length)."""

    answer: str = ""
    """The answer text (of the attempt that succeeded; what came before a retry is void)."""

    thinking: str = ""
    """The visible thinking."""

    stop_reason: StopReason | None = None
    """Why the model stopped, normalised; None when the provider failed."""

    raw_stop_reason: str | None = None
    """The provider's own word for it; `longhaul_early_stop` when longhaul cut the stream."""

    usage: Usage = Field(default_factory=Usage)
    """Tokens in and out."""

    attempts: int = 1
    """Attempts the request took."""

    retries: list[RetryRecord] = Field(default_factory=list)
    """The failed attempts."""

    seconds: float = 0.0
    """Wall time of the request."""

    start_item: int = 0
    """Where this turn's items were placed in the stitched answer (0-based)."""

    new_items: int = 0
    """Items this turn added to the stitched answer (repeats not counted)."""

    restarted: bool = False
    """The turn started again from the first item."""

    stopped_early: bool = False
    """longhaul cut the stream at the first wrong item (early stop)."""

    tokens_saved: int = 0
    """For an early stop: output tokens the rest of a complete answer would have cost (estimate)."""

    error: str | None = None
    """The provider's failure, when it failed for good."""

    simulated: bool = False
    """The answer came from longhaul's simulated model."""

    verdict: Verdict
    """The verdict on the stitched answer after this turn."""


class TrialState(TypedDict):
    """What a strategy's graph carries from node to node."""

    turns: list[Turn]
    stop: LoopStop | None


@dataclass(frozen=True, slots=True)
class Settings:
    """What the suite says about every request of a trial."""

    max_tokens: int = 16_384
    temperature: float | None = None
    seed: int | None = None
    thinking_budget: int | None = None
    early_stop: bool = False
    max_turns: int = 8
    resume_tail: int = 20
    range_size: int = 100


class Listener:
    """What a trial tells the outside as it goes (the run passes the display through this)."""

    def delta(self, kind: Literal["text", "thinking"], text: str) -> None: ...
    def progress(self, items_correct: int, failed: bool) -> None:
        """Items verified so far in the stitched answer, and whether one was wrong."""

    def restart(self, retry: RetryRecord) -> None: ...
    def turn(self, turn: Turn) -> None: ...


@dataclass
class TrialContext:
    """One trial's model, task and settings, and the stitched items so far."""

    provider: Provider
    task: Task[Any]
    params: TaskParams
    settings: Settings
    listener: Listener = field(default_factory=Listener)
    items: list[Any] = field(default_factory=list)
    """The stitched answer's items so far."""

    @property
    def expected(self) -> int | None:
        return self.task.expected_count(self.params)

    # -- requests ----------------------------------------------------------------------------

    @property
    def prompt(self) -> str:
        """The task's prompt (its user turn; the system prompt goes with every request)."""
        return self.task.prompt(self.params).user

    def conversation(self, turns: list[Turn], follow_up: str) -> list[Message]:
        """The whole conversation so far, then a new user turn: what a person typing does."""
        messages: list[Message] = []
        for t in turns:
            # APIs refuse empty turns; an answer lost to thinking still happened.
            messages += [Message(role="user", content=t.user), Message(role="assistant", content=t.answer or "(no answer)")]
        return [*messages, Message(role="user", content=follow_up)]

    def resume_prompt(self) -> str:
        """A fresh request: the task, the last few items so far, and where to go on from."""
        k = len(self.items)
        tail = self.items[-self.settings.resume_tail :]
        shown = self.task.render(self.params, tail).rstrip() if tail else "(none yet)"
        which = f"the last {len(tail)} of them" if len(tail) < k else "all of them"
        return (
            f"{self.task.prompt(self.params).user}\n\n"
            f"So far {k} items have been written; here are {which}:\n\n{shown}\n\n"
            f"Continue from item {k + 1}: write every remaining item, in the same format, with nothing skipped."
        )

    def range_prompt(self, first: int, last: int) -> str:
        return (
            f"{self.task.prompt(self.params).user}\n\n"
            f"Write only items {first} to {last} of the answer (counting from 1), in the same format, "
            "every one of them, with nothing skipped."
        )

    # -- a turn ------------------------------------------------------------------------------

    async def take_turn(self, kind: TurnKind, messages: list[Message], turns: list[Turn]) -> Turn:
        """Send one request, verify it as it streams after the items so far, stitch it in."""
        user = messages[-1].content
        request = Request(
            system=self.task.prompt(self.params).system,
            messages=messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            seed=None if self.settings.seed is None else self.settings.seed + len(turns),
            thinking_budget=self.settings.thinking_budget,
        )
        base = dict(index=len(turns), kind=kind, user=user, messages=len(messages))
        before = len(self.items)
        verifier = StreamingVerifier(self.task, self.params, prefix=self.items)
        answer: list[str] = []
        thinking: list[str] = []
        retries: list[RetryRecord] = []
        started = time.monotonic()
        completion = None
        stopped_early = False
        try:
            async with aclosing(self.provider.stream(request)) as stream:
                async for event in stream:
                    if event.kind == "text":
                        answer.append(event.text)
                        self.listener.delta("text", event.text)
                        progress = verifier.feed(event.text)
                        self.listener.progress(progress.items_correct, progress.failed is not None)
                        # A wrong item past the seam is wrong whatever the alignment; at the
                        # seam it may be a repeated item, which only the whole turn can tell.
                        if self.settings.early_stop and progress.failed is not None and (before == 0 or progress.failed.index > before):
                            stopped_early = True
                            break
                    elif event.kind == "thinking":
                        thinking.append(event.text)
                        verifier.feed_thinking(event.text)
                        self.listener.delta("thinking", event.text)
                    elif event.kind == "restart":
                        retries.append(event.retry)
                        answer.clear()
                        thinking.clear()
                        verifier = StreamingVerifier(self.task, self.params, prefix=self.items)
                        self.listener.restart(event.retry)
                    else:
                        completion = event
        except ProviderError as exc:
            verdict = error_verdict(self.task.name, str(exc), items_expected=self.expected, expectation=self.task.expectation)
            turn = Turn(**base, retries=retries, attempts=exc.attempts, seconds=time.monotonic() - started, error=str(exc), verdict=verdict)
            self.listener.turn(turn)
            return turn
        text = "".join(answer)
        if completion is not None:
            stop, raw, usage = completion.stop_reason, completion.raw_stop_reason, completion.usage
            attempts, retries = completion.attempts, completion.retries
            simulated = completion.simulated
        else:  # cut by us: the provider never said how many tokens it spent
            stop, raw, attempts = "other", "longhaul_early_stop", len(retries) + 1
            simulated = self.provider.address.simulated
            usage = Usage(output_tokens=count_tokens(text + "".join(thinking), self.provider.address.model), estimated=True)
        verdict = verifier.finish(stop)
        seam_ok = not (verdict.first_error is not None and verdict.first_error.index == before)
        start, restarted = self._align(text, seam_ok)
        if start != before:
            again = StreamingVerifier(self.task, self.params, prefix=self.items[:start])
            again.feed_thinking("".join(thinking))
            again.feed(text)
            verdict = again.finish(stop)
        values = items_in(self.task, self.params, text)[1]
        self.items = self.items[:start] + values
        new = max(0, len(self.items) - before)
        saved = 0
        if stopped_early:
            saved = max(0, needed_tokens(self.task, self.params, self.provider.address.model) - usage.output_tokens)
        turn = Turn(
            **base, answer=text, thinking="".join(thinking), stop_reason=stop, raw_stop_reason=raw, usage=usage,
            attempts=attempts, retries=retries, seconds=time.monotonic() - started, start_item=start, new_items=new,
            restarted=restarted, stopped_early=stopped_early, tokens_saved=saved, simulated=simulated, verdict=verdict,
        )
        self.listener.turn(turn)
        return turn

    def _align(self, text: str, seam_ok: bool) -> tuple[int, bool]:
        """Where the turn's items go in the stitched answer, and whether it started over.
        `seam_ok`: read as going straight on, the turn's first item is right."""
        so_far = self.items
        if not so_far:
            return 0, False
        position, values = items_in(self.task, self.params, text)
        if not values:
            return len(so_far), False
        if position is not None:  # numbered: the numbers say where
            return min(position, len(so_far)), position == 0
        if seam_ok:  # unnumbered and it fits straight on: a continuation, whatever it resembles
            return len(so_far), False
        for k in range(min(OVERLAP, len(so_far), len(values)), 0, -1):
            if so_far[-k:] == values[:k]:
                return len(so_far) - k, False
        # Starting over, by content: the first three items are the answer's first three (fewer
        # would mistake a continuation for a restart: Hanoi's moves repeat).
        head = [v for _, v in zip(range(3), self.task.reference(self.params))]
        if len(values) >= 3 and len(head) == 3 and values[:3] == head:
            return 0, True
        return len(so_far), False



# -- the loop's rules ------------------------------------------------------------------------------


def stop_reason_for(turns: list[Turn], ctx: TrialContext, eligible: Callable[[Verdict], bool]) -> LoopStop | None:
    """Why the loop stops after the last turn, or None to go on. Every loop stops on complete, on
    a wrong item, on a provider error, on its turn budget, and on two turns without progress."""
    last = turns[-1].verdict
    if last.outcome == "complete":
        return "complete"
    if last.outcome == "cant_do":
        return "wrong_item"
    if last.outcome == "error":
        return "error"
    if len(turns) >= ctx.settings.max_turns:
        return "turn_budget"
    if len(turns) >= 3 and turns[-1].new_items == 0 and turns[-2].new_items == 0:
        return "no_progress"
    if not eligible(last):
        return "no_follow_up"
    return None


def unfinished(verdict: Verdict) -> bool:
    """Worth asking again: nothing wrong, but not everything there."""
    return verdict.outcome in ("wont_do", "budget_exhausted")


def never(verdict: Verdict) -> bool:
    return False


Messages = Callable[[TrialContext, list[Turn]], list[Message]]
"""What a turn sends, from the context and the turns so far."""


def turn_node(kind: TurnKind, messages: Messages, eligible: Callable[[Verdict], bool] = unfinished) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A graph node that takes one turn and decides whether the loop may go on after it."""

    async def node(state: TrialState, runtime: Any) -> dict[str, Any]:
        ctx: TrialContext = runtime.context
        turns = state["turns"]
        turn = await ctx.take_turn(kind, messages(ctx, turns), turns)
        done = [*turns, turn]
        return {"turns": done, "stop": stop_reason_for(done, ctx, eligible)}

    return node


def again_or_end(next_node: str) -> Callable[[TrialState], str]:
    """The edge after a turn: on to `next_node` unless the loop has a reason to stop."""
    from langgraph.graph import END

    def edge(state: TrialState) -> str:
        return END if state["stop"] else next_node

    return edge


def follow_up_graph(kind: TurnKind, follow_up: Messages) -> Any:
    """The shape `continue` and `resume` share: the task, then the same follow-up for as long as
    the answer is unfinished and the loop's rules allow."""
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(TrialState, context_schema=TrialContext)
    graph.add_node("ask", turn_node("initial", ask_task))
    graph.add_node(kind, turn_node(kind, follow_up))
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", again_or_end(kind), [kind, END])
    graph.add_conditional_edges(kind, again_or_end(kind), [kind, END])
    return graph


def ask_task(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    return ctx.conversation([], ctx.prompt)


def say_continue(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    return ctx.conversation(turns, CONTINUE)


CONTINUE = "continue"
NUDGE = (
    "I do want the full output, every item written out: it is fine, nothing here is harmful, and "
    "the length is not a problem. Please write all of it, in the format asked."
)


# -- strategies ------------------------------------------------------------------------------------

Graph = Any
"""A compiled langgraph graph over `TrialState`, taking a `TrialContext` as its context."""


@dataclass(frozen=True)
class Strategy:
    """A named way to run a trial: its graph, and one line for `longhaul strategies`."""

    name: str
    summary: str
    graph: Graph

    async def run(self, ctx: TrialContext) -> TrialState:
        state: TrialState = {"turns": [], "stop": None}
        limit = 4 * ctx.settings.max_turns + 16  # steps, not turns: each turn is a node or two
        return await self.graph.ainvoke(state, context=ctx, config={"recursion_limit": limit})  # type: ignore[no-any-return]

