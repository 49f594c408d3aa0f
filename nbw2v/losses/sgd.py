"""Fused SGD steps (docs/math.md "The training update"): the update applied in place, no dense gradient formed.

They are kept apart from the gradient kernels and tested against them: one step equals
``params - lr * grad`` to float tolerance, repeated words included. For that, every
coefficient is computed from the *old* parameters before any row is written (word2vec.c
instead updates row by row, so a word drawn twice sees its own first update).
"""

from __future__ import annotations

from numba import prange

from .._jit import CHUNK, njit_parallel, njit_serial
from ._scalar import axpy, axpy4, dot, dot4_native, dot_native, log_sigmoid, logistic_terms_block, sigmoid
from .softmax import softmax_window_loss_grad


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
def _logistic_pass(n, m, lr, work, bits, coef, labels):
    """From scores ``work[0, :n*m]`` (row-major n x m, column k labelled ``labels[k]``): write
    the coefficients ``lr * (label - sigmoid(s))`` into coef (n, m) and return the loss
    ``-sum log sigmoid(+-s)`` (float64), using the vectorised logistic block."""
    nm = n * m
    scores, sig, l1p = work[0, :nm], work[1, :nm], work[2, :nm]
    logistic_terms_block(scores, sig, l1p, bits[:nm])
    loss = 0.0
    for i in range(n):
        for k in range(m):
            j = i * m + k
            label = labels[k]
            coef[i, k] = lr * (label - sig[j])
            if label > 0.5:  # -log sigma(s) = log1p(exp(-|s|)) + max(-s, 0)
                loss += l1p[j] + max(-scores[j], 0.0)
            else:  # -log sigma(-s) = log1p(exp(-|s|)) + max(s, 0)
                loss += l1p[j] + max(scores[j], 0.0)
    return loss


@njit_serial
def sgd_step_window(
    input_vectors, output_vectors, context_words, target_words, labels, lr, coef_buf, delta_buf, work, bits
):
    """One SGD step of :func:`~nbw2v.losses.window.labelled_window_loss_grad`, in place: a
    window's context rows against labelled targets (shared negatives: the center word and the
    window's negatives; hierarchical softmax: the center word's path).

    The three small matrix products of docs/math.md "Shared negatives over a window": ``S = X Y^T``,
    ``G = lr (L - sigma(S))``, ``X += G Y``, ``Y += G^T X_old``, every loaded row reused across
    the window. Scratch: coef_buf (>= n, >= m) and delta_buf (>= n, d) in the vectors' dtype,
    work float64 (3, >= n m), bits int64 (>= n m). Returns the loss before the step (float64).
    """
    n, m = context_words.shape[0], target_words.shape[0]
    X, Y, C = input_vectors, output_vectors, coef_buf
    # four rows at a time: each loaded element serves four multiply-adds (docs/performance.md)
    for i in range(n):
        x = X[context_words[i]]
        blocked = m - m % 4
        for k in range(0, blocked, 4):
            t = target_words[k : k + 4]
            s = dot4_native(x, Y[t[0]], Y[t[1]], Y[t[2]], Y[t[3]])
            for q in range(4):
                work[0, i * m + k + q] = s[q]
        for k in range(blocked, m):
            work[0, i * m + k] = dot_native(x, Y[target_words[k]])
    loss = _logistic_pass(n, m, lr, work, bits, C, labels)
    for i in range(n):  # X deltas from the old Y
        delta = delta_buf[i]
        delta[:] = 0.0
        blocked = m - m % 4
        for k in range(0, blocked, 4):
            t = target_words[k : k + 4]
            axpy4(C[i, k], Y[t[0]], C[i, k + 1], Y[t[1]], C[i, k + 2], Y[t[2]], C[i, k + 3], Y[t[3]], delta)
        for k in range(blocked, m):
            axpy(C[i, k], Y[target_words[k]], delta)
    for k in range(m):  # Y updated from the old X (X is written only below)
        y = Y[target_words[k]]
        blocked = n - n % 4
        for i in range(0, blocked, 4):
            c = context_words[i : i + 4]
            axpy4(C[i, k], X[c[0]], C[i + 1, k], X[c[1]], C[i + 2, k], X[c[2]], C[i + 3, k], X[c[3]], y)
        for i in range(blocked, n):
            axpy(C[i, k], X[context_words[i]], y)
    for i in range(n):
        axpy(1.0, delta_buf[i], X[context_words[i]])
    return loss


@njit_serial
def sgd_step_cbow(
    input_vectors, output_vectors, context_words, target_words, labels, lr, coef_buf, mean_buf, delta_buf, work, bits
):
    """One word2vec.c CBOW step (cbow_mean=1) against labelled targets, in place.

    ``h`` = mean of the context words' input vectors. Negative sampling: target_words[0] is
    the center word (label 1), the rest negatives, loss ``-log sigma(h.y_0) - sum_k log
    sigma(-h.y_k)``; hierarchical softmax: the center word's path nodes with labels 1 - bit.
    Like word2vec.c, the gradient with respect to h is added to *every* context row unscaled
    (the exact gradient per row would be 1/n of it). Scratch: coef_buf (1, >= m), mean_buf and
    delta_buf (d,), work float64 (3, >= m), bits int64 (>= m). Returns the loss before the step.
    """
    n, m = context_words.shape[0], target_words.shape[0]
    mean_buf[:] = 0.0
    for i in range(n):
        axpy(1.0, input_vectors[context_words[i]], mean_buf)
    for j in range(mean_buf.shape[0]):
        mean_buf[j] /= n
    for k in range(m):
        work[0, k] = dot_native(mean_buf, output_vectors[target_words[k]])
    loss = _logistic_pass(1, m, lr, work, bits, coef_buf, labels)
    delta_buf[:] = 0.0
    for k in range(m):
        axpy(coef_buf[0, k], output_vectors[target_words[k]], delta_buf)
    for k in range(m):
        axpy(coef_buf[0, k], mean_buf, output_vectors[target_words[k]])
    for i in range(n):
        axpy(1.0, delta_buf, input_vectors[context_words[i]])
    return loss
