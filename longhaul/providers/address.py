"""Model addresses: `provider/model`, as users know them from other harnesses.

openai/gpt-4.1                      OpenAI Chat Completions (OPENAI_API_KEY, OPENAI_BASE_URL)
openai-responses/o4-mini            OpenAI's Responses API, the same key and base URL
anthropic/claude-sonnet-4-5         Anthropic (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)
openai-api/<service>/<model>        any OpenAI-compatible server (<SERVICE>_BASE_URL, <SERVICE>_API_KEY)
sim/<profile>[?k=v&...]             longhaul's simulated model, served in-process
llamacpp/<file.gguf | name>[?n_ctx=N] a local GGUF, served by llama.cpp's own server as a child process

A base URL may list several replicas of one model, comma-separated
(`VLLM_BASE_URL=http://gpu1:8000/v1,http://gpu2:8000/v1`): they share the key, and
`providers/replicas.py` spreads the requests over them. Replicas are where a model is served,
not what a suite asks, so they live in the environment (or `--base-url`), not in the suite: a
shard on another CI runner may reach the same model at other URLs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from longhaul.errors import BadInput

ProviderName = Literal["openai", "openai-responses", "anthropic", "openai-api", "sim", "llamacpp"]
PROVIDERS: tuple[ProviderName, ...] = ("openai", "openai-responses", "anthropic", "openai-api", "sim", "llamacpp")


class Address(BaseModel):
    """A parsed `provider/model`."""

    model_config = ConfigDict(frozen=True)

    text: str
    """The address as written."""

    provider: ProviderName
    """Which API family serves it."""

    model: str
    """The model name sent to the provider (for `sim`, the profile with its parameters)."""

    service: str | None = None
    """For `openai-api`: the service name that prefixes its environment variables."""

    @property
    def simulated(self) -> bool:
        return self.provider == "sim"

    @property
    def local(self) -> bool:
        """Served by a llama.cpp child process that longhaul starts (`providers/llamacpp.py`)."""
        return self.provider == "llamacpp"

    @property
    def env_prefix(self) -> str:
        """`OPENAI` (for both of OpenAI's APIs), `ANTHROPIC`, or the service's name in upper case
        (`LM_STUDIO` for `lm-studio`)."""
        if self.provider == "openai-api":
            return re.sub(r"[^A-Za-z0-9]+", "_", self.service or "").strip("_").upper()
        if self.provider == "openai-responses":
            return "OPENAI"  # one account, one key, two APIs
        return self.provider.upper()


def parse_address(text: str) -> Address:
    """Parse `provider/model`; anything else is a `BadInput` saying what is allowed."""
    provider, _, rest = text.partition("/")
    if provider not in PROVIDERS or not rest:
        raise BadInput(
            f"model {text!r}: write provider/model, where provider is one of {', '.join(PROVIDERS)} "
            "(e.g. openai/gpt-4.1, openai-responses/o4-mini, anthropic/claude-sonnet-4-5, openai-api/vllm/my-model, sim/lazy?k=20, llamacpp/smollm2)"
        )
    if provider == "openai-api":
        service, _, model = rest.partition("/")
        if not service or not model:
            raise BadInput(f"model {text!r}: write openai-api/<service>/<model>, e.g. openai-api/ollama/llama3.1")
        return Address(text=text, provider="openai-api", service=service, model=model)
    return Address(text=text, provider=provider, model=rest)


class Endpoint(BaseModel):
    """Where an address is served, and with what key. Never stored, never logged."""

    model_config = ConfigDict(frozen=True)

    base_url: str | None
    """None: the SDK's default (the provider's public API)."""

    api_key: SecretStr
    """The key, from the environment; a `SecretStr`, so no repr, log or dump can show it."""

    @property
    def replicas(self) -> list[str | None]:
        """Each base URL of a comma-separated list (one entry when there is one URL or none)."""
        if self.base_url is None:
            return [None]
        return [u.strip() for u in self.base_url.split(",")]


def resolve_endpoint(address: Address, env: Mapping[str, str] | None = None, base_url: str | None = None) -> Endpoint:
    """Find the base URL and key of a real provider, or fail in one line naming the variable."""
    env = os.environ if env is None else env
    prefix = address.env_prefix
    url = base_url or env.get(f"{prefix}_BASE_URL") or None
    if address.provider == "openai-api" and not url:
        raise BadInput(f"model {address.text!r}: no base URL; set {prefix}_BASE_URL (e.g. http://localhost:8000/v1) or pass --base-url")
    if url is not None and "," in url:
        _check_replicas(url, f"{prefix}_BASE_URL" if not base_url else "--base-url")
    key = env.get(f"{prefix}_API_KEY", "")
    if not key:
        hint = " (any value, if the server takes none)" if address.provider == "openai-api" else ""
        raise BadInput(f"model {address.text!r}: no API key; set {prefix}_API_KEY{hint}")
    return Endpoint(base_url=url, api_key=SecretStr(key))


def _check_replicas(urls: str, where: str) -> None:
    """A list of replicas must be a list of distinct http(s) URLs: a typo would otherwise become
    a replica that fails every request."""
    parts = [u.strip() for u in urls.split(",")]
    for part in parts:
        if not re.fullmatch(r"https?://\S+", part):
            raise BadInput(f"{where}: each comma-separated base URL must start with http:// or https:// (got {part!r})")
    if len(set(parts)) != len(parts):
        raise BadInput(f"{where}: a base URL is listed twice ({urls!r}); list each replica once")


def shown_url(url: str) -> str:
    """A base URL as it may be recorded or shown: without userinfo or query string, either of
    which may carry a token (`http://user:token@host/v1`, `...?api-key=...`)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
