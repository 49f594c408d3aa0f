"""Word similarity (Spearman rho) and analogies (3CosAdd / 3CosMul) on any Embeddings.

Case handling (``case_insensitive=True``, the default, as gensim's): words of the evaluation
files and of the vocabulary are compared lower-cased; when several vocabulary words share a
lower-case form, the most frequent one stands for them (and in analogies all of them are
excluded as answers when one is a question word). ``restrict`` limits the vocabulary to the
N most frequent words. Pairs or questions with a word outside it are skipped and counted:
every score comes with its coverage, and a set with no covered item gets no score at all
("0 of N pairs covered"), never a NaN presented as one.

These numbers equal gensim's ``evaluate_word_pairs`` / ``evaluate_word_analogies`` with the
same restriction and case handling (tested).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nbw2v.config import ANALOGY_RESTRICT, ANALOGY_SETS, SIMILARITY_SETS
from nbw2v.embeddings import Embeddings
from nbw2v.evaluation import metric_names as mn
from nbw2v.evaluation.uncertainty import accuracy_interval, format_interval, spearman_interval
from nbw2v.paths import DATA_DIR

EVAL_DIR = DATA_DIR / "eval"
WORDSIM353 = EVAL_DIR / "wordsim353.tsv"
SIMLEX999 = EVAL_DIR / "simlex999.txt"
GOOGLE_ANALOGIES = EVAL_DIR / "questions-words.txt"


class EvalFormatError(ValueError):
    """An evaluation file is not in the expected format."""


def _lines(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such evaluation file")
    try:
        with open(path, encoding="utf-8") as f:
            yield from enumerate(f, 1)
    except UnicodeDecodeError:
        raise EvalFormatError(f"{path}: not valid UTF-8") from None


class VocabView:
    """The words an evaluation may use: the ``restrict`` most frequent, optionally caseless."""

    def __init__(self, emb: Embeddings, restrict: int | None = None, case_insensitive: bool = True):
        self.limit = len(emb) if not restrict else min(restrict, len(emb))
        self.case_insensitive = case_insensitive
        words = emb.words[: self.limit]
        keys = [w.lower() for w in words] if case_insensitive else words
        self.index: dict[str, int] = {}
        for i in range(self.limit - 1, -1, -1):  # reversed: the most frequent variant wins
            self.index[keys[i]] = i
        # class of each index = the index standing for its key; members of shared classes
        self.cls = np.array([self.index[k] for k in keys], dtype=np.int64)
        self.members: dict[int, list[int]] = {}
        for i, c in enumerate(self.cls.tolist()):
            if c != i:
                self.members.setdefault(c, [c]).append(i)

    def key(self, word: str) -> str:
        return word.lower() if self.case_insensitive else word

    def get(self, word: str) -> int | None:
        return self.index.get(self.key(word))


def items_digest(items) -> str:
    """A short digest of a benchmark's items (words and gold scores, or questions): predictions
    made on another version of a file are never compared item by item with these."""
    return hashlib.sha1(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:16]


def read_similarity_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """``word1 word2 score`` lines, tab-separated (words may then hold spaces) or, without a
    tab, whitespace-separated (MEN); more columns are ignored, CRLF line ends are fine, ``#``
    starts a comment."""
    path = Path(path)
    pairs = []
    for line_no, line in _lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        text = line.rstrip("\r\n")
        parts = text.split("\t") if "\t" in text else text.split()
        if len(parts) < 3:
            raise EvalFormatError(f"{path}:{line_no}: expected 'word1<TAB>word2<TAB>score', got {line[:60]!r}")
        try:
            score = float(parts[2])
        except ValueError:
            raise EvalFormatError(f"{path}:{line_no}: score {parts[2]!r} is not a number") from None
        pairs.append((parts[0].strip(), parts[1].strip(), score))
    if not pairs:
        raise EvalFormatError(f"{path}: no word pairs found")
    return pairs


def _correlation(statistic, x, y) -> float:
    """SciPy's statistic as a float; NaN (no warning) for fewer than 2 points or a constant input."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(statistic(x, y)[0])


def pearson(x, y) -> float:
    from scipy.stats import pearsonr

    return _correlation(pearsonr, x, y)


def spearman(x, y) -> float:
    """Spearman rho (``scipy.stats.spearmanr``: ties get their average rank); NaN for < 2 points."""
    from scipy.stats import spearmanr

    return _correlation(spearmanr, x, y)


@dataclass
class SimilarityResult:
    name: str
    spearman: float | None  # None: no pair covered
    pearson: float | None
    pairs_used: int
    pairs_total: int
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: why there is no score although pairs were covered
    note: str = ""
    #: the bootstrap 95% interval of the Spearman rho over the covered pairs
    ci: tuple[float, float] | None = None
    #: per pair of the file: the model's cosine (NaN where not covered) and the human score
    cosines: np.ndarray | None = None
    human: np.ndarray | None = None
    #: :func:`items_digest` of the file's pairs
    digest: str = ""

    @property
    def coverage(self) -> float:
        return self.pairs_used / self.pairs_total

    def summary(self) -> str:
        if self.spearman is None and self.note:
            return f"{self.name}: no score: {self.note} ({self.pairs_used} of {self.pairs_total} pairs covered)"
        if self.spearman is None:
            return f"{self.name}: 0 of {self.pairs_total} pairs covered (no score)"
        score = format_interval(self.spearman, self.ci)
        return f"{self.name}: Spearman {score} ({self.pairs_used} of {self.pairs_total} pairs covered)"


def evaluate_similarity(
    emb: Embeddings, path=WORDSIM353, restrict: int | None = None, case_insensitive: bool = True, name: str = ""
) -> SimilarityResult:
    """Spearman (and Pearson) correlation of cosine similarity with the human scores."""
    pairs = read_similarity_pairs(path)
    view = VocabView(emb, restrict, case_insensitive)
    missing = []
    cosines = np.full(len(pairs), np.nan)  # per pair of the file; NaN: not covered
    for i, (a, b, _) in enumerate(pairs):
        ia, ib = view.get(a), view.get(b)
        if ia is None or ib is None:
            missing.append((a, b))
            continue
        # float64 cosines: ranks must not hinge on float32 round-off between near-equal pairs
        u, v = emb.vectors[ia].astype(np.float64), emb.vectors[ib].astype(np.float64)
        cosines[i] = float(u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-300))
    scores = np.array([s for _, _, s in pairs], dtype=np.float64)
    covered = np.isfinite(cosines)
    model, human = cosines[covered], scores[covered]
    name = name or Path(path).stem
    per_pair = {"cosines": cosines, "human": scores, "digest": items_digest(pairs)}
    if len(model) < 2:
        note = "" if not len(model) else "one pair covered, a correlation needs two"
        return SimilarityResult(name, None, None, len(model), len(pairs), missing, note, **per_pair)
    if np.ptp(model) == 0:
        note = f"every covered pair has the same cosine {model[0]:.3g} (a 1-dimensional model has only +-1)"
        return SimilarityResult(name, None, None, len(model), len(pairs), missing, note, **per_pair)
    return SimilarityResult(
        name,
        spearman(model, human),
        pearson(model, human),
        len(model),
        len(pairs),
        missing,
        ci=spearman_interval(model, human),
        **per_pair,
    )


@dataclass
class AnalogyResult:
    method: str
    correct: int
    used: int
    total: int
    sections: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (correct, used, total)
    #: "google" (metrics eval/analogy*), else the set's name (eval/<name>_analogy*)
    name: str = "google"
    #: per question of the file, in order: 1 right, 0 wrong, -1 not covered
    outcomes: np.ndarray | None = None
    #: :func:`items_digest` of the file's questions
    digest: str = ""

    @functools.cached_property
    def ci(self) -> tuple[float, float] | None:
        """The bootstrap 95% interval of the accuracy over the answered questions."""
        return accuracy_interval(self.correct, self.used)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.used if self.used else None

    @property
    def coverage(self) -> float:
        return self.used / self.total if self.total else 0.0

    def split(self, syntactic: bool) -> float | None:
        chosen = [v for k, v in self.sections.items() if k.startswith("gram") == syntactic]
        used = sum(v[1] for v in chosen)
        return sum(v[0] for v in chosen) / used if used else None

    def summary(self) -> str:
        label = "analogies" if self.name == "google" else f"{self.name} analogies"
        if self.accuracy is None:
            return f"{label} ({self.method}): 0 of {self.total} questions covered (no score)"
        score = format_interval(self.accuracy, self.ci, scale=100, digits=1, unit="%")
        if self.name != "google":
            return f"{label} ({self.method}): {score} ({self.used} of {self.total} questions covered)"
        sem, syn = self.split(False), self.split(True)
        parts = [f"{100 * x:.1f}%" if x is not None else "-" for x in (sem, syn)]
        return (
            f"{label} ({self.method}): {score} (semantic {parts[0]}, syntactic {parts[1]}; "
            f"{self.used} of {self.total} questions covered)"
        )


def read_analogies(path: str | Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """``: section`` lines, then ``a b c d`` questions (a : b :: c : d); a file without
    sections (MSR) is one section named after the file."""
    path = Path(path)
    sections: list[tuple[str, list]] = []
    for line_no, line in _lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.split()
        if len(words) != 4:
            raise EvalFormatError(f"{path}:{line_no}: expected 4 words, got {line[:60]!r}")
        if not sections:
            sections.append((path.stem, []))
        sections[-1][1].append(tuple(words))
    if not sections:
        raise EvalFormatError(f"{path}: no analogy questions found")
    return sections


def evaluate_analogies(
    emb: Embeddings,
    path=GOOGLE_ANALOGIES,
    restrict: int | None = ANALOGY_RESTRICT,
    method: str = "3cosadd",
    case_insensitive: bool = True,
    batch: int = 256,
    name: str = "",
) -> AnalogyResult:
    """Accuracy on ``a : b :: c : d``: the answer is the word (among the ``restrict`` most
    frequent) maximising 3CosAdd ``cos(x, b) - cos(x, a) + cos(x, c)`` or 3CosMul
    ``cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-3)`` with ``cos' = (cos + 1) / 2`` (Levy and
    Goldberg), the question words excluded. Matrix products over batches of questions."""
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method={method!r}: expected '3cosadd' or '3cosmul'")
    sections = read_analogies(path)
    view = VocabView(emb, restrict, case_insensitive)
    unit = emb.unit_vectors[: view.limit]
    name = "google" if Path(path) == GOOGLE_ANALOGIES else name or Path(path).stem
    result = AnalogyResult(method, 0, 0, sum(len(q) for _, q in sections), name=name, digest=items_digest(sections))
    outcomes = []
    for section, questions in sections:
        ids = [[view.get(w) for w in q] for q in questions]
        covered = np.array([None not in q for q in ids])
        ids = np.array([q for q in ids if None not in q], dtype=np.int64).reshape(-1, 4)
        right = np.zeros(len(ids), np.int8)
        for lo in range(0, len(ids), batch):
            q = ids[lo : lo + batch]
            if method == "3cosadd":
                scores = (unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]) @ unit.T
            else:
                sim_a, sim_b, sim_c = ((unit[q[:, k]] @ unit.T + 1.0) / 2.0 for k in range(3))
                scores = sim_b * sim_c / (sim_a + 1e-3)
            rows = np.arange(len(q))
            for col in range(3):
                scores[rows, q[:, col]] = -np.inf
            if view.members:  # words sharing a question word's lower-case form are excluded too
                for row, col in zip(*np.nonzero(np.isin(q[:, :3], list(view.members))), strict=True):
                    scores[row, view.members[int(q[row, col])]] = -np.inf
            predicted = view.cls[scores.argmax(axis=1)]
            right[lo : lo + batch] = predicted == q[:, 3]
        correct = int(right.sum())
        section_outcomes = np.full(len(questions), -1, np.int8)
        section_outcomes[covered] = right
        outcomes.append(section_outcomes)
        result.sections[section] = (correct, len(ids), len(questions))
        result.correct += correct
        result.used += len(ids)
    result.outcomes = np.concatenate(outcomes) if outcomes else np.zeros(0, np.int8)
    return result


_FILES = (
    "wordsim353.tsv",
    "simlex999.txt",
    "ws353_similarity.txt",
    "ws353_relatedness.txt",
    "bruni_men.txt",
    "radinsky_mturk.txt",
    "luong_rare.txt",
)
BUNDLED_SIMILARITY = {name: EVAL_DIR / f for name, f in zip(SIMILARITY_SETS, _FILES, strict=True)}
BUNDLED_ANALOGIES = {
    name: EVAL_DIR / f for name, f in zip(ANALOGY_SETS, ("questions-words.txt", "msr_analogy.txt"), strict=True)
}
#: the standard suite of Levy, Goldberg & Dagan (2015): every bundled set (``eval=suite``)
SUITE_SIMILARITY = tuple(BUNDLED_SIMILARITY)
SUITE_ANALOGIES = ANALOGY_SETS


def evaluate_configured(
    emb: Embeddings,
    similarity=("wordsim353", "simlex999"),
    analogies: str | tuple[str, ...] = "google",
    restrict: int | None = ANALOGY_RESTRICT,
    case_insensitive: bool = True,
    method: str = "3cosadd",
) -> list[SimilarityResult | AnalogyResult]:
    """Run the named (bundled) or given evaluation files. ``analogies``: names or paths, a
    sequence or one comma-separated string ("google,msr"; "" for none). ``restrict`` applies
    to analogies."""
    results: list[SimilarityResult | AnalogyResult] = []
    for item in similarity:
        path = BUNDLED_SIMILARITY.get(item, item)
        name = item if item in BUNDLED_SIMILARITY else Path(item).stem
        results.append(evaluate_similarity(emb, path, case_insensitive=case_insensitive, name=name))
    names = [a.strip() for a in analogies.split(",")] if isinstance(analogies, str) else list(analogies)
    for item in (a for a in names if a):
        path = BUNDLED_ANALOGIES.get(item, item)
        name = item if item in BUNDLED_ANALOGIES else Path(item).stem
        results.append(evaluate_analogies(emb, path, restrict, method, case_insensitive, name=name))
    return results


def results_to_metrics(results) -> dict[str, float]:
    """Flat metrics named by :mod:`nbw2v.evaluation.metric_names` (``eval/ws353`` with
    ``_lo``/``_up`` interval and ``_cov`` coverage, ``eval/analogy`` with ``_sem``/``_syn``),
    rounded to 4 decimals; a score is left out (not NaN) when nothing was covered."""
    out: dict[str, float | None] = {}
    for r in results:
        analogy = not isinstance(r, SimilarityResult)
        key = mn.score_key(r.name, analogy=analogy)
        out[key] = r.accuracy if analogy else r.spearman
        key_low, key_high = mn.interval_keys(key)
        out[key_low], out[key_high] = r.ci or (None, None)
        if analogy and r.name == "google":
            out[mn.SEMANTIC] = r.split(False)
            out[mn.SYNTACTIC] = r.split(True)
        out[mn.coverage_key(key)] = r.coverage
    # 4 decimals: what the data supports (a WordSim353 interval is +-0.09), and readable in tables
    return {k: round(float(v), 4) for k, v in out.items() if v is not None}
