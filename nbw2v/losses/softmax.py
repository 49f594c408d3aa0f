"""Naive-softmax skip-gram loss and gradients (docs/math.md sections 1 and 3) as Numba kernels.

Pairing: the textbook one. The *center* word's input vector ``v_c`` (a row of the center
matrix) is scored against every *outside* vector (rows of ``outside_vectors``, shape (V, d)).

Kernels write into caller-provided buffers and return the loss as a float64. Every reduction
runs over fixed chunks of ``CHUNK`` rows whose partial results are added in chunk order, so the
result is bit-identical for any Numba thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nbw2v._fastexp import exp_nonpos_inplace
from nbw2v._jit import CHUNK, njit_parallel, njit_serial, serial_twin
from nbw2v.losses._scalar import dot, row_max


@njit_parallel
def softmax_window_loss_grad(center_vec, outside_indices, outside_vectors, grad_center_out, grad_outside_out):
    """Sum over ``outside_indices`` of ``J_softmax(v_c, o, U)``, with its gradients.

    center_vec (d,), outside_indices (n,) int, outside_vectors (V, d): float32 or float64.
    Writes grad_center_out (d,) and grad_outside_out (V, d) (every row: the softmax touches all
    of U). Returns the loss (float64). The scores ``U v_c`` are shared by the n outside words,
    so a window costs one O(V d) pass, not n: with ``p = softmax(U v_c)`` and ``count_w`` the
    times ``w`` occurs among the outside words, the gradient coefficient of row w is
    ``n p_w - count_w`` (docs/math.md "Skip-gram over a window" summed in closed form). n = 1 is the single pair.
    """
    n_words, d = outside_vectors.shape
    n_out = outside_indices.shape[0]
    n_chunks = (n_words + CHUNK - 1) // CHUNK

    scores = np.empty(n_words, np.float64)
    for c in prange(n_chunks):
        for w in range(c * CHUNK, min(n_words, (c + 1) * CHUNK)):
            scores[w] = dot(outside_vectors[w], center_vec)
    top = row_max(scores)

    probs = scores - top  # <= 0, the max-shifted scores; exponentiated in place below
    chunk_sums = np.empty(n_chunks, np.float64)
    for c in prange(n_chunks):
        lo, hi = c * CHUNK, min(n_words, (c + 1) * CHUNK)
        exp_nonpos_inplace(probs[lo:hi])
        acc = 0.0
        for w in range(lo, hi):
            acc += probs[w]
        chunk_sums[c] = acc
    total = 0.0
    for c in range(n_chunks):
        total += chunk_sums[c]

    counts = np.zeros(n_words, np.float64)
    loss = n_out * (top + math.log(total))
    for j in range(n_out):
        counts[outside_indices[j]] += 1.0
        loss -= scores[outside_indices[j]]

    scale = n_out / total
    chunk_grads = np.zeros((n_chunks, d), np.float64)
    for c in prange(n_chunks):
        for w in range(c * CHUNK, min(n_words, (c + 1) * CHUNK)):
            coef = scale * probs[w] - counts[w]
            for j in range(d):
                grad_outside_out[w, j] = coef * center_vec[j]
                chunk_grads[c, j] += coef * outside_vectors[w, j]
    for j in range(d):
        acc = 0.0
        for c in range(n_chunks):
            acc += chunk_grads[c, j]
        grad_center_out[j] = acc
    return loss


#: the same kernel without the thread pool, for small V*d (see :func:`softmax_window_kernel`)
softmax_window_loss_grad_serial = serial_twin(softmax_window_loss_grad)

#: below this V*d one call is faster serial (the thread pool costs ~270 us a call, a serial pass
#: ~0.5 ns per element): measured on 2 cores, serial/parallel = 0.7/271 us at V=5 d=3,
#: 250/374 us at V*d=5e5, 501/492 us at 1e6, 1797/1134 us at 2e6 (nbw2v 0.1, 2026-11)
SERIAL_BELOW_VD = 1_000_000


def softmax_window_kernel(n_words: int, dim: int):
    """The softmax window kernel to call from Python for a (V, d) problem: serial when small."""
    return softmax_window_loss_grad_serial if n_words * dim < SERIAL_BELOW_VD else softmax_window_loss_grad


@njit_serial
def _softmax_row_inplace(row, outside_idx):
    """Turn one row of scores into ``yhat - y`` in place; return ``-log yhat_o`` (float64)."""
    top = row_max(row)
    s_o = row[outside_idx]
    for j in range(row.shape[0]):
        row[j] -= top
    exp_nonpos_inplace(row)
    total = 0.0
    for j in range(row.shape[0]):
        total += row[j]
    inv = row.dtype.type(1.0 / total)
    for j in range(row.shape[0]):
        row[j] *= inv
    row[outside_idx] -= 1
    return math.log(total) + (np.float64(top) - np.float64(s_o))


@njit_parallel
def softmax_rows_inplace(scores, outside_idx, losses_out):
    """Row-parallel middle pass of the batched softmax.

    scores (B, V) float32/float64, C-contiguous: each row ``U v_c`` becomes ``yhat - y`` in
    place (max-shift, vectorised exp, float64 sum, normalise). losses_out (B,) float64 gets
    ``-log yhat_o`` per pair. Each row is swept four times while it sits in L1/L2 cache.
    """
    for b in prange(scores.shape[0]):
        losses_out[b] = _softmax_row_inplace(scores[b], outside_idx[b])


softmax_rows_inplace_serial = serial_twin(softmax_rows_inplace)
#: below this many scores (B V) the batched softmax's exp pass runs serially (no thread-pool
#: wake-up). Measured on 2 cores, serial/parallel: 0.4/35 us at B V = 5, 12/45 at 1e4, 56/97
#: at 5e4, 227/152 at 2e5, 915/519 at 8e5 (2026-11-30)
SERIAL_ROWS_BELOW = 100_000


def softmax_batch_loss_grad(
    center_vecs,
    outside_idx,
    outside_vectors,
    losses_out,
    grad_centers_out,
    grad_outside_out,
    scores_work=None,
):
    """Naive softmax over B independent (center, outside) pairs.

    center_vecs (B, d), outside_idx (B,) int, outside_vectors (V, d); float32 or float64,
    C-contiguous. Writes losses_out (B,) float64, grad_centers_out (B, d) (row b is
    dJ_b/dv_{c_b}) and grad_outside_out (V, d) = sum_b dJ_b/dU. ``scores_work`` is an optional
    (B, V) buffer to reuse between calls. Returns the summed loss (float64).

    The three products ``S = X U^T``, ``G X``-style gradients are BLAS matrix products
    (NumPy's OpenBLAS: 1.3-1.5x faster on these shapes than the SciPy BLAS Numba links into
    ``@njit`` code, measured in ``experiments/bench_kernels.py``); the exp/normalise pass
    between them is the ``prange`` kernel :func:`softmax_rows_inplace`.
    """
    n_pairs = center_vecs.shape[0]
    n_words = outside_vectors.shape[0]
    if scores_work is None:
        scores_work = np.empty((n_pairs, n_words), center_vecs.dtype)
    np.matmul(center_vecs, outside_vectors.T, out=scores_work)
    if n_pairs * n_words < SERIAL_ROWS_BELOW:
        softmax_rows_inplace_serial(scores_work, outside_idx, losses_out)  # no thread-pool wake-up
    else:
        softmax_rows_inplace(scores_work, outside_idx, losses_out)
    np.matmul(scores_work, outside_vectors, out=grad_centers_out)
    np.matmul(scores_work.T, center_vecs, out=grad_outside_out)
    return float(losses_out.sum())
