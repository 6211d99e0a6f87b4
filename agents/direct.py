"""direct: one request with the task's prompt, and the verdict on that answer."""

from longhaul import Strategy

# No graph: a strategy of one turn needs no loop, and a run of it alone never loads langgraph.
STRATEGY = Strategy("direct", "one request: the task's prompt, and the verdict on that answer", None, single_turn=True)
