import numpy as np
import pytest

from nbw2v.embeddings import Embeddings, VectorsFormatError
from nbw2v.text.vocab import Vocab


@pytest.fixture
def emb():
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "köln", "x"]
    vectors = rng.standard_normal((6, 5)).astype(np.float32)
    vectors[1] = vectors[0] - vectors[2] + vectors[3]  # queen = king - man + woman
    return Embeddings(Vocab(words, np.array([60, 50, 40, 30, 20, 10])), vectors)


@pytest.mark.parametrize("name,fmt", [("v.txt", "text"), ("v.bin", "binary"), ("v.npz", "npz")])
def test_save_load_round_trip(tmp_path, emb, name, fmt):
    path = emb.save(tmp_path / name)
    again = Embeddings.load(path)
    assert again.words == emb.words
    atol = 1e-5 if fmt == "text" else 0.0
    np.testing.assert_allclose(again.vectors, emb.vectors, rtol=1e-5, atol=atol)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_format_is_autodetected_regardless_of_suffix(tmp_path, emb):
    emb.save(tmp_path / "vectors.w2v", fmt="binary")
    assert Embeddings.load(tmp_path / "vectors.w2v").words == emb.words
    emb.save(tmp_path / "vectors.other", fmt="text")
    assert Embeddings.load(tmp_path / "vectors.other").words == emb.words


def test_similarity_queries(emb):
    assert emb.similarity("king", "king") == pytest.approx(1.0, abs=1e-6)
    assert emb.most_similar(["king", "woman"], ["man"], topn=1)[0][0] == "queen"
    top = emb.most_similar("king", topn=3)
    assert len(top) == 3 and "king" not in [w for w, _ in top]
    with pytest.raises(KeyError, match="'prince' is not in the vocabulary"):
        emb.most_similar("prince")


@pytest.mark.parametrize(
    "content,message",
    [
        (b"3 2\na 1 2\nb 3 4\n", "header says 3 words but the file has 2"),
        (b"2 3\na 1 2\nb 3 4\n", "line 2 has 2 numbers, the header says dimension 3"),
        (b"1 2\na 1 2\nb 3 4\n", "more data after the 1 words"),
        (b"two 2\na 1 2\n", "first line must be 'V d'"),
        (b"1 2\na 1 x\n", "not a number"),
        (b"1 2\n\xff 1 2\n", "not valid UTF-8"),
    ],
)
def test_bad_vector_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(VectorsFormatError, match=message):
        Embeddings.load(path)


def test_gensim_reads_our_files(tmp_path, emb):
    models = pytest.importorskip("gensim.models")
    for name, binary in (("v.txt", False), ("v.bin", True)):
        emb.save(tmp_path / name)
        kv = models.KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        assert list(kv.index_to_key) == emb.words
        np.testing.assert_allclose(kv.vectors, emb.vectors, rtol=1e-5, atol=1e-5)


def test_we_read_gensim_files(tmp_path, emb):
    models = pytest.importorskip("gensim.models")
    kv = models.KeyedVectors(vector_size=5)
    kv.add_vectors(emb.words, emb.vectors)
    for name, binary in (("g.txt", False), ("g.bin", True)):
        kv.save_word2vec_format(str(tmp_path / name), binary=binary)
        again = Embeddings.load(tmp_path / name)
        assert again.words == emb.words
        np.testing.assert_allclose(again.vectors, emb.vectors, rtol=1e-5, atol=1e-5)
