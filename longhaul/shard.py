"""Shards: one suite split over n runners (`longhaul run SUITE --shard i/n`), each trial run by
exactly one of them.

A trial belongs to shard `i` when a stable hash of its key, mod n, is `i - 1`: the split depends
on nothing but the key, so every runner computes the same one without talking to the others,
and `longhaul merge` puts the shards' run folders back together.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from longhaul.errors import BadInput


class Shard(BaseModel):
    """The share of a suite's trials one runner runs: shard `index` of `count` (1-based)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    """Which shard, from 1 to `count`."""

    count: int = Field(ge=1, le=10_000)
    """How many shards the suite is split into."""

    @model_validator(mode="after")
    def _index_in_range(self) -> Shard:
        if self.index > self.count:
            raise ValueError(f"shard {self.index} of {self.count}: the index must be 1 to {self.count}")
        return self

    def owns(self, key: str) -> bool:
        """Whether the trial of this key is this shard's."""
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(key: str, count: int) -> int:
    """The shard (1-based) a trial key belongs to when split `count` ways. sha256 of the key, not
    Python's `hash`: that one changes with every process."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count + 1


def parse_shard(text: str) -> Shard:
    """`i/n`, 1 <= i <= n; anything else is a `BadInput` naming the flag."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= 10_000:
        raise BadInput(f"--shard {text!r}: write i/n with 1 <= i <= n <= 10000, e.g. --shard 2/3 (the second of three runners)")
    return Shard(index=int(m.group(1)), count=int(m.group(2)))
