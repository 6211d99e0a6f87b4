"""resume: each follow-up is a fresh conversation: the task, the last few items so far and
"continue from item k". Input grows linearly with the answer."""

from langgraph.graph import END, START, StateGraph

from longhaul.providers import Message
from longhaul.strategy import Strategy, TrialContext, TrialState, Turn, again_or_end, ask_task, turn_node


def resume_from_here(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    return [Message(role="user", content=ctx.resume_prompt())]


def build() -> StateGraph:
    graph = StateGraph(TrialState, context_schema=TrialContext)
    graph.add_node("ask", turn_node("initial", ask_task))
    graph.add_node("resume", turn_node("resume", resume_from_here))
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", again_or_end("resume"), ["resume", END])
    graph.add_conditional_edges("resume", again_or_end("resume"), ["resume", END])
    return graph


STRATEGY = Strategy("resume", "fresh requests: the task, the last items so far, 'continue from item k'", build().compile())
