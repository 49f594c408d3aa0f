"""Fused SGD steps (docs/math.md "The training update"): the update applied in place, no dense gradient formed.

They are kept apart from the gradient kernels and tested against them: one step equals
``params - lr * grad`` to float tolerance, repeated words included. For that, every
coefficient is computed from the *old* parameters before any row is written (word2vec.c
instead updates row by row, so a word drawn twice sees its own first update).
"""

from __future__ import annotations

from numba import prange

from nbw2v._jit import CHUNK, njit_parallel, njit_serial
from nbw2v.losses._scalar import axpy, dot, log_sigmoid, logistic_terms_rows, sigmoid
from nbw2v.losses.softmax import softmax_window_loss_grad


@njit_serial
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
def _logistic_pass(n, m, lr, work, coef, labels):
    """From scores ``work[0, :n*m]`` (row-major n x m, column k labelled ``labels[k]``, 1 or 0):
    write the coefficients ``lr * (label - sigmoid(s))`` into coef (n, m) and return the loss
    ``-sum log sigmoid(+-s)`` (float64), using the vectorised logistic block in work's type.
    Branch-free (hierarchical-softmax labels are code bits: a branch on them mispredicts)."""
    logistic_terms_rows(work, n * m)
    one, two, zero = work.dtype.type(1), work.dtype.type(2), work.dtype.type(0)
    loss = 0.0
    for i in range(n):
        for k in range(m):
            j = i * m + k
            label = work.dtype.type(labels[k])
            coef[i, k] = lr * (label - work[1, j])
            # label 1: -log sigma(s) = log1p(exp(-|s|)) + max(-s, 0); label 0: the same with +s
            loss += work[2, j] + max((one - two * label) * work[0, j], zero)
    return loss


@njit_serial
def sgd_step_window(input_vectors, output_vectors, context_words, target_words, labels, lr, coef_buf, delta_buf, work):
    """One SGD step of :func:`~nbw2v.losses.window.labelled_window_loss_grad`, in place: a
    window's context rows against labelled targets (shared negatives: the center word and the
    window's negatives; hierarchical softmax: the center word's path).

    The three small matrix products of docs/math.md "Shared negatives over a window": ``S = X Y^T``,
    ``G = lr (L - sigma(S))``, ``X += G Y``, ``Y += G^T X_old``, every loaded row reused across
    the window. Scratch: coef_buf (>= n, >= m) and delta_buf (>= n, d) in the vectors' dtype,
    work (3, >= n m) float (the logistic pass runs in its type: the vectors' for speed, float64
    for the exactness tests). Returns the loss before the step (float64).

    Written with 2-D indexing (``X[r, j]``), never a row view of the shared matrices: in Numba
    a view takes a reference on its parent, an atomic add on one counter that every Hogwild
    thread shares (measured: 1.3x faster on one thread than the view-based version). Blocks of
    2 x 4 rows: each loaded element serves several multiply-adds (:func:`window_step`).
    """
    n, m = context_words.shape[0], target_words.shape[0]
    return window_step(
        input_vectors, output_vectors, context_words, 0, n, target_words, m, labels, lr, coef_buf, delta_buf, work
    )


@njit_serial
def window_step(X, Y, W, w0, n, T, m, labels, lr, C, D, work):
    """:func:`sgd_step_window` on the contexts ``W[w0:w0+n]`` and the targets ``T[:m]`` (labels
    ``labels[:m]``) without taking those slices: the trainer's form. In a kernel a slice is a
    view, and a view costs two atomic reference-count updates (five per window in the trainer).

    Register blocks of 2 x 4 rows: ``S`` two contexts against four targets (eight running
    sums, six loads per eight multiply-adds), ``D`` two context rows from four target rows,
    ``Y`` two target rows from four context rows. A window's contexts come in pairs (2b of
    them away from a sentence's ends), so the odd tails are rare."""
    d = X.shape[1]
    zero = X.dtype.type(0)
    m4, n4, n2, m2 = m - m % 4, n - n % 4, n - n % 2, m - m % 2
    for i in range(0, n2, 2):  # S = X Y^T
        p, q = W[w0 + i], W[w0 + i + 1]
        for k in range(0, m4, 4):
            t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
            a0, a1, a2, a3, b0, b1, b2, b3 = zero, zero, zero, zero, zero, zero, zero, zero
            for j in range(d):
                x, z = X[p, j], X[q, j]
                y0, y1, y2, y3 = Y[t0, j], Y[t1, j], Y[t2, j], Y[t3, j]
                a0 += x * y0
                a1 += x * y1
                a2 += x * y2
                a3 += x * y3
                b0 += z * y0
                b1 += z * y1
                b2 += z * y2
                b3 += z * y3
            o = i * m + k
            work[0, o], work[0, o + 1], work[0, o + 2], work[0, o + 3] = a0, a1, a2, a3
            o += m
            work[0, o], work[0, o + 1], work[0, o + 2], work[0, o + 3] = b0, b1, b2, b3
        for k in range(m4, m):
            t0 = T[k]
            a0, b0 = zero, zero
            for j in range(d):
                y0 = Y[t0, j]
                a0 += X[p, j] * y0
                b0 += X[q, j] * y0
            work[0, i * m + k], work[0, (i + 1) * m + k] = a0, b0
    for i in range(n2, n):
        p = W[w0 + i]
        for k in range(m):
            t0 = T[k]
            a0 = zero
            for j in range(d):
                a0 += X[p, j] * Y[t0, j]
            work[0, i * m + k] = a0
    loss = _logistic_pass(n, m, lr, work, C, labels)
    for i in range(0, n2, 2):  # X deltas from the old Y
        for j in range(d):
            D[i, j], D[i + 1, j] = zero, zero
        for k in range(0, m4, 4):
            t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
            c0, c1, c2, c3 = C[i, k], C[i, k + 1], C[i, k + 2], C[i, k + 3]
            e0, e1, e2, e3 = C[i + 1, k], C[i + 1, k + 1], C[i + 1, k + 2], C[i + 1, k + 3]
            for j in range(d):
                y0, y1, y2, y3 = Y[t0, j], Y[t1, j], Y[t2, j], Y[t3, j]
                D[i, j] += c0 * y0 + c1 * y1 + c2 * y2 + c3 * y3
                D[i + 1, j] += e0 * y0 + e1 * y1 + e2 * y2 + e3 * y3
        for k in range(m4, m):
            t0, c0, e0 = T[k], C[i, k], C[i + 1, k]
            for j in range(d):
                y0 = Y[t0, j]
                D[i, j] += c0 * y0
                D[i + 1, j] += e0 * y0
    for i in range(n2, n):
        for j in range(d):
            D[i, j] = zero
        for k in range(m):
            t0, c0 = T[k], C[i, k]
            for j in range(d):
                D[i, j] += c0 * Y[t0, j]
    for k in range(0, m2, 2):  # Y updated from the old X (X is written only below)
        t, u = T[k], T[k + 1]
        for i in range(0, n4, 4):
            r0, r1, r2, r3 = W[w0 + i], W[w0 + i + 1], W[w0 + i + 2], W[w0 + i + 3]
            c0, c1, c2, c3 = C[i, k], C[i + 1, k], C[i + 2, k], C[i + 3, k]
            e0, e1, e2, e3 = C[i, k + 1], C[i + 1, k + 1], C[i + 2, k + 1], C[i + 3, k + 1]
            for j in range(d):
                x0, x1, x2, x3 = X[r0, j], X[r1, j], X[r2, j], X[r3, j]
                Y[t, j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
                Y[u, j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3
        for i in range(n4, n):
            r0, c0, e0 = W[w0 + i], C[i, k], C[i, k + 1]
            for j in range(d):
                x0 = X[r0, j]
                Y[t, j] += c0 * x0
                Y[u, j] += e0 * x0
    for k in range(m2, m):
        t = T[k]
        for i in range(n):
            r0, c0 = W[w0 + i], C[i, k]
            for j in range(d):
                Y[t, j] += c0 * X[r0, j]
    for i in range(n):
        r = W[w0 + i]
        for j in range(d):
            X[r, j] += D[i, j]
    return loss


@njit_serial
def sgd_step_cbow(
    input_vectors, output_vectors, context_words, target_words, labels, lr, coef_buf, mean_buf, delta_buf, work
):
    """One word2vec.c CBOW step (cbow_mean=1) against labelled targets, in place.

    ``h`` = mean of the context words' input vectors. Negative sampling: target_words[0] is
    the center word (label 1), the rest negatives, loss ``-log sigma(h.y_0) - sum_k log
    sigma(-h.y_k)``; hierarchical softmax: the center word's path nodes with labels 1 - bit.
    Like word2vec.c, the gradient with respect to h is added to *every* context row unscaled
    (the exact gradient per row would be 1/n of it). Scratch: coef_buf (1, >= m), mean_buf and
    delta_buf (d,), work (3, >= m) as for :func:`sgd_step_window`. Returns the loss
    before the step.
    """
    n, m = context_words.shape[0], target_words.shape[0]
    return cbow_step(
        input_vectors,
        output_vectors,
        context_words,
        n,
        target_words,
        m,
        labels,
        lr,
        coef_buf,
        mean_buf,
        delta_buf,
        work,
    )


@njit_serial
def cbow_step(X, Y, W, n, T, m, labels, lr, coef_buf, h, D, work):
    """:func:`sgd_step_cbow` on the contexts ``W[:n]`` and the targets ``T[:m]`` without taking
    slices (the trainer's form, as :func:`window_step`)."""
    d = X.shape[1]
    zero, inv_n = X.dtype.type(0), X.dtype.type(1.0 / n)
    for j in range(d):  # 2-D indexing, no row views: see sgd_step_window
        h[j], D[j] = zero, zero
    for i in range(n):
        r = W[i]
        for j in range(d):
            h[j] += X[r, j]
    for j in range(d):
        h[j] *= inv_n
    m4 = m - m % 4  # four targets per pass, as in window_step
    for k in range(0, m4, 4):
        t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
        a0, a1, a2, a3 = zero, zero, zero, zero
        for j in range(d):
            x = h[j]
            a0 += x * Y[t0, j]
            a1 += x * Y[t1, j]
            a2 += x * Y[t2, j]
            a3 += x * Y[t3, j]
        work[0, k], work[0, k + 1], work[0, k + 2], work[0, k + 3] = a0, a1, a2, a3
    for k in range(m4, m):
        t0, a0 = T[k], zero
        for j in range(d):
            a0 += h[j] * Y[t0, j]
        work[0, k] = a0
    loss = _logistic_pass(1, m, lr, work, coef_buf, labels)
    for k in range(0, m4, 4):  # D from the old Y (a target drawn twice: both terms from the old row)
        t0, t1, t2, t3 = T[k], T[k + 1], T[k + 2], T[k + 3]
        c0, c1, c2, c3 = coef_buf[0, k], coef_buf[0, k + 1], coef_buf[0, k + 2], coef_buf[0, k + 3]
        for j in range(d):
            D[j] += c0 * Y[t0, j] + c1 * Y[t1, j] + c2 * Y[t2, j] + c3 * Y[t3, j]
    for k in range(m4, m):
        t0, c0 = T[k], coef_buf[0, k]
        for j in range(d):
            D[j] += c0 * Y[t0, j]
    for k in range(m):
        t0, c0 = T[k], coef_buf[0, k]
        for j in range(d):
            Y[t0, j] += c0 * h[j]
    for i in range(n):
        r = W[i]
        for j in range(d):
            X[r, j] += D[j]
    return loss
