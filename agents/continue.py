"""continue: after an answer that is unfinished (not complete, nothing wrong), say "continue" with
the whole conversation, as a person would, until done. Input grows quadratically with the answer."""

from langgraph.graph import END, START, StateGraph

from longhaul.strategy import Strategy, TrialContext, TrialState, again_or_end, ask_task, say_continue, turn_node


def build() -> StateGraph:
    graph = StateGraph(TrialState, context_schema=TrialContext)
    graph.add_node("ask", turn_node("initial", ask_task))
    graph.add_node("continue", turn_node("continue", say_continue))
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", again_or_end("continue"), ["continue", END])
    graph.add_conditional_edges("continue", again_or_end("continue"), ["continue", END])
    return graph


STRATEGY = Strategy("continue", "say 'continue' with the whole conversation while the answer is unfinished", build().compile())
