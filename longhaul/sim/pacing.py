"""How the sim spreads a reply's known token count over the pieces it streams: each wire paces its
events, and reports usage, by the same count."""

from __future__ import annotations


def tokens_of(pieces: list[str], total: int) -> list[int]:
    """`total` tokens spread over the pieces, a few per piece, the first ones taking the remainder."""
    n = len(pieces)
    return [total // n + (1 if i < total % n else 0) for i in range(n)] if n else []
