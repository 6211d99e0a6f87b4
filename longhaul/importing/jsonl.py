"""longhaul's own JSONL: one answer per line (`text`, `thinking`, `stop_reason`, `params`,
`model`, optional `usage`), the lines `verify --jsonl` reads, with the model that gave them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer, Reading, address
from longhaul.importing.files import read_text, source_files
from longhaul.providers.request import Usage
from longhaul.task import describe_validation_error


class AnswerRecord(BaseModel):
    """One line. Other fields are allowed and ignored (an id, an experiment's name)."""

    model_config = ConfigDict(extra="allow", strict=True)

    text: str
    """The answer."""

    thinking: str | None = None
    """The model's visible reasoning."""

    stop_reason: str | None = None
    """Why generation stopped, in longhaul's or the provider's words; absent means `end_turn`."""

    params: dict[str, Any] | None = None
    """Task parameters for this line, over those given with --param."""

    model: str | None = None
    """The model: a longhaul address, or the provider's name for it (then `provider` says whose)."""

    provider: str | None = None
    """Who served the model (`openai`, `anthropic`, or any other service's name), when `model` is
    not an address."""

    usage: Usage | None = None
    """Tokens as the provider reported them (`input_tokens`, `output_tokens`, `reasoning_tokens`)."""

    system: str | None = None
    """The system prompt sent."""

    user: str | None = None
    """The user prompt sent."""

    temperature: float | None = None
    max_tokens: int | None = None
    """The output-token limit sent."""


def read_jsonl(source: Path, default_model: str | None) -> Reading:
    """Every line of every `.jsonl` file in `source` (a file or a folder)."""
    for path in source_files(source, (".jsonl",)):
        try:
            text = read_text(path)
        except BadInput as exc:
            yield exc
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield _answer(line, f"{path}:{number}", default_model)


def _answer(line: str, where: str, default_model: str | None) -> ImportedAnswer | BadInput:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadInput(f"{where}: not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        return BadInput(f"{where}: each line must be a JSON object with a string field 'text'")
    if obj.get("usage") is None and isinstance(obj.get("output_tokens"), int):
        # Corpora often flatten the usage onto the record (`output_tokens`, `thinking_tokens`).
        reasoning = obj.get("thinking_tokens", obj.get("reasoning_tokens"))
        obj = obj | {
            "usage": {"input_tokens": obj.get("input_tokens") or 0, "output_tokens": obj["output_tokens"], "reasoning_tokens": reasoning}
        }
    try:
        r = AnswerRecord.model_validate(obj)
    except ValidationError as exc:
        return BadInput(describe_validation_error(exc, where))
    model = r.model or default_model
    if model is None:
        return BadInput(f"{where}: field 'model' is missing; give it on the line or with --model")
    return ImportedAnswer(
        where=where,
        model=address(model, r.provider),
        text=r.text,
        thinking=r.thinking or "",
        stop_reason=r.stop_reason,
        params=r.params or {},
        system=r.system or "",
        user=r.user or "",
        messages=2 if r.system else 1,
        usage=r.usage,
        temperature=r.temperature,
        max_tokens=r.max_tokens,
    )
