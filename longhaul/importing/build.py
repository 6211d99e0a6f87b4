"""Imported answers verified and stored as a run: the same store and key scheme as a run that
longhaul made, under the strategy `imported`, with a manifest that names the source, so that
`report`, `compare`, `export` and the terminal UI read it unchanged (and `resume` refuses it)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from longhaul._version import __version__
from longhaul.catalog import CatalogSource
from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer
from longhaul.providers.request import Usage
from longhaul.stop_reasons import allowed_stop_reasons, normalise_stop_reason, read_stop_reason
from longhaul.store import ImportSource, Manifest, RunStore, git_revision
from longhaul.suite import Suite, TaskEntry
from longhaul.task import Task, TaskParams
from longhaul.trial import TrialRecord, TrialSpec, trial_key
from longhaul.turn import Turn
from longhaul.verify import verify

STRATEGY = "imported"
"""The strategy name of every imported trial: longhaul did not choose how the model was asked."""


class Imported(BaseModel):
    """What an import stored."""

    trials: int
    """Answers stored, one trial each."""

    skipped: int
    """Records left out (each was reported)."""

    models: list[str]
    """The models the answers came from."""


def param_patterns(pairs: Iterable[str]) -> dict[str, re.Pattern[str]]:
    """`--param-from KEY=REGEX` flags: a task parameter read from each record's prompt."""
    out: dict[str, re.Pattern[str]] = {}
    for pair in pairs:
        key, sep, pattern = pair.partition("=")
        if not sep or not key:
            raise BadInput(rf"--param-from {pair!r}: expected KEY=REGEX with one group, e.g. --param-from 'disks=with (\d+) disks'")
        try:
            out[key] = re.compile(pattern)
        except re.error as exc:
            raise BadInput(f"--param-from {pair!r}: not a regular expression ({exc})") from None
        if out[key].groups != 1:
            raise BadInput(f"--param-from {pair!r}: the regular expression must have exactly one group (the value)")
    return out


def import_answers(
    answers: Iterable[ImportedAnswer | BadInput],
    task: Task[Any],
    base: Mapping[str, Any],
    patterns: Mapping[str, re.Pattern[str]],
    out: Path,
    source: tuple[str, str],
    catalog: CatalogSource,
    warn: Callable[[str], None],
) -> Imported:
    """Verify every answer as an answer to `task` and store it in a new run at `out`. A record
    that cannot be read or judged is one `warn` line and is left out; none at all is a `BadInput`
    and no run is made. `source` is (format, file or folder), for the manifest."""
    judged: list[tuple[ImportedAnswer, TaskParams, Any]] = []
    skipped = 0
    unknown: set[str] = set()
    for answer in answers:
        if isinstance(answer, BadInput):
            skipped += 1
            warn(str(answer))
            continue
        try:
            params = task.params(_params_of(answer, task, base, patterns))
        except BadInput as exc:
            skipped += 1
            warn(f"{answer.where}: params: {exc}")
            continue
        if answer.stop_reason is not None and normalise_stop_reason(answer.stop_reason) is None and answer.stop_reason not in unknown:
            unknown.add(answer.stop_reason)
            warn(
                f"{answer.where}: unknown stop reason {answer.stop_reason!r}, judged as 'other' and kept as the raw one "
                f"(known: {allowed_stop_reasons()})"
            )
        verdict = verify(task, params, answer.text, thinking=answer.thinking, stop_reason=answer.stop_reason or "end_turn")
        judged.append((answer, params, verdict))
    if not judged:
        raise BadInput(f"{source[1]}: no answer could be imported ({skipped} bad records, each reported above)")
    manifest = _manifest(judged, task, out, source, catalog, skipped)
    store = RunStore.create(out, manifest)
    try:
        samples: Counter[tuple[str, str]] = Counter()
        for answer, params, verdict in judged:
            cell = (answer.model, json.dumps(params.model_dump(mode="json"), sort_keys=True))
            sample = samples[cell]
            samples[cell] += 1
            store.record(_trial(answer, task, params, verdict, sample))
    finally:
        store.close()
    return Imported(trials=len(judged), skipped=skipped, models=manifest.suite.models)


def _params_of(answer: ImportedAnswer, task: Task[Any], base: Mapping[str, Any], patterns: Mapping[str, re.Pattern[str]]) -> dict[str, Any]:
    """A record's parameters: its own `params`, else `--param`, else `--param-from`, else what the
    task's `recognise` reads in its prompts (system and user together, then each alone). The size and every
    parameter without a default must come from one of these: a task's default size would verify
    every answer against the wrong instance, silently."""
    given = {**_from_prompt(answer, patterns), **base, **answer.params}
    needed = [task.size_param] + [k for k, f in task.params_model.model_fields.items() if f.is_required() and k != task.size_param]
    # What the prompt itself says comes under everything given: a replication puts the answer's
    # format in its system prompt and the size in its user prompt, so both are read together.
    seen = task.recognise(f"{answer.system}\n\n{answer.user}") or task.recognise(answer.user) or task.recognise(answer.system)
    if seen is not None:
        given = {**seen.model_dump(mode="json"), **given}
    missing = [k for k in needed if k not in given]
    if missing:
        key = missing[0]
        raise BadInput(
            f"no {key}: the record has no params.{key} and the task does not recognise its prompt; "
            f"give --param {key}=N or --param-from '{key}=REGEX'"
        )
    return given


def _from_prompt(answer: ImportedAnswer, patterns: Mapping[str, re.Pattern[str]]) -> dict[str, Any]:
    """Parameters read by `--param-from` patterns: from the user prompt, else the system prompt.
    A value that reads as JSON (a number) is taken as such."""
    found: dict[str, Any] = {}
    for key, pattern in patterns.items():
        match = pattern.search(answer.user) or pattern.search(answer.system)
        if match is None:
            raise BadInput(f"--param-from {key}: {pattern.pattern!r} matches neither the user nor the system prompt")
        try:
            found[key] = json.loads(match.group(1))
        except json.JSONDecodeError:
            found[key] = match.group(1)
    return found


def _manifest(
    judged: list[tuple[ImportedAnswer, TaskParams, Any]],
    task: Task[Any],
    out: Path,
    source: tuple[str, str],
    catalog: CatalogSource,
    skipped: int,
) -> Manifest:
    """A suite that names what was imported: its models, the task with each parameter set, as
    many samples as the fullest cell, and the requests' settings where the records agree."""
    models = sorted({a.model for a, _, _ in judged})
    entries: dict[str, dict[str, Any]] = {}
    cells: Counter[tuple[str, str]] = Counter()
    for answer, params, _ in judged:
        given = params.model_dump(mode="json")
        entries.setdefault(json.dumps(given, sort_keys=True), given)
        cells[(answer.model, json.dumps(given, sort_keys=True))] += 1
    limits = {a.max_tokens for a, _, _ in judged if a.max_tokens}
    temperatures = {a.temperature for a, _, _ in judged}
    suite = Suite(
        name=f"imported {Path(source[1]).name}",
        description=f"Answers imported from {source[1]} ({source[0]}); longhaul sent none of these requests.",
        models=models,
        strategies=[STRATEGY],
        tasks=[TaskEntry(task=task.name, **given) for given in entries.values()],
        samples=max(cells.values()),
        temperature=temperatures.pop() if len(temperatures) == 1 else None,
        max_tokens=max(limits) if limits else Suite.model_fields["max_tokens"].default,
    )
    return Manifest(
        run_id=out.name,
        suite=suite,
        catalog=catalog,
        longhaul_version=__version__,
        git_revision=git_revision(Path(__file__).parent),
        trials_total=len(judged),
        imported=ImportSource(format=source[0], source=source[1], records=len(judged), skipped=skipped),
    )


def _trial(answer: ImportedAnswer, task: Task[Any], params: TaskParams, verdict: Any, sample: int) -> TrialRecord:
    stop, raw = read_stop_reason(answer.stop_reason or "end_turn")
    usage = answer.usage
    turn = Turn(
        index=0,
        kind="initial",
        user=answer.user,
        messages=answer.messages,
        answer=answer.text,
        thinking=answer.thinking,
        stop_reason=stop,
        raw_stop_reason=raw if raw is not None else answer.stop_reason,
        usage=usage if usage is not None else Usage(),
        verdict=verdict,
    )
    at = answer.at or datetime.now(UTC)
    return TrialRecord(
        spec=TrialSpec(
            key=trial_key(task, params, answer.model, STRATEGY, sample),
            model=answer.model,
            task=task.name,
            params=params.model_dump(mode="json"),
            size=task.size(params),
            strategy=STRATEGY,
            sample=sample,
            seed=sample,
        ),
        outcome=verdict.outcome,
        verdict=verdict,
        turns=[turn],
        stop=None,
        simulated=False,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        reasoning_tokens=(usage.reasoning_tokens or 0) if usage else 0,
        started_at=at,
        finished_at=at,
    )
