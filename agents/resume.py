"""resume: each follow-up is a fresh conversation: the task, the last few items so far and
"continue from item k". Input grows linearly with the answer."""

from longhaul import Message, Strategy, TrialContext, Turn, follow_up_graph


def resume_from_here(ctx: TrialContext, turns: list[Turn]) -> list[Message]:
    return [Message(role="user", content=ctx.resume_prompt())]


def build():  # compiled once, when the strategy's first trial runs
    return follow_up_graph("resume", resume_from_here)


STRATEGY = Strategy(
    "resume",
    "fresh requests: the task, the last items so far, 'continue from item k'",
    build,
    follows_up=True,  # each follow-up is a fresh request: the conversation does not grow
)
