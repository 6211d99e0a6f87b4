"""One imported answer, as every reader hands it on: what the model was asked and what it gave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from longhaul.errors import BadInput
from longhaul.providers.address import PROVIDERS, parse_address
from longhaul.providers.request import Usage


class ImportedAnswer(BaseModel):
    """One answer read from a record made elsewhere."""

    where: str
    """The record's source location (file, and line or item where the file holds several)."""

    model: str
    """The model as a longhaul address (`provider/model`)."""

    text: str
    """The visible answer, every text part in order."""

    thinking: str = ""
    """The reasoning the provider exposed, if any."""

    stop_reason: str | None = None
    """Why generation stopped, in the provider's words or longhaul's; None: not given (`end_turn`)."""

    params: dict[str, Any] = Field(default_factory=dict)
    """Task parameters the record gives (over `--param`)."""

    system: str = ""
    """The system prompt sent, if the record has it."""

    user: str = ""
    """The last user message sent, if the record has it."""

    messages: int = 1
    """Messages the request held."""

    usage: Usage | None = None
    """Tokens as the provider reported them; None when the record has none."""

    temperature: float | None = None
    """The sampling temperature sent, if the record has it."""

    max_tokens: int | None = None
    """The output-token limit sent, if the record has it."""

    at: datetime | None = None
    """When the call was made, if the record says (a response `Date` header)."""


Reading = Iterator[ImportedAnswer | BadInput]
"""What a reader yields: an answer, or the one-line reason a record could not be read."""


def address(model: str, provider: str | None) -> str:
    """`model` as a longhaul address: kept when it is one, else prefixed with the provider that
    served it (`openai`, `anthropic`), and any other service as `openai-api/<service>/<model>`
    (a name with no provider: `openai-api/imported/<model>`)."""
    try:
        parse_address(model)
        return model
    except BadInput:
        pass
    if provider in PROVIDERS and provider not in ("openai-api", "sim", "llamacpp"):
        return f"{provider}/{model}"
    if provider is None and "/" in model:  # another harness's `provider/model` (inspect_ai's `google/...`)
        provider, _, model = model.partition("/")
    return f"openai-api/{provider or 'imported'}/{model}"
