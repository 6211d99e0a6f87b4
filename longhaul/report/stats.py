"""The statistics a report and a comparison state: Wilson intervals and Fisher's exact test
(scipy's), and the decision rule for a regression."""

from __future__ import annotations

from scipy.stats import binomtest, fisher_exact

CONFIDENCE = 0.95
"""The level of every interval in a report."""

ALPHA = 0.05
"""The family-wise level of a comparison's regression flags (Bonferroni over the cells compared)."""

MIN_TRIALS = 5
"""Cells with fewer trials on either side say "too few trials", never "regression"."""


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95% Wilson score interval of k successes in n trials (None for n = 0). Wilson, not the
    normal approximation: cells are small and shares are often 0 or 1."""
    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def worse_p(k_before: int, n_before: int, k_after: int, n_after: int) -> float:
    """One-sided p-value of Fisher's exact test that the rate fell from before to after."""
    table = [[k_before, n_before - k_before], [k_after, n_after - k_after]]
    return float(fisher_exact(table, alternative="greater").pvalue)
