"""The one place evaluation metrics get their names.

MLflow's runs table shows a metric column under its full key, truncated to about 14 characters
at the default column width, and orders metric columns alphabetically; so the keys are short and
sort as read: ``eval/ws353`` (the score), ``eval/ws353_lo`` / ``eval/ws353_up`` (its bootstrap 95%
interval), ``eval/ws353_cov`` (coverage). Analogy sets end in ``analogy``: ``eval/analogy``
(Google, with ``_sem`` / ``_syn`` splits), ``eval/msr_analogy``, ``eval/<file stem>_analogy``.
A similarity file that is not bundled goes by its file stem.

Runs logged before these names (``eval/wordsim353_spearman``, ``..._ci_low``,
``eval/analogy_accuracy``, ...) are read through :func:`modernize`.
"""

from __future__ import annotations

import re

PREFIX = "eval/"
#: bundled benchmark -> the short name its metrics go by
SHORT = {
    "wordsim353": "ws353",
    "simlex999": "simlex",
    "ws353_similarity": "ws_sim",
    "ws353_relatedness": "ws_rel",
    "men": "men",
    "mturk287": "mturk",
    "rare_words": "rw",
    "google": "analogy",
    "msr": "msr_analogy",
}
_LONG = {short: name for name, short in SHORT.items()}
ANALOGY_SUFFIX = "analogy"
LOW, HIGH, COVERAGE = "_lo", "_up", "_cov"
SEMANTIC, SYNTACTIC = "eval/analogy_sem", "eval/analogy_syn"


def score_key(name: str, analogy: bool = False) -> str:
    """The metric of a benchmark's score: ``eval/ws353``, ``eval/analogy``, ``eval/msr_analogy``;
    a file's stem (``eval/mine``, analogies ``eval/mine_analogy``)."""
    if name in SHORT:
        return PREFIX + SHORT[name]
    return PREFIX + (f"{name}_{ANALOGY_SUFFIX}" if analogy else name)


#: the headline score: what sweeps rank by and Optuna maximises
WS353 = score_key("wordsim353")


def interval_keys(score: str) -> tuple[str, str]:
    """The metrics of a score's 95% interval (low, high)."""
    return score + LOW, score + HIGH


def coverage_key(score: str) -> str:
    return score + COVERAGE


def is_analogy(score: str) -> bool:
    return score.endswith(ANALOGY_SUFFIX)


def label(score: str) -> str:
    """How a score's benchmark is named in printed lines: ``wordsim353``, ``analogies``,
    ``msr analogies``."""
    short = score[len(PREFIX) :]
    if short == ANALOGY_SUFFIX:
        return "analogies"
    if short.endswith("_" + ANALOGY_SUFFIX):
        return f"{short[: -len(ANALOGY_SUFFIX) - 1]} analogies"
    return _LONG.get(short, short)


def scores(metrics) -> list[str]:
    """The score keys among ``metrics`` (those with a coverage), in their order."""
    return [k[: -len(COVERAGE)] for k in metrics if k.startswith(PREFIX) and k.endswith(COVERAGE)]


def similarity_scores(metrics) -> list[str]:
    return [k for k in scores(metrics) if not is_analogy(k)]


_LEGACY_SUFFIX = {"": "", "_ci_low": LOW, "_ci_high": HIGH}
_LEGACY = (
    (re.compile(r"^eval/analogy_accuracy(|_ci_low|_ci_high)$"), lambda m: score_key("google") + _LEGACY_SUFFIX[m[1]]),
    (re.compile(r"^eval/analogy_coverage$"), lambda m: coverage_key(score_key("google"))),
    (re.compile(r"^eval/analogy_semantic$"), lambda m: SEMANTIC),
    (re.compile(r"^eval/analogy_syntactic$"), lambda m: SYNTACTIC),
    (
        re.compile(r"^eval/(.+)_analogy_accuracy(|_ci_low|_ci_high)$"),
        lambda m: score_key(m[1], analogy=True) + _LEGACY_SUFFIX[m[2]],
    ),
    (re.compile(r"^eval/(.+)_analogy_coverage$"), lambda m: coverage_key(score_key(m[1], analogy=True))),
    (re.compile(r"^eval/(.+)_spearman(|_ci_low|_ci_high)$"), lambda m: score_key(m[1]) + _LEGACY_SUFFIX[m[2]]),
    (re.compile(r"^eval/(.+)_coverage$"), lambda m: coverage_key(score_key(m[1]))),
)


def modern_key(key: str) -> str:
    """A metric key as this version names it (keys of older runs translated; others as given)."""
    for pattern, rename in _LEGACY:
        match = pattern.match(key)
        if match:
            return rename(match)
    return key


def modernize(metrics: dict) -> dict:
    """A run's metrics under this version's names (a run logged by an older version translated;
    where both names exist, the current one wins)."""
    names = {k: modern_key(k) for k in metrics}
    out = {names[k]: v for k, v in metrics.items() if names[k] != k}
    out.update({k: v for k, v in metrics.items() if names[k] == k})
    return out
