"""One table of outcome colours and glyphs, used everywhere; figures that leave matplotlib alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from longhaul.outcome_style import STYLES, css
from longhaul.verdict import OUTCOMES


def _luminance(hex_rgb: str) -> float:
    channels = [int(hex_rgb[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_every_outcome_has_a_colour_readable_on_light_and_dark_and_its_own_glyph():
    assert tuple(STYLES) == OUTCOMES
    for outcome, style in STYLES.items():
        assert _contrast(style.colour, "#ffffff") >= 3, outcome
        assert _contrast(style.colour, "#1e1e1e") >= 3, outcome
    glyphs = [s.glyph for s in STYLES.values()]
    assert all(len(g) == 1 for g in glyphs) and len(set(glyphs)) == len(glyphs)


def test_the_reports_css_is_made_from_the_table():
    from longhaul.report.html import _CSS

    for outcome, style in STYLES.items():
        assert f".o-{outcome}{{color:{style.colour}}}" in css() and f".o-{outcome}{{" in _CSS


def test_importing_and_drawing_the_figures_leaves_matplotlib_as_it_was():
    # A fresh process: whether a backend was selected is a process-wide fact.
    code = """
import matplotlib, sys
# rcParams["backend"] would resolve (and select) a backend when read: read the stored values.
params = lambda: {k: matplotlib.rcParams._get(k) for k in matplotlib.rcParams}
before = params()
import longhaul.report.figures as f
assert params() == before, "rcParams changed at import"
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert matplotlib.rcParams._get("backend") is matplotlib.rcsetup._auto_backend_sentinel, "a backend was selected"
from longhaul.report.results import CellResult, Share
s = lambda k, n: Share.of_counts(k, n)
cells = [CellResult(model="sim/x", simulated=True, task="t", size=n, params={}, strategy="direct", expectation="should_answer",
                    trials=2, verdicts=2, provider_errors=s(0, 2), outcomes={o: s(1 if o == "complete" else 0, 2) for o in f.VERDICTS},
                    items_expected=n, median_items_correct=1, median_first_error=0, median_input_tokens=1, median_output_tokens=10,
                    median_thinking_tokens=None, median_turns=1, retries=0, median_seconds=1.0, cost_usd=None, needed_tokens=20, max_tokens=100)
         for n in (3, 5)]
svg = f.outcome_mix("t", cells, "size") + f.accuracy("t", cells, "size")
assert svg.count("<svg") == 2
assert params() == before, "rcParams changed by drawing"
assert "matplotlib.pyplot" not in sys.modules
print("ok")
"""
    root = Path(__file__).resolve().parent.parent  # this checkout's longhaul, whatever is installed
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
