"""What goes to a model and what comes back: the one interface every provider speaks.

A request gives a stream of events: answer text as it arrives (plain `str`, as the SDK gave it: a
long answer is thousands of deltas, none of which needs a wrapper), thinking deltas, a `Restart`
when a broken attempt is retried (whatever was streamed before it is void), and last a `Completion`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from longhaul.verdict import StopReason


class Message(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(frozen=True)

    role: Literal["user", "assistant"]
    """Who said it. The system prompt is not a message: it is `Request.system`."""

    content: str
    """What was said (for an assistant turn: its answer, without its thinking)."""


class Request(BaseModel):
    """One request to a model."""

    model_config = ConfigDict(frozen=True)

    messages: list[Message]
    """The conversation so far, ending with a user turn."""

    system: str | None = None
    """The system prompt, if any."""

    max_tokens: int = Field(16_384, ge=1)
    """Most output tokens the model may spend, thinking included (as Anthropic and OpenAI's
    reasoning models count them)."""

    temperature: float | None = Field(None, ge=0, le=2)
    """Sampling temperature; None leaves the provider's default. Anthropic takes none with
    extended thinking, so there it is not sent when a thinking budget is."""

    seed: int | None = None
    """Sampling seed, where the provider takes one (OpenAI, OpenAI-compatible servers, the sim)."""

    thinking_budget: int | None = Field(None, ge=1)
    """Tokens the model may think for before answering, where the provider has such a budget;
    None asks for no extended thinking."""


class Usage(BaseModel):
    """Tokens, as the provider reported them."""

    input_tokens: int = 0
    """Tokens of the prompt (the whole conversation), those read from or written to the
    provider's prompt cache included: Anthropic reports those apart, and they are added in here."""

    cached_input_tokens: int = 0
    """The part of `input_tokens` read from the provider's prompt cache (OpenAI's `cached_tokens`,
    Anthropic's `cache_read_input_tokens`): billed at the provider's cached-input price."""

    cache_write_tokens: int = 0
    """The part of `input_tokens` written to the prompt cache (Anthropic's
    `cache_creation_input_tokens`; OpenAI caches without a charge, so 0 there)."""

    output_tokens: int = 0
    """Tokens generated, thinking included: what is billed and what `max_tokens` bounds."""

    reasoning_tokens: int | None = None
    """The part of `output_tokens` spent thinking, when the provider reports it (OpenAI does;
    Anthropic does not, so it is None there)."""

    estimated: bool = False
    """The provider reported no usage; `output_tokens` was counted here with a tokenizer."""


class RetryRecord(BaseModel):
    """One failed attempt that was retried."""

    attempt: int
    """1-based number of the attempt that failed."""

    error: str
    """What went wrong, in a line (status and message; never a key)."""

    wait: float
    """Seconds waited before the next attempt (the server's `Retry-After` when it gave one)."""


class ThinkingDelta(BaseModel):
    """A piece of the model's visible thinking, kept apart from the answer."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["thinking"] = "thinking"
    text: str
    """The new thinking."""


class Restart(BaseModel):
    """An attempt broke and a new one begins: the deltas streamed so far are void."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["restart"] = "restart"
    retry: RetryRecord
    """Why, and how long was waited."""


class Completion(BaseModel):
    """The final record of a request."""

    kind: Literal["completion"] = "completion"

    model: str
    """The model as addressed (`openai/gpt-4.1`, `sim/lazy?k=20`)."""

    served_model: str | None = None
    """The model name the provider says answered, when it says."""

    simulated: bool = False
    """True when the answer came from longhaul's simulated model: never a measurement of a real one."""

    answer: str
    """The answer text."""

    thinking: str = ""
    """The visible thinking, if any."""

    stop_reason: StopReason
    """Why generation stopped, normalised: `end_turn`, `max_tokens`, `content_filter`, `other`."""

    raw_stop_reason: str | None
    """The provider's own word for it (`stop`, `length`, `end_turn`, `max_tokens`, `refusal`, ...)."""

    usage: Usage
    """Tokens in and out."""

    attempts: int = 1
    """How many attempts it took (1 when nothing was retried)."""

    retries: list[RetryRecord] = Field(default_factory=list)
    """The failed attempts, in order."""

    seconds: float = 0.0
    """Wall time from the first attempt to the final event, retry waits included, waits for the model's own
    rate limit (`rpm`/`tpm`) left out: those are longhaul's, not the provider's."""

    first_token_seconds: float | None = None
    """Wall time to the first delta of the successful attempt (rate-limit waits left out)."""

    endpoint: str | None = None
    """The base URL that served the successful attempt (of several replicas, the one chosen);
    None for the SDK's default URL."""


StreamEvent = str | ThinkingDelta | Restart | Completion
"""What a request's stream yields: a `str` is a piece of the answer; the last event is always a
`Completion`."""
