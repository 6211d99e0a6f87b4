"""Verification: answer text (streamed or whole) to a `Verdict` with evidence."""

from __future__ import annotations

from typing import Any

from longhaul.stop_reasons import read_stop_reason
from longhaul.task import Task, TaskParams
from longhaul.verdict import Verdict
from longhaul.verify import verifier
from longhaul.verify.verifier import Progress, StreamingVerifier

__all__ = ["Progress", "StreamingVerifier", "verify"]


def verify(
    task: Task[Any],
    params: TaskParams | dict[str, Any] | None,
    answer: str,
    *,
    thinking: str = "",
    stop_reason: str | None = "end_turn",
) -> Verdict:
    """Verify one whole answer. Same result as streaming it through `StreamingVerifier`.

    `stop_reason` may be longhaul's own name or a provider's (`length`, `STOP`, `refusal`, ... in
    any case, `longhaul/stop_reasons.py`); one longhaul does not know is judged as `other` and
    kept in `stop_reason_raw`, as is any value given in a provider's words."""
    stop, raw = read_stop_reason(stop_reason)
    verdict = verifier.verify(task, params, answer, thinking=thinking, stop_reason=stop)
    return verdict if raw is None else verdict.model_copy(update={"stop_reason_raw": raw})
