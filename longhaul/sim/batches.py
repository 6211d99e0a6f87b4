"""The simulated model's batch endpoints: OpenAI's Batch API (files, batches, file content) and
Anthropic's Message Batches (create, retrieve, results as JSONL), so `run --batch` is tested
offline through the real SDKs.

Each request of a batch is answered by the same path as a non-streamed request (the server's
`SimServer.reply`: `_parse`, the profile's fault draw, `_answer`, `_whole`), in the background, one at a time: a batch moves from
`validating`/`in_progress` to `completed` (Anthropic: `in_progress` to `ended`). A fault the
profile draws as a status is that request's error result, never the batch's.

An OpenAI batch's `endpoint` is `/v1/chat/completions` or `/v1/responses` (any other: a 400 at
create, as OpenAI refuses an endpoint it does not batch), and each line is answered on the wire its
`url` names. A line whose `url` is not the batch's endpoint (mixed, or unknown) fails the batch in
validation, as OpenAI's does: the batch is `failed`, none of its requests run, and `errors` names
each such line (`invalid_url`, its line number, `param: url`), as OpenAI's batch validation reports
it and OpenAI-compatible servers (llama-stack's reference batches) copy it; so does a line for a
profile with `batch=fail` (a batch that fails as a whole, for tests). State (files,
batches) is per server and in memory: a new server knows none of an old one's batches.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from longhaul.errors import BadInput
from longhaul.sim.profiles import parse_profile

if TYPE_CHECKING:
    from longhaul.sim.server import Wire

Reply = Callable[[bytes, "Wire"], tuple[int, dict[str, Any]]]
"""The server's answer to one non-streamed request body: (HTTP status, JSON body), an error's included."""


_ENDPOINTS: dict[Any, Wire] = {"/v1/chat/completions": "openai", "/v1/responses": "responses"}
"""The OpenAI batch endpoints the sim serves, and the wire each line of one is answered on."""

_MISMATCH = "The URL provided for this request ({url!r}) does not match the batch endpoint ({endpoint})."


def _fails_batches(model: str) -> bool:
    """The line's model is a profile with `batch=fail` (an unknown one is answered per request, as ever)."""
    try:
        return parse_profile(model).batch == "fail"
    except BadInput:
        return False


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error_response(exc: _ApiError, wire: Wire) -> web.Response:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(exc.status, "api_error")
    if wire == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": str(exc)}}
    else:
        body = {"error": {"message": str(exc), "type": kind, "param": None, "code": kind}}
    return web.json_response(body, status=exc.status)


@dataclass(slots=True)
class _Batch:
    """One batch, either wire's."""

    id: str
    wire: Wire
    requests: list[tuple[str, bytes, Wire]]
    """(custom_id, request body, the wire it is answered on) in the order submitted."""
    endpoint: str = ""
    """An OpenAI batch's endpoint (`/v1/chat/completions`, `/v1/responses`)."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """Why validation failed the batch (OpenAI's `errors.data`): none of its requests run."""
    input_file_id: str = ""
    status: str = "validating"
    created_at: int = field(default_factory=lambda: int(time.time()))
    ended_at: int | None = None
    results: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    """(custom_id, HTTP status, body) of each request answered so far."""
    cancelling: bool = False
    output_file_id: str | None = None
    error_file_id: str | None = None


class SimBatches:
    """The batch routes of one sim server, and the files and batches they were given."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._files: dict[str, tuple[str, bytes]] = {}
        self._batches: dict[str, _Batch] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        self.created = 0
        """Batches created, both wires: what a test counts to see that a resume did not submit again."""

    def input_lines(self, batch_id: str) -> list[dict[str, Any]]:
        """The lines of an OpenAI batch's input file, as the sim received them (for a test to read)."""
        data = self._files[self._batches[batch_id].input_file_id][1]
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/files", self._upload),
            web.get("/v1/files/{id}/content", self._file_content),
            web.post("/v1/batches", self._openai_create),
            web.get("/v1/batches/{id}", self._openai_retrieve),
            web.post("/v1/batches/{id}/cancel", self._openai_cancel),
            web.post("/v1/messages/batches", self._anthropic_create),
            web.get("/v1/messages/batches/{id}", self._anthropic_retrieve),
            web.get("/v1/messages/batches/{id}/results", self._anthropic_results),
            web.post("/v1/messages/batches/{id}/cancel", self._anthropic_cancel),
        ]

    async def aclose(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)

    # -- processing --------------------------------------------------------------------------------

    def _start(self, batch: _Batch) -> None:
        self.created += 1
        self._batches[batch.id] = batch
        job = asyncio.create_task(self._process(batch))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _process(self, batch: _Batch) -> None:
        await asyncio.sleep(0)  # the create call answers first: a client's first poll sees the batch still running
        if batch.errors:
            batch.status, batch.ended_at = "failed", int(time.time())
            return
        batch.status = "in_progress"
        for custom_id, raw, wire in batch.requests:
            if batch.cancelling:
                break
            await asyncio.sleep(0)  # one request at a time, polls answered in between
            status, body = self._reply(raw, wire)
            batch.results.append((custom_id, status, body))
        batch.ended_at = int(time.time())
        if batch.wire == "openai":
            self._write_files(batch)
            batch.status = "cancelled" if batch.cancelling else "completed"
        else:
            batch.status = "ended"

    def _write_files(self, batch: _Batch) -> None:
        out: list[str] = []
        err: list[str] = []
        for custom_id, status, body in batch.results:
            line = {
                "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                "custom_id": custom_id,
                "response": {"status_code": status, "request_id": uuid.uuid4().hex, "body": body},
                "error": None,
            }
            (out if status == 200 else err).append(json.dumps(line) + "\n")
        if out:
            batch.output_file_id = self._keep("batch_output.jsonl", "".join(out).encode())
        if err:
            batch.error_file_id = self._keep("batch_errors.jsonl", "".join(err).encode())

    def _keep(self, name: str, data: bytes) -> str:
        file_id = f"file-sim{uuid.uuid4().hex[:20]}"
        self._files[file_id] = (name, data)
        return file_id

    def _find(self, request: web.Request, wire: Wire) -> _Batch:
        batch = self._batches.get(request.match_info["id"])
        if batch is None or batch.wire != wire:
            raise _ApiError(404, f"no batch {request.match_info['id']!r} (the sim keeps batches in memory, per server)")
        return batch

    def _cancel(self, request: web.Request, wire: Wire) -> _Batch:
        """Ask a batch to stop: its requests not yet answered end cancelled (OpenAI's `cancelling`,
        Anthropic's `canceling`, until it has)."""
        batch = self._find(request, wire)
        if batch.ended_at is None:
            batch.cancelling, batch.status = True, "cancelling"
        return batch

    # -- OpenAI ------------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload, purpose = form.get("file"), form.get("purpose")
        if purpose != "batch" or not isinstance(upload, web.FileField):
            return _error_response(_ApiError(400, "the sim takes files with purpose=batch only"), "openai")
        data = upload.file.read()
        file_id = self._keep(upload.filename or "batch.jsonl", data)
        return web.json_response(self._file_object(file_id))

    def _file_object(self, file_id: str) -> dict[str, Any]:
        name, data = self._files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": "batch",
            "status": "processed",
        }

    async def _file_content(self, request: web.Request) -> web.Response:
        found = self._files.get(request.match_info["id"])
        if found is None:
            return _error_response(_ApiError(404, f"no file {request.match_info['id']!r}"), "openai")
        return web.Response(body=found[1], content_type="application/octet-stream")

    async def _openai_create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            found = self._files.get(body.get("input_file_id", ""))
            if found is None:
                raise _ApiError(400, "input_file_id: no such file")
            endpoint = body.get("endpoint")
            if endpoint not in _ENDPOINTS:
                raise _ApiError(400, f"endpoint: {endpoint!r}: the sim batches {' and '.join(_ENDPOINTS)} only")
            lines = [json.loads(line) for line in found[1].splitlines() if line.strip()]
            requests = [
                (str(line["custom_id"]), json.dumps(line["body"]).encode(), _ENDPOINTS.get(line.get("url"), "openai")) for line in lines
            ]
            errors = [
                {"code": "invalid_url", "line": n, "param": "url", "message": _MISMATCH.format(url=line.get("url"), endpoint=endpoint)}
                for n, line in enumerate(lines, 1)
                if line.get("url") != endpoint
            ]
            errors += [
                {
                    "code": "batch_failed",
                    "line": n,
                    "param": "body.model",
                    "message": f"the batch failed (simulated: {model} has batch=fail)",
                }
                for n, model in enumerate((str((line.get("body") or {}).get("model")) for line in lines), 1)
                if _fails_batches(model)
            ]
        except _ApiError as exc:
            return _error_response(exc, "openai")
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error_response(_ApiError(400, "the input file is not JSONL batch requests"), "openai")
        batch = _Batch(
            id=f"batch_sim{uuid.uuid4().hex[:20]}",
            wire="openai",
            requests=requests,
            input_file_id=body["input_file_id"],
            endpoint=endpoint,
            errors=errors,
        )
        self._start(batch)
        return web.json_response(self._openai_object(batch))

    def _openai_object(self, batch: _Batch) -> dict[str, Any]:
        failed = sum(1 for _, status, _ in batch.results if status != 200)
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "completion_window": "24h",
            "input_file_id": batch.input_file_id,
            "status": batch.status,
            "created_at": batch.created_at,
            "completed_at": batch.ended_at if batch.status == "completed" else None,
            "failed_at": batch.ended_at if batch.status == "failed" else None,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts": {"total": len(batch.requests), "completed": len(batch.results) - failed, "failed": failed},
        }

    async def _openai_retrieve(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(self._openai_object(self._find(request, "openai")))
        except _ApiError as exc:
            return _error_response(exc, "openai")

    async def _openai_cancel(self, request: web.Request) -> web.Response:
        try:
            batch = self._cancel(request, "openai")
        except _ApiError as exc:
            return _error_response(exc, "openai")
        return web.json_response(self._openai_object(batch))

    # -- Anthropic ---------------------------------------------------------------------------------

    async def _anthropic_create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            requests: list[tuple[str, bytes, Wire]] = [
                (str(r["custom_id"]), json.dumps(r["params"]).encode(), "anthropic") for r in body["requests"]
            ]
        except (ValueError, KeyError, TypeError):
            return _error_response(_ApiError(400, "requests: a list of {custom_id, params}"), "anthropic")
        batch = _Batch(id=f"msgbatch_sim{uuid.uuid4().hex[:20]}", wire="anthropic", requests=requests, status="in_progress")
        self._start(batch)
        return web.json_response(self._anthropic_object(batch, request))

    def _anthropic_object(self, batch: _Batch, request: web.Request) -> dict[str, Any]:
        ended = batch.status == "ended"
        succeeded = sum(1 for _, status, _ in batch.results if status == 200)
        errored = len(batch.results) - succeeded
        canceled = len(batch.requests) - len(batch.results) if ended else 0
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch.created_at))
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "canceling" if batch.cancelling and not ended else batch.status,
            "request_counts": {
                "processing": 0 if ended else len(batch.requests) - len(batch.results),
                "succeeded": succeeded,
                "errored": errored,
                "canceled": canceled,
                "expired": 0,
            },
            "created_at": stamp,
            "expires_at": stamp,
            "ended_at": stamp if ended else None,
            "archived_at": None,
            "cancel_initiated_at": stamp if batch.cancelling else None,
            "results_url": f"{request.url.origin()}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    async def _anthropic_retrieve(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(self._anthropic_object(self._find(request, "anthropic"), request))
        except _ApiError as exc:
            return _error_response(exc, "anthropic")

    async def _anthropic_cancel(self, request: web.Request) -> web.Response:
        try:
            batch = self._cancel(request, "anthropic")
        except _ApiError as exc:
            return _error_response(exc, "anthropic")
        return web.json_response(self._anthropic_object(batch, request))

    async def _anthropic_results(self, request: web.Request) -> web.Response:
        try:
            batch = self._find(request, "anthropic")
            if batch.status != "ended":
                raise _ApiError(400, f"batch {batch.id} has not ended: no results yet")
        except _ApiError as exc:
            return _error_response(exc, "anthropic")
        lines = []
        answered = set()
        for custom_id, status, body in batch.results:
            answered.add(custom_id)
            result = {"type": "succeeded", "message": body} if status == 200 else {"type": "errored", "error": body}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        lines += [json.dumps({"custom_id": c, "result": {"type": "canceled"}}) for c, _, _ in batch.requests if c not in answered]
        return web.Response(body=("\n".join(lines) + "\n").encode(), content_type="application/binary")
