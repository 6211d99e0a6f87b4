"""Reading an import's source: a file or a folder of them, each optionally gzipped."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

from longhaul.errors import BadInput

GZIP_MAGIC = b"\x1f\x8b"


def source_files(source: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """`source` itself, or every file under the folder `source` whose name ends in one of
    `suffixes` (with or without `.gz`), sorted by path so that an import is repeatable."""
    if source.is_dir():
        ends = tuple(s + z for s in suffixes for z in ("", ".gz"))
        found = sorted(p for p in source.rglob("*") if p.is_file() and p.name.endswith(ends))
        if not found:
            raise BadInput(f"{source}: the folder holds no {' or '.join(ends)} files to import")
        return found
    if not source.exists():
        raise BadInput(f"{source}: no such file or folder")
    return [source]


def read_text(path: Path) -> str:
    """The file's text, unzipped when it is gzipped (told by its first bytes, not its name)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 (byte {exc.start})") from None


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
