"""Anthropic Messages, read from saved calls: `text` blocks are the answer, `thinking` blocks
the thinking (a `redacted_thinking` block holds none that can be read)."""

from __future__ import annotations

from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer, address
from longhaul.importing.fields import Body, text_of
from longhaul.providers.request import Usage


def messages(request: Body, response: Body, service: str) -> ImportedAnswer:
    text, thinking = [], []
    for i, raw in enumerate(response.items("content")):
        block = Body(raw, response.where, f"{response.path}.content[{i}]")
        if block.obj.get("type") == "text":
            text.append(block.string("text") or "")
        elif block.obj.get("type") == "thinking":
            thinking.append(block.string("thinking") or "")
    model = request.string("model") or response.string("model")
    if not model:
        raise BadInput(f"{response.where}: neither request.body.model nor response.body.model names the model")
    turns = request.items("messages")
    users = [text_of(m.get("content")) for m in turns if isinstance(m, dict) and m.get("role") == "user"]
    system = request.obj.get("system")
    usage = response.maybe("usage")
    return ImportedAnswer(
        where=response.where,
        model=address(model, "anthropic"),
        text="".join(text),
        thinking="".join(thinking),
        stop_reason=response.string("stop_reason"),
        system=text_of(system),
        user=users[-1] if users else "",
        messages=len(turns) + (1 if system else 0),
        # Input tokens read from or written to the prompt cache are input too.
        usage=Usage(
            input_tokens=sum(usage.whole(k) or 0 for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")),
            output_tokens=usage.whole("output_tokens") or 0,
        )
        if usage
        else None,
        temperature=request.number("temperature"),
        max_tokens=request.whole("max_tokens"),
    )
