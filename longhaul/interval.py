"""The Wilson score interval: the one interval a report states and an adaptive search decides by.

Its own module, in the data layer, so that the search (which plans trials) and the report (which
states them) use one definition."""

from __future__ import annotations

import math
from statistics import NormalDist

CONFIDENCE = 0.95
"""The level of every interval in a report."""

_Z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)
"""1.95996...: scipy's `norm.ppf` gives the same to within one unit in the last place."""


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95% Wilson score interval of k successes in n trials (None for n = 0). Wilson, not the
    normal approximation: cells are small and shares are often 0 or 1. (The closed form: scipy's
    `binomtest(...).proportion_ci` gives the same numbers a thousand times slower, and a report
    has thousands of them.)"""
    if n == 0:
        return None
    z2 = _Z * _Z
    centre = (k + z2 / 2) / (n + z2)
    half = _Z * math.sqrt(k * (n - k) / n + z2 / 4) / (n + z2)
    return max(0.0, centre - half), min(1.0, centre + half)
