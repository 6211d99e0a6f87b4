"""How each outcome is shown, in one table: the figures, report.html, the live view and the terminal
UI all read it, so an outcome has the same colour everywhere.

The colours are after Okabe and Ito's palette, darkened or lightened to a middle luminance so that
each has a contrast of at least 3:1 on a white page and on a dark terminal (#1e1e1e) alike. The
glyph is for reading without colour (colour-blind readers, a monochrome terminal): where colour is
the only cue, as in the terminal UI's outcome bars, the glyph is drawn instead of a plain block.

A terminal is not a page: its background is the theme's, and tmux or an older terminal may map a
colour to the nearest of 256 or of 16. `TERMINAL` gives each theme its own six colours, brighter on
dark and deeper on light, chosen so that they stay six different colours at 256 and at 16 colours too
(the page palette above collapses to three at 16).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, NamedTuple

from longhaul.verdict import Outcome


class OutcomeStyle(NamedTuple):
    colour: str
    """Hex RGB, readable on light and dark backgrounds (rich and CSS both take it)."""
    glyph: str
    """One letter that names the outcome without colour."""


STYLES: MappingProxyType[Outcome, OutcomeStyle] = MappingProxyType(
    {
        "complete": OutcomeStyle("#009e73", "C"),
        "cant_do": OutcomeStyle("#d55e00", "X"),
        "wont_do": OutcomeStyle("#b8860b", "W"),
        "budget_exhausted": OutcomeStyle("#b565a7", "B"),
        "unparseable": OutcomeStyle("#2f8fd8", "U"),
        "error": OutcomeStyle("#888888", "E"),
    }
)


Theme = Literal["dark", "light"]

TERMINAL: MappingProxyType[Theme, MappingProxyType[Outcome, str]] = MappingProxyType(
    {
        "dark": MappingProxyType(
            {
                "complete": "#4ec24e",
                "cant_do": "#ff5f5f",
                "wont_do": "#e6c229",
                "budget_exhausted": "#d75fd7",
                "unparseable": "#5fafff",
                "error": "#9e9e9e",
            }
        ),
        "light": MappingProxyType(
            {
                "complete": "#16791a",
                "cant_do": "#b3141b",
                "wont_do": "#7a5c00",
                "budget_exhausted": "#9a2f94",
                "unparseable": "#1a56b0",
                "error": "#5e5e5e",
            }
        ),
    }
)


def terminal_colour(outcome: Outcome, theme: Theme = "dark") -> str:
    """The outcome's colour in a terminal with a dark or a light background (hex RGB)."""
    return TERMINAL[theme][outcome]


def colour(outcome: Outcome) -> str:
    """The outcome's colour (hex RGB)."""
    return STYLES[outcome].colour


def glyph(outcome: Outcome) -> str:
    """The outcome's one-letter glyph."""
    return STYLES[outcome].glyph


def css() -> str:
    """CSS classes `.o-<outcome>` giving each outcome its colour, for report.html."""
    return "".join(f".o-{o}{{color:{s.colour}}}" for o, s in STYLES.items())
