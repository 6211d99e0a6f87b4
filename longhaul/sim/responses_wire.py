"""The simulated model's OpenAI Responses wire (`POST /v1/responses`): the request read into the
Chat Completions body the server already reads, and the answer written back as the Responses
API writes it, streamed (the full event sequence, numbered) or whole.

An answer longer than `SPLIT_ABOVE` tokens comes as two message output items, the second of two
content parts, as real reasoning models sometimes split theirs: a client that keeps only the
first item or part loses most of the answer, and the sim's tests show it.

It knows only the shapes of a request and a reply (`Asked`, `Answered`), not the server, so the
server can import it without a cycle.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from longhaul.sim import RESPONSE_ID_PREFIX
from longhaul.sim.pacing import tokens_of

SPLIT_ABOVE = 100
"""Answers above this many tokens are split over two message items (the second in two parts)."""


class WireError(ValueError):
    """A request the Responses API would refuse with a 400; the message names the field."""


class Asked(Protocol):
    """What the wire needs of a request, as the server read it."""

    @property
    def model(self) -> str: ...
    @property
    def system(self) -> str | None: ...
    @property
    def max_tokens(self) -> int | None: ...
    @property
    def thinking_budget(self) -> int | None: ...


class Answered(Protocol):
    """What the wire needs of the server's answer: the pieces to stream, and the accounting."""

    @property
    def thinking(self) -> list[str]: ...
    @property
    def answer(self) -> list[str]: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def thinking_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def cached_input_tokens(self) -> int: ...


# -- the request -----------------------------------------------------------------------------------


def _content(content: Any) -> str:
    """An input message's content as text: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text"))
    raise WireError("input: a message's content must be a string or a list of content parts")


def as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses request body as the Chat Completions body it amounts to: `instructions` as the
    system message, `input` as the messages, `max_output_tokens`, `reasoning.effort`. The sim's
    own fields (`thinking`: an exact budget; `seed`) pass through."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise WireError("instructions: must be a string")
        messages.append({"role": "system", "content": instructions})
    given = body.get("input")
    items = [{"role": "user", "content": given}] if isinstance(given, str) else given
    if not isinstance(items, list) or not items:
        raise WireError("input: required, a string or a non-empty list of input items")
    for item in items:
        if not isinstance(item, dict):
            raise WireError("input: each item must be an object")
        kind = item.get("type", "message")
        if kind == "reasoning":
            continue  # a reasoning item handed back: nothing the sim reads
        if kind != "message":
            raise WireError(f"input: item type {kind!r}: the simulated model reads only messages")
        messages.append({"role": item.get("role"), "content": _content(item.get("content"))})
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages, "stream": bool(body.get("stream"))}
    if "max_output_tokens" in body:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort"):
        chat["reasoning_effort"] = reasoning["effort"]
    for key in ("thinking", "seed"):
        if key in body:
            chat[key] = body[key]
    return chat


# -- the reply -------------------------------------------------------------------------------------

Piece = tuple[str, int]
"""A piece of text to stream, and the tokens it stands for (for pacing)."""


@dataclass(frozen=True, slots=True)
class _Item:
    """One output item: a reasoning item (its summary parts) or a message (its content parts)."""

    kind: Literal["reasoning", "message"]
    ident: str
    parts: list[list[Piece]]


def _spread(pieces: list[str], total: int) -> list[Piece]:
    """A known token total spread over the pieces, a few per piece."""
    return list(zip(pieces, tokens_of(pieces, total)))


def _items(asked: Asked, answered: Answered) -> list[_Item]:
    """The output items, in order: the reasoning (when asked for), then the answer's messages."""
    items: list[_Item] = []
    if asked.thinking_budget:
        items.append(_Item("reasoning", f"rs_sim_{uuid.uuid4().hex[:24]}", [_spread(answered.thinking, answered.thinking_tokens)]))
    answer = _spread(answered.answer, answered.output_tokens - answered.thinking_tokens)
    if not answer and asked.thinking_budget:
        return items  # the thinking took the whole budget: no message was begun
    n = len(answer)
    if answered.output_tokens - answered.thinking_tokens > SPLIT_ABOVE and n >= 3:
        a, b = n // 3, 2 * n // 3
        items.append(_Item("message", f"msg_sim_{uuid.uuid4().hex[:24]}", [answer[:a]]))
        items.append(_Item("message", f"msg_sim_{uuid.uuid4().hex[:24]}", [answer[a:b], answer[b:]]))
    else:
        items.append(_Item("message", f"msg_sim_{uuid.uuid4().hex[:24]}", [answer]))
    return items


def _text(part: list[Piece]) -> str:
    return "".join(p for p, _ in part)


def _part(item: _Item, part: list[Piece]) -> dict[str, Any]:
    if item.kind == "reasoning":
        return {"type": "summary_text", "text": _text(part)}
    return {"type": "output_text", "text": _text(part), "annotations": [], "logprobs": []}


def _item(item: _Item, status: str, done: bool = True) -> dict[str, Any]:
    """An item as `output` lists it (done) or as `response.output_item.added` opens it (empty)."""
    parts = [_part(item, p) for p in item.parts] if done else []
    if item.kind == "reasoning":
        return {"id": item.ident, "type": "reasoning", "summary": parts}
    return {"id": item.ident, "type": "message", "status": status, "role": "assistant", "content": parts}


def _usage(answered: Answered) -> dict[str, Any]:
    return {
        "input_tokens": answered.input_tokens,
        # OpenAI's automatic cache, as on the Chat wire; the Responses API reports no cache writes.
        "input_tokens_details": {"cached_tokens": answered.cached_input_tokens},
        "output_tokens": answered.output_tokens,
        "output_tokens_details": {"reasoning_tokens": answered.thinking_tokens},
        "total_tokens": answered.input_tokens + answered.output_tokens,
    }


class _Response:
    """The response object, as the stream's envelope events and the whole reply carry it."""

    def __init__(self, asked: Asked, answered: Answered) -> None:
        self.asked, self.answered = asked, answered
        self.ident = f"{RESPONSE_ID_PREFIX}{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.items = _items(asked, answered)

    @property
    def status(self) -> str:
        return "incomplete" if self.answered.truncated else "completed"

    def object(self, finished: bool) -> dict[str, Any]:
        status = self.status if finished else "in_progress"
        last = len(self.items) - 1
        output = [_item(it, "incomplete" if status == "incomplete" and i == last else "completed") for i, it in enumerate(self.items)]
        return {
            "id": self.ident,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": self.asked.system,
            "max_output_tokens": self.asked.max_tokens,
            "model": self.asked.model,
            "output": output if finished else [],
            "parallel_tool_calls": False,
            "reasoning": {"effort": None, "summary": "auto"} if self.asked.thinking_budget else None,
            "store": False,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "usage": _usage(self.answered) if finished else None,
        }


def whole(asked: Asked, answered: Answered) -> dict[str, Any]:
    """The non-streamed reply: one Response object."""
    return _Response(asked, answered).object(finished=True)


def events(asked: Asked, answered: Answered) -> Iterator[tuple[bytes, int]]:
    """The streamed reply, as server-sent events with the tokens each stands for: created,
    in_progress, each item added / its parts / done, then completed or incomplete."""
    response = _Response(asked, answered)
    number = 0

    def event(kind: str, tokens: int = 0, /, **fields: Any) -> tuple[bytes, int]:
        nonlocal number
        payload = {"type": kind, "sequence_number": number, **fields}
        number += 1
        return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode(), tokens

    yield event("response.created", response=response.object(finished=False))
    yield event("response.in_progress", response=response.object(finished=False))
    for index, item in enumerate(response.items):
        at: dict[str, Any] = {"item_id": item.ident, "output_index": index}
        yield event("response.output_item.added", output_index=index, item=_item(item, "in_progress", done=False))
        for n, part in enumerate(item.parts):
            empty = _part(item, [])
            if item.kind == "reasoning":
                yield event("response.reasoning_summary_part.added", **at, summary_index=n, part=empty)
                for piece, tokens in part:
                    yield event("response.reasoning_summary_text.delta", tokens, **at, summary_index=n, delta=piece)
                yield event("response.reasoning_summary_text.done", **at, summary_index=n, text=_text(part))
                yield event("response.reasoning_summary_part.done", **at, summary_index=n, part=_part(item, part))
            else:
                yield event("response.content_part.added", **at, content_index=n, part=empty)
                for piece, tokens in part:
                    yield event("response.output_text.delta", tokens, **at, content_index=n, delta=piece, logprobs=[])
                yield event("response.output_text.done", **at, content_index=n, text=_text(part), logprobs=[])
                yield event("response.content_part.done", **at, content_index=n, part=_part(item, part))
        truncated = response.status == "incomplete" and index == len(response.items) - 1
        yield event("response.output_item.done", output_index=index, item=_item(item, "incomplete" if truncated else "completed"))
    yield event(f"response.{response.status}", response=response.object(finished=True))
