"""The simulated model's prompt caches: OpenAI's automatic one and Anthropic's `cache_control` one.

A prompt is a sequence of blocks (the system prompt, then each message), each a few header tokens
and its text's tokens, so that the sim's `input_tokens` is the length of that sequence. A prefix is
known by a hash of its tokens and the model's name (caches are per model), and a cache is a set of
such hashes, kept per server: what one request writes, a later one reads, deterministically in the
order they arrive.

- OpenAI wire: automatic. Every prompt's prefixes of `minimum` tokens and then every 128 more are
  kept; a later prompt reads its longest kept prefix (`prompt_tokens_details.cached_tokens`), as
  OpenAI documents (1,024 tokens, then 128-token steps).
- Anthropic wire: only a prefix that ends at a block with `cache_control` is written, if it is at
  least `minimum` tokens (Anthropic: 1,024 for Sonnet and Opus); a request reads the longest written
  prefix that ends at one of its block boundaries within 20 blocks before one of its breakpoints
  (Anthropic's lookback), and writes from there to its last breakpoint. It reports, as Anthropic
  does, `cache_read_input_tokens`, `cache_creation_input_tokens` and `input_tokens` as the rest.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

STEP = 128
"""OpenAI caches prefixes in steps of this many tokens past the minimum."""

LOOKBACK = 20
"""Block boundaries before a breakpoint where Anthropic looks for an earlier written prefix."""

MAX_BREAKPOINTS = 4
"""Anthropic refuses a request with more blocks carrying `cache_control`."""

HEADER = 4
"""Tokens each block's role costs (as the sim has always counted them)."""

_ROLE = {"system": -1, "user": -2, "assistant": -3}
"""Header token ids: never a real token's, so that a header and text cannot collide."""


class TooManyBreakpoints(ValueError):
    """More than `MAX_BREAKPOINTS` blocks carry `cache_control`: Anthropic answers 400."""


@dataclass(frozen=True, slots=True)
class CacheUse:
    """One request's prompt, as the cache saw it. `input_tokens` is the whole prompt."""

    input_tokens: int
    read: int = 0
    """Tokens read from the cache."""
    written: int = 0
    """Tokens written to it (Anthropic only)."""


def breakpoints(body: dict[str, Any]) -> frozenset[int]:
    """The indexes of the blocks (0 the system prompt, then each message from 1) that
    carry `cache_control` on an Anthropic request; a message marked on any of its content blocks
    counts as marked at its end (longhaul's own requests mark the last block)."""
    marked: set[int] = set()
    count = 0
    system = body.get("system")
    if isinstance(system, list):
        n = sum(1 for part in system if isinstance(part, dict) and part.get("cache_control"))
        count += n
        if n:
            marked.add(0)
    for i, message in enumerate(body.get("messages") or [], start=1):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            n = sum(1 for part in content if isinstance(part, dict) and part.get("cache_control"))
            count += n
            if n:
                marked.add(i)
    if count > MAX_BREAKPOINTS:
        raise TooManyBreakpoints(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {count}.")
    return frozenset(marked)


def block_tokens(enc: Any, system: str | None, turns: Sequence[tuple[str, str]]) -> list[array[int]]:
    """Each block's tokens: its role's header, then its text's. The system block is there, its
    header alone, even without a system prompt: the sim has always counted it (a chat template's start)."""
    blocks = [("system", system or "")] + list(turns)
    out = []
    for role, text in blocks:
        tokens = array("q", [_ROLE.get(role, -4)] * HEADER)
        tokens.extend(enc.encode(text, disallowed_special=()))
        out.append(tokens)
    return out


class PromptCache:
    """One server's caches, both wires."""

    def __init__(self) -> None:
        self._kept: set[bytes] = set()

    def openai(self, model: str, blocks: list[array[int]], minimum: int) -> CacheUse:
        flat = _flat(blocks)
        marks = list(range(minimum, len(flat) + 1, STEP))
        hashes = _prefix_hashes(model, flat, marks)
        read = max((n for n, h in zip(marks, hashes) if h in self._kept), default=0)
        self._kept.update(hashes)
        return CacheUse(input_tokens=len(flat), read=read)

    def anthropic(self, model: str, blocks: list[array[int]], marked: frozenset[int], minimum: int) -> CacheUse:
        flat = _flat(blocks)
        ends = [0]
        for b in blocks:
            ends.append(ends[-1] + len(b))
        # A breakpoint on block i ends its prefix at ends[i + 1].
        candidates = sorted({ends[j + 1] for i in marked for j in range(max(0, i - LOOKBACK + 1), i + 1)})
        writes = sorted(ends[i + 1] for i in marked if ends[i + 1] >= minimum)
        hashes = dict(zip(candidates, _prefix_hashes(model, flat, candidates)))
        read = max((n for n, h in hashes.items() if h in self._kept and n >= minimum), default=0)
        fresh = [n for n in writes if n > read]
        self._kept.update(hashes[n] for n in fresh)
        written = fresh[-1] - read if fresh else 0
        return CacheUse(input_tokens=len(flat), read=read, written=written)

    def use(
        self, wire: Literal["openai", "anthropic"], model: str, blocks: list[array[int]], marked: frozenset[int], minimum: int
    ) -> CacheUse:
        """A request's cache reads and writes (and what it leaves for later requests). The two wires'
        caches are apart, as two providers' are, though the sim serves the same profiles on both."""
        key = f"{wire}:{model}"
        return self.openai(key, blocks, minimum) if wire == "openai" else self.anthropic(key, blocks, marked, minimum)


def _flat(blocks: list[array[int]]) -> array[int]:
    flat = array("q")
    for b in blocks:
        flat.extend(b)
    return flat


def _prefix_hashes(model: str, flat: array[int], lengths: list[int]) -> list[bytes]:
    """The hash of each prefix `flat[:n]` for the ascending `lengths`, in one pass."""
    h = hashlib.blake2b(model.encode() + b"\0", digest_size=16)
    out = []
    done = 0
    for n in lengths:
        h.update(flat[done:n].tobytes())
        done = n
        out.append(h.copy().digest())
    return out
