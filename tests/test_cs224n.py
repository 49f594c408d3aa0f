"""nbw2v.cs224n: the assignment's names and signatures over nbw2v's kernels, checked with a small
dataset object of the assignment's interface, NumPy formulas, closed forms and a gradient check
of the assignment's mini-batch wrapper (written here from its documented behaviour)."""

import random

import numpy as np
import pytest

from nbw2v import api, cs224n


class TinyDataset:
    """The assignment's dataset interface: ``sampleTokenIdx()`` (and ``getRandomContext`` for
    the wrapper), over five tokens, from its own seeded generator."""

    def __init__(self, seed=0, script=None):
        self.rng = random.Random(seed)
        self.script = list(script) if script is not None else None

    def sampleTokenIdx(self):  # noqa: N802  (the assignment's name)
        if self.script is not None:
            return self.script.pop(0)
        return self.rng.randint(0, 4)

    def getRandomContext(self, C):  # noqa: N802, N803
        tokens = ["a", "b", "c", "d", "e"]
        return tokens[self.rng.randint(0, 4)], [tokens[self.rng.randint(0, 4)] for _ in range(2 * C)]


WORD2IND = {w: i for i, w in enumerate("abcde")}


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_sigmoid_scalar_and_array_without_overflow():
    assert cs224n.sigmoid(0.0) == 0.5 and isinstance(cs224n.sigmoid(0.0), float)
    x = np.array([[-800.0, -3.0], [2.0, 800.0]])
    got = cs224n.sigmoid(x)
    assert got.shape == (2, 2) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, [[0.0, _np_sigmoid(-3.0)], [_np_sigmoid(2.0), 1.0]], rtol=1e-15, atol=0)


def test_naive_softmax_matches_numpy_and_its_closed_form(rng):
    v, U = rng.standard_normal(3), rng.standard_normal((5, 3))
    loss, g_v, g_U = cs224n.naiveSoftmaxLossAndGradient(v, 2, U, TinyDataset())
    p = np.exp(U @ v) / np.exp(U @ v).sum()
    y = np.eye(5)[2]
    assert loss == pytest.approx(-np.log(p[2]), rel=1e-13)
    np.testing.assert_allclose(g_v, U.T @ (p - y), rtol=1e-12)
    np.testing.assert_allclose(g_U, np.outer(p - y, v), rtol=1e-12, atol=1e-15)
    zero_loss, _, _ = cs224n.naiveSoftmaxLossAndGradient(np.zeros(3), 0, np.zeros((5, 3)), None)
    assert zero_loss == pytest.approx(np.log(5), rel=1e-15)  # uniform softmax: log V


def test_negative_samples_are_redrawn_while_equal_to_the_outside_word():
    data = TinyDataset(script=[2, 2, 1, 3, 2, 1])
    assert cs224n.getNegativeSamples(2, data, 3) == [1, 3, 1]  # the 2s are redrawn; 1 repeats
    assert data.script == []


def test_neg_sampling_with_repeated_negatives_matches_numpy(rng):
    v, U = rng.standard_normal(3), rng.standard_normal((5, 3))
    script = [0, 4, 0, 1, 4]  # outside word 1: the 1 is redrawn, 4 and 0 twice
    loss, g_v, g_U = cs224n.negSamplingLossAndGradient(v, 1, U, TinyDataset(script=script), K=4)
    negs = [0, 4, 0, 4]
    want = -np.log(_np_sigmoid(U[1] @ v)) - sum(np.log(_np_sigmoid(-U[k] @ v)) for k in negs)
    want_v = (_np_sigmoid(U[1] @ v) - 1) * U[1] + sum(_np_sigmoid(U[k] @ v) * U[k] for k in negs)
    want_U = np.zeros_like(U)
    want_U[1] += (_np_sigmoid(U[1] @ v) - 1) * v
    for k in negs:
        want_U[k] += _np_sigmoid(U[k] @ v) * v
    assert loss == pytest.approx(want, rel=1e-13)
    np.testing.assert_allclose(g_v, want_v, rtol=1e-12)
    np.testing.assert_allclose(g_U, want_U, rtol=1e-12, atol=1e-15)
    zero = cs224n.negSamplingLossAndGradient(np.zeros(3), 0, np.zeros((5, 3)), TinyDataset(), K=10)[0]
    assert zero == pytest.approx(11 * np.log(2), rel=1e-15)  # (K+1) log 2 at zero vectors


def test_skipgram_by_strings_sums_its_pairs_and_an_empty_window_is_zero(rng):
    C, O = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss, g_C, g_O = cs224n.skipgram("c", 2, ["a", "b", "e", "a"], WORD2IND, C, O, TinyDataset())
    want, want_O = 0.0, np.zeros_like(O)
    want_C = np.zeros_like(C)
    for w in "abea":
        pair = cs224n.naiveSoftmaxLossAndGradient(C[2], WORD2IND[w], O, None)
        want += pair[0]
        want_C[2] += pair[1]
        want_O += pair[2]
    assert loss == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(g_C, want_C, rtol=1e-13)
    np.testing.assert_allclose(g_O, want_O, rtol=1e-13)
    empty = cs224n.skipgram("c", 2, [], WORD2IND, C, O, TinyDataset())
    assert empty[0] == 0.0 and not empty[1].any() and not empty[2].any()
    with pytest.raises(KeyError, match="'zz' is not in word2Ind"):
        cs224n.skipgram("c", 2, ["a", "zz"], WORD2IND, C, O, TinyDataset())


@pytest.mark.parametrize("loss_name", ["naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient"])
def test_the_fused_window_equals_the_pair_by_pair_sum(rng, loss_name):
    """Issue 30.5: with this module's losses skipgram runs the window in one kernel call (was one
    dense (V, d) gradient per outside word: 0.6x a NumPy version); the same values, and the same
    negatives drawn in the same order, as the assignment's loop (a wrapped loss takes it)."""
    C, O = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss_fn = getattr(cs224n, loss_name)
    fused = cs224n.skipgram("c", 2, ["a", "b", "e", "a"], WORD2IND, C, O, TinyDataset(7), loss_fn)
    looped = cs224n.skipgram("c", 2, ["a", "b", "e", "a"], WORD2IND, C, O, TinyDataset(7), lambda *a: loss_fn(*a))
    assert fused[0] == pytest.approx(looped[0], rel=1e-13)
    np.testing.assert_allclose(fused[1], looped[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fused[2], looped[2], rtol=1e-12, atol=1e-15)
    as32 = cs224n.skipgram("c", 2, ["a"], WORD2IND, C.astype(np.float32), O.astype(np.float32), TinyDataset(7), loss_fn)
    assert as32[1].dtype == np.float64  # float32 input: the assignment's loop, as before


def test_large_gradients_are_ordinary_arrays_of_zeros_but_the_rows_written(rng):
    """Issue 30.5: a (V, d) gradient of 1 MiB or more comes from an anonymous mapping (np.zeros
    cleared 16 MB with memset on every call at V = 20,000); it must still be a plain writable,
    C-contiguous array, zero except the pair's rows, equal to the small-array path, and picklable."""
    import pickle

    from nbw2v._alloc import LAZY_BYTES, zeros

    V, d = 20_000, 100
    assert V * d * 8 >= LAZY_BYTES
    center, outside = rng.standard_normal(d), rng.standard_normal((V, d)) * 0.1
    negs = np.array([3, 17, 17, 19_999, 5])
    loss, g_c, g_o = api.neg_sampling_loss_and_grad(center, 11, outside, negs)
    small = api.neg_sampling_loss_and_grad(center, 0, outside[[11, 3, 17, 19_999, 5]], np.array([1, 2, 2, 3, 4]))
    assert loss == pytest.approx(small[0], rel=1e-13)
    np.testing.assert_allclose(g_c, small[1], rtol=1e-13)
    np.testing.assert_allclose(g_o[[11, 3, 17, 19_999, 5]], small[2], rtol=1e-13)
    untouched = np.ones(V, bool)
    untouched[[11, 3, 17, 19_999, 5]] = False
    assert not g_o[untouched].any()
    assert g_o.flags.writeable and g_o.flags.c_contiguous and g_o.dtype == np.float64
    g_o += 1.0  # usable like any array
    assert pickle.loads(pickle.dumps(g_o)).sum() == pytest.approx(g_o.sum())
    for shape in [(3, 4), (V, d)]:
        z = zeros(shape, np.float32)
        assert z.shape == shape and z.dtype == np.float32 and z.flags.writeable and not z.any()


def _sgd_wrapper(model, loss_fn, vectors, dataset, window=3, batch=50, seed=0):
    """The assignment's word2vec_sgd_wrapper, from its description: batch windows of random
    size 1..window, loss and gradient averaged over the batch; rows [:V] center, [V:] outside."""
    pick = random.Random(seed)
    n = vectors.shape[0] // 2
    loss, grad = 0.0, np.zeros_like(vectors)
    for _ in range(batch):
        size = pick.randint(1, window)
        center, context = dataset.getRandomContext(size)
        c, g_in, g_out = model(center, size, context, WORD2IND, vectors[:n], vectors[n:], dataset, loss_fn)
        loss += c / batch
        grad[:n] += g_in / batch
        grad[n:] += g_out / batch
    return loss, grad


@pytest.mark.parametrize("loss_name", ["naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient"])
def test_the_assignments_gradient_check_passes(loss_name):
    """Central differences of the mini-batch wrapper, the dataset re-seeded for every call (the
    assignment's gradcheck_naive resets the random state the same way): relative error < 1e-5."""
    loss_fn = getattr(cs224n, loss_name)
    x = np.random.default_rng(31415).standard_normal((10, 3))

    def f(vectors):
        return _sgd_wrapper(cs224n.skipgram, loss_fn, vectors, TinyDataset(seed=9265), batch=10)

    _, grad = f(x)
    h = 1e-4
    for ix in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[ix] += h
        down[ix] -= h
        numeric = (f(up)[0] - f(down)[0]) / (2 * h)
        assert abs(numeric - grad[ix]) / max(1.0, abs(numeric), abs(grad[ix])) < 1e-5, ix
