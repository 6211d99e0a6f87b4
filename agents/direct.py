"""direct: one request with the task's prompt, and the verdict on that answer."""

from langgraph.graph import END, START, StateGraph

from longhaul import Strategy, TrialContext, TrialState, ask_task, never, turn_node


def build() -> StateGraph:
    graph = StateGraph(TrialState, context_schema=TrialContext)
    graph.add_node("ask", turn_node("initial", ask_task, eligible=never))
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


STRATEGY = Strategy("direct", "one request: the task's prompt, and the verdict on that answer", build().compile(), single_turn=True)
