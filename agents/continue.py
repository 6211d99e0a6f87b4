"""continue: after an answer that is unfinished (not complete, nothing wrong), say "continue" with
the whole conversation, as a person would, until done. Input grows quadratically with the answer."""

from longhaul import Strategy, follow_up_graph, say_continue


def build():  # compiled once, when the strategy's first trial runs
    return follow_up_graph("continue", say_continue)


STRATEGY = Strategy(
    "continue",
    "say 'continue' with the whole conversation while the answer is unfinished",
    build,
    follows_up=True,
    grows_conversation=True,
)
