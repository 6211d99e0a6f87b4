"""Shared fixtures: the tasks, and the corpora beside the project (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

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
