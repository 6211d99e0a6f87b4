"""What the streaming text of a trial on screen shows so far: its items verified and its first wrong
item, read from the text itself.

The engine's verifier holds back the last kilobyte of a stream until more comes (so that chunking
never changes a verdict), so a short answer reports 0 items until it ends. The screen cannot wait:
for the one trial shown, the text so far is verified whole as if it ended here (a few ms for the
text a screen keeps), up to its last line break so that a line still arriving is not read cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from longhaul.task import Task, TaskParams
from longhaul.verify.verifier import StreamingVerifier


@dataclass(frozen=True, slots=True)
class Preview:
    items_correct: int
    """Items right so far (of the latest list)."""
    error: tuple[int, int] | None
    """Where the first wrong item is in the text (start, end), once it has appeared."""


def preview(task: Task[Any], params: TaskParams, text: str) -> Preview:
    """The text streamed so far, verified as if it ended here."""
    cut = text.rfind("\n")
    whole = text[: cut + 1] if cut >= 0 else text
    verifier = StreamingVerifier(task, params)
    verifier.feed(whole)
    verdict = verifier.finish("max_tokens")
    spans = [(e.start, e.end) for e in verdict.evidence if e.kind == "first_error" and e.source == "answer"]
    return Preview(verdict.items_correct, spans[0] if spans and verdict.first_error is not None else None)
