"""What the refusal judge said about one answer: the record a trial carries (the judge itself is
`refusal_judge.py`, which asks; this module only holds what came back, so a trial needs no judge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from longhaul.verdict import WontDoKind
from longhaul.verify.refusal import RefusalLabel


class RefusalJudgement(BaseModel):
    """A judge model's reading of one answer the detector was unsure of, and what it changed."""

    judge: str
    """The judge's model address (`--refusal-judge`), as given."""

    label: Literal["compliance", "refusal", "partial"] | None
    """The judge's class (XSTest: full compliance, full refusal, partial refusal); None when the
    judge failed or its reply named no class, in which case the detector's decision stands."""

    failed: str | None = None
    """Why there is no label: the provider's failure, or the reply was not one of the classes."""

    raw: str = ""
    """The judge's reply, truncated to a few hundred characters."""

    cached: bool = False
    """Taken from the run's cache (an identical earlier judgement): no request was sent."""

    input_tokens: int = 0
    """Tokens of the judge's prompt this trial paid for (0 when cached)."""

    output_tokens: int = 0
    """Tokens of the judge's reply this trial paid for (0 when cached)."""

    digest: str
    """SHA-256 of what the judge was shown (with the prompt's version): the cache key, with `judge`."""

    turn: int
    """0-based index of the judged turn (the last: the trial's verdict is on it)."""

    detector_label: RefusalLabel
    """The detector's own label for the answer."""

    detector_probability: float
    """The detector's probability that the answer declines (unsure: inside its unsure band)."""

    kind_before: WontDoKind | None
    """The won't-do kind the verifier gave."""

    kind_after: WontDoKind | None
    """The won't-do kind after the judgement (the same as before when it agreed or failed)."""


@dataclass
class JudgeTally:
    """The refusal judge's totals over the trials added so far: what the end-of-run line and the
    report both say of it, counted once, trial by trial."""

    judges: set[str] = field(default_factory=set)
    judged: int = 0
    cached: int = 0
    failed: int = 0
    """Judgements without a class (the judge failed, or named none)."""
    kinds_changed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, j: RefusalJudgement) -> None:
        self.judges.add(j.judge)
        self.judged += 1
        self.cached += j.cached
        self.failed += j.label is None
        self.kinds_changed += j.kind_after != j.kind_before
        self.input_tokens += j.input_tokens
        self.output_tokens += j.output_tokens
