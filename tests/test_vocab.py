import numba
import numpy as np
import pytest

from nbw2v._rng import next_below, next_float, sample_alias, stream_seed
from nbw2v.config import ConfigError
from nbw2v.text.vocab import Vocab, alias_table


def test_order_is_count_then_word_and_limits_apply():
    words = ["zeta", "alpha", "mid", "beta", "rare"]
    counts = np.array([5, 5, 7, 5, 1])
    vocab, remap = Vocab.from_counts(words, counts, min_count=2)
    assert vocab.words == ["mid", "alpha", "beta", "zeta"]
    assert remap.tolist() == [3, 1, 0, 2, -1]
    small, remap = Vocab.from_counts(words, counts, min_count=1, max_vocab_size=2)
    assert small.words == ["mid", "alpha"] and remap.tolist() == [-1, 1, 0, -1, -1]


def test_min_count_too_high_names_the_setting():
    with pytest.raises(ConfigError, match=r"data.min_count=50: .* most frequent occurs 7 times"):
        Vocab.from_counts(["a", "b"], np.array([7, 3]), min_count=50)


def test_subsampling_keep_probability_is_word2vec_c_formula():
    vocab = Vocab(["a", "b", "c"], np.array([10_000, 1_000, 10]))
    t = 1e-3
    f = np.array([10_000, 1_000, 10]) / 11_010
    want = np.minimum(1.0, (np.sqrt(f / t) + 1) * t / f)
    np.testing.assert_allclose(vocab.keep_probs(t), want, rtol=1e-6)
    # hand value for "a": f = 0.908..., sqrt(f/t) = 30.14..., keep = 31.14 * 1e-3 / 0.908
    assert vocab.keep_probs(t)[0] == pytest.approx((np.sqrt(f[0] / t) + 1) * t / f[0], rel=1e-6)
    assert vocab.keep_probs(t)[2] == 1.0
    assert np.all(vocab.keep_probs(0.0) == 1.0)


def test_noise_distribution_uses_the_exponent():
    vocab = Vocab(["a", "b"], np.array([16, 1]))
    np.testing.assert_allclose(vocab.noise_distribution(0.75), [8 / 9, 1 / 9])
    np.testing.assert_allclose(vocab.noise_distribution(1.0), [16 / 17, 1 / 17])
    np.testing.assert_allclose(vocab.noise_distribution(0.0), [0.5, 0.5])


@numba.njit
def _draw(threshold, alias, n, seed):
    state = stream_seed(seed, 0, 0)
    out = np.zeros(threshold.shape[0])
    for _ in range(n):
        state, k = sample_alias(state, threshold, alias)
        out[k] += 1
    return out / n


def test_alias_sampler_reproduces_the_noise_distribution():
    counts = np.array([1000, 300, 300, 50, 7, 1, 1])
    p = Vocab([str(i) for i in range(7)], counts).noise_distribution(0.75)
    threshold, alias = alias_table(p)
    freq = _draw(threshold, alias, 2_000_000, 7)
    np.testing.assert_allclose(freq, p, atol=0.002)


@numba.njit
def _stream(seed, epoch, chunk, n):
    state = stream_seed(seed, epoch, chunk)
    floats = np.empty(n)
    ints = np.empty(n, np.int64)
    for i in range(n):
        state, floats[i] = next_float(state)
        state, ints[i] = next_below(state, 5)
    return floats, ints


def test_random_streams_are_uniform_and_reproducible():
    floats, ints = _stream(1, 0, 0, 200_000)
    assert 0.0 <= floats.min() and floats.max() < 1.0
    assert abs(floats.mean() - 0.5) < 0.005 and abs(floats.var() - 1 / 12) < 0.002
    assert np.bincount(ints, minlength=5).min() > 39_000
    again, _ = _stream(1, 0, 0, 1000)
    other, _ = _stream(1, 0, 1, 1000)
    np.testing.assert_array_equal(again, floats[:1000])
    assert not np.array_equal(other, again)


def test_save_and_load_round_trip(tmp_path):
    vocab = Vocab(["the", "köln", "a b"], np.array([9, 4, 2]))
    vocab.save(tmp_path / "vocab.tsv")
    again = Vocab.load(tmp_path / "vocab.tsv")
    assert again.words == vocab.words and again.counts.tolist() == [9, 4, 2]


def test_the_next_draws_columns_are_foreseen_without_advancing_the_stream():
    """The trainer prefetches the alias-table entries of the draw after next: the columns
    foreseen from the stream's state are those the next step reads (its window's draw, then one
    draw per negative), and foreseeing them consumes nothing. With every threshold 1 the draw is
    its column, so the negatives themselves show which columns were read."""
    from nbw2v._sampling import COLLIDE_KEEP, draw_targets, gather_window, next_draw_columns

    n_words, negatives, window = 50, 5, 5
    threshold, alias = np.ones(n_words), np.zeros(n_words, np.int32)
    sentence = np.arange(20, dtype=np.int32)
    state = stream_seed(3, 1, 4)
    for step in range(30):
        columns = np.empty(negatives, np.int64)
        next_draw_columns(state, negatives, n_words, columns)
        before = state
        state, _ = gather_window(state, sentence, 20, step % 20, window, np.empty(2 * window, np.int64))
        targets = np.empty(negatives + 1, np.int64)
        state, m = draw_targets(state, -1, negatives, COLLIDE_KEEP, threshold, alias, targets)
        assert m == negatives + 1 and targets[1:].tolist() == columns.tolist()
        assert before != state
