"""Fused SGD steps (docs/math.md "The training update"): the update applied in place, no dense gradient formed.

They are kept apart from the gradient kernels and tested against them: one step equals
``params - lr * grad`` to float tolerance, repeated words included. For that, every
coefficient is computed from the *old* parameters before any row is written (word2vec.c
instead updates row by row, so a word drawn twice sees its own first update).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nbw2v import _simd
from nbw2v._jit import CHUNK, njit_leaf, njit_parallel, njit_serial
from nbw2v._simd import lanes, vadd, vfma, vload, vsplat, vstore, vsum, vzero
from nbw2v.losses._scalar import axpy, dot, log_sigmoid, logistic_coefficients, sigmoid
from nbw2v.losses.softmax import softmax_window_loss_grad

#: an index Numba need not wrap: a signed index it cannot prove >= 0 (``i * m + k``, ``w0 + i``)
#: gets a negative-index fix-up on every access, four instructions; per window step ~1,800
#: (replayed windows: -2 to -4% per window)
_nowrap = np.uint64


@njit_leaf
def sgd_step_neg(
    center_vectors,
    outside_vectors,
    center_idx,
    outside_idx,
    neg_indices,
    lr,
    grad_center_buf,
    coef_buf,
):
    """One negative-sampling SGD step for a (center, outside) pair with K negatives, in place.

    center_vectors, outside_vectors (V, d); neg_indices (K,); grad_center_buf (d,) and
    coef_buf (K+1,) float64 are scratch. Returns the pair's loss before the step (float64).
    """
    v_c = center_vectors[center_idx]
    n_neg = neg_indices.shape[0]
    loss = 0.0
    for j in range(grad_center_buf.shape[0]):
        grad_center_buf[j] = 0.0
    for k in range(n_neg + 1):
        w = outside_idx if k == 0 else neg_indices[k - 1]
        score = dot(outside_vectors[w], v_c)
        if k == 0:
            coef_buf[k] = sigmoid(score) - 1.0
            loss -= log_sigmoid(score)
        else:
            coef_buf[k] = sigmoid(score)
            loss -= log_sigmoid(-score)
        axpy(coef_buf[k], outside_vectors[w], grad_center_buf)
    for k in range(n_neg + 1):
        w = outside_idx if k == 0 else neg_indices[k - 1]
        axpy(-lr * coef_buf[k], v_c, outside_vectors[w])
    axpy(-lr, grad_center_buf, v_c)
    return loss


@njit_parallel
def sgd_step_softmax(
    center_vectors,
    outside_vectors,
    center_idx,
    outside_indices,
    lr,
    grad_center_buf,
    grad_outside_buf,
):
    """One naive-softmax SGD step for a center word and its outside words (a window), in place.

    grad_center_buf (d,) and grad_outside_buf (V, d), same dtype as the vectors, are scratch
    (they hold the gradient afterwards). Returns the loss before the step (float64).
    """
    v_c = center_vectors[center_idx]
    loss = softmax_window_loss_grad(v_c, outside_indices, outside_vectors, grad_center_buf, grad_outside_buf)
    n_words = outside_vectors.shape[0]
    for c in prange((n_words + CHUNK - 1) // CHUNK):
        for w in range(c * CHUNK, min(n_words, (c + 1) * CHUNK)):
            axpy(-lr, grad_outside_buf[w], outside_vectors[w])
    axpy(-lr, grad_center_buf, v_c)
    return loss


@njit_serial
def sgd_step_window(input_vectors, output_vectors, context_words, target_words, labels, lr, work):
    """One SGD step of :func:`~nbw2v.losses.window.labelled_window_loss_grad`, in place: a
    window's context rows against labelled targets (shared negatives: the center word and the
    window's negatives; hierarchical softmax: the center word's path).

    The three small matrix products of docs/math.md "Shared negatives over a window": ``S = X Y^T``,
    ``G = lr (L - sigma(S))``, ``X += G Y``, ``Y += G^T X_old``, every loaded row reused across
    the window. ``labels`` (m,) label the targets; work (2, >= n m) float is the logistic
    pass's block (it runs in work's type: the vectors' for speed, float64 for the exactness
    tests). Returns the loss before the step (float64). The trainer calls :func:`window_step`
    with its own scratch; this form allocates it.
    """
    n, m = context_words.shape[0], target_words.shape[0]
    flat_labels = np.empty(n * m)
    for i in range(n):
        for k in range(m):
            flat_labels[i * m + k] = labels[k]
    deltas = np.empty((n, input_vectors.shape[1]), input_vectors.dtype)
    return window_step(
        input_vectors, output_vectors, context_words, 0, n, target_words, m, flat_labels, lr, deltas, work
    )


@njit_leaf
def window_step(X, Y, W, w0, n, T, m, labels, lr, D, work):
    """:func:`sgd_step_window` on the contexts ``W[w0:w0+n]`` and the targets ``T[:m]``, score
    (i, k) labelled ``labels[i * m + k]`` (the targets' labels repeated for each context: the
    logistic pass runs flat over the block). No slice of W or T is taken (in a kernel a slice
    is a view, and a view costs two atomic reference-count updates).

    Rows are worked in :mod:`nbw2v._simd` vectors (one masked vector for a row's last partial
    chunk, no scalar remainder loops). ``S = X Y^T``: two contexts against four targets, eight
    running sums per chunk (six loads per eight multiply-adds; without AVX-512 against two
    targets, :data:`nbw2v._simd.AVX512`). The updates run chunk by chunk
    (the columns of a chunk depend on no other column): the chunk of ``D = G Y`` from the old Y
    rows (four context rows at a time, each Y chunk loaded once for them), then ``Y += G^T X``
    from the old X rows (four targets at a time), then ``X += D``; repeated rows add up, as in
    the gradient. With the flat logistic pass: 912 -> 780 ns per window at d = 100, measured on
    400k windows recorded from the trainer on refcorpus and replayed.
    """
    d = X.shape[1]
    size = lanes(X)
    n2 = n - n % 2
    m4 = m - m % 4 if _simd.AVX512 else 0  # AVX2: 2 x 4 running sums are 16 registers, all it has
    for i in range(0, n2, 2):  # S = X Y^T
        p, q = W[_nowrap(w0 + i)], W[_nowrap(w0 + i + 1)]
        for k in range(0, m4, 4):
            t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = vzero(X)
            for j in range(0, d, size):
                c = min(size, d - j)
                x, z = vload(X, p, j, c), vload(X, q, j, c)
                y0, y1, y2, y3 = vload(Y, t0, j, c), vload(Y, t1, j, c), vload(Y, t2, j, c), vload(Y, t3, j, c)
                a0, a1, a2, a3 = vfma(x, y0, a0), vfma(x, y1, a1), vfma(x, y2, a2), vfma(x, y3, a3)
                b0, b1, b2, b3 = vfma(z, y0, b0), vfma(z, y1, b1), vfma(z, y2, b2), vfma(z, y3, b3)
            o = i * m + k
            work[0, o], work[0, o + 1], work[0, o + 2], work[0, o + 3] = vsum(a0), vsum(a1), vsum(a2), vsum(a3)
            o += m
            work[0, o], work[0, o + 1], work[0, o + 2], work[0, o + 3] = vsum(b0), vsum(b1), vsum(b2), vsum(b3)
        k = m4
        while k + 2 <= m:  # two targets (left) at a time (K = 5: m = 6): four sums
            t0, t1 = T[k], T[k + 1]
            a0 = a1 = b0 = b1 = vzero(X)
            for j in range(0, d, size):
                c = min(size, d - j)
                x, z = vload(X, p, j, c), vload(X, q, j, c)
                y0, y1 = vload(Y, t0, j, c), vload(Y, t1, j, c)
                a0, a1, b0, b1 = vfma(x, y0, a0), vfma(x, y1, a1), vfma(z, y0, b0), vfma(z, y1, b1)
            o = i * m + k
            work[0, o], work[0, o + 1], work[0, o + m], work[0, o + m + 1] = vsum(a0), vsum(a1), vsum(b0), vsum(b1)
            k += 2
        if k < m:
            t0 = T[k]
            a0 = b0 = vzero(X)
            for j in range(0, d, size):
                c = min(size, d - j)
                y0 = vload(Y, t0, j, c)
                a0, b0 = vfma(vload(X, p, j, c), y0, a0), vfma(vload(X, q, j, c), y0, b0)
            work[0, i * m + k], work[0, (i + 1) * m + k] = vsum(a0), vsum(b0)
    if n2 < n:  # an odd context row: four targets at a time (one running sum is latency-bound)
        p, o = W[_nowrap(w0 + n2)], n2 * m
        for k in range(0, m4, 4):
            t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
            a0 = a1 = a2 = a3 = vzero(X)
            for j in range(0, d, size):
                c = min(size, d - j)
                x = vload(X, p, j, c)
                a0, a1 = vfma(x, vload(Y, t0, j, c), a0), vfma(x, vload(Y, t1, j, c), a1)
                a2, a3 = vfma(x, vload(Y, t2, j, c), a2), vfma(x, vload(Y, t3, j, c), a3)
            work[0, o + k], work[0, o + k + 1], work[0, o + k + 2], work[0, o + k + 3] = (
                vsum(a0), vsum(a1), vsum(a2), vsum(a3),
            )  # fmt: skip
        for k in range(m4, m):
            t0 = T[k]
            a0 = vzero(X)
            for j in range(0, d, size):
                c = min(size, d - j)
                a0 = vfma(vload(X, p, j, c), vload(Y, t0, j, c), a0)
            work[0, o + k] = vsum(a0)
    loss = logistic_coefficients(work, n * m, lr, labels)  # G into work[1]
    G = work
    for j in range(0, d, size):  # the updates, one chunk of columns at a time
        c = min(size, d - j)
        i = 0
        while i + 4 <= n:  # D = G Y (old Y)
            d0 = d1 = d2 = d3 = vzero(X)
            for k in range(m):
                y = vload(Y, T[k], j, c)
                d0 = vfma(vsplat(X, G[1, _nowrap(i * m + k)]), y, d0)
                d1 = vfma(vsplat(X, G[1, _nowrap((i + 1) * m + k)]), y, d1)
                d2 = vfma(vsplat(X, G[1, _nowrap((i + 2) * m + k)]), y, d2)
                d3 = vfma(vsplat(X, G[1, _nowrap((i + 3) * m + k)]), y, d3)
            vstore(D, i, j, d0, c)
            vstore(D, i + 1, j, d1, c)
            vstore(D, i + 2, j, d2, c)
            vstore(D, i + 3, j, d3, c)
            i += 4
        if i + 2 <= n:
            d0 = d1 = vzero(X)
            for k in range(m):
                y = vload(Y, T[k], j, c)
                d0 = vfma(vsplat(X, G[1, _nowrap(i * m + k)]), y, d0)
                d1 = vfma(vsplat(X, G[1, _nowrap((i + 1) * m + k)]), y, d1)
            vstore(D, i, j, d0, c)
            vstore(D, i + 1, j, d1, c)
            i += 2
        if i < n:
            d0 = vzero(X)
            for k in range(m):
                d0 = vfma(vsplat(X, G[1, _nowrap(i * m + k)]), vload(Y, T[k], j, c), d0)
            vstore(D, i, j, d0, c)
        k = 0
        while k + 4 <= m:  # Y += G^T X (old X)
            u0 = u1 = u2 = u3 = vzero(X)
            for i in range(n):
                x, o = vload(X, W[_nowrap(w0 + i)], j, c), i * m + k
                u0 = vfma(vsplat(X, G[1, _nowrap(o)]), x, u0)
                u1 = vfma(vsplat(X, G[1, _nowrap(o + 1)]), x, u1)
                u2 = vfma(vsplat(X, G[1, _nowrap(o + 2)]), x, u2)
                u3 = vfma(vsplat(X, G[1, _nowrap(o + 3)]), x, u3)
            t = T[k]  # one target after the other: a target drawn twice adds up
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u0), c)
            t = T[k + 1]
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u1), c)
            t = T[k + 2]
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u2), c)
            t = T[k + 3]
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u3), c)
            k += 4
        if k + 2 <= m:
            u0 = u1 = vzero(X)
            for i in range(n):
                x, o = vload(X, W[_nowrap(w0 + i)], j, c), i * m + k
                u0 = vfma(vsplat(X, G[1, _nowrap(o)]), x, u0)
                u1 = vfma(vsplat(X, G[1, _nowrap(o + 1)]), x, u1)
            t = T[k]
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u0), c)
            t = T[k + 1]
            vstore(Y, t, j, vadd(vload(Y, t, j, c), u1), c)
            k += 2
        if k < m:
            u0 = vzero(X)
            for i in range(n):
                u0 = vfma(vsplat(X, G[1, _nowrap(i * m + k)]), vload(X, W[_nowrap(w0 + i)], j, c), u0)
            vstore(Y, T[k], j, vadd(vload(Y, T[k], j, c), u0), c)
        for i in range(n):  # X += D
            r = W[_nowrap(w0 + i)]
            vstore(X, r, j, vadd(vload(X, r, j, c), vload(D, i, j, c)), c)
    return loss


@njit_serial
def sgd_step_cbow(input_vectors, output_vectors, context_words, target_words, labels, lr, work):
    """One word2vec.c CBOW step (cbow_mean=1) against labelled targets, in place.

    ``h`` = mean of the context words' input vectors. Negative sampling: target_words[0] is
    the center word (label 1), the rest negatives, loss ``-log sigma(h.y_0) - sum_k log
    sigma(-h.y_k)``; hierarchical softmax: the center word's path nodes with labels 1 - bit.
    Like word2vec.c, the gradient with respect to h is added to *every* context row unscaled
    (the exact gradient per row would be 1/n of it). work (2, >= m) as for
    :func:`sgd_step_window`. Returns the loss before the step. The trainer calls
    :func:`cbow_step` with its own scratch; this form allocates it.
    """
    mean = np.empty((1, input_vectors.shape[1]), input_vectors.dtype)
    n, m = context_words.shape[0], target_words.shape[0]
    return cbow_step(input_vectors, output_vectors, context_words, n, target_words, m, labels, lr, mean, work)


@njit_leaf
def cbow_step(X, Y, W, n, T, m, labels, lr, H, work):
    """:func:`sgd_step_cbow` on the contexts ``W[:n]`` and the targets ``T[:m]`` (labels
    ``labels[:m]``) without taking slices, in :mod:`nbw2v._simd` vectors as
    :func:`window_step`; H (1, >= d) is scratch for the mean. The update runs chunk by chunk:
    ``D = G Y`` from the old Y rows (held in one vector), ``Y += G h``, each context row ``+= D``."""
    d = X.shape[1]
    size = lanes(X)
    inv_n = vsplat(X, 1.0 / n)
    for j in range(0, d, size):  # h, the mean of the context rows
        c = min(size, d - j)
        h = vzero(X)
        for i in range(n):
            h = vadd(h, vload(X, W[i], j, c))
        vstore(H, 0, j, vfma(h, inv_n, vzero(X)), c)
    m4 = m - m % 4
    for k in range(0, m4, 4):  # the scores, four targets per pass
        t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
        a0 = a1 = a2 = a3 = vzero(X)
        for j in range(0, d, size):
            c = min(size, d - j)
            h = vload(H, 0, j, c)
            a0, a1 = vfma(h, vload(Y, t0, j, c), a0), vfma(h, vload(Y, t1, j, c), a1)
            a2, a3 = vfma(h, vload(Y, t2, j, c), a2), vfma(h, vload(Y, t3, j, c), a3)
        work[0, k], work[0, k + 1], work[0, k + 2], work[0, k + 3] = vsum(a0), vsum(a1), vsum(a2), vsum(a3)
    for k in range(m4, m):
        t0 = T[k]
        a0 = vzero(X)
        for j in range(0, d, size):
            c = min(size, d - j)
            a0 = vfma(vload(H, 0, j, c), vload(Y, t0, j, c), a0)
        work[0, k] = vsum(a0)
    loss = logistic_coefficients(work, m, lr, labels)  # G into work[1]
    for j in range(0, d, size):
        c = min(size, d - j)
        delta = vzero(X)
        for k in range(m):  # from the old Y rows (a target drawn twice: both terms from the old row)
            delta = vfma(vsplat(X, work[1, k]), vload(Y, T[k], j, c), delta)
        h = vload(H, 0, j, c)
        for k in range(m):
            vstore(Y, T[k], j, vfma(vsplat(X, work[1, k]), h, vload(Y, T[k], j, c)), c)
        for i in range(n):
            vstore(X, W[i], j, vadd(vload(X, W[i], j, c), delta), c)
    return loss
