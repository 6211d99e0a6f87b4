"""A tiny OpenAI-compatible server that streams one fixed answer, for whole-process benchmarks.

Every `POST /v1/chat/completions` with `stream=true` gets the integers 1..END (default 1000), one
a line, which is the complete answer to longhaul's `count` task at `end=END`, split into CHUNKS
(default 100) `chat.completion.chunk` events; then a chunk with `finish_reason: "stop"`, a usage
chunk when `stream_options.include_usage` is set, and `data: [DONE]`. `GET /v1/models` lists the
one model, `count`. Whatever the request asks, the answer is the same: the server reads no prompt,
so its own cost is small and equal for every client it is compared under.

It runs in its own process (`python benchmarks/fixed_stream_server.py --port 0`), so that none of
its work is charged to the clients being timed, and prints one line, `listening on URL`, where URL
is the base URL to give an OpenAI client. It stops on SIGTERM or SIGINT.

Its replies are not the simulated model's: they carry no `longhaul-sim` fingerprint, so longhaul
treats them as a real OpenAI-compatible server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

from aiohttp import web

MODEL = "count"


def answer_text(end: int) -> str:
    """The answer longhaul's `count` verifier calls complete for `end`: "1\\n2\\n...\\nend\\n"."""
    return "".join(f"{n}\n" for n in range(1, end + 1))


def answer_events(end: int, chunks: int, model: str, usage: bool) -> list[bytes]:
    """The whole SSE reply, as the byte strings written one by one (one event each).

    Built once per (model, usage) and reused: the server's cost per request is then the writes
    alone, which keeps it from competing with the clients for the machine's two cores.
    """
    lines = answer_text(end).splitlines(keepends=True)
    per = -(-len(lines) // chunks)  # ceiling: CHUNKS events, the last maybe shorter
    created = int(time.time())
    head = {"id": "chatcmpl-fixed", "object": "chat.completion.chunk", "created": created, "model": model}

    def event(choices: list[dict], **extra: object) -> bytes:
        return b"data: " + json.dumps({**head, "choices": choices, **extra}, separators=(",", ":")).encode() + b"\n\n"

    out = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    for i in range(0, len(lines), per):
        out.append(event([{"index": 0, "delta": {"content": "".join(lines[i : i + per])}, "finish_reason": None}]))
    out.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if usage:
        # About two tokens a line (the number, the newline); no client here checks it against the text.
        completion = 2 * len(lines)
        out.append(event([], usage={"prompt_tokens": 20, "completion_tokens": completion, "total_tokens": 20 + completion}))
    out.append(b"data: [DONE]\n\n")
    return out


def make_app(end: int, chunks: int) -> web.Application:
    cache: dict[tuple[str, bool], list[bytes]] = {}

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not body.get("stream"):
            return web.json_response(
                {"error": {"message": "this server only streams (stream=true)", "type": "invalid_request_error"}}, status=400
            )
        model = str(body.get("model") or MODEL)
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = cache.get((model, usage))
        if events is None:
            events = cache[(model, usage)] = answer_events(end, chunks, model, usage)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for data in events:
            await response.write(data)  # one event a write: the client sees CHUNKS separate deltas
        await response.write_eof()
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "benchmark"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    return app


async def serve(host: str, port: int, end: int, chunks: int) -> None:
    runner = web.AppRunner(make_app(end, chunks), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening on http://{host}:{bound}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    parser.add_argument("--end", type=int, default=1000, help="the last integer of the answer (default 1000)")
    parser.add_argument("--chunks", type=int, default=100, help="events the answer is split into (default 100)")
    args = parser.parse_args()
    if args.end < 1 or args.chunks < 1:
        sys.exit("--end and --chunks must be at least 1")
    asyncio.run(serve(args.host, args.port, args.end, args.chunks))


if __name__ == "__main__":
    main()
