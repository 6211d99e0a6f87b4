"""The statistics a report and a comparison state: Wilson intervals and Fisher's exact test, and
the decision rule for a regression.

The report needs only the standard library (its z comes from `statistics.NormalDist`); scipy is
imported by `worse_p` alone, that is by `longhaul compare`, so that writing a report (or importing
`longhaul.report`) does not pay for it."""

from __future__ import annotations

import math
from statistics import NormalDist

CONFIDENCE = 0.95
"""The level of every interval in a report."""

ALPHA = 0.05
"""The family-wise level of a comparison's regression flags (Bonferroni over the cells compared)."""

MIN_TRIALS = 5
"""Cells with fewer trials on either side say "too few trials", never "regression"."""


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


def worse_p(k_before: int, n_before: int, k_after: int, n_after: int) -> float:
    """One-sided p-value of Fisher's exact test that the rate fell from before to after."""
    from scipy.stats import fisher_exact  # scipy: paid only by a comparison

    table = [[k_before, n_before - k_before], [k_after, n_after - k_after]]
    return float(fisher_exact(table, alternative="greater").pvalue)
