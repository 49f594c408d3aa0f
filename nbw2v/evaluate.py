"""Word similarity (Spearman rho) and analogies (3CosAdd / 3CosMul) on Embeddings.

Case: words of the evaluation files are lower-cased by default (``lowercase=True``), as the
bundled corpora are lower-case; pairs/questions with a word missing from the (restricted)
vocabulary are skipped and counted, and every score comes with its coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .embeddings import Embeddings

EVAL_DIR = Path(__file__).parent / "data" / "eval"
WORDSIM353 = EVAL_DIR / "wordsim353.tsv"
SIMLEX999 = EVAL_DIR / "simlex999.txt"
GOOGLE_ANALOGIES = EVAL_DIR / "questions-words.txt"


class EvalFormatError(ValueError):
    """An evaluation file is not in the expected format."""


def _lines(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            yield from enumerate(f, 1)
    except UnicodeDecodeError:
        raise EvalFormatError(f"{path}: not valid UTF-8") from None


def read_similarity_pairs(path: str | Path, lowercase: bool = True) -> list[tuple[str, str, float]]:
    """``word1<TAB>word2<TAB>score`` lines; ``#`` starts a comment line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such similarity file")
    pairs = []
    for line_no, line in _lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3:
            raise EvalFormatError(f"{path}:{line_no}: expected 'word1<TAB>word2<TAB>score', got {line[:60]!r}")
        try:
            score = float(parts[2])
        except ValueError:
            raise EvalFormatError(f"{path}:{line_no}: score {parts[2]!r} is not a number") from None
        a, b = (parts[0].lower(), parts[1].lower()) if lowercase else (parts[0], parts[1])
        pairs.append((a, b, score))
    if not pairs:
        raise EvalFormatError(f"{path}: no word pairs found")
    return pairs


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_vals = values[order]
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x, y) -> float:
    """Spearman rho: Pearson correlation of the (tie-averaged) ranks; NaN for < 2 points."""
    if len(x) < 2:
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


@dataclass
class SimilarityResult:
    name: str
    spearman: float
    pairs_used: int
    pairs_total: int

    @property
    def coverage(self) -> float:
        return self.pairs_used / self.pairs_total


def evaluate_similarity(emb: Embeddings, path=WORDSIM353, lowercase: bool = True, restrict: int | None = None):
    """Spearman rho between cosine similarity and the human scores over covered pairs."""
    pairs = read_similarity_pairs(path, lowercase)
    limit = len(emb) if restrict is None else restrict
    index = emb.vocab.index
    model, human = [], []
    for a, b, score in pairs:
        ia, ib = index.get(a), index.get(b)
        if ia is None or ib is None or ia >= limit or ib >= limit:
            continue
        model.append(emb.similarity(a, b))
        human.append(score)
    rho = spearman(model, human) if model else float("nan")
    return SimilarityResult(Path(path).stem, rho, len(model), len(pairs))


@dataclass
class AnalogyResult:
    method: str
    correct: int
    used: int
    total: int
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (correct, used)

    @property
    def accuracy(self) -> float:
        return self.correct / self.used if self.used else float("nan")

    @property
    def coverage(self) -> float:
        return self.used / self.total

    def split(self, syntactic: bool) -> float:
        c = sum(v[0] for k, v in self.sections.items() if k.startswith("gram") == syntactic)
        u = sum(v[1] for k, v in self.sections.items() if k.startswith("gram") == syntactic)
        return c / u if u else float("nan")


def read_analogies(path: str | Path, lowercase: bool = True) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such analogy file")
    sections: list[tuple[str, list]] = []
    for line_no, line in _lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.lower().split() if lowercase else line.split()
        if len(words) != 4:
            raise EvalFormatError(f"{path}:{line_no}: expected 4 words, got {line[:60]!r}")
        if not sections:
            raise EvalFormatError(f"{path}:{line_no}: a question before the first ': section' line")
        sections[-1][1].append(tuple(words))
    return sections


def evaluate_analogies(
    emb: Embeddings,
    path=GOOGLE_ANALOGIES,
    restrict: int = 30_000,
    method: str = "3cosadd",
    lowercase: bool = True,
    batch: int = 1024,
) -> AnalogyResult:
    """Accuracy on ``a : b :: c : d`` questions, predicting d among the ``restrict`` most
    frequent words with a, b, c excluded (3CosAdd: argmax cos(x, b - a + c); 3CosMul of Levy &
    Goldberg with cosines shifted to [0, 1]). Vectorised in batches of questions."""
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method={method!r}: expected '3cosadd' or '3cosmul'")
    sections = read_analogies(path, lowercase)
    limit = min(restrict, len(emb)) if restrict else len(emb)
    unit = emb.unit_vectors[:limit]
    index = {w: i for w, i in emb.vocab.index.items() if i < limit}
    result = AnalogyResult(method, 0, 0, sum(len(q) for _, q in sections))
    for name, questions in sections:
        ids = [[index.get(w) for w in q] for q in questions]
        ids = np.array([q for q in ids if None not in q], dtype=np.int64).reshape(-1, 4)
        correct = 0
        for lo in range(0, len(ids), batch):
            q = ids[lo : lo + batch]
            a, b, c = unit[q[:, 0]], unit[q[:, 1]], unit[q[:, 2]]
            if method == "3cosadd":
                scores = (b - a + c) @ unit.T
            else:
                eps = 1e-3
                sim = lambda x: (x @ unit.T + 1.0) / 2.0  # noqa: E731
                scores = sim(b) * sim(c) / (sim(a) + eps)
            rows = np.arange(len(q))
            for col in range(3):
                scores[rows, q[:, col]] = -np.inf
            correct += int((scores.argmax(axis=1) == q[:, 3]).sum())
        result.sections[name] = (correct, len(ids))
        result.correct += correct
        result.used += len(ids)
    return result


def evaluate_all(emb: Embeddings, restrict: int = 30_000) -> dict[str, float]:
    """The standard metrics, flat (for reports and trackers)."""
    ws = evaluate_similarity(emb, WORDSIM353)
    sl = evaluate_similarity(emb, SIMLEX999)
    an = evaluate_analogies(emb, GOOGLE_ANALOGIES, restrict=restrict)
    return {
        "eval/ws353_spearman": ws.spearman,
        "eval/ws353_coverage": ws.coverage,
        "eval/simlex_spearman": sl.spearman,
        "eval/simlex_coverage": sl.coverage,
        "eval/analogy_accuracy": an.accuracy,
        "eval/analogy_semantic": an.split(False),
        "eval/analogy_syntactic": an.split(True),
        "eval/analogy_coverage": an.coverage,
    }
