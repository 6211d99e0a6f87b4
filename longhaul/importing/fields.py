"""Reading fields of a provider's JSON with one-line errors that name the field's path."""

from __future__ import annotations

from typing import Any

from longhaul.errors import BadInput


class Body:
    """A JSON object read at `where`, under `path` (for messages: `response.body.choices[0]`)."""

    def __init__(self, obj: Any, where: str, path: str) -> None:
        if not isinstance(obj, dict):
            raise BadInput(f"{where}: {path} must be a JSON object")
        self.obj: dict[str, Any] = obj
        self.where = where
        self.path = path

    def at(self, key: str) -> Body:
        return Body(self.obj.get(key), self.where, f"{self.path}.{key}")

    def maybe(self, key: str) -> Body | None:
        return None if self.obj.get(key) is None else self.at(key)

    def items(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if not isinstance(value, list):
            raise BadInput(f"{self.where}: {self.path}.{key} must be a list")
        return value

    def item(self, key: str, index: int) -> Body:
        values = self.items(key)
        if len(values) <= index:
            raise BadInput(f"{self.where}: {self.path}.{key} is empty")
        return Body(values[index], self.where, f"{self.path}.{key}[{index}]")

    def string(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            raise BadInput(f"{self.where}: {self.path}.{key} must be a string")
        return value

    def whole(self, key: str) -> int | None:
        value = self.obj.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise BadInput(f"{self.where}: {self.path}.{key} must be a whole number")
        return value

    def number(self, key: str) -> float | None:
        value = self.obj.get(key)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise BadInput(f"{self.where}: {self.path}.{key} must be a number")
        return None if value is None else float(value)


def text_of(content: Any) -> str:
    """A message's content as text: a string, or the text of its parts (`{"type": "text",
    "text": ...}`, `input_text`, Gemini's `{"text": ...}`), joined in order."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def split_think(content: str) -> tuple[str, str]:
    """(thinking, answer) of an answer that opens with an inline `<think>…</think>`; a `<think>`
    never closed is all thinking. Text after `</think>` is kept verbatim."""
    head = content.lstrip()
    if not head.startswith("<think>"):
        return "", content
    body = head[len("<think>") :]
    thinking, closed, answer = body.partition("</think>")
    return (thinking, answer) if closed else (body, "")
