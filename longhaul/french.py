"""French spellings of integers, in every accepted norm: the standard and regional tens, and the
traditional and 1990 reform hyphenation. Tasks that ask for French numbers share them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pydantic import Field, model_validator

from longhaul.task import TaskParams

_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
]
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
# Regional tens: Belgian (septante, nonante) and Swiss (septante, huitante, nonante), and the older
# Swiss "octante". Where a region keeps the standard form, it is None.
_REGIONAL: dict[str, dict[int, str | None]] = {
    "be": {7: "septante", 8: None, 9: "nonante"},
    "ch": {7: "septante", 8: "huitante", 9: "nonante"},
    "ch-octante": {7: "septante", 8: "octante", 9: "nonante"},
}
_REGION_NAMES = {
    "std": "standard",
    "be": "Belgian (septante, nonante)",
    "ch": "Swiss (septante, huitante, nonante)",
    "ch-octante": "Swiss (septante, octante, nonante)",
}

Tokens = list[tuple[str, str]]
"""(separator before the word: '' first, '-' inside a compound, ' ' between groups; word)."""


def _units(n: int) -> Tokens:
    if n < 17:
        return [("-", _UNITS[n])]
    return [("-", "dix"), ("-", _UNITS[n - 10])]


def _below_100(n: int, region: str, final: bool) -> Tokens:
    if n < 20:
        return _units(n)
    tens, unit = divmod(n, 10)
    regional = _REGIONAL.get(region, {}).get(tens)
    if regional or tens in _TENS:
        base = regional or _TENS[tens]
        if unit == 0:
            return [("-", base)]
        if unit == 1:
            return [("-", base), (" ", "et"), (" ", "un")]
        return [("-", base)] + _units(unit)
    if tens == 7:  # soixante-dix, soixante et onze, soixante-douze
        rest = _units(10 + unit)
        return [("-", "soixante")] + ([(" ", "et"), (" ", "onze")] if unit == 1 else rest)
    # 80-99: quatre-vingts takes its s only when it ends the number
    if tens == 8 and unit == 0:
        return [("-", "quatre"), ("-", "vingts" if final else "vingt")]
    rest = _units(unit) if tens == 8 else _units(10 + unit)
    return [("-", "quatre"), ("-", "vingt")] + rest


def _below_1000(n: int, region: str, final: bool) -> Tokens:
    hundreds, rest = divmod(n, 100)
    out: Tokens = []
    if hundreds:
        if hundreds > 1:
            out += [(" ", w) for _, w in _units(hundreds)]
        out.append((" ", "cents" if hundreds > 1 and rest == 0 and final else "cent"))
    if rest or not hundreds:
        group = _below_100(rest, region, final)
        out += [(" " if i == 0 else sep, w) for i, (sep, w) in enumerate(group)]
    return out


def _tokens(n: int, region: str) -> Tokens:
    thousands, rest = divmod(n, 1000)
    out: Tokens = []
    if thousands:
        if thousands > 1:
            out += _below_1000(thousands, region, final=False)
        out.append((" ", "mille"))  # invariable
    if rest or not thousands:
        out += _below_1000(rest, region, final=True)
    return out


def spell(n: int, region: str = "std", reform: bool = False) -> str:
    """French spelling of n: traditional (hyphens inside compounds under 100, except around `et`)
    or the 1990 reform (hyphens between all the words)."""
    parts = []
    for i, (sep, word) in enumerate(_tokens(n, region)):
        if i:
            parts.append("-" if reform else sep)
        parts.append(word)
    return "".join(parts)


def letters(text: str) -> int:
    """Letters only: é counts one; hyphens and spaces do not."""
    return sum(ch.isalpha() for ch in text)


@lru_cache(maxsize=4096)
def spellings(n: int) -> dict[str, str]:
    """Every accepted spelling of n, with the variant it belongs to."""
    found: dict[str, str] = {}
    for region in ("std", "be", "ch", "ch-octante"):
        for reform in (False, True):
            s = spell(n, region, reform)
            found.setdefault(s, f"{_REGION_NAMES[region]}, {'1990 reform' if reform else 'traditional'} spelling")
    return found


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().strip().strip("*_`\"'")
    text = re.sub(r"[\u2010\u2011\u2012\u2013]", "-", text)
    return re.sub(r"\s+", " ", text)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def why_misspelt(n: int, got: str) -> str:
    want = spell(n)
    if _strip_accents(got) in {_strip_accents(s) for s in spellings(n)}:
        return f"accent missing or wrong (expected {want!r})"
    if " et " in want and " et " not in got and "-et-" not in got:
        return f"'et' missing: {n} is {want!r}"
    if want.endswith("vingts") and got.endswith("vingt"):
        return f"'quatre-vingts' takes an s when it ends the number ({want!r})"
    if "vingts" in got and not want.endswith("vingts"):
        return f"'quatre-vingt' takes no s when a word follows ({want!r})"
    if want.endswith("cents") and got.endswith("cent"):
        return f"'cents' takes an s when it ends the number ({want!r})"
    if "cents" in got and "cents" not in want:
        return f"'cent' takes no s when a word follows ({want!r})"
    if "milles" in got:
        return f"'mille' is invariable ({want!r})"
    reform = spell(n, reform=True)
    return f"misspelt: expected {want!r}" + (f" (or its 1990 spelling {reform!r})" if reform != want else "")


def why_miscounted(spelling: str, count: int) -> str:
    want = letters(spelling)
    hyphens, spaces = spelling.count("-"), spelling.count(" ")
    if hyphens and spaces and count == want + hyphens + spaces:
        return f"counted hyphens and spaces as letters ({count} instead of {want})"
    if hyphens and count == want + hyphens:
        return f"counted hyphens as letters ({count} instead of {want})"
    if spaces and count == want + spaces:
        return f"counted spaces as letters ({count} instead of {want})"
    return f"wrong letter count: {spelling!r} has {want} letters, not {count}"


class RangeParams(TaskParams):
    """The integers a task asks to spell: `start` to `end`, both included."""

    start: int = Field(0, ge=0, le=999_999, description="first integer (0-999999)")
    end: int = Field(1000, ge=0, le=999_999, description="last integer (0-999999, at least start)")

    @model_validator(mode="after")
    def _ordered(self) -> RangeParams:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must be at least start ({self.start})")
        return self
