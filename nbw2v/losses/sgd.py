"""Fused SGD steps (MATH.md section 5): the update applied in place, no dense gradient formed.

They are kept apart from the gradient kernels and tested against them: one step equals
``params - lr * grad`` to float tolerance, repeated words included. For that, every
coefficient is computed from the *old* parameters before any row is written (word2vec.c
instead updates row by row, so a word drawn twice sees its own first update).
"""

from __future__ import annotations

from numba import prange

from .._jit import CHUNK, njit_parallel, njit_serial
from ._scalar import axpy, dot, log_sigmoid, sigmoid
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
