"""Suites: which models, strategies, tasks and sizes a run covers, read from TOML and validated.

    name = "demo"
    models = ["sim/diligent", "sim/lazy?k=20"]
    strategies = ["direct", "continue"]
    samples = 2
    max_tokens = 4000

    [[tasks]]
    task = "hanoi"
    disks = [3, 5, 7]        # a list is a sweep; several lists sweep their product

    [limits."openai/gpt-4.1"]  # requests and tokens per minute, kept before the provider's 429s
    rpm = 500
    tpm = 30000

A bad suite is a `BadInput` naming the file, the line where it can, the field and what is
allowed, raised before any request is sent.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from longhaul.catalog import builtin_dir as builtins
from longhaul.errors import BadInput
from longhaul.providers.address import parse_address
from longhaul.providers.base import RetrySettings
from longhaul.providers.ratelimit import RateLimits
from longhaul.search import Search, SearchSpec
from longhaul.sim.profiles import parse_profile
from longhaul.task import Task, TaskParams


class TaskEntry(BaseModel):
    """One task of a suite, with its parameters; list-valued parameters are swept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    task: str
    """The task's name (`longhaul tasks`)."""

    samples: int | None = Field(None, ge=1, le=10_000)
    """Samples per cell for this task (default: the suite's)."""

    search: SearchSpec | None = None
    """An adaptive sweep of one parameter instead of a fixed list (`longhaul/search.py`)."""

    @model_validator(mode="after")
    def _search_param_unlisted(self) -> TaskEntry:
        if self.search is not None and self.search.param in self.params:
            raise ValueError(f"{self.search.param} is searched ([tasks.search]); do not also give it a value")
        return self

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as written (lists are sweeps)."""
        return dict(self.model_extra or {})

    def combinations(self) -> list[dict[str, Any]]:
        """Every parameter set the sweeps give, in the order written."""
        fixed = {k: v for k, v in self.params.items() if not isinstance(v, list)}
        swept = {k: v for k, v in self.params.items() if isinstance(v, list)}
        return [fixed | dict(zip(swept, values)) for values in itertools.product(*swept.values())]


class Suite(BaseModel):
    """A suite as resolved: what a run covers, and how every request is made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "suite"
    """A short name, for reports."""

    description: str = ""
    """What the suite is for, in a sentence or two."""

    models: list[str] = Field(min_length=1)
    """Models as `provider/model` (`longhaul ask --help`)."""

    strategies: list[str] = Field(default_factory=lambda: ["direct"], min_length=1)
    """Strategies (`longhaul strategies`)."""

    tasks: list[TaskEntry] = Field(min_length=1)
    """Tasks with their parameter sweeps."""

    samples: int = Field(1, ge=1, le=10_000)
    """Trials per cell (model, task, parameters, strategy)."""

    seed: int = 0
    """Base seed; sample i of a cell asks with seed + i, where the provider takes a seed."""

    temperature: float | None = Field(None, ge=0, le=2)
    """Sampling temperature; unset leaves each provider's default."""

    max_tokens: int = Field(16_384, ge=1, le=1_000_000)
    """Output tokens a request may spend, thinking included."""

    thinking_budget: int | None = Field(None, ge=1)
    """Extended-thinking budget, where the provider has one; unset asks for none."""

    over_model_limit: Literal["refuse", "clamp"] = "refuse"
    """When max_tokens is above a model's known output limit (`longhaul/model_limits.toml`,
    `--model-limits`): refuse to run, or send that model its limit instead (each trial records
    what it was sent)."""

    concurrency: int = Field(8, ge=1, le=1024)
    """Trials in flight at once (`--concurrency`; a runtime limit, not part of the suite's identity)."""

    max_connections: int = Field(8, ge=1, le=1024)
    """Requests in flight to any one provider and base URL (`--max-connections`; a runtime limit)."""

    early_stop: bool = False
    """Cut a stream at its first wrong item (saves tokens; the verdict is the same)."""

    max_turns: int = Field(8, ge=1, le=1000)
    """Turn budget of the agent strategies."""

    range_size: int = Field(100, ge=1)
    """Items per request of the `ranges` strategy."""

    resume_tail: int = Field(20, ge=0)
    """Items so far that the `resume` strategy shows the model."""

    retry: RetrySettings = Field(default_factory=RetrySettings)
    """How hard to retry a failing request before its trial gets the `error` outcome."""

    refusal_judge: str | None = None
    """A model (`provider/model`) asked to classify the answers the refusal detector is unsure of
    (`--refusal-judge`); unset asks none. A choice of how to read answers, not of what is asked:
    it is not part of the suite's identity for resume (`RUNTIME_FIELDS`)."""

    limits: dict[str, RateLimits] = Field(default_factory=dict)
    """Requests and tokens per minute, by model (a key of `models`, or the refusal judge), as
    `[limits."openai/gpt-4.1"]` tables; `--rpm`/`--tpm` set them too. How fast to ask, not what:
    not part of the suite's identity for resume."""

    @field_validator("models")
    @classmethod
    def _models_parse(cls, models: list[str]) -> list[str]:
        for m in models:
            _check_model(m)
        if len(set(models)) != len(models):
            raise ValueError("a model is listed twice")
        return models

    @field_validator("refusal_judge")
    @classmethod
    def _judge_parses(cls, judge: str | None) -> str | None:
        if judge is not None:
            _check_model(judge)
        return judge

    @field_validator("limits")
    @classmethod
    def _limits_are_for_models(cls, limits: dict[str, RateLimits], info: ValidationInfo) -> dict[str, RateLimits]:
        known = [*info.data.get("models", []), *filter(None, [info.data.get("refusal_judge")])]
        for model in limits:
            if model not in known:
                raise _UnknownModel(model, f"not one of the suite's models ({', '.join(known)})")
        return limits

    def simulated_only(self) -> bool:
        return all(m.startswith("sim/") for m in self.models)


RUNTIME_FIELDS = frozenset({"refusal_judge", "concurrency", "max_connections", "limits"})
BUDGET_FIELDS = frozenset({"over_model_limit"})
"""Fields a resume does not compare: what they decide, each model's max_tokens, is compared with
what its stored trials were sent (`runner`), so that a model refused by its provider can be resumed clamped."""
"""Suite fields that may differ between a run and its resumption: the refusal judge (each trial
records what it used), and the runtime limits (concurrency, connections, rate limits), which change
how fast trials are sent, never which (after rate limits, resuming slower is what a user does)."""


class _UnknownModel(ValueError):
    """A `limits` key that names no model of the suite: it carries the key, so the error can
    point at that key's table."""

    def __init__(self, model: str, message: str) -> None:
        super().__init__(message)
        self.model = model


def runnable_limits(raw: dict[str, Any]) -> dict[str, Any]:
    """A suite's fields with the limits of models it no longer runs left out (another model list,
    from `--model`): a limit is about a model, not a reason to refuse a run without it."""
    limits = raw.get("limits")
    if not isinstance(limits, dict) or not isinstance(raw.get("models"), list):
        return raw
    keep = {*raw["models"], raw.get("refusal_judge")}
    return raw | {"limits": {k: v for k, v in limits.items() if k in keep}}


def with_limit_flags(suite: Suite, rpm: Sequence[str] = (), tpm: Sequence[str] = ()) -> Suite:
    """The suite with `--rpm`/`--tpm` applied: `N` sets every model's limit, `MODEL=N` one model's
    (the refusal judge's too); each replaces the suite's value, leaving the other limit as it was."""
    if not rpm and not tpm:
        return suite
    known = [*suite.models, *filter(None, [suite.refusal_judge])]
    limits = {m: lim.model_dump() for m, lim in suite.limits.items()}
    for flag, field, values in (("--rpm", "rpm", rpm), ("--tpm", "tpm", tpm)):
        for value in values:
            model, named, number = value.rpartition("=")  # the last "=": an address may hold one (sim/lazy?k=5)
            if not number.strip().isdecimal() or int(number) < 1:
                raise BadInput(f"{flag}: {value!r}: a limit is a whole number of at least 1, as N (every model) or MODEL=N")
            if named and model not in known:
                raise BadInput(f"{flag}: {value!r}: {model} is not one of the run's models ({', '.join(known)})")
            for m in [model] if named else suite.models:
                limits.setdefault(m, {})[field] = int(number)
    return Suite.model_validate(suite.model_dump() | {"limits": limits})


def _check_model(m: str) -> None:
    try:
        if parse_address(m).simulated:
            parse_profile(m.split("/", 1)[1])
    except BadInput as exc:
        raise ValueError(str(exc)) from None


class Cell(BaseModel):
    """One model, task, parameter set and strategy: the unit of a report's tables."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    params: dict[str, Any]
    size: int
    strategy: str
    samples: int


def find_suite(name: Path | str, builtin_dir: Path | None = None) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    if builtin_dir is None:
        builtin_dir = builtins("tasks")
    candidate = builtin_dir / f"{name}.toml"
    if re.fullmatch(r"[\w.-]+", str(name)) and candidate.is_file():
        return candidate
    known = ", ".join(sorted(p.stem for p in builtin_dir.glob("*.toml")))
    raise BadInput(f"suite {str(name)!r}: no such file, and no built-in suite of that name (built-in: {known})")


def parse_suite(text: str, where: str = "<suite>", overrides: dict[str, Any] | None = None) -> Suite:
    """Parse and validate suite TOML; `overrides` (command-line choices) replace fields first."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where}: not valid TOML: {exc}") from None
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if (overrides or {}).get("models"):
        raw = runnable_limits(raw)
    try:
        return Suite.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if isinstance(unknown := err.get("ctx", {}).get("error"), _UnknownModel):
            loc += (unknown.model,)
        field = _dotted(loc)
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        line = _line_of(text, loc)
        got = f" (got {err['input']!r})" if err["type"] != "missing" and not isinstance(err.get("input"), dict) else ""
        raise BadInput(f"{where}{f':{line}' if line else ''}: {field}: {msg}{got}") from None
    except BadInput as exc:
        raise BadInput(f"{where}: {exc}") from None


def cells(
    suite: Suite, tasks: dict[str, Task[Any]], strategies: dict[str, Any], where: str = "<suite>", text: str = ""
) -> list[tuple[Cell, TaskParams]]:
    """Every cell of the suite, its parameters validated; unknown names are `BadInput`."""
    for i, s in enumerate(suite.strategies):
        if s not in strategies:
            raise BadInput(
                f"{where}{_at(text, ('strategies',))}: strategies[{i}]: unknown strategy {s!r}; known: {', '.join(sorted(strategies))}"
            )
    out: list[tuple[Cell, TaskParams]] = []
    for i, entry in enumerate(suite.tasks):
        task = tasks.get(entry.task)
        if task is None:
            raise BadInput(
                f"{where}{_at(text, ('tasks', i, 'task'))}: tasks[{i}].task: unknown task {entry.task!r}; known: {', '.join(sorted(tasks))}"
            )
        if entry.search is not None:
            continue  # searched: its trials are planned round by round (`searches`)
        for combo in entry.combinations():
            try:
                params = task.params(combo)
            except BadInput as exc:
                key = next((k for k in entry.params if f"{k}:" in str(exc)), "task")
                detail = str(exc).split(": ", 1)[1]
                raise BadInput(f"{where}{_at(text, ('tasks', i, key))}: tasks[{i}] ({entry.task}): {detail}") from None
            for model in suite.models:
                for strategy in suite.strategies:
                    out.append(
                        (
                            Cell(
                                model=model,
                                task=task.name,
                                params=params.model_dump(mode="json"),
                                size=task.size(params),
                                strategy=strategy,
                                samples=entry.samples or suite.samples,
                            ),
                            params,
                        )
                    )
    return out


def searches(
    suite: Suite, tasks: dict[str, Task[Any]], where: str = "<suite>", text: str = "", max_tokens: Mapping[str, int] | None = None
) -> list[Search]:
    """Every adaptive search of the suite: one per searched entry, combination of its other
    parameters, model and strategy; the parameters are checked at the search's `low` and `high`.
    `max_tokens`: what each model is sent, where it differs from the suite's (clamped to its limit)."""
    out = []
    for i, entry in enumerate(suite.tasks):
        task, spec = tasks.get(entry.task), entry.search
        if spec is None or task is None:
            continue  # an unknown task is `cells`' error
        for combo in entry.combinations():
            try:
                task.params(combo | {spec.param: spec.low})
                task.params(combo | {spec.param: spec.high})
            except BadInput as exc:
                detail = str(exc).split(": ", 1)[1]
                raise BadInput(f"{where}{_at(text, ('tasks', i))}: tasks[{i}] ({entry.task}) search: {detail}") from None
            for model in suite.models:
                for strategy in suite.strategies:
                    out.append(Search(model, strategy, task, combo, spec, suite.seed, (max_tokens or {}).get(model, suite.max_tokens)))
    return out


def differences(old: Suite, new: Suite) -> list[str]:
    """What changed between two resolved suites, one short line a field (the runtime choices in
    `RUNTIME_FIELDS` aside: they change how answers are read, not which trials there are; and
    `BUDGET_FIELDS`, checked trial by trial instead)."""
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    ignored = RUNTIME_FIELDS | BUDGET_FIELDS
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and k not in ignored]


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and not re.fullmatch(r"[\w-]+", part):
            part = f'"{part}"'  # as TOML writes such a key: limits."openai/gpt-4.1".rpm
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(suite)"


def _at(text: str, loc: tuple[Any, ...]) -> str:
    line = _line_of(text, loc)
    return f":{line}" if line else ""


_HEADER = re.compile(r"^\s*\[\[?\s*([\w.-]+)\s*\]\]?")


_SUBTABLE = re.compile(r'^\s*\[\s*([\w-]+)\s*\.\s*(?:"([^"]*)"|([\w-]+))\s*\]')


def _subtable_line(lines: list[str], top: str, name: str, key: str | None) -> int | None:
    """In a `[top."name"]` table (a suite's `limits`), the line of `key`, else the header's."""
    header, inside = None, False
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("["):
            m = _SUBTABLE.match(line)
            inside = m is not None and (m.group(1), m.group(2) if m.group(2) is not None else m.group(3)) == (top, name)
            header = n if inside else header
        elif inside and key is not None and "=" in line and line.split("=", 1)[0].strip() == key:
            return n
    return header


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line a field is written on, found by walking table headers and keys: TOML readers
    keep no positions, and a user wants the line."""
    if not text or not loc:
        return None
    lines = text.splitlines()
    if len(loc) >= 2 and isinstance(loc[1], str) and (found := _subtable_line(lines, loc[0], loc[1], loc[2] if len(loc) > 2 else None)):
        return found
    top, index, key = loc[0], None, None
    rest = loc[1:]
    if rest and isinstance(rest[0], int):
        index, rest = rest[0], rest[1:]
    if rest:
        key = rest[0]
    section: str | None = None
    seen = -1
    header_line = None
    for n, line in enumerate(lines, 1):
        if m := _HEADER.match(line):
            section = m.group(1)
            if section == top:
                seen += 1
                if index is None or seen == index:
                    header_line = n
            continue
        name = line.split("=", 1)[0].strip() if "=" in line else None
        if section is None and name == top:
            return n
        if section == top and (index is None or seen == index) and key is not None and name == key:
            return n
    return header_line
