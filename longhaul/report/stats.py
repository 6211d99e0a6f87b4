"""The statistics a report and a comparison state: Wilson intervals, Fisher's exact test per cell,
the exact stratified (Cochran-Mantel-Haenszel) test per pool of sizes, and the decision rule.

The report needs only the standard library (its z comes from `statistics.NormalDist`); scipy is
imported by `worse_p` alone, that is by `longhaul compare`, so that writing a report (or importing
`longhaul.report`) does not pay for it."""

from __future__ import annotations

import math

from longhaul.interval import CONFIDENCE as CONFIDENCE  # re-exported: the report and compare read them from here
from longhaul.interval import wilson as wilson

ALPHA = 0.05
"""The family-wise level of a comparison's regression flags (Tarone's modified Bonferroni over the cells and pools that can reach it)."""

MIN_TRIALS = 5
"""Cells (and pools, summed over their sizes) with fewer verdicts on either side say "too few
trials", never "regression"."""


def worse_p(k_before: int, n_before: int, k_after: int, n_after: int) -> float:
    """One-sided p-value of Fisher's exact test that the rate fell from before to after."""
    from scipy.stats import fisher_exact  # scipy: paid only by a comparison

    table = [[k_before, n_before - k_before], [k_after, n_after - k_after]]
    return float(fisher_exact(table, alternative="greater").pvalue)


# -- the pooled test and the family's size (docs/compare.md) ---------------------------------------

Stratum = tuple[int, int, int, int]
"""One size of a pool: (successes before, trials before, successes after, trials after)."""


def stratified_worse_p(strata: list[Stratum]) -> float:
    """One-sided p-value of the exact stratified test that a rate fell from before to after, the
    sizes of a pool as strata: the exact conditional form of the Cochran-Mantel-Haenszel test
    (R's `mantelhaen.test(exact = TRUE)`). Within each stratum, given its margins, the successes
    before are hypergeometric under "no change"; the statistic is their sum over the strata, and
    p is the chance of a sum at least as large, from the convolution of the strata's hypergeometric
    distributions. A stratum without trials on a side says nothing and is left out; with one
    stratum this is Fisher's exact test (`worse_p`)."""
    import numpy as np
    from scipy.stats import hypergeom

    dist = np.ones(1)
    lowest = observed = 0
    for k_before, n_before, k_after, n_after in strata:
        if not n_before or not n_after:
            continue
        successes, total = k_before + k_after, n_before + n_after
        low, high = max(0, successes - n_after), min(successes, n_before)
        dist = np.convolve(dist, hypergeom.pmf(np.arange(low, high + 1), total, successes, n_before))
        lowest += low
        observed += k_before
    return float(min(1.0, dist[observed - lowest :].sum()))


def smallest_p(strata: list[Stratum]) -> float:
    """The smallest p-value `stratified_worse_p` could give with these margins (each stratum's
    trials before and after, and its successes on both sides together): every success that could
    be before is before, in every stratum. It is 1 when nothing can move (every trial a success,
    or none), and 1 / C(n_before + n_after, n_before) for a stratum whose successes are exactly
    n_before. A test whose smallest p is above its level can never flag anything."""
    log_p = 0.0
    for k_before, n_before, k_after, n_after in strata:
        if not n_before or not n_after:
            continue
        successes, total = k_before + k_after, n_before + n_after
        top = min(successes, n_before)
        log_p += _log_comb(successes, top) + _log_comb(total - successes, n_before - top) - _log_comb(total, n_before)
    return min(1.0, math.exp(log_p))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def tarone_count(smallest: list[float], alpha: float = ALPHA) -> int:
    """How many tests a family of discrete tests counts, by Tarone's modified Bonferroni method
    (Tarone 1990, Biometrics 46:515): the smallest m >= 1 such that at most m of the tests could
    go below alpha / m at all (their `smallest_p`). Each test is then made at alpha / m, and one
    that could not go below it is not made: it could never reject, so leaving it out keeps the
    family-wise level, and cells of a few trials (or where nothing moved) no longer dilute the
    tests that can find something."""
    m = 1
    while sum(s < alpha / m for s in smallest) > m:
        m += 1
    return m
