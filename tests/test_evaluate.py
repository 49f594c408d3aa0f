"""Evaluation: agreement with a slow, obvious reference and with gensim; coverage and errors."""

import math

import numpy as np
import pytest

from nbw2v.config import Config
from nbw2v.embeddings import Embeddings
from nbw2v.evaluation.evaluate import (
    GOOGLE_ANALOGIES,
    SIMLEX999,
    WORDSIM353,
    EvalFormatError,
    evaluate_analogies,
    evaluate_similarity,
    read_analogies,
    read_similarity_pairs,
    spearman,
)
from nbw2v.progress import SilentProgress
from nbw2v.text.vocab import Vocab
from nbw2v.training.train import train


@pytest.fixture(scope="module")
def emb():
    """A real (small) model: 1 epoch on the bundled corpus, so scores are far from zero."""
    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs = 1
    cfg.train.deterministic = True  # the same model on every machine and run
    return train(cfg, progress=SilentProgress())


# ---- a slow, obvious reference -------------------------------------------------------------------


def ref_ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ref_pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    num = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    den = math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))
    return num / den


def ref_cos(u, v):
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def ref_similarity(emb, path):
    index = {}
    for i in range(len(emb) - 1, -1, -1):
        index[emb.words[i].lower()] = i
    model, human, total = [], [], 0
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        a, b, score = line.rstrip("\n").split("\t")[:3]
        total += 1
        if a.lower() in index and b.lower() in index:
            model.append(ref_cos(emb.vectors[index[a.lower()]], emb.vectors[index[b.lower()]]))
            human.append(float(score))
    return ref_pearson(ref_ranks(model), ref_ranks(human)), len(model), total


def ref_analogies(emb, path, restrict):
    words = emb.words[:restrict]
    unit = emb.vectors[:restrict] / np.linalg.norm(emb.vectors[:restrict], axis=1, keepdims=True)
    index = {}
    for i in range(len(words) - 1, -1, -1):
        index[words[i].lower()] = i
    correct = used = 0
    for line in open(path, encoding="utf-8"):
        if line.startswith(":"):
            continue
        q = [w.lower() for w in line.split()]
        if not all(w in index for w in q):
            continue
        used += 1
        target = unit[index[q[1]]] - unit[index[q[0]]] + unit[index[q[2]]]
        best, best_score = None, -np.inf
        for i, w in enumerate(words):
            if w.lower() in q[:3]:
                continue
            score = float(unit[i] @ target)
            if score > best_score:
                best, best_score = w.lower(), score
        correct += best == q[3]
    return correct, used


# ---- tests ---------------------------------------------------------------------------------------


def test_spearman_averages_ties_like_the_hand_reference():
    assert ref_ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 200).astype(float), rng.integers(0, 7, 200).astype(float)  # many ties
    assert spearman(x, y) == pytest.approx(ref_pearson(ref_ranks(list(x)), ref_ranks(list(y))), abs=1e-12)
    assert math.isnan(spearman([1.0], [2.0])) and math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


@pytest.mark.parametrize("path", [WORDSIM353, SIMLEX999])
def test_similarity_agrees_with_reference(emb, path):
    result = evaluate_similarity(emb, path)
    rho, used, total = ref_similarity(emb, path)
    assert (result.pairs_used, result.pairs_total) == (used, total)
    assert result.spearman == pytest.approx(rho, abs=1e-9)
    assert result.spearman > 0.1  # a real model: the comparison is not between two zeros


def test_analogies_agree_with_reference(emb, tmp_path):
    # a sample of sections keeps the slow reference quick
    sample = [s for s in read_analogies(GOOGLE_ANALOGIES) if s[0] in ("capital-common-countries", "gram3-comparative")]
    path = tmp_path / "sample.txt"
    with open(path, "w") as f:
        for name, questions in sample:
            f.write(f": {name}\n" + "".join(" ".join(q) + "\n" for q in questions))
    result = evaluate_analogies(emb, path, restrict=5000)
    correct, used = ref_analogies(emb, path, 5000)
    assert (result.correct, result.used) == (correct, used)
    assert result.correct > 0


def test_case_handling_and_variants(tmp_path):
    words = ["Paris", "paris", "France", "Berlin", "germany", "ROME", "italy", "x"]
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((8, 6)).astype(np.float32)
    vectors[1] = vectors[0] + 0.01  # "paris" almost equals "Paris"
    emb = Embeddings(Vocab(words, np.arange(8, 0, -1)), vectors)
    pairs = tmp_path / "pairs.tsv"
    with open(pairs, "w") as f:
        f.write("# comment\nparis\tfrance\t9\nBERLIN\tGermany\t8\nrome\tItaly\t7.5\nparis\tunknownword\t1\n")
    result = evaluate_similarity(emb, pairs)
    assert (result.pairs_used, result.pairs_total) == (3, 4)
    exact = evaluate_similarity(emb, pairs, case_insensitive=False)
    assert exact.pairs_used == 0 and exact.spearman is None
    assert exact.summary() == "pairs: 0 of 4 pairs covered (no score)"


def test_gensim_agrees_to_three_decimals(emb, tmp_path):
    models = pytest.importorskip("gensim.models")
    kv = models.KeyedVectors(vector_size=emb.dim)
    kv.add_vectors(emb.words, emb.vectors)
    for path in (WORDSIM353, SIMLEX999):
        ours = evaluate_similarity(emb, path)
        (pearson, _), (spearman, _), oov = kv.evaluate_word_pairs(str(path), restrict_vocab=len(emb))
        assert ours.spearman == pytest.approx(spearman, abs=5e-4)  # equal to 3 decimals
        assert ours.pearson == pytest.approx(pearson, abs=5e-4)
        assert ours.pairs_used == round((1 - oov / 100) * ours.pairs_total)
    score, sections = kv.evaluate_word_analogies(str(GOOGLE_ANALOGIES), restrict_vocab=30_000)
    ours = evaluate_analogies(emb, GOOGLE_ANALOGIES, restrict=30_000)
    assert ours.accuracy == pytest.approx(score, abs=5e-4)
    total = next(s for s in sections if s["section"] == "Total accuracy")
    assert (ours.correct, ours.used) == (len(total["correct"]), len(total["correct"]) + len(total["incorrect"]))


def test_3cosmul_runs_and_differs_little(emb):
    add = evaluate_analogies(emb, GOOGLE_ANALOGIES, restrict=10_000)
    mul = evaluate_analogies(emb, GOOGLE_ANALOGIES, restrict=10_000, method="3cosmul")
    assert add.used == mul.used and mul.correct > 0
    assert abs(add.accuracy - mul.accuracy) < 0.05


@pytest.mark.parametrize(
    "content,message",
    [
        ("a\tb\n", "expected 'word1<TAB>word2<TAB>score'"),
        ("a\tb\tx\n", "is not a number"),
        ("# only\n", "no word pairs"),
    ],
)
def test_bad_similarity_files(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(EvalFormatError, match=message):
        read_similarity_pairs(path)


def test_bad_analogy_files(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a b c d\r\ne f g h\r\n")  # no sections (MSR's form): one named after the file
    assert read_analogies(path) == [("bad", [("a", "b", "c", "d"), ("e", "f", "g", "h")])]
    path.write_text(": s\na b c\n")
    with pytest.raises(EvalFormatError, match="expected 4 words"):
        read_analogies(path)
    with pytest.raises(FileNotFoundError, match="no such evaluation file"):
        read_analogies(tmp_path / "missing.txt")
