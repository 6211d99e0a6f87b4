"""longhaul: measures whether language models will produce long, mechanically checkable outputs,
and whether what they produce is right.

This namespace is the public API (the README's "Python API" lists it): the task protocol a task
module implements, the helpers a strategy module builds its graph from, `verify`, `run` and
`plan`, the catalog of tasks and strategies, and the records they return. Task and strategy
files, ours included, import only from here; every other module is longhaul's own and may change.

The verdict, the task protocol and the verifier load at once (a task module needs them); the
engine (strategies, runs, records) loads the first time one of its names is asked for, so that
`import longhaul` to verify an answer does not pay for the providers and the run machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from longhaul import french, records
from longhaul._version import __version__
from longhaul.code_task import CodeSyntax, CodeTask
from longhaul.errors import BadInput, LonghaulError, StoreError
from longhaul.sequence import SequenceChecker
from longhaul.task import Checker, Item, Mistake, Prompt, Task, TaskParams, params_or_none
from longhaul.verdict import OUTCOMES, Evidence, Expectation, FirstError, Outcome, StopReason, Verdict, WontDoKind
from longhaul.verify import StreamingVerifier, verify

if TYPE_CHECKING:
    from longhaul.catalog import Catalog, CatalogSource
    from longhaul.providers import Message
    from longhaul.runner import Plan, RunResult, arun, plan, run
    from longhaul.store import Manifest
    from longhaul.strategy import (
        END,
        NUDGE,
        START,
        Settings,
        Strategy,
        TrialContext,
        TrialState,
        Turn,
        again_or_end,
        ask_task,
        follow_up_graph,
        never,
        new_graph,
        say_continue,
        turn_node,
        unfinished,
    )
    from longhaul.suite import Suite
    from longhaul.trial import TrialRecord, TrialSpec

_LAZY = {
    # strategy helpers: what agents/*.py build their graphs from (names kept as longhaul.strategy has them)
    "Strategy": "longhaul.strategy",
    "TrialContext": "longhaul.strategy",
    "TrialState": "longhaul.strategy",
    "Turn": "longhaul.strategy",
    "Settings": "longhaul.strategy",
    "NUDGE": "longhaul.strategy",
    "ask_task": "longhaul.strategy",
    "say_continue": "longhaul.strategy",
    "turn_node": "longhaul.strategy",
    "again_or_end": "longhaul.strategy",
    "follow_up_graph": "longhaul.strategy",
    "new_graph": "longhaul.strategy",
    "START": "longhaul.strategy",
    "END": "longhaul.strategy",
    "never": "longhaul.strategy",
    "unfinished": "longhaul.strategy",
    "Message": "longhaul.providers",
    # runs and their records
    "run": "longhaul.runner",
    "arun": "longhaul.runner",
    "plan": "longhaul.runner",
    "Plan": "longhaul.runner",
    "RunResult": "longhaul.runner",
    "TrialRecord": "longhaul.trial",
    "TrialSpec": "longhaul.trial",
    "Suite": "longhaul.suite",
    "Manifest": "longhaul.store",
    "Catalog": "longhaul.catalog",
    "CatalogSource": "longhaul.catalog",
}

__all__ = [
    "OUTCOMES",
    "BadInput",
    "Checker",
    "CodeSyntax",
    "CodeTask",
    "Evidence",
    "Expectation",
    "FirstError",
    "Item",
    "LonghaulError",
    "Mistake",
    "Outcome",
    "Prompt",
    "SequenceChecker",
    "StopReason",
    "StoreError",
    "StreamingVerifier",
    "Task",
    "TaskParams",
    "Verdict",
    "WontDoKind",
    "__version__",
    "french",
    "params_or_none",
    "records",
    "verify",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    """The engine's public names, imported when first asked for (PEP 562)."""
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # once found, a plain attribute
        return value
    raise AttributeError(f"module 'longhaul' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
