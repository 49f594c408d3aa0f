"""Per-item predictions of an evaluation: what a model said about each word pair and question.

A run's scores are summaries; comparing two runs needs the items themselves (which pairs the
model ranked how, which questions it answered right), on the *same* items. Every tracked run
logs them as ``eval/predictions.json`` (a few hundred KB for the whole suite), so any run can
be compared later without its vectors (a sweep saves none):

* similarity sets: the model's cosine per pair of the file (``null`` where a word is not in
  the vocabulary) and the human score;
* analogy sets: per question of the file, 1 right, 0 wrong, -1 not covered.

Each set carries a digest of its items (words and gold scores), so predictions made on another
version of a benchmark file are never compared item by item with these; the evaluation
options (analogy ``restrict``, method, case handling, post-processing) are recorded beside
them, and two runs scored with different options are not compared.
"""

from __future__ import annotations

import json
import math

import numpy as np

from nbw2v.config import ANALOGY_RESTRICT
from nbw2v.evaluation.evaluate import AnalogyResult, SimilarityResult, spearman
from nbw2v.evaluation.metric_names import score_key

FORMAT = "nbw2v.predictions/1"
ARTIFACT = "eval/predictions.json"


def make_options(
    restrict: int = ANALOGY_RESTRICT,
    method: str = "3cosadd",
    case_insensitive: bool = True,
    center: bool = False,
    remove_top: int = 0,
) -> dict:
    """The evaluation options recorded beside predictions (defaults: a run's default ``eval``);
    two runs are compared item by item only when theirs are equal."""
    return {
        "restrict": int(restrict),
        "method": method,
        "case_insensitive": bool(case_insensitive),
        "center": bool(center or remove_top),
        "remove_top": int(remove_top),
    }


class PredictionsError(ValueError):
    """A predictions file that cannot be used (another format, damaged, mismatched options)."""


def to_dict(results, options: dict) -> dict:
    """The per-item predictions of evaluation results (from
    :func:`~nbw2v.evaluation.evaluate.evaluate_configured`) as a JSON-able dict."""
    similarity, analogies = {}, {}
    for r in results:
        if isinstance(r, SimilarityResult):
            if r.cosines is None:
                continue
            human = [float(h) for h in r.human]
            similarity[r.name] = {
                "items": len(human),
                "digest": r.digest,
                "cosine": [None if not math.isfinite(c) else float(c) for c in r.cosines],
                "human": human,
            }
        elif r.outcomes is not None:
            analogies[r.name] = {
                "items": int(r.total),
                "digest": r.digest,
                "method": r.method,
                "outcome": [int(o) for o in r.outcomes],
            }
    return {"format": FORMAT, "options": dict(options), "similarity": similarity, "analogies": analogies}


def to_json(results, options: dict) -> str:
    return json.dumps(to_dict(results, options), separators=(",", ":"))


def from_dict(data: dict, source: str = "predictions") -> tuple[list, dict]:
    """(results, options): the results rebuilt from per-item predictions (scores recomputed
    from the items, without their bootstrap intervals), and the options they were made with."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise PredictionsError(f"{source}: not an nbw2v predictions file (format {found!r}, expected {FORMAT!r})")
    results: list = []
    try:
        for name, item in data["similarity"].items():
            cosines = np.array([np.nan if c is None else c for c in item["cosine"]], dtype=np.float64)
            human = np.array(item["human"], dtype=np.float64)
            covered = np.isfinite(cosines)
            used = int(covered.sum())
            rho = spearman(cosines[covered], human[covered]) if used >= 2 else float("nan")
            score = rho if math.isfinite(rho) else None
            results.append(
                SimilarityResult(
                    name, score, None, used, len(human), cosines=cosines, human=human, digest=item["digest"]
                )
            )
        for name, item in data["analogies"].items():
            outcomes = np.array(item["outcome"], dtype=np.int8)
            answered = outcomes >= 0
            right, used = int((outcomes == 1).sum()), int(answered.sum())
            results.append(
                AnalogyResult(
                    item["method"], right, used, len(outcomes), name=name, outcomes=outcomes, digest=item["digest"]
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise PredictionsError(f"{source}: damaged predictions file ({type(exc).__name__}: {exc})") from None
    return results, dict(data.get("options", {}))


def from_json(text: str, source: str = "predictions") -> tuple[list, dict]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PredictionsError(f"{source}: damaged predictions file ({exc})") from None
    return from_dict(data, source)


def benchmark_key(result) -> str:
    """The name a benchmark goes by in comparisons: the similarity set's name, ``analogies``
    (Google), ``<name> analogies`` (MSR, files)."""
    if isinstance(result, SimilarityResult):
        return result.name
    return "analogies" if result.name == "google" else f"{result.name} analogies"


def metric_key(result_or_key) -> str:
    """The run metric holding a benchmark's score (``eval/ws353``, ``eval/analogy``,
    ``eval/msr_analogy``): see :mod:`nbw2v.evaluation.metric_names`."""
    key = result_or_key if isinstance(result_or_key, str) else benchmark_key(result_or_key)
    if key == "analogies":
        return score_key("google", analogy=True)
    if key.endswith(" analogies"):
        return score_key(key[: -len(" analogies")], analogy=True)
    return score_key(key)
