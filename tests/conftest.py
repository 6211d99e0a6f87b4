"""Shared fixtures: the tasks, and the corpora beside the project (skipped where absent)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from longhaul.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# Token counts are cached on disk (longhaul/tokens.py): the tests, and the processes they start,
# use a folder of their own, never the user's.
if not os.environ.get("LONGHAUL_CACHE_DIR"):
    os.environ["LONGHAUL_CACHE_DIR"] = tempfile.mkdtemp(prefix="longhaul-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LONGHAUL_CACHE_DIR"], True)

FIGURES: list[str] = []
"""Measured figures (agreement with corpus labels, detector precision and recall), printed at the
end of every run so that CI logs carry them."""


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("longhaul figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def tasks():
    return Catalog().tasks


def corpus(*parts: str) -> Path:
    path = SHARED.joinpath("corpora", *parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared corpora sit beside the project root)")
    return path
