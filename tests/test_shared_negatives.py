"""Section 7 (shared negatives) and CBOW kernels: against the reference and as SGD steps."""

import numpy as np
import pytest
from conftest import assert_close

from nbw2v import losses, reference
from nbw2v.losses.sgd import window_step


def _problem(rng, dtype=np.float64):
    X = rng.standard_normal((12, 6)).astype(dtype)
    Y = rng.standard_normal((12, 6)).astype(dtype)
    contexts = np.array([3, 7, 3, 0], np.int64)  # word 3 twice in the window
    targets = np.array([5, 1, 9, 1, 3], np.int64)  # center 5; negative 1 twice; 3 also a context
    return X, Y, contexts, targets


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6, 9])
@pytest.mark.parametrize("d", [7, 37])
def test_window_step_every_block_shape(rng, n, m, d):
    """The trainer's form of the step works in blocks (2 contexts x 4 targets for the scores,
    4 rows at a time in the updates) of SIMD vectors (8 float64 lanes: d = 7 is one partial
    vector, d = 37 four full ones and a partial one): every tail shape, with repeated rows,
    equals params - lr * grad; the contexts are read from ``W[w0:w0+n]`` and the targets
    ``T[:m]`` of longer arrays, the labels one per score."""
    X = rng.standard_normal((10, d))
    Y = rng.standard_normal((10, d))
    W = rng.integers(0, 4, n + 3)  # few distinct words: repeats are likely
    T = rng.integers(0, 4, m + 2)
    labels = np.r_[1.0, np.zeros(m + 1)]
    w0, lr = 2, 0.07
    g_in, g_out = np.empty((n, d)), np.empty((m, d))
    want = losses.shared_neg_window_loss_grad(W[w0 : w0 + n], T[:m], X, Y, g_in, g_out)
    want_X, want_Y = X.copy(), Y.copy()
    np.add.at(want_X, W[w0 : w0 + n], -lr * g_in)
    np.add.at(want_Y, T[:m], -lr * g_out)
    work = np.full((2, 2 * n * m), np.nan)  # only the first n m columns may be read
    flat_labels = np.r_[np.tile(labels[:m], n), np.full(5, np.nan)]
    X_before, Y_before = X.copy(), Y.copy()
    loss = window_step(X, Y, W, w0, n, T, m, flat_labels, lr, np.full((n, d), np.nan), work)
    assert loss == pytest.approx(want, rel=1e-12)
    assert_close(X, want_X, 1e-12)
    assert_close(Y, want_Y, 1e-12)
    # rows that are neither a context nor a target are untouched, to the bit
    others_X = np.setdiff1d(np.arange(10), W[w0 : w0 + n])
    others_Y = np.setdiff1d(np.arange(10), T[:m])
    assert np.array_equal(X[others_X], X_before[others_X]) and np.array_equal(Y[others_Y], Y_before[others_Y])


def test_window_step_in_float32_matches_float64(rng):
    """float32 vectors (16 lanes; d = 100 is six full vectors and a masked one of 4): the same
    step as in float64 to float32 precision, and the columns past d of the scratch untouched."""
    d, n, m = 100, 6, 6
    X = (rng.standard_normal((30, d)) * 0.3).astype(np.float32)
    Y = (rng.standard_normal((30, d)) * 0.3).astype(np.float32)
    W = np.array([3, 7, 3, 11, 0, 29], np.int64)
    T = np.array([5, 12, 9, 12, 3, 20], np.int64)
    flat_labels = np.tile(np.r_[1.0, np.zeros(m - 1)], n)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    want = window_step(X64, Y64, W, 0, n, T, m, flat_labels, 0.05, np.empty((n, d)), np.empty((2, n * m)))
    deltas = np.full((n, d + 3), 7.0, np.float32)
    got = window_step(X, Y, W, 0, n, T, m, flat_labels, 0.05, deltas, np.empty((2, n * m), np.float32))
    assert got == pytest.approx(want, rel=1e-5)
    assert_close(X, X64, 1e-5)
    assert_close(Y, Y64, 1e-5)
    assert np.all(deltas[:, d:] == 7.0)


def test_shared_window_loss_grad_matches_reference(rng):
    X, Y, contexts, targets = _problem(rng)
    g_in = np.empty((4, 6))
    g_out = np.empty((5, 6))
    loss = losses.shared_neg_window_loss_grad(contexts, targets, X, Y, g_in, g_out)
    want_loss, want_in, want_out = reference.shared_negative_window(X[contexts], Y[targets])
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert_close(g_in, want_in, 1e-12)
    assert_close(g_out, want_out, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shared_window_step_equals_params_minus_lr_grad(rng, dtype):
    X, Y, contexts, targets = _problem(rng, dtype)
    g_in, g_out = np.empty((4, 6)), np.empty((5, 6))
    loss = losses.shared_neg_window_loss_grad(
        contexts, targets, X.astype(np.float64), Y.astype(np.float64), g_in, g_out
    )
    want_X, want_Y = X.astype(np.float64), Y.astype(np.float64)
    lr = 0.07
    np.add.at(want_X, contexts, -lr * g_in)  # repeated rows add up
    np.add.at(want_Y, targets, -lr * g_out)
    X1, Y1 = X.copy(), Y.copy()
    step_loss = losses.sgd_step_window(
        X1,
        Y1,
        contexts,
        targets,
        np.array([1.0, 0, 0, 0, 0]),
        lr,
        np.empty((2, 20)),
    )
    tol = 1e-12 if dtype == np.float64 else 3e-6
    assert step_loss == pytest.approx(loss, rel=1e-12 if dtype == np.float64 else 1e-5)
    assert_close(X1, want_X, tol)
    assert_close(Y1, want_Y, tol)


def test_cbow_step_follows_word2vec_c(rng):
    X, Y, contexts, targets = _problem(rng)
    h = X[contexts].mean(axis=0)
    scores = Y[targets] @ h
    labels = np.array([1.0, 0, 0, 0, 0])
    sig = reference.sigmoid(scores)
    coef = 0.05 * (labels - sig)
    want_loss = -reference.log_sigmoid(scores[0]) - reference.log_sigmoid(-scores[1:]).sum()
    want_X, want_Y = X.copy(), Y.copy()
    delta = coef @ Y[targets]
    np.add.at(want_Y, targets, coef[:, None] * h[None, :])
    np.add.at(want_X, contexts, np.tile(delta, (len(contexts), 1)))  # unscaled, as word2vec.c
    X1, Y1 = X.copy(), Y.copy()
    loss = losses.sgd_step_cbow(
        X1,
        Y1,
        contexts,
        targets,
        labels,
        0.05,
        np.empty((2, 5)),
    )
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert_close(X1, want_X, 1e-12)
    assert_close(Y1, want_Y, 1e-12)
