"""Interval estimates for probabilities: plain functions over counts and arrays.

Every probability the tool reports comes with its 95% interval and its number of runs. Wilson's
score interval behaves well near 0 and 1 and for small samples; paired differences (common random
numbers) use Newcombe's (1998) method 10, built from Wilson intervals and the pairs' correlation.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

Z95 = NormalDist().inv_cdf(0.975)


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile for a confidence level."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie strictly between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes`` out of ``trials`` (arrays broadcast).

    Returns (low, high); where ``trials`` is 0 the interval is (0, 1).
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        denominator = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    low = np.where(k <= 0, 0.0, low)
    high = np.where(k >= n, 1.0, high)
    return low, high


def proportion(successes: int, trials: int, confidence: float = 0.95) -> dict[str, float]:
    """A probability estimate with its Wilson interval and counts, ready for JSON."""
    low, high = wilson_interval(successes, trials, confidence)
    return {
        "estimate": float(successes / trials) if trials else float("nan"),
        "ci_low": float(low),
        "ci_high": float(high),
        "count": int(successes),
        "runs": int(trials),
    }


def paired_difference(first, second, confidence: float = 0.95) -> dict[str, float]:
    """Difference P(first) - P(second) of two binary outcomes observed on the same replications.

    Newcombe's method 10: a score interval that uses the correlation the common random numbers
    create, so it is narrower than an unpaired one when the two variants mostly agree.
    """
    x = np.asarray(first, dtype=bool)
    y = np.asarray(second, dtype=bool)
    if x.shape != y.shape:
        raise ValueError("paired outcomes must have the same shape")
    n = x.size
    both = int(np.sum(x & y))
    only_first = int(np.sum(x & ~y))
    only_second = int(np.sum(~x & y))
    neither = n - both - only_first - only_second
    return paired_difference_counts(both, only_first, only_second, neither, confidence)


def paired_difference_counts(both: int, only_first: int, only_second: int, neither: int,
                             confidence: float = 0.95) -> dict[str, float]:
    """:func:`paired_difference` from the four cell counts of the paired table."""
    n = both + only_first + only_second + neither
    if n == 0:
        raise ValueError("no pairs")
    p1 = (both + only_first) / n
    p2 = (both + only_second) / n
    l1, u1 = (float(v) for v in wilson_interval(both + only_first, n, confidence))
    l2, u2 = (float(v) for v in wilson_interval(both + only_second, n, confidence))
    margins = (both + only_first) * (only_second + neither) * (both + only_second) * (only_first + neither)
    phi = 0.0
    if margins > 0:
        phi = (both * neither - only_first * only_second) / np.sqrt(float(margins))
    difference = p1 - p2
    low = difference - np.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    high = difference + np.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return {
        "estimate": float(difference),
        "ci_low": float(max(low, -1.0)),
        "ci_high": float(min(high, 1.0)),
        "runs": int(n),
        "discordant_first": int(only_first),
        "discordant_second": int(only_second),
    }


def cumulative_proportion(event_days, trials: int, horizon: int, confidence: float = 0.95):
    """P(event by day d) for d = 0 .. horizon-1 with Wilson bands, from per-day event counts.

    ``event_days`` is a histogram: entry d counts replications whose event fell on day d.
    """
    counts = np.cumsum(np.asarray(event_days, dtype=float)[:horizon])
    low, high = wilson_interval(counts, trials, confidence)
    return counts / max(trials, 1), low, high


def histogram_quantile(histogram, edges, q: float) -> float:
    """A quantile read off a histogram (linear within the bin): for streamed distributions."""
    counts = np.asarray(histogram, dtype=float)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    cumulative = np.cumsum(counts)
    target = q * total
    index = int(np.searchsorted(cumulative, target, side="left"))
    index = min(index, counts.size - 1)
    before = cumulative[index - 1] if index > 0 else 0.0
    inside = (target - before) / counts[index] if counts[index] > 0 else 0.0
    return float(edges[index] + inside * (edges[index + 1] - edges[index]))


def spread_beyond_noise(estimates, noise_variances) -> dict[str, Any]:
    """How much a quantity moves over draws of the dynamics from a posterior, with each draw's own Monte
    Carlo noise taken out: the draws' mean, the standard deviation left once the mean noise variance is
    taken from the estimates' variance, and the central 90% interval of the estimates shrunk
    towards the mean by sqrt(1 - mean noise variance / variance of the estimates) (the raw interval too).

    ``estimates``: one estimate per draw; ``noise_variances``: the Monte Carlo variance of each.
    """
    estimates = np.asarray(estimates, dtype=float)
    mean = float(estimates.mean())
    total = float(estimates.var(ddof=1)) if estimates.size > 1 else 0.0
    spread = max(total - float(np.mean(noise_variances)), 0.0)
    shrink = math.sqrt(spread / total) if total > 0 else 0.0
    low, high = np.quantile(estimates, (0.05, 0.95))
    return {"points": int(estimates.size), "mean": mean, "sd": math.sqrt(spread),
            "interval_90": [float(mean + shrink * (low - mean)), float(mean + shrink * (high - mean))],
            "estimates_interval_90": [float(low), float(high)]}
