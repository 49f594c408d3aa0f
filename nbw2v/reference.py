"""Plain NumPy float64 implementation of docs/math.md: the test oracle.

Slow and obvious on purpose: every formula is written as in the specification, with dense
gradients. Tests compare the Numba kernels against it; nothing else should call it.
"""

from __future__ import annotations

import numpy as np


def log_sigmoid(x):
    """``log sigma(x) = -log(1 + exp(-x))``, stable for any finite x."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def sigmoid(x):
    return np.exp(log_sigmoid(x))


def softmax(scores):
    shifted = np.asarray(scores, dtype=np.float64) - np.max(scores)
    e = np.exp(shifted)
    return e / e.sum()


def naive_softmax_loss_and_grad(center_vec, outside_idx, outside_vectors):
    """docs/math.md "Naive softmax". Returns (loss, dJ/dv_c (d,), dJ/dU (V, d))."""
    v_c = np.asarray(center_vec, dtype=np.float64)
    U = np.asarray(outside_vectors, dtype=np.float64)
    scores = U @ v_c
    yhat = softmax(scores)
    y = np.zeros_like(yhat)
    y[outside_idx] = 1.0
    top = scores.max()
    loss = -scores[outside_idx] + top + np.log(np.exp(scores - top).sum())
    grad_center = U.T @ (yhat - y)
    grad_outside = np.outer(yhat - y, v_c)
    return float(loss), grad_center, grad_outside


def neg_sampling_loss_and_grad(center_vec, outside_idx, outside_vectors, neg_indices):
    """docs/math.md "Negative sampling" with explicit negatives. Returns (loss, dJ/dv_c, dJ/dU (V, d))."""
    v_c = np.asarray(center_vec, dtype=np.float64)
    U = np.asarray(outside_vectors, dtype=np.float64)
    u_o = U[outside_idx]
    loss = -log_sigmoid(u_o @ v_c)
    grad_center = (sigmoid(u_o @ v_c) - 1.0) * u_o
    grad_outside = np.zeros_like(U)
    grad_outside[outside_idx] += (sigmoid(u_o @ v_c) - 1.0) * v_c
    for w in neg_indices:  # a repeated word contributes once per draw
        u_w = U[w]
        loss -= log_sigmoid(-(u_w @ v_c))
        grad_center += sigmoid(u_w @ v_c) * u_w
        grad_outside[w] += sigmoid(u_w @ v_c) * v_c
    return float(loss), grad_center, grad_outside


def hierarchical_softmax_loss_and_grad(center_vec, outside_idx, inner_vectors, codes, points):
    """docs/math.md "Hierarchical softmax": the outside word's path given as its code bits and
    inner nodes (root first). Returns (loss, dJ/dv_c, dJ/dU (rows, d))."""
    v_c = np.asarray(center_vec, dtype=np.float64)
    U = np.asarray(inner_vectors, dtype=np.float64)
    loss, grad_center, grad_inner = 0.0, np.zeros_like(v_c), np.zeros_like(U)
    for bit, node in zip(codes, points, strict=True):
        sign = 1.0 - 2.0 * bit  # bit 0: sigma(u.v) is the probability of the step taken
        score = U[node] @ v_c
        loss -= log_sigmoid(sign * score)
        coef = sigmoid(score) - (1.0 - bit)
        grad_center += coef * U[node]
        grad_inner[node] += coef * v_c
    return float(loss), grad_center, grad_inner


def skipgram(
    center_word_idx,
    outside_word_indices,
    center_vectors,
    outside_vectors,
    loss="softmax",
    neg_indices=None,
    tree=None,
):
    """docs/math.md "Skip-gram over a window": sum of per-pair losses and gradients over the outside words.

    Returns (loss, dJ/dC (V, d), dJ/dU (V, d)); only row ``center_word_idx`` of dJ/dC is non-zero.
    """
    C = np.asarray(center_vectors, dtype=np.float64)
    U = np.asarray(outside_vectors, dtype=np.float64)
    total = 0.0
    grad_center_vectors = np.zeros_like(C)
    grad_outside_vectors = np.zeros_like(U)
    for j, o in enumerate(outside_word_indices):
        if loss == "softmax":
            pair_loss, g_c, g_u = naive_softmax_loss_and_grad(C[center_word_idx], o, U)
        elif loss == "hs":
            n = tree.lens[o]
            pair_loss, g_c, g_u = hierarchical_softmax_loss_and_grad(
                C[center_word_idx], o, U, tree.codes[o, :n], tree.points[o, :n]
            )
        else:
            pair_loss, g_c, g_u = neg_sampling_loss_and_grad(C[center_word_idx], o, U, neg_indices[j])
        total += pair_loss
        grad_center_vectors[center_word_idx] += g_c
        grad_outside_vectors += g_u
    return total, grad_center_vectors, grad_outside_vectors


def shared_negative_window(context_rows, output_rows):
    """docs/math.md "Shared negatives over a window" loss and gradients for one window with shared negatives.

    context_rows X (n, d) (input vectors), output_rows Y (K+1, d) (row 0: the center word's
    output vector, rows 1..K: the negatives). Returns (loss, dJ/dX, dJ/dY).
    """
    X = np.asarray(context_rows, dtype=np.float64)
    Y = np.asarray(output_rows, dtype=np.float64)
    S = X @ Y.T
    labels = np.zeros_like(S)
    labels[:, 0] = 1.0
    loss = -log_sigmoid(S[:, 0]).sum() - log_sigmoid(-S[:, 1:]).sum()
    G = sigmoid(S) - labels  # dJ/dS
    return float(loss), G @ Y, G.T @ X
