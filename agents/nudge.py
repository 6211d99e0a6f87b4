"""nudge: after a won't-do, one turn that insists the full output is wanted and fine; then, while
the answer is unfinished, as `continue`."""

from longhaul import END, NUDGE, START, Message, Strategy, TrialContext, TrialState, Turn, ask_task, new_graph, say_continue, turn_node


def insist(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    return ctx.conversation(turns, NUDGE)


def after_first(state: TrialState) -> str:
    if state["stop"]:
        return END
    return "nudge" if state["turns"][-1].verdict.outcome == "wont_do" else "continue"


def after(state: TrialState) -> str:
    return END if state["stop"] else "continue"


def build():  # compiled once, when the strategy's first trial runs
    graph = new_graph()
    graph.add_node("ask", turn_node("initial", ask_task))
    graph.add_node("nudge", turn_node("nudge", insist))
    graph.add_node("continue", turn_node("continue", say_continue))
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", after_first, ["nudge", "continue", END])
    graph.add_conditional_edges("nudge", after, ["continue", END])
    graph.add_conditional_edges("continue", after, ["continue", END])
    return graph


STRATEGY = Strategy(
    "nudge",
    "after a won't-do, insist once that the full output is wanted; then as continue",
    build,
    follows_up=True,
    grows_conversation=True,
)
