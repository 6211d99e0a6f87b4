"""Known models' output and context limits, and each run's max_tokens checked against them.

The table is `longhaul/model_limits.toml` (shipped with the package), with a user's
`--model-limits FILE` laid over it entry by entry; a simulated model's own `max_output=N` and
`context=N` (`sim/diligent?max_output=32768`) are its entry. A model with no entry has no check.

A suite whose max_tokens is above a model's output limit is refused before anything is sent, or,
with `over_model_limit = "clamp"`, sends that model its limit instead (`Fit.sent`): the number
each trial records as `TrialRecord.max_tokens`, since a budget verdict means that number.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from longhaul.errors import BadInput
from longhaul.providers.address import parse_address
from longhaul.providers.retry import OutputLimitExceeded
from longhaul.sim.profiles import parse_profile

BUILTIN = "model_limits.toml"


class LimitEntry(BaseModel):
    """One model's row of a limits file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output: int = Field(ge=1, strict=True)
    """Most output tokens one request may ask for (max_tokens), thinking included."""

    context: int | None = Field(None, ge=1, strict=True)
    """The context window: the prompt and the output together; unset when not known."""

    source: str = Field(min_length=1)
    """Where the figures come from (the provider's model page: a URL, or the document's name)."""

    note: str = ""
    """How they were confirmed, where not read on that page itself."""

    read: datetime.date
    """When they were read there."""


@dataclass(frozen=True, slots=True)
class Limit:
    """A model's limits as the check uses them, with where they come from, for its messages."""

    output: int | None
    """None: only the context window is known (a simulated model given only `context=N`)."""
    context: int | None
    where: str
    """`https://..., read 2026-11-28`, or the sim address's own parameter."""


def read_user(path: Path) -> dict[str, LimitEntry]:
    """A `--model-limits` file's entries; a bad one is one `BadInput` line naming the file (and the field)."""
    where = f"--model-limits {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{where}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{where}: not UTF-8 text (a TOML file is UTF-8)") from None
    return _parse(text, where)


def read_table(user: Path | Mapping[str, LimitEntry] | None = None) -> dict[str, Limit]:
    """The built-in table, with `user`'s entries (a `--model-limits` file, or the entries a run
    recorded in its manifest) replacing its own."""
    builtin = files("longhaul").joinpath(BUILTIN).read_text(encoding="utf-8")
    entries = _parse(builtin, f"longhaul/{BUILTIN}")
    if user is not None:
        entries |= read_user(user) if isinstance(user, Path) else user
    return {model: _limit(entry) for model, entry in entries.items()}


def used(user: Mapping[str, LimitEntry], models: Iterable[str]) -> dict[str, LimitEntry]:
    """The entries of `user` that some model of `models` is checked against (what a run records
    in its manifest, so that a resume applies them again)."""
    keys = {_key(user, model) for model in models}
    return {model: entry for model, entry in user.items() if model in keys}


def _limit(entry: LimitEntry) -> Limit:
    return Limit(entry.output, entry.context, f"{entry.source}, read {entry.read.isoformat()}")


def _parse(text: str, where: str) -> dict[str, LimitEntry]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where}: not valid TOML: {exc}") from None
    table = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict):
            raise BadInput(f'{where}: {model}: a table ["provider/model"] with output, context, source and read, not a value')
        try:
            parse_address(model)
            row = LimitEntry.model_validate(entry)
        except BadInput as exc:
            raise BadInput(f'{where}: ["{model}"]: {exc}') from None
        except ValidationError as exc:
            e = exc.errors()[0]
            field = ".".join(map(str, e["loc"])) or "entry"
            msg = "unknown field (allowed: output, context, source, note, read)" if e["type"] == "extra_forbidden" else e["msg"]
            if field in ("output", "context"):
                msg += " (a whole number of tokens, at least 1, unquoted)"
            raise BadInput(f'{where}: ["{model}"].{field}: {msg}') from None
        table[model] = row
    return table


def find(table: Mapping[str, Limit], model: str) -> Limit | None:
    """The limits of `model` (an address as a suite writes it), or None when none are known.
    `openai-responses/<m>` is `openai/<m>`; a dated snapshot (OpenAI's `-2025-04-14`, Anthropic's
    `-20250929` or `-latest`) is its alias's; a simulated model's are its own parameters, unless
    the table names that address."""
    key = _key(table, model)
    if key is not None:
        return table[key]
    provider, _, name = model.partition("/")
    if provider == "sim":
        profile = parse_profile(name)
        if profile.max_output is None and profile.context is None:
            return None
        return Limit(profile.max_output, profile.context, "the simulated model's own parameters")
    return None


# A snapshot's date, after which the name is its alias's: OpenAI writes `gpt-4.1-2025-04-14`,
# Anthropic `claude-sonnet-4-5-20250929` (and `-latest`).
_SNAPSHOT = {"openai": re.compile(r"-\d{4}-\d{2}-\d{2}$"), "anthropic": re.compile(r"-(\d{8}|latest)$")}


def _key(table: Mapping[str, object], model: str) -> str | None:
    """The entry of `table` that `model` reads: its own, else its alias's (see `find`)."""
    if model in table:
        return model
    provider, _, name = model.partition("/")
    if provider == "openai-responses":
        return _key(table, f"openai/{name}")
    if (snapshot := _SNAPSHOT.get(provider)) is not None and (alias := snapshot.sub("", name)) != name and f"{provider}/{alias}" in table:
        return f"{provider}/{alias}"
    return None


@dataclass(frozen=True, slots=True)
class Fit:
    """One model's max_tokens against its limits."""

    model: str
    asked: int
    """The suite's max_tokens."""
    sent: int
    """What each request to this model is sent: `asked`, or the limit when clamped."""
    limit: Limit | None
    prompt: int | None = None
    """The longest first prompt of its cells in tokens, where its context is known."""
    problem: str | None = None
    """The one-line refusal, when the suite cannot run on this model as written."""
    overflow_after: int | None = None
    """A warning, not a refusal: a conversation that grows (`continue`) resends every answer, so
    its request after this many turns (prompt + turns × max_tokens, and max_tokens more) may
    exceed the context window before max_turns; None when it cannot, or is not known."""

    @property
    def clamped(self) -> bool:
        return self.sent < self.asked

    def line(self) -> str:
        """What `--dry-run` says of this model."""
        if self.problem is not None:
            return f"REFUSED: {self.problem}"
        if self.limit is None:
            return f"{self.model}: no known limit (max_tokens {self.asked:,} sent as written; --model-limits FILE adds one)"
        output = f"{self.limit.output:,} tokens" if self.limit.output is not None else "not known"
        text = f"{self.model}: output limit {output} ({self.limit.where})"
        text += f": max_tokens {self.sent:,} " + (f"(clamped from {self.asked:,})" if self.clamped else "fits")
        if self.limit.context is not None and self.prompt is not None:
            text += f"; context {self.limit.context:,}: longest first prompt {self.prompt:,} + {self.sent:,} fits"
        if self.overflow_after is not None:
            text += (
                f"; WARNING: a growing conversation (its strategy resends every answer) may overflow the context"
                f" after turn {self.overflow_after} (the check is of the first prompt only)"
            )
        return text


ANTHROPIC_MIN_THINKING = 1024
"""The smallest `budget_tokens` Anthropic's extended thinking takes (its API refuses less)."""


def check(
    models: Iterable[str],
    max_tokens: int,
    thinking_budget: int | None,
    over: Literal["refuse", "clamp"],
    table: Mapping[str, Limit],
    where: str,
    prompts: Mapping[str, int] | None = None,
    grows: Mapping[str, int] | None = None,
) -> list[Fit]:
    """Every model's fit; `prompts` gives each model's longest first prompt in tokens (for the
    context check; a model missing from it is not checked against its context); `grows` the most
    turns of its cells whose conversation grows (their worst case, prompt + turns × max_tokens, a warning)."""
    fits = []
    setting = f"lower max_tokens in {where}" + (' or set over_model_limit = "clamp"' if over == "refuse" else "")
    for model in models:
        limit = find(table, model)
        if thinking_budget is not None and thinking_budget < ANTHROPIC_MIN_THINKING and model.partition("/")[0] == "anthropic":
            # Anthropic refuses every such request (HTTP 400): every trial would end as `error`.
            refusal = (
                f"model {model!r}: thinking_budget {thinking_budget} is below the {ANTHROPIC_MIN_THINKING:,} tokens Anthropic's"
                f" extended thinking takes at least; raise thinking_budget in {where} or leave it out"
            )
            fits.append(Fit(model, max_tokens, max_tokens, limit, problem=refusal))
            continue
        if limit is None:
            fits.append(Fit(model, max_tokens, max_tokens, None))
            continue
        sent, problem = max_tokens, None
        if limit.output is not None and max_tokens > limit.output:
            if over == "clamp":
                sent = limit.output
            else:
                problem = f"model {model!r}: max_tokens {max_tokens} is above its output limit of {limit.output:,} tokens ({limit.where}); {setting}"
        if problem is None and thinking_budget is not None and thinking_budget >= sent:
            problem = (
                f"model {model!r}: thinking_budget {thinking_budget} is not below the max_tokens it is sent ({sent:,}, its output limit);"
                f" lower thinking_budget in {where}"
            )
        prompt = (prompts or {}).get(model) if limit.context is not None else None
        if problem is None and limit.context is not None and prompt is not None and prompt + sent > limit.context:
            problem = (
                f"model {model!r}: a prompt of {prompt:,} tokens and max_tokens {sent:,} exceed its context window of"
                f" {limit.context:,} tokens ({limit.where}); lower max_tokens in {where}"
            )
        overflow = None
        turns = (grows or {}).get(model)
        if problem is None and turns is not None and limit.context is not None and prompt is not None:
            fitting = (limit.context - prompt) // sent  # turns whose answers fit beside the prompt
            overflow = fitting if fitting < turns else None
        fits.append(Fit(model, max_tokens, sent, limit, prompt, problem, overflow))
    return fits


def refuse(fits: Iterable[Fit]) -> None:
    """Raise the first model's refusal (one line: the model, its limit, the setting to change)."""
    for fit in fits:
        if fit.problem is not None:
            raise BadInput(fit.problem)


def needs_prompts(models: Iterable[str], table: Mapping[str, Limit]) -> list[str]:
    """The models whose context window is known: only their prompts need counting."""
    return [m for m in models if (limit := find(table, m)) is not None and limit.context is not None]


def limit_fix(model: str, refused: OutputLimitExceeded, folder: Path, *, stored: bool) -> str:
    """The one way on after a provider's "max_tokens too large", streamed or batched: a resume that
    clamps the model to its limit (none of its trials stored, so no cell mixes budgets), or a new
    run if some are (`stored`)."""
    limit = f"{refused.limit}" if refused.limit is not None else "its limit"
    if stored:
        return f"some of its trials are stored at this max_tokens, so start a new run with max_tokens at most {limit}"
    return (
        f'to send them {limit}: write its limit to a file (["{model}"] with output = {limit}, source and read, as longhaul/model_limits.toml)'
        f" and run: longhaul resume {folder} --model-limits FILE --over-model-limit clamp"
    )
