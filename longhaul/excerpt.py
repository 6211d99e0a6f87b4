"""What to show of a long answer: its opening and the text around each evidence span, with the
spans marked. The HTML report and the terminal UI draw the same excerpt, each in its own way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of the excerpt: plain text, a marked span, or a gap of text not shown."""

    kind: Literal["text", "mark", "gap"]
    text: str = ""
    mark: str = ""
    """For a mark: the evidence kind (`first_error`, `refusal`, ...)."""
    skipped: int = 0
    """For a gap: how many characters are not shown."""


def excerpt(text: str, spans: Iterable[tuple[int, int, str]], head: int, window: int, tail: int = 0) -> list[Piece]:
    """The first `head` characters, `window` characters either side of each span, and the last
    `tail` characters when there is no span; everything else becomes gaps."""
    marks = sorted((max(0, a), min(len(text), b), k) for a, b, k in spans if b > a and a < len(text))
    keep = [(0, min(len(text), head))] + [(max(0, a - window), min(len(text), b + window)) for a, b, _ in marks]
    if tail and not marks and len(text) > head:
        keep.append((max(0, len(text) - tail), len(text)))
    keep.sort()
    merged: list[list[int]] = []
    for a, b in keep:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    pieces: list[Piece] = []
    pos = 0
    for a, b in merged:
        if a > pos:
            pieces.append(Piece("gap", skipped=a - pos))
        cursor = a
        for s, e, kind in marks:
            if e <= cursor or s >= b:
                continue
            s, e = max(s, cursor), min(e, b)
            if s > cursor:
                pieces.append(Piece("text", text[cursor:s]))
            pieces.append(Piece("mark", text[s:e], mark=kind))
            cursor = e
        if b > cursor:
            pieces.append(Piece("text", text[cursor:b]))
        pos = b
    if pos < len(text):
        pieces.append(Piece("gap", skipped=len(text) - pos))
    return pieces
