"""The simulated model's behaviours, each modelled on something seen in real transcripts.

A profile reads a `Situation` and writes a `Script`: the thinking it would do, the answer, and
any cap of its own on output. The server turns a script into tokens, honours `max_tokens`,
streams it, and injects faults. Profiles are pydantic models of their parameters, so
`sim/lazy?k=20` is validated like any other input.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar, Literal, get_args, get_origin
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from longhaul.code_task import CodeTask
from longhaul.errors import BadInput
from longhaul.sim import JUDGE_MARK
from longhaul.sim.reading import Situation
from longhaul.task import describe_validation_error

FAULT_KINDS = ("401", "403", "404", "408", "429", "500", "503", "529", "cut", "slow")


@dataclass(frozen=True, slots=True)
class Script:
    """What the model will say, before tokens and limits."""

    answer: str
    thinking: str | Callable[[], str]
    """What it thinks first, when the request asks for thinking (a function when it is long to
    write: most requests ask for none)."""
    cap: int | None = None
    """The model's own output limit, whatever the request allows."""

    def thought(self) -> str:
        return self.thinking() if callable(self.thinking) else self.thinking


class Profile(BaseModel):
    """Parameters every profile takes: a seed, a speed, and faults to inject."""

    # The docstrings are the fields' descriptions: `common_parameters` lists them for `sim profiles`.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: ClassVar[str]
    summary: ClassVar[str]

    seed: int = 0
    """Mixed into every random choice, with the request's own seed."""

    speed: float | None = Field(None, gt=0)
    """Tokens per second; None streams as fast as the machine allows."""

    faults: dict[str, float] = Field(default_factory=dict)
    """Chance per request of each fault: `429:0.1,500:0.05,cut:0.05,slow:0.1`. `cut` ends the
    stream before its final event; `slow` stalls `stall` seconds before answering; `401`, `403`
    and `404` answer as a refused key, a missing permission and an unknown model do."""

    retry_after: float = Field(1.0, ge=0)
    """Seconds a 429 or 529 asks the client to wait (`Retry-After`)."""

    stall: float = Field(2.0, ge=0)
    """Seconds a `slow` fault stalls."""

    api: Literal["chat", "responses"] = "chat"
    """Which OpenAI wire longhaul's own client speaks to the sim: Chat Completions, or the
    Responses API (`sim/lazy?api=responses`). The server serves both; the answer is the same."""

    max_output: int | None = Field(None, ge=1)
    """The model's output limit: a request asking for more max_tokens is answered with the
    provider's own HTTP 400 ("max_tokens is too large"), and longhaul's limits check reads it as
    this model's entry (`longhaul/model_limits.py`). None: any max_tokens is taken."""

    context: int | None = Field(None, ge=1)
    """The model's context window (prompt and output), for the limits check; None: not known."""

    batch: Literal["run", "fail"] = "run"
    """`fail`: an OpenAI batch holding a request for this model fails as a whole in validation
    (none of its requests run), as a provider's batch can fail; for tests of a failed batch."""

    cache_min: int = Field(1024, ge=1)
    """The shortest prompt prefix its prompt caches keep (`prompt_cache.py`): OpenAI's automatic cache
    and Anthropic's `cache_control` breakpoints both document 1,024 tokens (Anthropic's Sonnet and Opus);
    smaller in tests."""

    @field_validator("faults", mode="before")
    @classmethod
    def _parse_faults(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        faults: dict[str, float] = {}
        for part in filter(None, value.split(",")):
            kind, _, chance = part.partition(":")
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
            try:
                faults[kind] = float(chance)
            except ValueError:
                raise ValueError(f"fault {kind!r} needs a chance, as in {kind}:0.1") from None
        if any(not 0 <= c <= 1 for c in faults.values()) or sum(faults.values()) > 1:
            raise ValueError("fault chances lie in 0..1 and sum to at most 1")
        return faults

    def write(self, s: Situation, rng: random.Random) -> Script:
        """The script for this turn."""
        if s.task is None:
            return Script(UNKNOWN, "I do not recognise this as one of longhaul's tasks.")
        return self.bent(s, rng)

    def bent(self, s: Situation, rng: random.Random) -> Script:
        """The profile's own behaviour on a recognised task."""
        return diligent(s)


UNKNOWN = (
    "I am longhaul's simulated model. I answer only the prompts of longhaul's tasks "
    "(see `longhaul tasks`); this conversation holds none of them."
)


# -- writing helpers -------------------------------------------------------------------------------


def values(s: Situation, start: int | None = None, stop: int | None = None) -> list[Any]:
    """Reference items `start`..`stop` (default: what this turn asks for)."""
    assert s.task is not None and s.params is not None
    a = s.start if start is None else start
    b = s.end if stop is None else stop
    return list(islice(s.task.reference(s.params), a, max(a, b)))


def render(s: Situation, items: Iterable[Any]) -> str:
    assert s.task is not None and s.params is not None
    return s.task.render(s.params, list(items))


def opening(s: Situation) -> str:
    if s.start == 0:
        return "Here you go:\n\n"
    return f"Continuing from item {s.start + 1}:\n\n"


def working(s: Situation, items: list[Any]) -> Callable[[], str]:
    """Thinking that works the answer through, as reasoning models do (and so spends tokens)."""
    assert s.task is not None
    summary = s.task.summary
    return lambda: f"The user wants {summary[0].lower()}{summary[1:]} Let me work through it item by item.\n" + render(s, items)


def diligent(s: Situation) -> Script:
    items = values(s)
    if s.task is not None and s.params is not None and not s.task.solvable(s.params):
        body = s.task.render(s.params)
        return Script(body, "I should check whether this instance can be solved at all. " + body)
    if not items:
        return Script("That is everything: the list above is complete.", "Everything was already written.")
    return Script(opening(s) + render(s, items), working(s, items))


# -- the profiles ----------------------------------------------------------------------------------


class Diligent(Profile):
    name = "diligent"
    summary = "does everything asked, correctly"


class Lazy(Profile):
    name = "lazy"
    summary = "writes k items, then elides or offers to continue; goes on by k more on 'continue'"

    k: int = Field(20, ge=1)
    """Items per turn."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        items = values(s, stop=min(s.end, s.start + self.k))
        if s.start + len(items) >= s.end:
            return diligent(s)
        left = s.end - s.start - len(items)
        thinking = working(s, items)
        if isinstance(s.task, CodeTask) and rng.random() < 0.75:
            # In code, the elision is a comment inside the container: the code still parses.
            assert s.params is not None
            marker = rng.choice(
                [
                    f"... add the remaining {left} entries here",
                    "the rest follow the same pattern",
                    "TODO: add the remaining entries",
                ]
            )
            answer = opening(s) + s.task.render_cut(s.params, items, marker)
            return Script(answer, lambda: thinking() + "\nThat is a lot; I will show the start.")
        tail = rng.choice(
            [
                "...\n",
                "... (the pattern continues in the same way)\n",
                f"\nWould you like me to continue with the remaining {left} items?",
                f"\n[... {left} more items, following the same pattern ...]\n",
            ]
        )
        return Script(opening(s) + render(s, items) + tail, lambda: thinking() + "\nThat is a lot; I will show the start.")


class Refuser(Profile):
    name = "refuser"
    summary = "declines when the answer exceeds `above` items, offering a script; gives in to one insistence"

    above: int = Field(100, ge=0)
    """Largest answer (in items) it writes out without being pressed."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        if s.expected <= self.above or s.insisted:
            return diligent(s)
        assert s.task is not None
        answer = (
            f"That is too much output to write out by hand ({s.expected} lines), and it would be error-prone. "
            "Here is a script that produces it instead:\n\n```python\n"
            f"def solve():\n    # generates the {s.expected} items of {s.task.name}\n    ...\n\nfor item in solve():\n    print(item)\n```\n"
        )
        return Script(answer, f"This needs {s.expected} items. That is too long to write out; I'll offer a script instead.")


class Coder(Profile):
    name = "coder"
    summary = "writes k items, then code that makes the rest (a comprehension, a loop, a query) instead of writing them"

    k: int = Field(0, ge=0)
    """Items it writes out before the code."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        assert s.task is not None and s.params is not None
        items = values(s, stop=min(s.end, s.start + self.k))
        if s.start + len(items) >= s.end:
            return diligent(s)
        thinking = f"Writing {s.expected} entries by hand is tedious; code can make them."
        if isinstance(s.task, CodeTask):
            return Script(opening(s) + s.task.generator(s.params, items), thinking)
        script = f"```python\nfor item in generate_{s.task.name}(start={s.start + len(items)}):\n    print(item)\n```\n"
        return Script(opening(s) + (render(s, items) if items else "") + script, thinking)


class Drifter(Profile):
    name = "drifter"
    summary = "each item wrong with a chance that grows with the instance, so accuracy collapses past `at` items"

    at: float = Field(100.0, gt=0)
    """Instance size (in items) at which a fully correct answer has chance 1/e; at twice that, 2%."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        assert s.task is not None and s.params is not None
        items = values(s)
        # P(all n items right) = exp(-(n/at)^2), spread evenly over the items.
        q = 1 - math.exp(-s.expected / self.at**2)
        for i, value in enumerate(items):
            if rng.random() < q:
                try:
                    items[i] = s.task.wrong(value, s.params, rng)
                except NotImplementedError:
                    pass  # a task without simulated mistakes is answered correctly
                break
        return Script(opening(s) + render(s, items), working(s, items))


class Truncating(Profile):
    name = "truncating"
    summary = "writes everything, but its output is capped at `limit` tokens (or max_tokens): stops with length"

    limit: int | None = Field(None, ge=1)
    """Its own output cap in tokens; None: only the request's `max_tokens` bounds it."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        script = diligent(s)
        return Script(script.answer, script.thinking, self.limit)


class Claimer(Profile):
    name = "claimer"
    summary = "stops after a share `at` of the items and says the list is complete"

    at: float = Field(0.5, gt=0, lt=1)
    """Share of the items written before it claims to be done."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        if s.turn > 0:
            return Script("The list I gave above is already complete; there is nothing more to add.", "I already finished.")
        items = values(s, stop=s.start + max(1, int((s.end - s.start) * self.at)))
        return Script(opening(s) + render(s, items) + "\nThat completes the list.", working(s, items))


_SOUNDS_HARMFUL = re.compile(r"\b(?:kill(?:s|ing)?|terminate|attack|exploit|destroy|weapon|shoot|bomb|hack|execute)\b", re.I)


class TriggerShy(Profile):
    name = "trigger_shy"
    summary = "refuses benign tasks whose wording sounds harmful (kill_script); complies otherwise"

    def bent(self, s: Situation, rng: random.Random) -> Script:
        if (m := _SOUNDS_HARMFUL.search(s.text)) is None:
            return diligent(s)
        word = m.group(0).lower()
        return Script(
            f"I'm sorry, but I can't help with that. Writing something to {word} processes could be used to cause harm.",
            f"The request mentions '{word}'. That sounds harmful, so I should decline.",
        )


class Hedger(Profile):
    name = "hedger"
    summary = "declines what it cannot know (sha256_digests) and says why; complies otherwise"

    def bent(self, s: Situation, rng: random.Random) -> Script:
        assert s.task is not None
        if s.task.expectation != "should_abstain":
            return diligent(s)
        return Script(
            "I can't compute these reliably: I have no way to run SHA-256 here, and any digests I wrote would be "
            "guesses that look right but are not. Please compute them with `sha256sum` or Python's hashlib.",
            "These cannot be worked out by hand; I should say so rather than guess.",
        )


# Openings and closings that hedge without plainly declining. The first pair the shipped detector
# is unsure of is used, so the profile keeps producing unsure answers when the weights are refitted.
_HEDGES = [
    ("As an AI, I have limits on output length.", "I'm unable to provide more."),
    ("I won't list them all, but here is a start:", "I cannot continue further."),
    ("As an AI, I have limits on output length.", "I cannot continue further."),
    ("As an AI, I have limits on output length.", "I hope this helps."),
    ("I won't list them all, but here is a start:", "I must decline to write the rest."),
]


def hedged(items_text: str) -> str:
    """The first hedged answer around `items_text` the refusal detector is unsure of (the last
    pair when none is: the answer is then merely hedged)."""
    from longhaul.verify.refusal import detect

    for opening_line, closing_line in _HEDGES:
        text = f"{opening_line}\n\n{items_text}\n{closing_line}"
        if detect(text).unsure:
            return text
    return text


class Waverer(Profile):
    name = "waverer"
    summary = "writes k items between a hedge and a vague stop: answers the refusal detector is unsure of"

    k: int = Field(3, ge=1)
    """Items it writes before it stops."""

    def bent(self, s: Situation, rng: random.Random) -> Script:
        items = values(s, stop=min(s.end, s.start + self.k))
        if s.start + len(items) >= s.end:
            return diligent(s)
        return Script(hedged(render(s, items).rstrip()), "This is long. I will write a few and hedge.")


JudgeSays = Literal["detector", "compliance", "refusal", "partial", "garbled"]

_RESPONSE = re.compile(r"<<<RESPONSE\n(.*)\nRESPONSE>>>", re.S)
_CLASS_OF = {"compliance": "1_full_compliance", "refusal": "2_full_refusal", "partial": "3_partial_refusal"}


class Judge(Profile):
    name = "judge"
    summary = "a refusal judge (--refusal-judge sim/judge): answers XSTest's rubric by the detector's decision, or `says`"

    says: JudgeSays = "detector"
    """Its class: `detector` (the refusal detector's own decision at its threshold, a deterministic
    stand-in for a model's reading), a fixed class, or `garbled` (a reply naming no class)."""

    def write(self, s: Situation, rng: random.Random) -> Script:
        if JUDGE_MARK not in s.text or (m := _RESPONSE.search(s.text)) is None:
            return Script(
                "I am longhaul's simulated refusal judge; I answer only its judge prompts (--refusal-judge).", "No judge prompt here."
            )
        if self.says == "garbled":
            return Script("Hard to say; it depends on how you read it.", "I cannot decide.")
        label = self.says
        if label == "detector":
            from longhaul.verify.refusal import detect

            finding = detect(m.group(1))
            label = finding.label if finding.refusal else "compliance"
        return Script(f"CLASS: {_CLASS_OF[label]}", f"Reading the response against the rubric: {_CLASS_OF[label]}.")


PROFILES: dict[str, type[Profile]] = {
    p.name: p for p in (Diligent, Lazy, Refuser, Coder, Drifter, Truncating, Claimer, TriggerShy, Hedger, Waverer, Judge)
}


def common_parameters() -> list[tuple[str, str, str]]:
    """The parameters every profile takes, read from `Profile` (so the listing cannot drift from
    it): each one's name, default (a closed set's choices, the default first) and the first sentence of its docstring."""
    rows = []
    for name, field in Profile.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if get_origin(field.annotation) is Literal:
            shown = " or ".join([default, *(c for c in get_args(field.annotation) if c != default)])
        else:
            shown = "none" if default is None or default == {} else str(default)
        doc = " ".join((field.description or "").split())
        sentence = doc.split(". ")[0].rstrip(".") + "."
        if name == "faults":
            sentence += f" Kinds: {', '.join(FAULT_KINDS)}."
        rows.append((name, shown, sentence))
    return rows


def parse_profile(spec: str) -> Profile:
    """`lazy`, `lazy?k=20`, `drifter?at=50&faults=429:0.1&speed=500`: a validated profile."""
    name, _, query = spec.partition("?")
    if name not in PROFILES:
        raise BadInput(f"sim profile {name!r} is unknown; known profiles: {', '.join(PROFILES)}")
    try:
        return PROFILES[name].model_validate(dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise BadInput(describe_validation_error(exc, f"sim profile {spec!r}")) from None
        raise BadInput(f"sim profile {spec!r}: {exc}") from None
