"""The `longhaul` command: a thin layer that parses arguments and calls the Python API.

Exit codes: 0 done; 1 a check failed (a verified answer is not complete, an answer cannot fit its
budget); 2 bad input (a one-line message naming the file, field or flag and what is allowed),
including a run folder that cannot be made, read or written, or one another process is running;
3 a run stopped a model whose key, permission or name was refused (401, 403, 404), or whose batch
failed (`run --batch`), one line per model; 4 a run's spend guard stopped it (`--max-cost`, `--max-output-tokens`); 130 interrupted
(Ctrl-C), with one line (for a run: how to resume). After 3 or 4 the run is resumable. A JSONL batch judges every good line, gives each bad one an
`error` record, and exits 2 if any line was bad, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TextIO

from pydantic import BaseModel, ConfigDict, ValidationError

from longhaul.errors import BadInput, LonghaulError
from longhaul.stop_reasons import allowed_stop_reasons, normalise_stop_reason
from longhaul.task import Task, TaskParams, describe_validation_error
from longhaul.verdict import StopReason, Verdict

if TYPE_CHECKING:
    from longhaul.runner import Plan
    from longhaul.store import RunStop


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: `--model` must not quietly become `--model-limits` where a command
        # has only the longer flag.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _params(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--param {pair!r}: expected KEY=VALUE, e.g. --param disks=5")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None


def _utf8(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); answers must be UTF-8") from None


def _read_text(path: str) -> str:
    return _utf8(_read_bytes(path), path)


def _jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | BadInput]]:
    """Each non-blank line's object (its fields are the caller's to check), or what is wrong with
    it: one bad line must not cost the batch, so lines are decoded one by one and a bad one is
    handed on, not raised."""
    for number, raw in enumerate(_read_bytes(path).splitlines(), 1):
        where = f"{path}:{number}"
        try:
            line = _utf8(raw, where)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise BadInput(f"{where}: each line must be a JSON object with a string field 'text' (got a JSON {_json_kind(obj)})")
            try:
                # A lone surrogate (JSON "\ud800") is valid JSON but no text: it would break
                # printing the record later, with the batch half written.
                json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise BadInput(f"{where}: a string holds a lone surrogate escape; strings must be valid Unicode") from None
        except BadInput as exc:
            yield number, exc
            continue
        yield number, obj


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "nothing" if value is None else names.get(type(value), type(value).__name__)


class AnswerLine(BaseModel):
    """One line of `verify --jsonl`. Other fields (an id, a model name) are copied to the output."""

    model_config = ConfigDict(extra="allow", strict=True)

    text: str
    """The answer."""

    thinking: str | None = None
    """The model's thinking, for evidence."""

    stop_reason: str | None = None
    """Why generation stopped, in longhaul's or the provider's words; absent means `end_turn`."""

    params: dict[str, Any] | None = None
    """Task parameters for this line, over those given with --param."""


class LineError(BaseModel):
    """The record of a line that could not be judged: bad input, never a verdict on a model."""

    line: int
    """1-based line number in the file."""

    outcome: Literal["error"] = "error"
    """Always `error`, so a reader can tell it from a judged line by one field."""

    message: str
    """One line naming the file and line, the field, and what is allowed."""


def _stop_flag(value: str) -> StopReason:
    # A person typed this flag: an unknown value is most likely a typo, and judging it as `other`
    # would quietly give the verdict of a natural end. Transcripts (--jsonl) only warn, below.
    stop = normalise_stop_reason(value)
    if stop is None:
        raise BadInput(f"--stop-reason {value!r}: not a known stop reason; allowed: {allowed_stop_reasons()}")
    return stop


def _print_verdict(v: Verdict, out: TextIO) -> None:
    out.write(f"{v.outcome}: {v.explanation}\n")
    expected = "?" if v.items_expected is None else str(v.items_expected)
    out.write(f"  items: {v.items_correct} correct of {expected} expected ({v.items_emitted} in the answer list)\n")
    if v.wont_do_kind:
        out.write(f"  won't-do kind: {v.wont_do_kind}\n")
    if v.first_error:
        e = v.first_error
        out.write(f"  first error: item {e.index + 1} (line {e.line}): got {e.got}, expected {e.expected}\n")
        out.write(f"    rule: {e.rule}\n")
    if v.claims_complete:
        out.write("  the answer claims to be complete\n")
    for ev in v.evidence:
        text = " ⏎ ".join(part.strip() for part in ev.text.splitlines() if part.strip())
        out.write(f"  evidence [{ev.source} {ev.kind} at {ev.start}-{ev.end}]: {text}\n")
    for note in v.notes:
        out.write(f"  note: {note}\n")


def cmd_tasks(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog
    from longhaul.task_listing import describe, render

    tasks = [describe(task) for _, task in sorted(Catalog(args.tasks_dir).tasks.items())]
    if args.json:
        print(json.dumps([t.model_dump(mode="json") for t in tasks], indent=2))
    else:
        print(render(tasks, min(_columns() or 100, 100)))
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog

    task = Catalog(args.tasks_dir).task(args.task)
    prompt = task.prompt(task.params(_params(args.param)))
    if prompt.system:
        print(f"--- system ---\n{prompt.system}\n--- user ---")
    print(prompt.user)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog
    from longhaul.verify import verify

    task = Catalog(args.tasks_dir).task(args.task)
    base = _params(args.param)
    _stop_flag(args.stop_reason)
    if args.jsonl:
        if args.file:
            raise BadInput("verify: give either FILE or --jsonl, not both")
        return _verify_batch(args, task, base)
    if not args.file:
        raise BadInput("verify: give a FILE (or - for standard input), or --jsonl FILE")
    thinking = _read_text(args.thinking) if args.thinking else ""
    verdict = verify(task, task.params(base), _read_text(args.file), thinking=thinking, stop_reason=args.stop_reason)
    if args.json:
        print(verdict.model_dump_json(indent=2))
    else:
        _print_verdict(verdict, sys.stdout)
    return 0 if verdict.outcome == "complete" else 1


def _verify_batch(args: argparse.Namespace, task: Task[Any], base: dict[str, Any]) -> int:
    """Judge every good line of a JSONL file; a bad line gets an `error` record and exit code 2."""
    from longhaul.verify import verify

    bad = False
    warned: set[str] = set()
    for number, obj in _jsonl(args.jsonl):
        where = f"{args.jsonl}:{number}"
        extra = {} if isinstance(obj, BadInput) else {k: v for k, v in obj.items() if k not in AnswerLine.model_fields}
        try:
            if isinstance(obj, BadInput):
                raise obj
            line, params = _answer_line(obj, where, task, base)
        except BadInput as exc:
            bad = True
            _print_line_error(LineError(line=number, message=str(exc)), extra, args.json)
            continue
        stop = line.stop_reason or args.stop_reason  # a line that gives none takes the flag's
        if normalise_stop_reason(stop) is None and stop not in warned:
            warned.add(stop)
            print(
                f"longhaul: warning: {where}: unknown stop reason {stop!r}, judged as 'other' and kept in "
                f"stop_reason_raw (known: {allowed_stop_reasons()})",
                file=sys.stderr,
            )
        verdict = verify(task, params, line.text, thinking=line.thinking or "", stop_reason=stop)
        if args.json:
            print(json.dumps({**extra, "verdict": verdict.model_dump(mode="json")}, ensure_ascii=False))
        else:
            print(f"{extra.get('id', f'line {number}')}: ", end="")
            _print_verdict(verdict, sys.stdout)
    return 2 if bad else 0


def _answer_line(obj: dict[str, Any], where: str, task: Task[Any], base: dict[str, Any]) -> tuple[AnswerLine, TaskParams]:
    try:
        line = AnswerLine.model_validate(obj)
    except ValidationError as exc:
        raise BadInput(describe_validation_error(exc, where)) from None
    try:
        return line, task.params({**base, **(line.params or {})})
    except BadInput as exc:
        raise BadInput(f"{where}: params: {exc}") from None


def _print_line_error(error: LineError, extra: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({**extra, **error.model_dump()}, ensure_ascii=False))
    else:
        print(f"{extra.get('id', f'line {error.line}')}: error: {error.message}")


IMPORT_FORMATS = ("jsonl", "openai-chat", "openai-responses", "anthropic", "gemini", "openai-compatible", "raw", "inspect")


def cmd_import(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog
    from longhaul.importing.build import import_answers, param_patterns
    from longhaul.importing.calls import read_calls
    from longhaul.importing.inspect_logs import read_eval_logs
    from longhaul.importing.jsonl import read_jsonl

    catalog = Catalog(args.tasks_dir)
    task = catalog.task(args.task)
    base, patterns = _params(args.param), param_patterns(args.param_from)
    source = Path(args.source)
    if args.format == "jsonl":
        answers = read_jsonl(source, args.model)
    elif args.format == "inspect":
        answers = read_eval_logs(source)
    else:
        answers = read_calls(source, args.format)
    done = import_answers(
        answers,
        task,
        base,
        patterns,
        Path(args.out),
        (args.format, args.source),
        catalog.source,
        lambda line: print(f"longhaul: {line}", file=sys.stderr),
    )
    skipped = f", {done.skipped} bad records left out (reported above)" if done.skipped else ""
    print(
        f"imported {done.trials} answer{'s' if done.trials != 1 else ''} from {len(done.models)} model{'s' if len(done.models) != 1 else ''} into {args.out}{skipped}; `longhaul report {args.out}` writes its report"
    )
    return 0


def cmd_refusals(args: argparse.Namespace) -> int:
    from longhaul.verify.refusal import detect

    bad = False
    for number, obj in _jsonl(args.jsonl):
        if not isinstance(obj, BadInput) and not isinstance(obj.get("text"), str):
            obj = BadInput(f"{args.jsonl}:{number}: field 'text' must be a string (got {_json_kind(obj.get('text'))})")
        if isinstance(obj, BadInput):
            bad = True
            _print_line_error(LineError(line=number, message=str(obj)), {}, args.json)
            continue
        finding = detect(obj["text"])
        extra = {k: v for k, v in obj.items() if k != "text"}
        row = {**extra, "refusal": finding.refusal, "kind": finding.kind, "evidence": [e.model_dump(mode="json") for e in finding.evidence]}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            label = extra.get("id", f"line {number}")
            said = "; ".join(f"{e.kind}: {e.text}" for e in finding.evidence) or "-"
            print(f"{label}\trefusal={str(finding.refusal).lower()}\tkind={finding.kind or '-'}\t{said}")
    return 2 if bad else 0


def cmd_budget(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog
    from longhaul.tokens import encoding_name_for, needed_tokens

    task = Catalog(args.tasks_dir).task(args.task)
    p = task.params(_params(args.param))
    if args.max_tokens is not None and args.max_tokens < 1:
        raise BadInput(f"--max-tokens must be a positive integer (got {args.max_tokens})")
    needed = needed_tokens(task, p, args.model)
    enc, exact = encoding_name_for(args.model)
    how = enc if exact else f"{enc}, an estimate for {args.model or 'this model'}"
    if args.max_tokens is None:
        print(f"{task.name} {json.dumps(p.model_dump())}: the complete answer needs {needed} output tokens ({how})")
        return 0
    fits = needed <= args.max_tokens
    print(
        f"{task.name} {json.dumps(p.model_dump())}: the complete answer needs {needed} output tokens ({how}); "
        f"budget {args.max_tokens}: {'fits' if fits else 'CANNOT FIT'}" + ("" if fits else f" (short by {needed - args.max_tokens})")
    )
    return 0 if fits else 1


def cmd_sim_profiles(args: argparse.Namespace) -> int:
    from longhaul.sim.profiles import PROFILES, Profile, common_parameters

    for name, profile in PROFILES.items():
        own = [f for f in profile.model_fields if f not in Profile.model_fields]
        params = f" [{', '.join(f'{f}={profile.model_fields[f].default}' for f in own)}]" if own else ""
        print(f"{name:12} {profile.summary}{params}")
    print("\nEvery profile also takes (default after the name), e.g. sim/lazy?k=20&faults=429:0.1&max_output=4096&api=responses:")
    rows = common_parameters()
    width = max(len(f"{name}={default}") for name, default, _ in rows)
    for name, default, sentence in rows:
        print(f"  {f'{name}={default}':{width}}  {sentence}")
    print("Answers are simulations, not measurements.")
    return 0


def cmd_sim_serve(args: argparse.Namespace) -> int:
    import asyncio

    from longhaul.catalog import Catalog
    from longhaul.sim.server import start

    tasks = Catalog(args.tasks_dir).tasks

    async def serve() -> None:
        sim = await start(tasks, args.host, args.port)
        print(
            f"longhaul sim: serving the simulated model at {sim.url} (OpenAI: Chat Completions and Responses) and {sim.root} (Anthropic); "
            "the model field names the profile (see `longhaul sim profiles`). Ctrl-C stops.",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await sim.aclose()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        print("longhaul sim: stopped", file=sys.stderr)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    import asyncio

    from longhaul.ask import ask, summary_line
    from longhaul.catalog import Catalog

    catalog = Catalog(args.tasks_dir)
    task = catalog.task(args.task)
    p = task.params(_params(args.param))
    stream = None if args.json else sys.stdout

    async def go() -> Any:
        from longhaul.providers import Providers

        async with Providers(base_url=args.base_url, tasks=catalog.tasks) as providers:
            providers.check(args.model)
            return await ask(
                await providers.get(args.model),
                task,
                p,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                seed=args.seed,
                thinking_budget=args.thinking_budget,
                echo=stream,
            )

    result = asyncio.run(go())
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        if result.completion is not None:
            print(f"\n{summary_line(result.completion)}")
        _print_verdict(result.verdict, sys.stdout)
    return 0 if result.verdict.outcome == "complete" else 1


def _display(plain: bool) -> Any:
    if plain or not sys.stdout.isatty():
        from longhaul.display.plain import PlainDisplay

        return PlainDisplay(sys.stdout)
    from longhaul.display.live import LiveDisplay

    return LiveDisplay()


def _columns() -> int | None:
    """The width the end-of-run table must fit: $COLUMNS, else the terminal's; None off a
    terminal (a CI log keeps the whole table)."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _spend_limits(args: argparse.Namespace, the_plan: Plan) -> Any:
    """The spend guard's limits from the flags, checked before a folder is made (None: no guard)."""
    if args.max_cost is None and args.max_output_tokens is None:
        return None
    from longhaul.pricing import read_prices
    from longhaul.spend import SpendLimits, check_limits

    if args.max_cost is not None and not args.prices:
        raise BadInput("--max-cost: needs --prices FILE (USD per million tokens, as examples/prices.toml); longhaul never guesses prices")
    prices = read_prices(Path(args.prices)) if args.prices else {}
    limits = SpendLimits(max_cost=args.max_cost, max_output_tokens=args.max_output_tokens, prices=prices)
    check_limits(limits, the_plan.suite)
    return limits


def _execute(the_plan: Any, args: argparse.Namespace, resume: Path | None) -> int:
    import asyncio
    import gc

    from longhaul.batch import check_plan_batches
    from longhaul.runner import DEFAULT_REPORTS, arun, check_keys, check_limits, new_run_dir

    limits = _spend_limits(args, the_plan)
    out = Path(args.out) if getattr(args, "out", None) else None
    if resume is None and out is None:
        check_keys(the_plan.suite)  # a missing key: one line, and no empty folder left behind
        check_limits(the_plan)  # nor a max_tokens above a model's output limit
        if getattr(args, "batch", False):
            check_plan_batches(the_plan)  # nor --batch with a model that has no batch API
        out = new_run_dir(DEFAULT_REPORTS, the_plan.suite)  # made here, so that a Ctrl-C can name it
    run_dir = resume or out
    assert run_dir is not None
    # Everything loaded so far (modules, the plan) lives as long as the process: out of the cyclic
    # collector's sight, each collection during the run walks only what the run makes. The command
    # owns its process, so this is its choice to make (`longhaul.run` from Python does not do it).
    gc.freeze()
    try:
        batch = bool(getattr(args, "batch", False))
        result = asyncio.run(arun(the_plan, out=out, resume=resume, display=_display(args.plain), limits=limits, batch=batch))
    except KeyboardInterrupt:
        if (run_dir / "trials.sqlite").exists():
            print(
                f"longhaul: interrupted; every finished trial is stored in {run_dir}. Resume with: longhaul resume {run_dir}",
                file=sys.stderr,
            )
        else:
            print("longhaul: interrupted before any trial was stored", file=sys.stderr)
        return 130
    except LonghaulError:
        raise  # one line, from main; a full disk's says how to resume
    except Exception:
        # A bug: its traceback follows, printed after every trial was cancelled and the
        # providers and the store were closed; what was stored stays.
        if (run_dir / "trials.sqlite").exists():
            print(
                f"longhaul: the run stopped on an unexpected error; every finished trial is stored in {run_dir}. "
                f"Resume with: longhaul resume {run_dir}",
                file=sys.stderr,
            )
        raise
    paths = None
    if not args.no_report:
        from longhaul.report import write_report

        # Read back from the store, in batches: the run kept counts, not its trials.
        paths = write_report(result.run_dir, prices=Path(args.prices) if getattr(args, "prices", None) else None, catalog=the_plan.catalog)
    print()
    table = result.tally.terminal_table(_columns())
    print(table)
    if paths is not None and table != result.tally.table():
        print(f"(the full table: {paths['md']})")
    judged = result.tally.judge_line()
    if judged:
        print(f"\n{judged}")
    print(f"\nrun folder: {result.run_dir} ({result.stored}/{result.total} trials)")
    if paths is not None:
        print(f"report: {paths['html']} (also {paths['md'].name} and {paths['json'].name})")
    else:
        print(f"no report written: `longhaul report {result.run_dir}` writes it")
    if any(stop.reason == "model_unavailable" for stop in result.stops):
        print("not finished: a model was stopped; the lines below say why and how to resume")
    elif result.interrupted:
        print(f"not finished: resume with `longhaul resume {result.run_dir}`")
    return _report_stops(result.stops)


def _report_stops(stops: Sequence[RunStop]) -> int:
    """One line a stop on stderr, and the exit code they give: 3 when a provider stopped a model
    (an auth failure, an output limit, a batch that failed or a batch API that did), 4 when only
    the spend guard stopped the run, 0 without a stop."""
    for stop in stops:
        print(f"longhaul: {stop.message}", file=sys.stderr)
    if any(stop.reason in ("model_unavailable", "batch_failed") for stop in stops):
        return 3
    return 4 if stops else 0


def cmd_tui(args: argparse.Namespace) -> int:
    """`longhaul tui SUITE [run options]` runs with the Textual UI; `longhaul tui RUN` browses a run."""
    from longhaul.runner import DEFAULT_REPORTS, check_keys, check_limits, new_run_dir
    from longhaul.store import read_manifest

    if args.plain:
        raise BadInput("--plain: the terminal UI has no plain mode; use `longhaul run SUITE --plain`")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput("longhaul tui needs a terminal; off one, use `longhaul run SUITE` (one line per finished trial)")
    target = Path(args.suite)
    refused = ""
    if (target / "manifest.json").is_file() and (imported := read_manifest(target).imported) is not None:
        # An imported run's strategy is no catalog's, so it has no plan: browsed from its store alone.
        the_plan, run_dir, browse, resume = None, target, True, False
        refused = f"an imported run (from {imported.source}) has nothing to resume: longhaul never sent its requests"
    elif (target / "manifest.json").is_file():
        # Browsing; `R` resumes it with these flags, as `longhaul resume RUN` would.
        the_plan = _resume_plan(args, target)
        run_dir, browse, resume = target, True, False
    else:
        the_plan = _plan(args)
        browse, resume = False, bool(args.resume)
        if not resume:
            check_keys(the_plan.suite)  # a missing key: one line here, not a broken screen (nor an empty folder)
            check_limits(the_plan)
        run_dir = Path(args.resume) if args.resume else Path(args.out) if args.out else new_run_dir(DEFAULT_REPORTS, the_plan.suite)
    from longhaul.tui.app import LonghaulApp

    app = LonghaulApp(
        run_dir,
        the_plan,
        resume=resume,
        browse=browse,
        prices=Path(args.prices) if args.prices else None,
        no_resume=refused,
        report=not getattr(args, "no_report", False),
    )
    message = app.run()
    if message:
        print(message)
    return _report_stops(app.stops)


def _plan(args: argparse.Namespace) -> Plan:
    """The plan `run` and `tui` make of a suite and their flags."""
    from longhaul.runner import plan
    from longhaul.shard import parse_shard
    from longhaul.store import read_manifest

    shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
    if shard is None and getattr(args, "resume", None):
        shard = read_manifest(Path(args.resume)).shard  # resuming a shard's run: its share, without repeating --shard
    model_limits = args.model_limits
    if model_limits is None and getattr(args, "resume", None):
        model_limits = read_manifest(Path(args.resume)).model_limits  # the entries that run was checked with, again
    return plan(
        args.suite,
        models=args.model or None,
        strategies=args.strategy or None,
        max_connections=args.max_connections,
        concurrency=args.concurrency,
        tasks_dir=args.tasks_dir,
        agents_dir=args.agents_dir,
        refusal_judge=args.refusal_judge,
        shard=shard,
        rpm=args.rpm,
        tpm=args.tpm,
        model_limits=model_limits,
        over_model_limit=args.over_model_limit,
    )


def cmd_run(args: argparse.Namespace) -> int:
    if args.tui:
        if args.max_cost is not None or args.max_output_tokens is not None:
            raise BadInput(
                "--max-cost and --max-output-tokens do not work with --tui yet; use `longhaul run` (then `longhaul tui RUN` to browse)"
            )
        if args.dry_run:
            raise BadInput("--dry-run sends nothing, so there is nothing to watch: drop --tui")
        if args.batch:
            raise BadInput("--batch does not work with --tui yet; use `longhaul run --batch` (then `longhaul tui RUN` to browse)")
        return cmd_tui(args)
    the_plan = _plan(args)
    if args.dry_run:
        from longhaul.dryrun import dry_run
        from longhaul.runner import check_limits

        if args.batch:
            from longhaul.batch import check_plan_batches

            check_plan_batches(the_plan)  # as the real run refuses: one line, exit 2, before the table
        print(dry_run(the_plan, Path(args.prices) if args.prices else None, batch=args.batch))
        check_limits(the_plan)  # after the table: the refusal, one line, exit 2
        return 0
    return _execute(the_plan, args, Path(args.resume) if args.resume else None)


def _resume_plan(args: argparse.Namespace, run_dir: Path) -> Plan:
    """The plan of an earlier run with this command's runtime flags (limits, judge, folders)."""
    from longhaul.runner import resume_plan

    return resume_plan(
        run_dir,
        args.tasks_dir,
        args.agents_dir,
        args.refusal_judge,
        concurrency=args.concurrency,
        max_connections=args.max_connections,
        rpm=args.rpm,
        tpm=args.tpm,
        model_limits=args.model_limits,
        over_model_limit=args.over_model_limit,
    )


def cmd_resume(args: argparse.Namespace) -> int:
    from longhaul.store import read_manifest

    run_dir = Path(args.run)
    if (manifest := read_manifest(run_dir)).imported is not None:
        raise BadInput(
            f"{run_dir}: an imported run (from {manifest.imported.source}) has nothing to resume: longhaul never sent its requests"
        )
    return _execute(_resume_plan(args, run_dir), args, run_dir)


def cmd_merge(args: argparse.Namespace) -> int:
    from longhaul.merge import merge
    from longhaul.store import read_index, read_manifest

    runs = [Path(r) for r in args.runs]
    out = Path(args.out) if args.out else Path("reports") / f"{read_manifest(runs[0]).run_id}-merged"
    manifest = merge(
        runs, out, tasks_dir=args.tasks_dir, agents_dir=args.agents_dir, warn=lambda line: print(f"longhaul: {line}", file=sys.stderr)
    )
    stored = len(read_index(out))
    print(f"merged {len(runs)} runs into {out} ({stored}/{manifest.trials_total} trials); `longhaul report {out}` writes its report")
    if stored < manifest.trials_total:
        print(f"not all of the suite: `longhaul resume {out}` runs the {manifest.trials_total - stored} missing trials")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from longhaul.export import export

    export(Path(args.run), args.format, turns=args.turns, out=sys.stdout)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog
    from longhaul.report import write_report
    from longhaul.store import read_manifest

    run_dir = Path(args.run)
    # The run's own tasks and strategies (its manifest records their folders), unless the flags
    # say where they are now.
    catalog = None
    if args.tasks_dir or args.agents_dir:
        catalog = Catalog.of_run(run_dir, read_manifest(run_dir).catalog, args.tasks_dir, args.agents_dir)
    paths = write_report(run_dir, Path(args.out) if args.out else None, Path(args.prices) if args.prices else None, catalog)
    for kind, path in paths.items():
        print(f"{kind:4} {path}")
    if args.prices:
        from longhaul.pricing import unpriced_line
        from longhaul.report.results import Results

        # The line report.html has beside its costs, where it is read now: a key that matches no model is an easy slip.
        unpriced = Results.model_validate_json(paths["json"].read_text(encoding="utf-8")).unpriced
        if line := unpriced_line(set(unpriced), file_given=True):
            print(f"longhaul report: {line}", file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from longhaul.report.results import Results

    print(json.dumps(Results.model_json_schema(), indent=2))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from longhaul.report.compare import compare, render

    comparison = compare([Path(r) for r in args.runs])
    print(render(comparison, args.format))
    failed = (args.fail_on_regression and comparison.regressed) or (args.fail_on_errors and comparison.errors_rose)
    return 1 if failed else 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from longhaul.catalog import Catalog

    for name, strategy in sorted(Catalog(agents_dir=args.agents_dir).strategies.items()):
        print(f"{name:10} {strategy.summary}")
    return 0


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive amount of US dollars, e.g. 5 or 0.25 (got {text!r})")
    return value


def _tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number of tokens (got {text!r})")
    return value


def _limit(text: str) -> int:
    """A runtime limit's value (argparse names the flag in its one-line error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1024 (got {text!r})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="longhaul", description="Will a model produce a long, checkable output, and is it right?")
    parser.add_argument("--version", action="version", version=f"longhaul {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def task_args(p: argparse.ArgumentParser, with_task: bool = True) -> None:
        if with_task:
            p.add_argument("task", help="task name (see `longhaul tasks`)")
            p.add_argument("--param", action="append", default=[], metavar="K=V", help="task parameter, repeatable")
        p.add_argument("--tasks-dir", help="a folder of your own task modules")

    p = sub.add_parser("tasks", help="list the tasks")
    task_args(p, with_task=False)
    p.add_argument("--json", action="store_true", help="the tasks and their parameters as JSON")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("prompt", help="print a task's prompt")
    task_args(p)
    p.set_defaults(func=cmd_prompt)

    p = sub.add_parser("verify", help="verify one answer (exit 1 unless complete), or many with --jsonl")
    task_args(p)
    p.add_argument("file", nargs="?", help="answer text file, or - for standard input")
    p.add_argument(
        "--stop-reason",
        default="end_turn",
        help="why generation stopped: end_turn, max_tokens, content_filter, other, or a provider's own (length, STOP, ...); "
        "with --jsonl, for the lines that give none",
    )
    p.add_argument("--thinking", metavar="FILE", help="the model's thinking text, for evidence")
    p.add_argument(
        "--jsonl",
        metavar="FILE",
        help="many answers: JSON lines with text, thinking, stop_reason, params (a bad line gets an error record, and exit code 2)",
    )
    p.add_argument("--json", action="store_true", help="print the Verdict as JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("import", help="turn answers longhaul did not produce into a run folder (report, compare, export, tui read it)")
    p.add_argument(
        "format", choices=IMPORT_FORMATS, help="the records' format; raw: provider calls, the provider told by each response's shape"
    )
    p.add_argument("source", help="a file, or a folder of them (each optionally gzipped)")
    p.add_argument("--task", required=True, help="the task the answers answer (see `longhaul tasks`)")
    p.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="task parameter for every record (a record's own params win)"
    )
    p.add_argument(
        "--param-from",
        action="append",
        default=[],
        metavar="K=REGEX",
        help="task parameter read from each record's user (else system) prompt: the regex's one group, e.g. 'disks=with (\\d+) disks'",
    )
    p.add_argument("--model", help="jsonl: the model of lines that name none")
    p.add_argument("--out", required=True, help="the new run folder")
    p.add_argument("--tasks-dir", help="a folder of your own task modules")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("refusals", help="run the refusal-phrase detector on JSON lines with a `text` field")
    p.add_argument("--jsonl", required=True, metavar="FILE", help="JSON lines, each with `text`; other fields are copied")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=cmd_refusals)

    p = sub.add_parser("budget", help="tokens the complete answer needs, against a budget if given (exit 1 if it cannot fit)")
    task_args(p)
    p.add_argument("--max-tokens", type=int, help="the output-token budget to check it against")
    p.add_argument("--model", help="provider/model, to pick the tokenizer")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser("ask", help="send one task prompt to a model, stream the answer, and verify it (exit 1 unless complete)")
    p.add_argument(
        "model",
        help="provider/model: openai/gpt-4.1, openai-responses/o4-mini, anthropic/claude-sonnet-4-5, openai-api/<service>/<model>, sim/<profile>",
    )
    task_args(p)
    p.add_argument("--max-tokens", type=int, default=16_384, help="output-token budget, thinking included (default 16384)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default: the provider's)")
    p.add_argument("--seed", type=int, help="sampling seed, where the provider takes one")
    p.add_argument("--thinking-budget", type=int, help="extended-thinking budget in tokens, where the provider has one")
    p.add_argument("--base-url", help="the server's base URL (overrides <SERVICE>_BASE_URL)")
    p.add_argument("--json", action="store_true", help="print the completion and verdict as JSON, not the stream")
    p.set_defaults(func=cmd_ask)

    def run_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tasks-dir", help="a folder of your own task modules")
        p.add_argument("--agents-dir", help="a folder of your own strategy modules")
        p.add_argument("--plain", action="store_true", help="one line per finished trial, even on a terminal")

    def suite_args(p: argparse.ArgumentParser, prices_help: str) -> None:
        p.add_argument("--model", action="append", default=[], metavar="M", help="run these models instead of the suite's (repeatable)")
        p.add_argument(
            "--strategy", action="append", default=[], metavar="S", help="run these strategies instead of the suite's (repeatable)"
        )
        p.add_argument("--out", help="the run folder (default: reports/<time>-<suite>)")
        p.add_argument("--resume", metavar="RUN", help="add the missing trials to this earlier run of the same suite")
        limit_args(p)
        p.add_argument(
            "--prices",
            metavar="FILE",
            help=prices_help,
        )
        judge_arg(p)
        p.add_argument(
            "--shard",
            metavar="I/N",
            help="run only shard I of N (1-based) of the trials, split by a hash of their keys: N runners run each trial once; "
            "`longhaul merge` joins their run folders (with --resume: the run's own shard unless given)",
        )

    def limit_args(p: argparse.ArgumentParser) -> None:
        # Runtime limits: not part of the suite's identity, so a resume may change them.
        p.add_argument("--concurrency", type=_limit, metavar="N", help="trials in flight at once, 1..1024 (default: the suite's, 8)")
        p.add_argument(
            "--max-connections",
            type=_limit,
            metavar="N",
            help="requests in flight per provider and base URL, 1..1024 (default: the suite's, 8)",
        )
        p.add_argument(
            "--model-limits",
            metavar="FILE",
            help="a TOML file of models' output and context limits over the built-in table (longhaul/model_limits.toml): "
            "max_tokens is checked against them before a run and in --dry-run",
        )
        p.add_argument(
            "--over-model-limit",
            choices=["refuse", "clamp"],
            help="replaces the suite's over_model_limit: refuse a max_tokens above a model's known output limit, or send it that limit",
        )
        for flag, what in (("--rpm", "requests"), ("--tpm", "tokens (input and output)")):
            p.add_argument(
                flag,
                action="append",
                default=[],
                metavar="[MODEL=]N",
                help=f"{what} per minute, kept before the provider's 429s: N for every model, MODEL=N for one "
                "(repeatable; replaces the suite's [limits] value)",
            )

    def batch_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--batch",
            action="store_true",
            help="send the one-turn (direct) trials through the providers' batch APIs (half price, not streamed); "
            "other strategies stream meanwhile. A resume of such a run polls its stored batches",
        )

    def spend_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--max-cost",
            type=_usd,
            metavar="USD",
            help="spend guard: start no trial once this run's projected spend would pass USD (needs --prices); resumable",
        )
        p.add_argument(
            "--max-output-tokens",
            type=_tokens,
            metavar="N",
            help="spend guard: start no trial once this run's projected output tokens would pass N; resumable",
        )

    def judge_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--refusal-judge",
            metavar="MODEL",
            help="a model (provider/model, e.g. sim/judge) that classifies the answers "
            "the refusal detector is unsure of (XSTest's rubric); off by default",
        )

    def report_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--no-report",
            action="store_true",
            help="store the trials and print the summary, but write no report (write it later with `longhaul report RUN`)",
        )

    p = sub.add_parser(
        "tui",
        help="watch a suite run in the terminal UI (the options of run but --dry-run, --max-cost, --max-output-tokens, --plain), "
        "or browse a run folder",
    )
    p.add_argument("suite", metavar="SUITE|RUN", help="a suite (file or built-in name) to run, or a run folder to browse")
    suite_args(p, "a TOML price file (USD per million tokens): costs in the report the run writes when it ends and `o` writes")
    run_args(p)
    report_arg(p)
    p.set_defaults(func=cmd_tui, tui=True, dry_run=False)

    p = sub.add_parser("run", help="run a suite: a TOML file, or a built-in suite by name (demo, illusion-of-thinking, ...)")
    p.add_argument("suite", help="suite file, or the name of a built-in suite")
    p.add_argument("--tui", action="store_true", help="watch it in the terminal UI (as `longhaul tui SUITE`)")
    suite_args(p, "a TOML price file (USD per million tokens): costs in the report, the ceiling in --dry-run, --max-cost")
    p.add_argument("--dry-run", action="store_true", help="send nothing: list cells, trials and the tokens complete answers need")
    batch_arg(p)
    spend_args(p)
    run_args(p)
    report_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="run the trials an interrupted run is missing")
    p.add_argument("run", help="the run folder")
    run_args(p)
    limit_args(p)
    spend_args(p)
    p.add_argument("--prices", metavar="FILE", help="a TOML price file (USD per million tokens): costs in the report, --max-cost")
    judge_arg(p)
    report_arg(p)
    batch_arg(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("merge", help="join the run folders of a suite's shards (--shard i/n) into one run")
    p.add_argument("runs", nargs="+", metavar="RUN", help="the shards' run folders (runs of one suite, no trial in two)")
    p.add_argument("--out", help="the merged run folder (default: reports/<first run>-merged)")
    p.add_argument("--tasks-dir", help="where the runs' own task modules are now, if their recorded folder has moved")
    p.add_argument("--agents-dir", help="where the runs' own strategy modules are now, if their recorded folder has moved")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("export", help="one row per trial (or per turn) of a run, as JSON lines or CSV")
    p.add_argument("run", help="the run folder")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--turns", action="store_true", help="one row per turn instead of per trial")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="write report.html, summary.md and results.json for a run")
    p.add_argument("run", help="the run folder")
    p.add_argument("--out", help="write them here instead of the run folder")
    p.add_argument("--prices", metavar="FILE", help="a TOML price file (USD per million tokens), for costs")
    p.add_argument("--tasks-dir", help="where the run's own task modules are now (default: the folder it was run with)")
    p.add_argument("--agents-dir", help="where the run's own strategy modules are now (default: the folder it was run with)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="compare runs cell by cell and pooled over sizes: the first is the baseline")
    p.add_argument("runs", nargs="+", help="run folders: baseline first")
    p.add_argument("--format", choices=["md", "json", "html"], default="md")
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a cell, or a pool of a model's sizes, got worse beyond chance"
    )
    p.add_argument(
        "--fail-on-errors",
        action="store_true",
        help="exit 1 when provider errors rose beyond chance in a cell or pool (never a regression of the model)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("schema", help="print the JSON schema of results.json")
    p.add_argument("what", choices=["results"])
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("strategies", help="list the strategies")
    p.add_argument("--agents-dir", help="a folder of your own strategy modules")
    p.set_defaults(func=cmd_strategies)

    p = sub.add_parser("sim", help="the simulated model: `sim serve`, `sim profiles`")
    simsub = p.add_subparsers(dest="sim_command", required=True, parser_class=_Parser)
    q = simsub.add_parser("serve", help="serve the simulated model over HTTP (OpenAI Chat Completions and Responses, Anthropic)")
    q.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    q.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    q.add_argument("--tasks-dir", help="a folder of your own task modules, for the sim to recognise")
    q.set_defaults(func=cmd_sim_serve)
    q = simsub.add_parser("profiles", help="list the sim's behaviour profiles, one line each")
    q.set_defaults(func=cmd_sim_profiles)
    return parser


def _version() -> str:
    from longhaul import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse does not give a trailing optional positional (verify's FILE) to the subcommand once
    # options stand between it and the task name; take it here rather than make users reorder.
    if (
        extra
        and getattr(args, "command", None) == "verify"
        and args.file is None
        and len(extra) == 1
        and (extra[0] == "-" or not extra[0].startswith("-"))
    ):
        args.file, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args))
    except BadInput as exc:
        print(f"longhaul: error: {exc}", file=sys.stderr)
        return 2
    except LonghaulError as exc:
        print(f"longhaul: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # Ctrl-C in ask, verify, report ...: one line, the SIGINT convention
        print("longhaul: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
