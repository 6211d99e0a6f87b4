"""ranges: ask for items 1..n, then n+1..2n, and so on until done, each a fresh request."""

from longhaul import END, START, Message, Strategy, TrialContext, Turn, again_or_end, new_graph, turn_node


def next_range(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    if ctx.expected is None:  # no solution: nothing to count, ask for the whole answer
        return ctx.conversation([], ctx.prompt)
    first = len(ctx.items) + 1
    last = min(ctx.expected, first + ctx.settings.range_size - 1)
    return [Message(role="user", content=ctx.range_prompt(first, last))]


def build():  # compiled once, when the strategy's first trial runs
    graph = new_graph()
    graph.add_node("range", turn_node("range", next_range))
    graph.add_edge(START, "range")
    graph.add_conditional_edges("range", again_or_end("range"), ["range", END])
    return graph


# Its first request is a range, not the task's prompt, so its first answer is no won't-do to
# follow up; and each request is fresh, so the conversation does not grow.
STRATEGY = Strategy(
    "ranges",
    "ask for items a..b, then b+1..c, until done (range_size items a request)",
    build,
    follows_up=False,
    grows_conversation=False,
)
