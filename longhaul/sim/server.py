"""The simulated model's HTTP server: OpenAI Chat Completions, OpenAI Responses (`responses_wire`),
`/v1/models` and Anthropic Messages, streamed (server-sent events, the full event sequences) and not;
both providers' batch endpoints are `sim/batches.py`'s, registered here.

Every request is read as a real model would read it (`reading.read`), answered by a profile
(`profiles`), cut to the request's `max_tokens` counted with a real tokenizer (thinking first, and
counted against the same limit, as Anthropic and OpenAI's reasoning models count it), and
streamed a few tokens per event. Its prompt caches (`prompt_cache`) report cached and written input
tokens as each provider does. Faults are drawn per request from the profile's `faults`,
deterministically: the n-th arrival of the same request body gets the same draw every run.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import json
import random
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from longhaul.errors import BadInput
from longhaul.sim import FINGERPRINT, responses_wire
from longhaul.sim.batches import SimBatches
from longhaul.sim.output_limit import too_large
from longhaul.sim.pacing import tokens_of
from longhaul.sim.profiles import PROFILES, Profile, parse_profile
from longhaul.sim.prompt_cache import PromptCache, TooManyBreakpoints, block_tokens, breakpoints
from longhaul.sim.reading import read
from longhaul.task import Task
from longhaul.tokens import encoding

Wire = Literal["openai", "anthropic", "responses"]

TOKENS_PER_EVENT = 4
"""Real APIs send one to a few tokens per event; a few keeps long answers cheap to stream."""

_EFFORT_BUDGET = {"minimal": 256, "low": 1024, "medium": 4096, "high": 16384}
"""OpenAI's `reasoning_effort` as a thinking budget (the sim needs a number)."""

_FLUSH_EVENTS = 64
"""Without a set speed, events are written in batches: the client still parses each one."""


@dataclass(slots=True)
class _Turn:
    """One request, read off either wire format."""

    profile: Profile
    model: str
    system: str | None
    turns: list[tuple[str, str]]
    max_tokens: int | None
    thinking_budget: int | None
    seed: int | None
    stream: bool
    include_usage: bool
    marked: frozenset[int] = frozenset()
    """Blocks (0 the system prompt, then each message from 1) with `cache_control`."""


@dataclass(slots=True)
class _Reply:
    """A turn answered: the pieces to stream, and the accounting."""

    thinking: list[str]
    answer: list[str]
    input_tokens: int
    thinking_tokens: int
    output_tokens: int
    truncated: bool
    cached_input_tokens: int = 0
    """Of `input_tokens`, those read from the prompt cache (`prompt_cache.py`)."""
    cache_write_tokens: int = 0
    """Of `input_tokens`, those written to it (the Anthropic wire only)."""


class _ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, dict(headers or {})


def _check_output_limit(turn: _Turn, wire: Wire) -> None:
    """A max_tokens above the profile's `max_output`: the provider refuses the request before
    answering, whatever faults it has, streamed or in a batch alike."""
    limit = turn.profile.max_output
    if limit is not None and turn.max_tokens is not None and turn.max_tokens > limit:
        raise _ApiError(400, "invalid_request_error", too_large(wire, turn.max_tokens, limit, turn.model))


class SimServer:
    """The aiohttp application and the little state it keeps: arrivals per request body, so that
    fault draws are reproducible and a retried request can draw differently from the first."""

    def __init__(self, tasks: Mapping[str, Task[Any]]) -> None:
        self._tasks = dict(tasks)
        self._arrivals: dict[str, int] = {}
        self._cache = PromptCache()
        self.requests = 0
        """Model requests received (each attempt of a retried request counts once)."""
        self.in_flight = 0
        self.most_in_flight = 0
        """The most model requests it was answering at one time."""
        self.app = web.Application(client_max_size=256 * 1024**2)
        self.app.add_routes(
            [
                web.get("/v1/models", self._models),
                web.post("/v1/chat/completions", self._chat),
                web.post("/v1/messages", self._messages),
                web.post("/v1/responses", self._responses),
            ]
        )
        self.batches = SimBatches(self.reply)
        """The batch endpoints' files and batches (`sim/batches.py`)."""
        self.app.add_routes(self.batches.routes())
        self.app.on_cleanup.append(lambda _: self.batches.aclose())

    # -- routes ------------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "longhaul-sim"} for name in PROFILES]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "openai")

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "anthropic")

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "responses")

    async def _serve(self, request: web.Request, wire: Wire) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._respond(request, wire)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request, wire: Wire) -> web.StreamResponse:
        try:
            raw = await request.read()
        except ConnectionResetError:  # the client went away (Ctrl-C) before its request arrived whole
            return web.Response(status=499, reason="Client Closed Request")
        try:
            turn, fault = self._admit(raw, wire)
            if fault == "slow":
                await asyncio.sleep(turn.profile.stall)
            reply = self._answer(turn, wire)
        except _ApiError as exc:
            return _error_response(exc, wire)
        cut = random.Random(f"cut:{hashlib.sha256(raw).hexdigest()}").random() if fault == "cut" else None
        if not turn.stream:
            if cut is not None:
                # A connection that drops before the body is complete.
                assert request.transport is not None
                request.transport.close()
            return web.json_response(_whole(turn, reply, wire))
        return await self._stream(request, turn, reply, wire, cut)

    def reply(self, raw: bytes, wire: Wire) -> tuple[int, dict[str, Any]]:
        """A request of a batch, answered as the same request sent alone and not streamed would be:
        (200, the whole response) or the error's (status, body). A fault drawn as a status is this
        request's error; `slow` and `cut` are a connection's faults, and a batch has none."""
        self.requests += 1
        try:
            turn, _ = self._admit(raw, wire)
            return 200, _whole(turn, self._answer(turn, wire), wire)
        except _ApiError as exc:
            return exc.status, json.loads(_error_response(exc, wire).text or "{}")

    def _admit(self, raw: bytes, wire: Wire) -> tuple[_Turn, str | None]:
        """A request read, checked against the model's output limit, and its fault drawn: a status
        fault raised as the provider's error, any other (`slow`, `cut`) returned for the connection."""
        turn = _parse(raw, wire)
        _check_output_limit(turn, wire)
        fault = self._draw_fault(turn.profile, raw)
        if fault is not None and fault.isdigit():
            raise _fault_error(int(fault), turn.profile, wire)
        return turn, fault

    # -- faults ------------------------------------------------------------------------------------

    def _draw_fault(self, profile: Profile, raw: bytes) -> str | None:
        if not profile.faults:
            return None
        key = hashlib.sha256(raw).hexdigest()
        n = self._arrivals.get(key, 0)
        self._arrivals[key] = n + 1
        roll = random.Random(f"{profile.seed}:{key}:{n}").random()
        for kind, chance in profile.faults.items():
            if roll < chance:
                return kind
            roll -= chance
        return None

    # -- the answer --------------------------------------------------------------------------------

    def _answer(self, turn: _Turn, wire: Wire) -> _Reply:
        situation = read(turn.system, turn.turns, self._tasks)
        where = f"{situation.task.name if situation.task else '-'}:{situation.params!r}:{situation.start}:{situation.turn}"
        script = turn.profile.write(situation, random.Random(f"{turn.profile.seed}:{turn.seed}:{where}"))
        enc = encoding("o200k_base")
        limit = min(x for x in (turn.max_tokens, script.cap, 1 << 40) if x is not None)
        thinking: list[int] = []
        if turn.thinking_budget:
            thinking = enc.encode(script.thought(), disallowed_special=())[: min(turn.thinking_budget, limit)]
        answer = enc.encode(script.answer, disallowed_special=())
        room = limit - len(thinking)
        truncated = len(answer) > room or (turn.thinking_budget is not None and len(thinking) == limit)
        answer = answer[: max(0, room)]
        blocks = block_tokens(enc, turn.system, turn.turns)
        cache = self._cache.use("anthropic" if wire == "anthropic" else "openai", turn.model, blocks, turn.marked, turn.profile.cache_min)
        return _Reply(
            thinking=_pieces(enc, thinking),
            answer=_pieces(enc, answer),
            input_tokens=cache.input_tokens,
            cached_input_tokens=cache.read,
            cache_write_tokens=cache.written,
            thinking_tokens=len(thinking),
            output_tokens=len(thinking) + len(answer),
            truncated=truncated,
        )

    # -- streaming ---------------------------------------------------------------------------------

    async def _stream(self, request: web.Request, turn: _Turn, reply: _Reply, wire: Wire, cut: float | None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        try:
            await self._send(resp, turn, reply, wire, cut)
        except ConnectionResetError:
            pass  # the client went away (it stopped early, or was interrupted): nothing to answer
        return resp

    async def _send(self, resp: web.StreamResponse, turn: _Turn, reply: _Reply, wire: Wire, cut: float | None) -> None:
        events = {"openai": _openai_events, "anthropic": _anthropic_events, "responses": responses_wire.events}[wire](turn, reply)
        total = len(reply.thinking) + len(reply.answer) + 8
        stop_at = int(total * cut) if cut is not None else None
        speed = turn.profile.speed
        started = time.monotonic()
        sent_tokens = 0
        batch: list[bytes] = []
        for i, (event, tokens) in enumerate(events):
            if stop_at is not None and i >= stop_at:
                break  # the stream ends here, before its final event
            batch.append(event)
            sent_tokens += tokens
            if speed is not None:
                await resp.write(b"".join(batch))
                batch.clear()
                # Pace against the clock, not per event, so slow event loops do not slow the sim further.
                ahead = started + sent_tokens / speed - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            elif len(batch) >= _FLUSH_EVENTS:
                await resp.write(b"".join(batch))
                batch.clear()
        if batch:
            await resp.write(b"".join(batch))
        await resp.write_eof()


def _pieces(enc: Any, tokens: list[int]) -> list[str]:
    """Text a few tokens at a time; the incremental decoder keeps multi-byte characters whole."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out = []
    for i in range(0, len(tokens), TOKENS_PER_EVENT):
        piece = decoder.decode(enc.decode_bytes(tokens[i : i + TOKENS_PER_EVENT]))
        if piece:
            out.append(piece)
    if tail := decoder.decode(b"", final=True):
        out.append(tail)
    return out


# -- OpenAI wire -----------------------------------------------------------------------------------


def _sse_data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _openai_stop(reply: _Reply) -> str:
    return "length" if reply.truncated else "stop"


def _openai_usage(reply: _Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "completion_tokens_details": {"reasoning_tokens": reply.thinking_tokens},
        "prompt_tokens_details": {"cached_tokens": reply.cached_input_tokens},
    }


def _openai_events(turn: _Turn, reply: _Reply) -> Iterator[tuple[bytes, int]]:
    ident = f"chatcmpl-sim-{uuid.uuid4().hex[:16]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse_data(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": turn.model,
                "system_fingerprint": FINGERPRINT,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""}), 0
    for piece, n in zip(reply.thinking, tokens_of(reply.thinking, reply.thinking_tokens)):
        yield chunk({"reasoning_content": piece}), n
    for piece, n in zip(reply.answer, tokens_of(reply.answer, reply.output_tokens - reply.thinking_tokens)):
        yield chunk({"content": piece}), n
    yield chunk({}, _openai_stop(reply)), 0
    if turn.include_usage:
        yield (
            _sse_data(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": turn.model,
                    "choices": [],
                    "usage": _openai_usage(reply),
                }
            ),
            0,
        )
    yield b"data: [DONE]\n\n", 0


# -- Anthropic wire --------------------------------------------------------------------------------


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return f"event: {event}\n".encode() + _sse_data(payload)


def _anthropic_stop(reply: _Reply) -> str:
    return "max_tokens" if reply.truncated else "end_turn"


def _anthropic_input(reply: _Reply) -> dict[str, int]:
    """Anthropic's input usage: `input_tokens` is the part neither read from the cache nor written to it."""
    return {
        "input_tokens": reply.input_tokens - reply.cached_input_tokens - reply.cache_write_tokens,
        "cache_creation_input_tokens": reply.cache_write_tokens,
        "cache_read_input_tokens": reply.cached_input_tokens,
    }


def _signature(text: str) -> str:
    return hashlib.sha256(("sim:" + text).encode()).hexdigest()


def _anthropic_events(turn: _Turn, reply: _Reply) -> Iterator[tuple[bytes, int]]:
    message: dict[str, Any] = {
        "id": f"msg_sim_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_anthropic_input(reply), "output_tokens": 1},
    }
    yield _sse("message_start", {"type": "message_start", "message": message}), 0
    index = 0
    if turn.thinking_budget:
        yield (
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            ),
            0,
        )
        yield _sse("ping", {"type": "ping"}), 0
        for piece, n in zip(reply.thinking, tokens_of(reply.thinking, reply.thinking_tokens)):
            yield (
                _sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": piece}},
                ),
                n,
            )
        yield (
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": _signature("".join(reply.thinking))},
                },
            ),
            0,
        )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0}), 0
        index = 1
    if reply.answer or not turn.thinking_budget:
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}), 0
        for piece, n in zip(reply.answer, tokens_of(reply.answer, reply.output_tokens - reply.thinking_tokens)):
            yield (
                _sse(
                    "content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                ),
                n,
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index}), 0
    yield (
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _anthropic_stop(reply), "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
        ),
        0,
    )
    yield _sse("message_stop", {"type": "message_stop"}), 0


# -- whole (non-streamed) responses ----------------------------------------------------------------


def _whole(turn: _Turn, reply: _Reply, wire: Wire) -> dict[str, Any]:
    if wire == "responses":
        return responses_wire.whole(turn, reply)
    thinking, answer = "".join(reply.thinking), "".join(reply.answer)
    if wire == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": answer}
        if turn.thinking_budget:
            message["reasoning_content"] = thinking
        return {
            "id": f"chatcmpl-sim-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": turn.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "message": message, "finish_reason": _openai_stop(reply)}],
            "usage": _openai_usage(reply),
        }
    content: list[dict[str, Any]] = []
    if turn.thinking_budget:
        content.append({"type": "thinking", "thinking": thinking, "signature": _signature(thinking)})
    if answer or not turn.thinking_budget:
        content.append({"type": "text", "text": answer})
    return {
        "id": f"msg_sim_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": content,
        "stop_reason": _anthropic_stop(reply),
        "stop_sequence": None,
        "usage": {**_anthropic_input(reply), "output_tokens": reply.output_tokens},
    }


# -- reading requests ------------------------------------------------------------------------------


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
    return ""


def _parse(raw: bytes, wire: Wire) -> _Turn:
    try:
        body = json.loads(raw)
        assert isinstance(body, dict)
    except (ValueError, AssertionError):
        raise _ApiError(400, "invalid_request_error", "the request body is not a JSON object") from None
    if wire == "responses":
        try:
            body = responses_wire.as_chat(body)
        except responses_wire.WireError as exc:
            raise _ApiError(400, "invalid_request_error", str(exc)) from None
        wire = "openai"  # read from here on as the Chat Completions body it now is
    model = body.get("model")
    if not isinstance(model, str):
        raise _ApiError(400, "invalid_request_error", "model: required, a profile name such as `lazy?k=20`")
    try:
        profile = parse_profile(model)
    except BadInput as exc:
        raise _ApiError(404, "not_found_error" if wire == "anthropic" else "model_not_found", str(exc)) from None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _ApiError(400, "invalid_request_error", "messages: required, a non-empty list")
    system = _text(body.get("system")) or None if wire == "anthropic" else None
    turns: list[tuple[str, str]] = []
    for m in messages:
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer") and wire == "openai":
            system = ((system + "\n\n") if system else "") + _text(m.get("content"))
        elif role in ("user", "assistant"):
            turns.append((role, _text(m.get("content"))))
        else:
            raise _ApiError(400, "invalid_request_error", f"messages: unknown role {role!r}")
    if turns[-1][0] != "user":
        raise _ApiError(400, "invalid_request_error", "messages: the last message must be the user's")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens")) if wire == "openai" else body.get("max_tokens")
    if wire == "anthropic" and not isinstance(max_tokens, int):
        raise _ApiError(400, "invalid_request_error", "max_tokens: Field required")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise _ApiError(400, "invalid_request_error", "max_tokens: must be a positive integer")
    budget = None
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1:
            raise _ApiError(400, "invalid_request_error", "thinking.budget_tokens: must be a positive integer")
        if wire == "anthropic":
            assert max_tokens is not None  # the anthropic wire requires it: checked above
            if not 1024 <= budget < max_tokens:
                raise _ApiError(400, "invalid_request_error", "thinking.budget_tokens: must be at least 1024 and less than max_tokens")
    elif wire == "openai" and body.get("reasoning_effort") in _EFFORT_BUDGET:
        budget = _EFFORT_BUDGET[body["reasoning_effort"]]
    seed = body.get("seed")
    try:
        marked = breakpoints(body) if wire == "anthropic" else frozenset[int]()
    except TooManyBreakpoints as exc:
        raise _ApiError(400, "invalid_request_error", str(exc)) from None
    return _Turn(
        profile=profile,
        model=model,
        system=system,
        turns=turns,
        max_tokens=max_tokens,
        thinking_budget=budget,
        seed=seed if isinstance(seed, int) else None,
        stream=bool(body.get("stream")),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        marked=marked,
    )


# -- errors ----------------------------------------------------------------------------------------

_FAULT_KIND = {
    401: ("authentication_error", "Incorrect API key provided (simulated)."),
    403: ("permission_error", "Your API key does not have permission to use this model (simulated)."),
    404: ("not_found_error", "The model does not exist or you do not have access to it (simulated)."),
    408: ("timeout_error", "Request timed out (simulated)."),
    429: ("rate_limit_error", "Rate limit reached (simulated)."),
    500: ("api_error", "Internal server error (simulated)."),
    503: ("api_error", "Service unavailable (simulated)."),
    529: ("overloaded_error", "Overloaded (simulated)."),
}


_OPENAI_FAULT_CODE = {
    401: "invalid_api_key",
    403: "insufficient_permissions",
    404: "model_not_found",
    408: "timeout",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
    529: "server_is_overloaded",
}
"""The same faults in OpenAI's words (its error `code`), for both OpenAI wires."""


def _fault_error(status: int, profile: Profile, wire: Wire) -> _ApiError:
    kind, message = _FAULT_KIND[status]
    if wire != "anthropic":
        kind = _OPENAI_FAULT_CODE[status]
    headers = {"Retry-After": f"{profile.retry_after:g}"} if status in (429, 503, 529) else {}
    return _ApiError(status, kind, message, headers)


def _error_response(exc: _ApiError, wire: Wire) -> web.Response:
    if wire == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": exc.kind, "message": str(exc)}}
    else:
        body = {"error": {"message": str(exc), "type": exc.kind, "param": None, "code": exc.kind}}
    return web.json_response(body, status=exc.status, headers=exc.headers)


# -- running it ------------------------------------------------------------------------------------


class RunningSim:
    """A sim server listening on a socket; `url` is its OpenAI-style base URL (ending in /v1)."""

    def __init__(self, runner: web.AppRunner, server: SimServer, host: str, port: int) -> None:
        self._runner = runner
        self.server = server
        self.host, self.port = host, port

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    async def aclose(self) -> None:
        await self._runner.cleanup()


async def start(tasks: Mapping[str, Task[Any]], host: str = "127.0.0.1", port: int = 0) -> RunningSim:
    """Serve the sim on `host:port` (port 0: a free one) in the running event loop."""
    if not 0 <= port <= 65535:
        raise BadInput(f"--port {port}: a port must be 0-65535 (0 picks a free one)")
    server = SimServer(tasks)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        raise BadInput(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror}") from None
    site = web.SockSite(runner, sock)
    await site.start()
    return RunningSim(runner, server, host, sock.getsockname()[1])
