"""Strategies: how a trial talks to a model, one turn or an agent loop, and what it declares.

A strategy (in `agents/`, one file each, binding `STRATEGY`) is one turn, or a langgraph graph
given as the function that builds it, with traits that say what the rest of longhaul may assume
of it (whether it follows up a won't-do, whether its conversation grows). Its turns are taken
through a `TrialContext`, which builds each request, streams it (`longhaul.turn`), stitches it
into the answer so far (`longhaul.stitching`) and keeps every turn. What is generic to loops lives
here: the stopping rules, the graph helpers, the wording of follow-ups.

langgraph's graph machinery (with langchain_core and langsmith under it) is imported when a
strategy's graph is first built, never when a strategy module is loaded: listing strategies, a
dry run and a run of `direct` alone do not pay for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from langgraph.constants import END, START  # two strings: langgraph's graph machinery is not loaded

from longhaul.errors import BadInput
from longhaul.providers import Message, Provider, Request, RetryRecord
from longhaul.stitching import OVERLAP, stitch
from longhaul.task import Task, TaskParams
from longhaul.turn import Turn, TurnKind, stream_turn
from longhaul.verdict import Verdict

if TYPE_CHECKING:
    from langgraph.graph import StateGraph

__all__ = [
    "CONTINUE",
    "END",
    "NUDGE",
    "OVERLAP",
    "START",
    "Graph",
    "GraphBuilder",
    "Listener",
    "LoopStop",
    "Messages",
    "Settings",
    "Strategy",
    "TrialContext",
    "TrialState",
    "Turn",
    "TurnKind",
    "again_or_end",
    "ask_task",
    "follow_up_graph",
    "never",
    "new_graph",
    "say_continue",
    "stop_reason_for",
    "turn_node",
    "unfinished",
]

LoopStop = Literal["complete", "wrong_item", "error", "turn_budget", "no_progress", "no_follow_up"]
"""Why a trial's loop ended: the answer is complete or has a wrong item, the provider failed, the
turn budget ran out, two turns added nothing, or the strategy has no follow-up for this verdict."""


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
    """What a trial tells the outside as it goes (the run passes the display through this): a
    `longhaul.turn.StreamListener` for each turn's stream, and each turn once it is stitched in."""

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
        request = Request(
            system=self.task.prompt(self.params).system,
            messages=messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            seed=None if self.settings.seed is None else self.settings.seed + len(turns),
            thinking_budget=self.settings.thinking_budget,
        )
        streamed = await stream_turn(
            self.provider, request, self.task, self.params, prefix=self.items, listener=self.listener, early_stop=self.settings.early_stop
        )
        # A failed request carries no answer to stitch: its turn holds the failure, items unmoved.
        stitched = None
        if streamed.error is None and streamed.stop_reason is not None:
            stitched = stitch(
                self.task,
                self.params,
                self.items,
                streamed.given,
                streamed.answer,
                streamed.thinking,
                streamed.stop_reason,
                streamed.verdict,
            )
            self.items = stitched.items
        turn = Turn(
            index=len(turns),
            kind=kind,
            user=messages[-1].content,
            messages=len(messages),
            answer=streamed.answer,
            thinking=streamed.thinking,
            stop_reason=streamed.stop_reason,
            raw_stop_reason=streamed.raw_stop_reason,
            usage=streamed.usage,
            attempts=streamed.attempts,
            retries=streamed.retries,
            seconds=streamed.seconds,
            start_item=stitched.start if stitched else 0,
            new_items=stitched.new_items if stitched else 0,
            restarted=stitched.restarted if stitched else False,
            stopped_early=streamed.stopped_early,
            tokens_saved=streamed.tokens_saved,
            simulated=streamed.simulated,
            endpoint=streamed.completion.endpoint if streamed.completion else None,
            error=streamed.error,
            verdict=stitched.verdict if stitched else streamed.verdict,
        )
        self.listener.turn(turn)
        return turn


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


def turn_node(
    kind: TurnKind, messages: Messages, eligible: Callable[[Verdict], bool] = unfinished
) -> Callable[..., Awaitable[dict[str, Any]]]:
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

    def edge(state: TrialState) -> str:
        return END if state["stop"] else next_node

    return edge


def new_graph() -> StateGraph[TrialState, TrialContext, TrialState, TrialState]:
    """An empty langgraph `StateGraph` over `TrialState`, with a `TrialContext` as its context: what
    a strategy's builder adds its nodes and edges to. langgraph's graph machinery is imported here,
    when the first graph is built, not when a strategy module is loaded."""
    from langgraph.graph import StateGraph

    return StateGraph(TrialState, context_schema=TrialContext)


def follow_up_graph(kind: TurnKind, follow_up: Messages) -> StateGraph[TrialState, TrialContext, TrialState, TrialState]:
    """The shape `continue` and `resume` share: the task, then the same follow-up for as long as
    the answer is unfinished and the loop's rules allow. Not compiled: a strategy's builder
    returns it, and the `Strategy` compiles it once."""
    graph = new_graph()
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

GraphBuilder = Callable[[], Any]
"""What builds a strategy's graph: a function of no arguments returning a langgraph `StateGraph`
(usually `new_graph()` with nodes and edges added) or a graph already compiled."""


@dataclass(frozen=True)
class Strategy:
    """A named way to run a trial: its graph (or one turn), one line for `longhaul strategies`, and
    the traits the report, the dry run and the terminal UI read (never the name: a user's own
    strategy is read as the built-ins are). Traits are keyword arguments, False unless declared."""

    name: str
    """The name suites and the command line use."""

    summary: str
    """One line for `longhaul strategies`."""

    graph: GraphBuilder | Graph | None = None
    """How a trial runs. A `GraphBuilder` (`build`, not `build()`): called, and what it returns
    compiled, once per `Strategy`, when its first trial runs (`compiled`), so that loading the
    strategy costs nothing and no trial compiles it again. A graph already compiled (or a
    `StateGraph`, compiled on first use) is taken too, as earlier versions took it, though building
    it when the module loads makes every command that lists strategies import langgraph. None: one
    turn, the task's prompt, and the verdict on that answer (`direct`), which must declare
    `single_turn=True`."""

    _: KW_ONLY

    follows_up: bool = False
    """After a first answer to the task's own prompt that is unfinished (a won't-do), it may ask
    again: its trials whose first answer was a won't-do count in refusal elasticity. `ranges` does
    not: its first request is not the task's prompt, so its first answer is no such won't-do."""

    grows_conversation: bool = False
    """Each later turn resends the whole conversation so far, so a turn's input tokens grow with
    every answer before it (the dry run's input estimate)."""

    single_turn: bool = False
    """It sends the task's prompt once and stops: the dry run counts one request, and the report
    compares follow-ups with the won't-do of such strategies on the same model, task and size."""

    def __post_init__(self) -> None:
        if self.single_turn and (self.follows_up or self.grows_conversation):
            raise BadInput(f"strategy {self.name!r}: a single-turn strategy neither follows up nor grows a conversation")
        if self.graph is None and not self.single_turn:
            raise BadInput(f"strategy {self.name!r}: a strategy without a graph takes one turn; declare single_turn=True")
        if self.graph is not None and not (callable(self.graph) or _is_compiled(self.graph) or _is_uncompiled(self.graph)):
            raise BadInput(
                f"strategy {self.name!r}: its graph must be a function building a langgraph graph, a graph, or None "
                f"(got {type(self.graph).__name__})"
            )

    @cached_property
    def compiled(self) -> Graph | None:
        """The compiled graph (None for a strategy of one turn): built and compiled the first time
        it is asked for, then the same object for every trial of every run in this process."""
        given = self.graph
        if given is None or _is_compiled(given):
            return given
        graph: Any = given if _is_uncompiled(given) else given()
        if _is_compiled(graph):
            return graph
        if not _is_uncompiled(graph):
            raise BadInput(
                f"strategy {self.name!r}: its graph builder returned {type(graph).__name__}, not a langgraph StateGraph or compiled graph"
            )
        return graph.compile()

    async def run(self, ctx: TrialContext) -> TrialState:
        graph = self.compiled
        if graph is None:  # one turn, as a graph of one node that never follows up would take it
            turns = [await ctx.take_turn("initial", ask_task(ctx, []), [])]
            return {"turns": turns, "stop": stop_reason_for(turns, ctx, never)}
        state: TrialState = {"turns": [], "stop": None}
        limit = 4 * ctx.settings.max_turns + 16  # steps, not turns: each turn is a node or two
        # langgraph types a compiled graph's output as Any: it is this graph's state, a TrialState.
        return await graph.ainvoke(state, context=ctx, config={"recursion_limit": limit})  # type: ignore[no-any-return]


def _is_compiled(graph: object) -> bool:
    return callable(getattr(graph, "ainvoke", None))


def _is_uncompiled(graph: object) -> bool:
    return callable(getattr(graph, "compile", None)) and not _is_compiled(graph)
