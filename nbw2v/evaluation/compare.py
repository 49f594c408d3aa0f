"""Is model A better than model B? Paired differences per benchmark with a bootstrap interval.

Both models are scored on the pairs (questions) that *both* cover; each bootstrap resample
draws the same pairs for both (:func:`nbw2v.evaluation.uncertainty.resample_counts`), so what the pairs
have in common cancels and the interval is that of the difference itself. A difference whose
95% interval excludes 0 is reported as "A better" / "B better", otherwise "no difference at
95%". ``nbw2v compare A B`` prints it; :func:`compare_results` is the library function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbw2v.evaluation.evaluate import SimilarityResult
from nbw2v.evaluation.uncertainty import SAMPLES, SEED, percentile_interval, resample_counts, resampled_spearman


@dataclass
class Difference:
    name: str  # the benchmark (e.g. "wordsim353", "analogies", "msr analogies")
    metric: str  # "spearman" or "accuracy"
    a: float | None
    b: float | None
    diff: float | None  # a - b on the shared items
    ci: tuple[float, float] | None  # bootstrap 95% interval of a - b
    shared: int  # items both models cover
    total: int

    @property
    def verdict(self) -> str:
        if self.ci is None:
            return "not comparable (fewer than 3 shared items)"
        if self.ci[0] > 0:
            return "A better"
        if self.ci[1] < 0:
            return "B better"
        return "no difference at 95%"


def _similarity(ra: SimilarityResult, rb: SimilarityResult, samples: int, seed: int) -> Difference:
    both = np.isfinite(ra.cosines) & np.isfinite(rb.cosines)
    n = int(both.sum())
    if n < 3:
        return Difference(ra.name, "spearman", None, None, None, None, n, len(both))
    counts = np.vstack([np.ones(n), resample_counts(n, samples, seed)])  # row 0: the sample itself
    a = resampled_spearman(ra.cosines[both], ra.human[both], counts)
    b = resampled_spearman(rb.cosines[both], rb.human[both], counts)
    return Difference(ra.name, "spearman", a[0], b[0], a[0] - b[0], percentile_interval(a[1:] - b[1:]), n, len(both))


def _analogies(ra, rb, samples: int, seed: int) -> Difference:
    name = "analogies" if ra.name == "google" else f"{ra.name} analogies"
    both = (ra.outcomes >= 0) & (rb.outcomes >= 0)
    n = int(both.sum())
    if n < 3:
        return Difference(name, "accuracy", None, None, None, None, n, len(both))
    oa, ob = ra.outcomes[both].astype(np.float64), rb.outcomes[both].astype(np.float64)
    counts = resample_counts(n, samples, seed)
    diffs = counts @ (oa - ob) / n
    a, b = float(oa.mean()), float(ob.mean())
    return Difference(name, "accuracy", a, b, a - b, percentile_interval(diffs), n, len(both))


def compare_results(results_a: list, results_b: list, samples: int = SAMPLES, seed: int = SEED) -> list[Difference]:
    """Paired differences for every benchmark both result lists have (from
    :func:`nbw2v.evaluation.evaluate.evaluate_configured` on the same sets)."""
    by_name = {(type(r).__name__, r.name): r for r in results_b}
    out = []
    for ra in results_a:
        rb = by_name.get((type(ra).__name__, ra.name))
        if rb is None:
            continue
        if isinstance(ra, SimilarityResult):
            out.append(_similarity(ra, rb, samples, seed))
        else:
            out.append(_analogies(ra, rb, samples, seed))
    return out


def compare_table(differences: list[Difference], label_a: str, label_b: str) -> str:
    """The comparison as a Markdown table (accuracies in %)."""
    lines = [
        f"A = {label_a}",
        f"B = {label_b}",
        "",
        "| benchmark | A | B | A - B [95% interval] | shared items | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for d in differences:
        scale, unit = (100.0, "%") if d.metric == "accuracy" else (1.0, "")
        digits = 1 if d.metric == "accuracy" else 3
        if d.diff is None:
            lines.append(f"| {d.name} | - | - | - | {d.shared} of {d.total} | {d.verdict} |")
            continue
        ci = f" [{scale * d.ci[0]:+.{digits}f}, {scale * d.ci[1]:+.{digits}f}]" if d.ci else ""
        lines.append(
            f"| {d.name} | {scale * d.a:.{digits}f}{unit} | {scale * d.b:.{digits}f}{unit} | "
            f"{scale * d.diff:+.{digits}f}{ci} | {d.shared} of {d.total} | {d.verdict} |"
        )
    return "\n".join(lines) + "\n"
