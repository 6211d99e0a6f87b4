"""inspect_ai `.eval` logs, read with inspect_ai's own log reader (the optional extra
`longhaul[inspect]`): each sample's output is one answer, under the log's model."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer, Reading, address
from longhaul.importing.files import source_files
from longhaul.providers.request import Usage

STOP_WORDS = {"model_length": "max_tokens", "unknown": "other"}
"""inspect_ai's stop reasons that longhaul's table does not hold (the rest it does: `stop`,
`max_tokens`, `content_filter`, `tool_calls`)."""


def read_eval_logs(source: Path) -> Reading:
    try:
        log_module = importlib.import_module("inspect_ai.log")
    except ImportError:
        raise BadInput("import inspect: inspect_ai is not installed; install it with `pip install 'longhaul[inspect]'`") from None
    for path in source_files(source, (".eval",)):
        try:
            log = log_module.read_eval_log(str(path))
        except Exception as exc:  # inspect_ai raises many kinds on a bad log; each is one bad file
            yield BadInput(f"{path}: not a readable inspect_ai log ({type(exc).__name__}: {exc})")
            continue
        yield from answers_of(log, str(path))


def answers_of(log: Any, where: str) -> Reading:
    """The answers of one `EvalLog` (read duck-typed, so that the mapping is testable without
    inspect_ai)."""
    config = getattr(log.eval, "model_generate_config", None)
    model = address(log.eval.model, None)
    for i, sample in enumerate(log.samples or []):
        at = f"{where}: sample {getattr(sample, 'id', i)} epoch {getattr(sample, 'epoch', 1)}"
        output = getattr(sample, "output", None)
        if output is None or not output.choices:
            yield BadInput(f"{at}: the sample has no output")
            continue
        message = output.choices[0].message
        text, thinking = _content(message.content)
        stop = output.choices[0].stop_reason or output.stop_reason
        usage = output.usage
        metadata = getattr(sample, "metadata", None) or {}
        params: dict[str, Any] = metadata["params"] if isinstance(metadata.get("params"), dict) else {}
        system, user = _prompt(sample.input)
        yield ImportedAnswer(
            where=at,
            model=address(output.model, None) if getattr(output, "model", None) else model,
            text=text,
            thinking=thinking,
            stop_reason=STOP_WORDS.get(stop, stop),
            params=params,
            system=system,
            user=user,
            usage=Usage(
                input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0, reasoning_tokens=usage.reasoning_tokens
            )
            if usage
            else None,
            temperature=getattr(config, "temperature", None),
            max_tokens=getattr(config, "max_tokens", None),
        )


def _content(content: Any) -> tuple[str, str]:
    """(text, thinking) of an assistant message: a string, or content parts (`ContentText`,
    `ContentReasoning`)."""
    if isinstance(content, str):
        return content, ""
    text = "".join(getattr(p, "text", "") for p in content if getattr(p, "type", "") == "text")
    thinking = "".join(getattr(p, "reasoning", "") for p in content if getattr(p, "type", "") == "reasoning")
    return text, thinking


def _prompt(given: Any) -> tuple[str, str]:
    if isinstance(given, str):
        return "", given
    system = "".join(_content(m.content)[0] for m in given if getattr(m, "role", "") == "system")
    users = [_content(m.content)[0] for m in given if getattr(m, "role", "") == "user"]
    return system, users[-1] if users else ""
