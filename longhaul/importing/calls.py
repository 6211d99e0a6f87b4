"""Provider calls as replication repositories save them: one file per call, optionally gzipped,
`{"request": {"headers", "body"}, "response": {"headers", "body"}}` with each provider's own JSON.

The format is told by the caller, or (`raw`) by the shape of the response body. The model, the
request's settings and the stop reason are read from the bodies, never from the file's name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal

from longhaul.errors import BadInput
from longhaul.importing import anthropic_calls, gemini_calls, openai_calls
from longhaul.importing.answer import ImportedAnswer, Reading
from longhaul.importing.fields import Body
from longhaul.importing.files import read_json, source_files

CallFormat = Literal["openai-chat", "openai-responses", "anthropic", "gemini", "openai-compatible"]

Parser = Callable[[Body, Body, str], ImportedAnswer]
"""(request body, response body, service) to the answer; `where` is the bodies'."""

PARSERS: dict[CallFormat, Parser] = {
    "openai-chat": openai_calls.chat,
    "openai-responses": openai_calls.responses,
    "anthropic": anthropic_calls.messages,
    "gemini": gemini_calls.generate_content,
    "openai-compatible": openai_calls.compatible,
}


def read_calls(source: Path, fmt: CallFormat | Literal["raw"]) -> Reading:
    """Every call file in `source` (a file, or a folder of `.json` / `.json.gz` files)."""
    for path in source_files(source, (".json",)):
        try:
            yield _call(path, fmt)
        except BadInput as exc:
            yield exc


def _call(path: Path, fmt: CallFormat | Literal["raw"]) -> ImportedAnswer:
    where = str(path)
    call = Body(read_json(path), where, "the call")
    request, response = call.at("request"), call.at("response")
    req_body, resp_body = request.at("body"), response.at("body")
    chosen = detect(resp_body) if fmt == "raw" else fmt
    answer = PARSERS[chosen](req_body, resp_body, _service(request))
    return answer.model_copy(update={"at": _date(response)})


def detect(body: Body) -> CallFormat:
    """The format a response body is in, by its shape."""
    obj = body.obj
    if obj.get("object") == "response" or isinstance(obj.get("output"), list):
        return "openai-responses"
    if obj.get("type") == "message" and isinstance(obj.get("content"), list):
        return "anthropic"
    if "candidates" in obj or "usageMetadata" in obj or "promptFeedback" in obj:
        return "gemini"
    if isinstance(obj.get("choices"), list):
        message = next((c.get("message") for c in obj["choices"] if isinstance(c, dict)), None) or {}
        content = message.get("content") if isinstance(message, dict) else None
        reasons = isinstance(message, dict) and (message.get("reasoning_content") is not None or message.get("reasoning") is not None)
        inline = isinstance(content, str) and content.lstrip().startswith("<think>")
        return "openai-compatible" if reasons or inline or str(obj.get("model", "")).startswith(_NOT_OPENAI) else "openai-chat"
    raise BadInput(
        f"{body.where}: {body.path} is none of the known response shapes (OpenAI Chat Completions or Responses, "
        "Anthropic Messages, Gemini generateContent); name the format instead of raw"
    )


_NOT_OPENAI = ("deepseek", "sonar", "llama", "qwen", "mistral", "gemma")
"""Model names served over the Chat Completions shape by others than OpenAI: `raw` addresses them
as `openai-api/<service>/...`, not `openai/...`. Name the format to choose it yourself."""


def _service(request: Body) -> str:
    """The service an OpenAI-compatible call went to, from the request's `Host` header (the
    label before the top-level domain: `api.deepseek.com` is `deepseek`), else `compatible`."""
    headers = request.maybe("headers")
    host = next((v for k, v in (headers.obj.items() if headers else ()) if k.lower() == "host" and isinstance(v, str)), "")
    labels = host.split(":")[0].split(".")
    return labels[-2] if len(labels) >= 2 else "compatible"


def _date(response: Body) -> datetime | None:
    headers = response.maybe("headers")
    value = next((v for k, v in (headers.obj.items() if headers else ()) if k.lower() == "date" and isinstance(v, str)), None)
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None  # a malformed Date header costs only the time stamp, never the answer
