"""docs/capture.py's reading of a screen's theme, which its waits rely on, against its own captures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def load_capture():
    spec = importlib.util.spec_from_file_location("capture", DOCS / "capture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(p.stem for p in (DOCS / "screens").glob("*.ansi")))
def test_each_committed_capture_is_in_the_theme_its_name_says(name):
    capture = load_capture()
    assert capture.theme_of((DOCS / "screens" / f"{name}.ansi").read_text()) == name.rsplit("-", 1)[1]
    assert (DOCS / "screens" / f"{name}.txt").read_text().strip()


def test_theme_of_reads_true_and_256_colours():
    capture = load_capture()
    assert capture.theme_of("\x1b[48;2;224;224;224mx\x1b[48;2;224;224;224my\x1b[48;2;10;10;10mz") == "light"
    assert capture.theme_of("\x1b[38;2;255;255;255;48;5;234mx") == "dark"
    assert capture.theme_of("\x1b[48;5;254mx") == "light"


def test_the_doc_shows_every_size_state_and_theme():
    text = (DOCS / "tui-demo.md").read_text()
    for size in ("80x24", "120x40"):
        for state in ("running", "finished"):
            assert f"## {size}, {state}" in text
            for theme in ("dark", "light"):
                assert f"screens/{size}-{state}-{theme}.ansi" in text
