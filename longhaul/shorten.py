"""Names shortened in the middle to a width, so that a column or a heading fits: the start of a
model name says its provider, the end its version or parameters (`sim/drifter?at=60`), so both
ends stay and the middle gives way."""

from __future__ import annotations

from collections.abc import Iterable

ELLIPSIS = "…"


def middle(text: str, width: int, tail: float = 0.5) -> str:
    """`text` in at most `width` characters: its start and end around `…`, `tail` the share of the
    kept characters taken from the end. Unchanged when it fits; cut at the end below 3 columns."""
    if len(text) <= width:
        return text
    if width < 3:
        return text[:width]
    keep = width - 1
    end = max(1, min(keep - 1, round(keep * tail)))
    return text[: keep - end] + ELLIPSIS + text[-end:]


def distinct(names: Iterable[str], width: int) -> dict[str, str]:
    """Each name shortened in the middle to `width`, keeping names that differ apart: the split
    moves towards the end (where versions and parameters differ), then the start, until every
    short name is unique. Where no split tells them apart, the names are kept whole."""
    unique = list(dict.fromkeys(names))
    # Half and half first (it reads best), then ever more of the end, then ever more of the start.
    for tail in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.4, 0.3, 0.2, 0.1, 0.0):
        short = {n: middle(n, width, tail) for n in unique}
        if len(set(short.values())) == len(unique):
            return short
    return {n: n for n in unique}
