"""The evaluation scripts in experiments/ on small vector files."""

from pathlib import Path

import numpy as np
import pytest
from conftest import experiment_script

from nbw2v.embeddings import Embeddings
from nbw2v.text.vocab import Vocab

_script = experiment_script


@pytest.fixture
def two_files(tmp_path):
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "tiger", "cat", "car", "automobile"]
    paths = []
    for i, fmt in enumerate(("text", "binary")):
        emb = Embeddings(Vocab(words, np.arange(8, 0, -1)), rng.standard_normal((8, 5)).astype(np.float32))
        paths.append(str(emb.save(tmp_path / f"v{i}.{'txt' if fmt == 'text' else 'bin'}", fmt=fmt)))
    return paths


def test_compare_vectors_side_by_side(two_files, tmp_path, capsys):
    out = tmp_path / "table.md"
    assert _script("compare_vectors").main([*two_files, "--out", str(out)]) == 0
    table = out.read_text().splitlines()
    assert len(table) == 4 and all(Path(p).name in "".join(table) for p in two_files)
    assert "/353)" in table[2]  # coverage beside every score


def test_compare_vectors_missing_file(tmp_path, capsys):
    assert _script("compare_vectors").main([str(tmp_path / "nope.bin")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_plot_words_writes_a_png(two_files, tmp_path, capsys):
    out = tmp_path / "w.png"
    assert _script("plot_words").main([two_files[0], "king", "queen", "man", "woman", "zebra", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "'zebra' is not in the vocabulary" in capsys.readouterr().err


def test_bench_train_baseline_refused_early(tmp_path, capsys):
    """``bench_train.py --baseline REV`` names what is wrong before any corpus is read or run
    started: a revision git does not know, or a plan without the default row to stand beside."""
    bench = _script("bench_train")
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--corpus", str(corpus), "--only", "hs", "--baseline", "HEAD", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "add shared to --only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        bench.main(["--corpus", str(corpus), "--baseline", "no-such-rev-0123", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--baseline no-such-rev-0123: git archive failed" in capsys.readouterr().err
    assert not list(tmp_path.glob("bench_train*"))


def test_bench_train_warm_up_corpus_is_the_corpus_head(tmp_path):
    """bench_train compiles each tree's kernels on the corpus's first whole lines before any timed
    run: at least the words asked for (or all), never a cut line."""
    bench = _script("bench_train")
    src = tmp_path / "c.txt"
    src.write_text("a b c\nd e\nf g h i\nj\n")
    dst = tmp_path / "head.txt"
    assert bench.head_words(src, dst, 4) == 5 and dst.read_text() == "a b c\nd e\n"
    assert bench.head_words(src, dst, 100) == 10 and dst.read_text() == src.read_text()


def test_bench_kernels_course_rows_time_both_sides(monkeypatch):
    """The course API rows of bench_kernels.py (a smoke run at the smallest size): every column
    of nbw2v.cs224n has its NumPy counterpart, and the table renders the ratios."""
    bench = _script("bench_kernels")
    row = bench._course_row(5, 3, 0.01, np.random.default_rng(0))
    for key in ("neg", "softmax", "sg_neg", "sg_softmax"):
        assert row[f"{key}_nbw2v_us"] > 0 and row[f"{key}_numpy_us"] > 0
    table = "\n".join(bench.course_markdown([row]))
    assert "| 5 | 3 |" in table and table.count("x |") >= 4
