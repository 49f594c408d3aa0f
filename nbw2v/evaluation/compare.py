"""Is configuration A better than configuration B? Differences per benchmark that say which
noise they cover, adjusted for testing several benchmarks at once.

Each side is a *group* of runs: one run, or several seeds of one configuration. Two sources of
noise separate a measured difference from the truth:

* **which items** (word pairs, questions) the benchmark happens to contain. Both sides are
  scored on the items every run covers, and each bootstrap resample draws the same items for
  every run (:func:`nbw2v.evaluation.uncertainty.resample_counts`), so what the items have in
  common cancels: the spread of the resampled differences of the side means is the item part
  of the variance;
* **which seed** trained the model. With two or more runs on a side, the runs' scores on the
  shared items spread; their pooled variance ``s^2`` (equal seed spread on both sides assumed,
  ``n_A + n_B - 2`` degrees of freedom) adds ``s^2 (1/n_A + 1/n_B)``.

The difference of the side means over its standard error (both parts added) is referred to
Student's t with Welch-Satterthwaite degrees of freedom (the item part counts as exactly
known), which gives the 95% interval and a p-value per benchmark. With one run per side there
is no seed part: the interval covers the items only, and the result says so
(:attr:`Difference.seeds_included`). The benchmarks of one comparison are a family: the
verdict uses Holm's step-down adjustment of their p-values (5% family-wise), so testing nine
benchmarks does not find a difference by chance one time in two.

``nbw2v compare A1,A2 B1,B2`` prints it; :func:`compare_groups` is the library function
(:func:`compare_results` for one run per side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nbw2v.evaluation.evaluate import SimilarityResult
from nbw2v.evaluation.uncertainty import LEVEL, SAMPLES, SEED, resample_counts, resampled_spearman

ALPHA = 1.0 - LEVEL


@dataclass
class Difference:
    name: str  # the benchmark (e.g. "wordsim353", "analogies", "msr analogies")
    metric: str  # "spearman" or "accuracy"
    a: float | None  # mean over side A's runs, on the shared items
    b: float | None
    diff: float | None  # a - b
    ci: tuple[float, float] | None  # 95% interval of a - b (this benchmark alone)
    shared: int  # items every run covers
    total: int
    n_a: int = 1  # runs (seeds) on each side
    n_b: int = 1
    se_items: float | None = None  # standard error of a - b from item sampling
    seed_sd: float | None = None  # pooled sd of one run's score across seeds (None: one run per side)
    p: float | None = None  # two-sided p-value of "no difference", this benchmark alone
    p_holm: float | None = None  # Holm-adjusted over the benchmarks compared together
    family: int = 1  # how many benchmarks were adjusted together

    @property
    def seeds_included(self) -> bool:
        return self.seed_sd is not None

    @property
    def significant(self) -> bool:
        p = self.p_holm if self.p_holm is not None else self.p
        return p is not None and p < ALPHA

    @property
    def verdict(self) -> str:
        if self.ci is None or self.diff is None:
            return "not comparable (fewer than 3 shared items)"
        if not self.significant:
            return "no difference"
        return "A better" if self.diff > 0 else "B better"


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given): the smallest of m is multiplied
    by m, the next by m - 1, ..., each at least the one before it, at most 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _t_stats(diff: float, var_items: float, seed_var: float | None, df_seed: int, n_a: int, n_b: int):
    """(interval, p) of ``diff`` with item variance ``var_items`` and, when given, the pooled
    seed variance of one run ``seed_var`` (``df_seed`` degrees of freedom)."""
    from scipy import stats

    var_seed = 0.0 if seed_var is None else seed_var * (1.0 / n_a + 1.0 / n_b)
    var = var_items + var_seed
    if var <= 0.0:
        return (diff, diff), (1.0 if diff == 0.0 else 0.0)
    se = math.sqrt(var)
    df = math.inf if var_seed == 0.0 else var * var / (var_seed * var_seed / df_seed)
    q = float(stats.t.ppf(1 - ALPHA / 2, df)) if math.isfinite(df) else float(stats.norm.ppf(1 - ALPHA / 2))
    p = float(2 * (stats.t.sf(abs(diff) / se, df) if math.isfinite(df) else stats.norm.sf(abs(diff) / se)))
    return (diff - q * se, diff + q * se), p


def _scores(runs: list, samples: int, seed: int):
    """(shared, total, metric, scores): every run's score on the items all runs cover, column 0
    on the items themselves, columns 1.. on the bootstrap resamples (the same for every run)."""
    if isinstance(runs[0], SimilarityResult):
        both = np.logical_and.reduce([np.isfinite(r.cosines) for r in runs])
        n = int(both.sum())
        if n < 3:
            return n, len(both), "spearman", None
        counts = np.vstack([np.ones(n), resample_counts(n, samples, seed)])
        human = runs[0].human[both]
        return n, len(both), "spearman", np.array([resampled_spearman(r.cosines[both], human, counts) for r in runs])
    both = np.logical_and.reduce([r.outcomes >= 0 for r in runs])
    n = int(both.sum())
    if n < 3:
        return n, len(both), "accuracy", None
    outcomes = np.array([r.outcomes[both] for r in runs], dtype=np.float64)  # (runs, n)
    counts = np.vstack([np.ones(n), resample_counts(n, samples, seed)])
    return n, len(both), "accuracy", outcomes @ counts.T / n


def compare_benchmark(runs_a: list, runs_b: list, samples: int = SAMPLES, seed: int = SEED) -> Difference:
    """One benchmark: side A's results (one per run) against side B's (unadjusted)."""
    from nbw2v.evaluation.predictions import benchmark_key

    name = benchmark_key(runs_a[0])
    for r in runs_a + runs_b:
        if r.digest and runs_a[0].digest and r.digest != runs_a[0].digest:
            raise ValueError(
                f"{name}: the runs were scored on different versions of the benchmark's items "
                f"(digests {runs_a[0].digest} and {r.digest}): rescore both with the same file"
            )
    n_a, n_b = len(runs_a), len(runs_b)
    shared, total, metric, scores = _scores(runs_a + runs_b, samples, seed)
    if scores is None:
        return Difference(name, metric, None, None, None, None, shared, total, n_a, n_b)
    side_a, side_b = scores[:n_a], scores[n_a:]
    a, b = float(side_a[:, 0].mean()), float(side_b[:, 0].mean())
    boot = side_a[:, 1:].mean(axis=0) - side_b[:, 1:].mean(axis=0)
    boot = boot[np.isfinite(boot)]
    var_items = float(np.var(boot, ddof=1)) if boot.size > 1 else 0.0
    df_seed = n_a + n_b - 2
    seed_var = None
    if n_a > 1 or n_b > 1:
        ss = float(((side_a[:, 0] - a) ** 2).sum() + ((side_b[:, 0] - b) ** 2).sum())
        seed_var = ss / df_seed
    ci, p = _t_stats(a - b, var_items, seed_var, max(df_seed, 1), n_a, n_b)
    return Difference(
        name,
        metric,
        a,
        b,
        a - b,
        ci,
        shared,
        total,
        n_a,
        n_b,
        se_items=math.sqrt(var_items),
        seed_sd=None if seed_var is None else math.sqrt(seed_var),
        p=p,
    )


def _by_benchmark(results: list) -> dict[tuple[str, str], object]:
    return {(type(r).__name__, r.name): r for r in results}


def compare_groups(groups_a: list[list], groups_b: list[list], samples: int = SAMPLES, seed: int = SEED):
    """Differences for every benchmark all runs have, the family Holm-adjusted. ``groups_a``:
    one result list per run of side A (from
    :func:`nbw2v.evaluation.evaluate.evaluate_configured` on the same sets, or rebuilt from
    predictions); likewise ``groups_b``."""
    if not groups_a or not groups_b:
        raise ValueError("compare: each side needs at least one run")
    maps = [_by_benchmark(r) for r in groups_a + groups_b]
    out = []
    for key in maps[0]:
        if not all(key in m for m in maps):
            continue
        runs = [m[key] for m in maps]
        out.append(compare_benchmark(runs[: len(groups_a)], runs[len(groups_a) :], samples, seed))
    tested = [d for d in out if d.p is not None]
    for d, adjusted in zip(tested, holm([d.p for d in tested]), strict=True):
        d.p_holm, d.family = adjusted, len(tested)
    return out


def compare_results(results_a: list, results_b: list, samples: int = SAMPLES, seed: int = SEED) -> list[Difference]:
    """One run per side: the paired differences over the items both cover (seed noise not
    included), Holm-adjusted over the benchmarks."""
    return compare_groups([results_a], [results_b], samples, seed)


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def compare_table(
    differences: list[Difference], label_a: str, label_b: str, store_seed_sd: dict[str, tuple[float, str]] | None = None
) -> str:
    """The comparison as Markdown (accuracies in %), then what its intervals cover.
    ``store_seed_sd``: {benchmark: (sd of one run across seeds, where it was measured)} shown
    when the comparison itself has no seeds."""
    store_seed_sd = store_seed_sd or {}
    seeds = any(d.seeds_included for d in differences)
    family = max((d.family for d in differences), default=1)
    show_store = not seeds and bool(store_seed_sd)
    lines = [
        f"A = {label_a}",
        f"B = {label_b}",
        "",
        "| benchmark | A | B | A - B [95% interval] | p | p (Holm) | shared items | verdict |"
        + (" seed sd (store) |" if show_store else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if show_store else ""),
    ]
    for d in differences:
        scale, unit = (100.0, "%") if d.metric == "accuracy" else (1.0, "")
        digits = 1 if d.metric == "accuracy" else 3
        extra = ""
        if show_store:
            sd = store_seed_sd.get(d.name)
            extra = f" {scale * sd[0]:.{digits}f} |" if sd else " - |"
        if d.diff is None:
            lines.append(f"| {d.name} | - | - | - | - | - | {d.shared} of {d.total} | {d.verdict} |" + extra)
            continue
        ci = f" [{scale * d.ci[0]:+.{digits}f}, {scale * d.ci[1]:+.{digits}f}]" if d.ci else ""
        lines.append(
            f"| {d.name} | {scale * d.a:.{digits}f}{unit} | {scale * d.b:.{digits}f}{unit} | "
            f"{scale * d.diff:+.{digits}f}{ci} | {_p(d.p)} | {_p(d.p_holm)} | {d.shared} of {d.total} | "
            f"{d.verdict}{'' if d.seeds_included or not d.significant else ' (items only)'} |" + extra
        )
    lines += ["", *explain(differences, family, store_seed_sd)]
    return "\n".join(lines) + "\n"


def explain(differences: list[Difference], family: int, store_seed_sd: dict | None = None) -> list[str]:
    """What the intervals cover and what the verdict means, in a few lines."""
    store_seed_sd = store_seed_sd or {}
    n_a = max((d.n_a for d in differences), default=1)
    n_b = max((d.n_b for d in differences), default=1)
    out = [
        f"Verdict: Holm-adjusted over the {family} benchmark(s) compared (5% family-wise); "
        "the interval is each benchmark's own 95% interval (unadjusted)."
    ]
    if any(d.seeds_included for d in differences):
        out.append(
            f"Runs per side: A {n_a}, B {n_b}. The intervals include seed noise (the spread of the runs' scores, "
            "pooled over both sides) and item noise (a paired bootstrap over the pairs and questions every run "
            "covers): a difference found here is expected to hold for other seeds and other items like these."
        )
        if min(n_a, n_b) == 1:
            out.append("One side has a single run: its seed spread is assumed equal to the other side's.")
        return out
    out.append(
        "Seed noise is NOT included: one run per side, so each interval covers only which pairs and questions "
        "the benchmark contains (a paired bootstrap), not how much the scores move when the same configuration "
        "is trained with another seed. Give each side two or more runs (nbw2v compare A1,A2,A3 B1,B2,B3, or a "
        "sweep cell: window=5,K=5 --sweep ID) for a test that includes it."
    )
    close = [
        d.name
        for d in differences
        if d.diff is not None and d.name in store_seed_sd and abs(d.diff) < 2.8 * store_seed_sd[d.name][0]
    ]
    if store_seed_sd:
        where = next(iter(store_seed_sd.values()))[1]
        out.append(
            f"Seed spread in the store ({where}): the sd of one run's score across seeds of one configuration, "
            "per benchmark, in the last column; two single runs of one configuration typically differ by up to "
            "2.8 sd (95%)."
            + (f" Within that here: {', '.join(close)}: seed noise alone could explain it." if close else "")
        )
    return out
