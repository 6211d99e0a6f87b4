"""What `longhaul tasks` shows: each task and its parameters (type, default, bounds or choices,
description), read from the task's pydantic params model, so a task of one's own is listed as
fully as a built-in one."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from longhaul.task import Task
from longhaul.verdict import Expectation


class ParamInfo(BaseModel):
    """One parameter of a task."""

    name: str
    """The name a suite or `--param` gives it."""
    type: str
    """`int`, `float`, `str`, `bool`, or `choice` (see `choices`)."""
    default: Any = None
    """Its value when not given (None: it must be given)."""
    required: bool = False
    """It has no default."""
    minimum: float | int | None = None
    """The smallest value allowed, where there is one."""
    maximum: float | int | None = None
    """The largest value allowed, where there is one."""
    choices: list[Any] | None = None
    """The values allowed, for a closed set."""
    description: str = ""
    """What it sets."""
    size: bool = False
    """It is the task's size (the x axis of the report's figures)."""


class TaskInfo(BaseModel):
    """One task, as `longhaul tasks --json` gives it."""

    name: str
    """The name users type."""
    expectation: Expectation
    """`should_answer` or `should_abstain`."""
    summary: str
    """One line on what is asked."""
    params: list[ParamInfo]
    """Its parameters, in the model's order."""


_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}


def _param(name: str, schema: dict[str, Any], required: bool, size: bool) -> ParamInfo:
    # An optional field is `anyOf: [{...}, {"type": "null"}]`: its bounds are in the first branch.
    branch = next((b for b in schema.get("anyOf", []) if b.get("type") != "null"), schema)
    choices = branch.get("enum") if "enum" in branch else [branch["const"]] if "const" in branch else None
    return ParamInfo(
        name=name,
        type="choice" if choices is not None else _TYPES.get(branch.get("type", ""), branch.get("type", "any")),
        default=schema.get("default"),
        required=required,
        minimum=branch.get("minimum", branch.get("exclusiveMinimum")),
        maximum=branch.get("maximum", branch.get("exclusiveMaximum")),
        choices=choices,
        description=schema.get("description", ""),
        size=size,
    )


def describe(task: Task[Any]) -> TaskInfo:
    """The task and its parameters, from its params model's JSON schema."""
    schema = task.params_model.model_json_schema()
    required = set(schema.get("required", []))
    params = [_param(name, prop, name in required, name == task.size_param) for name, prop in schema.get("properties", {}).items()]
    return TaskInfo(name=task.name, expectation=task.expectation, summary=task.summary, params=params)


def _allowed(p: ParamInfo) -> str:
    if p.choices is not None:
        return "|".join(str(c) for c in p.choices)
    low = "" if p.minimum is None else str(p.minimum)
    high = "" if p.maximum is None else str(p.maximum)
    return f"{p.type} {low}..{high}" if low or high else p.type


def render(tasks: Iterable[TaskInfo], width: int = 100) -> str:
    """Each task's line, then one line per parameter: name, what is allowed, default, and its
    description, wrapped under itself to `width`; `(size)` marks the size parameter."""
    out: list[str] = []
    for t in tasks:
        out += textwrap.wrap(f"{t.name} ({t.expectation}): {t.summary}", width, subsequent_indent="    ")
        rows = [
            (p.name + (" (size)" if p.size else ""), _allowed(p), "required" if p.required else f"default {p.default}", p) for p in t.params
        ]
        name_w = max((len(r[0]) for r in rows), default=0)
        allowed_w = max((len(r[1]) for r in rows), default=0)
        default_w = max((len(r[2]) for r in rows), default=0)
        for name, allowed, default, p in rows:
            lead = f"  {name:{name_w}}  {allowed:{allowed_w}}  {default:{default_w}}  "
            # A description too long for what is left goes on under itself; a very narrow width puts it below.
            room = width - len(lead)
            if room < 30:
                out.append(lead.rstrip())
                out += textwrap.wrap(p.description, width, initial_indent="      ", subsequent_indent="      ")
            else:
                wrapped = textwrap.wrap(p.description, room) or [""]
                out.append((lead + wrapped[0]).rstrip())
                out += [" " * len(lead) + more for more in wrapped[1:]]
        out.append("")
    return "\n".join(out).rstrip()
