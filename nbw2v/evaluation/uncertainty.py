"""How sure a benchmark score is: percentile-bootstrap intervals over its pairs or questions.

A score on WordSim353 is a Spearman correlation over 353 pairs; another sample of pairs would
give another value. Resampling the pairs with replacement (``samples`` times, a fixed seed)
gives the spread: the 2.5th and 97.5th percentiles of the resampled scores are the 95%
interval. All resamples are computed at once as *counts* (how often each pair is drawn), so
the ranks of a resample come from one sort of the original scores and the whole suite stays
well under a second per model.

Ties get their average rank within each resample, as ``scipy.stats.spearmanr`` does.
"""

from __future__ import annotations

import numpy as np

SAMPLES = 1000
SEED = 0
LEVEL = 0.95


def resample_counts(n: int, samples: int = SAMPLES, seed: int = SEED) -> np.ndarray:
    """(samples, n) counts: row b says how often each of the n items is in bootstrap sample b
    (each row sums to n). The same counts applied to two models give a *paired* comparison."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, (samples, n)) + n * np.arange(samples)[:, None]
    return np.bincount(draws.ravel(), minlength=samples * n).reshape(samples, n).astype(np.float64)


def _weighted_ranks(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The average rank of each item in each resample (items drawn c times take c ranks)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new_group = np.concatenate([[True], xs[1:] != xs[:-1]])
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    per_group = np.add.reduceat(counts[:, order], starts, axis=1)  # (samples, groups)
    end = np.cumsum(per_group, axis=1)
    average = end - (per_group - 1.0) / 2.0  # mean of ranks end - count + 1 .. end
    ranks = np.empty_like(counts)
    ranks[:, order] = average[:, group]
    return ranks


def resampled_spearman(model, human, counts: np.ndarray) -> np.ndarray:
    """Spearman rho of every resample (one per row of ``counts``); NaN where a resample is
    constant in either variable."""
    x, y = np.asarray(model, dtype=np.float64), np.asarray(human, dtype=np.float64)
    a, b = _weighted_ranks(x, counts), _weighted_ranks(y, counts)
    total = counts.sum(axis=1, keepdims=True)
    a -= (counts * a).sum(axis=1, keepdims=True) / total
    b -= (counts * b).sum(axis=1, keepdims=True) / total
    cov = (counts * a * b).sum(axis=1)
    var = (counts * a * a).sum(axis=1) * (counts * b * b).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, cov / np.sqrt(var), np.nan)


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    low, high = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def spearman_interval(model, human, samples: int = SAMPLES, seed: int = SEED, level: float = LEVEL):
    """The bootstrap interval of Spearman rho over the pairs; None for fewer than 3 pairs."""
    if len(model) < 3:
        return None
    return percentile_interval(resampled_spearman(model, human, resample_counts(len(model), samples, seed)), level)


def accuracy_interval(correct: int, used: int, samples: int = SAMPLES, seed: int = SEED, level: float = LEVEL):
    """The bootstrap interval of an accuracy over ``used`` questions (a resample's number of
    correct answers is binomial); None when no question was answered."""
    if used == 0:
        return None
    rng = np.random.default_rng(seed)
    return percentile_interval(rng.binomial(used, correct / used, samples) / used, level)


def format_interval(
    value: float, interval: tuple[float, float] | None, scale: float = 1.0, digits: int = 3, unit: str = ""
) -> str:
    """``0.626 [0.571, 0.676]``, ``22.9% [22.0, 23.8]`` (just the value without an interval)."""
    text = f"{scale * value:.{digits}f}{unit}"
    if interval is None:
        return text
    return f"{text} [{scale * interval[0]:.{digits}f}, {scale * interval[1]:.{digits}f}]"
