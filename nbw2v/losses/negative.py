"""Negative-sampling skip-gram loss and gradients as Numba kernels (docs/math.md: "Negative
sampling", "Skip-gram over a window").

Pairing: the textbook one (center input vector ``v_c`` against outside vectors). The negatives
are an explicit argument: a word drawn twice contributes twice, and a negative equal to the
outside word is an ordinary negative term (the sampler, not this math, decides whether such
draws are skipped). Only the K+1 touched rows of U get a gradient; kernels return them as a
compact (K+1, d) block whose row 0 belongs to the outside word and row k to ``neg_indices[k-1]``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nbw2v._jit import SERIAL_BATCH_BELOW, njit_parallel, njit_serial, serial_twin
from nbw2v.losses._scalar import dot, log_sigmoid, sigmoid
from nbw2v.losses.window import labelled_window_loss_grad


@njit_serial
def neg_pair_loss_grad(center_vec, outside_idx, outside_vectors, neg_indices, grad_center_out, grad_rows_out):
    """``J_neg(v_c, o, U)`` for one pair and K negatives; returns the loss (float64).

    center_vec (d,), outside_vectors (V, d), neg_indices (K,) int. Writes grad_center_out (d,)
    and grad_rows_out (K+1, d) (see the module docstring for the row order).
    """
    d = center_vec.shape[0]
    score = dot(outside_vectors[outside_idx], center_vec)
    coef = sigmoid(score) - 1.0
    loss = -log_sigmoid(score)
    for j in range(d):
        grad_center_out[j] = coef * outside_vectors[outside_idx, j]
        grad_rows_out[0, j] = coef * center_vec[j]
    for k in range(neg_indices.shape[0]):
        w = neg_indices[k]
        score = dot(outside_vectors[w], center_vec)
        coef = sigmoid(score)
        loss -= log_sigmoid(-score)
        for j in range(d):
            grad_center_out[j] += coef * outside_vectors[w, j]
            grad_rows_out[k + 1, j] = coef * center_vec[j]
    return loss


@njit_parallel
def neg_batch_loss_grad(
    center_vecs,
    outside_idx,
    outside_vectors,
    neg_indices,
    losses_out,
    grad_centers_out,
    grad_rows_out,
):
    """B independent pairs in parallel. center_vecs (B, d), outside_idx (B,),
    neg_indices (B, K). Writes losses_out (B,) float64, grad_centers_out (B, d) and
    grad_rows_out (B, K+1, d). Returns the summed loss (pairs added in order: deterministic)."""
    for b in prange(center_vecs.shape[0]):
        losses_out[b] = neg_pair_loss_grad(
            center_vecs[b],
            outside_idx[b],
            outside_vectors,
            neg_indices[b],
            grad_centers_out[b],
            grad_rows_out[b],
        )
    total = 0.0
    for b in range(losses_out.shape[0]):
        total += losses_out[b]
    return total


neg_batch_loss_grad_serial = serial_twin(neg_batch_loss_grad)


def neg_batch_kernel(n_pairs: int, n_targets: int, dim: int):
    """The batched negative-sampling kernel to call from Python: serial when the batch is small."""
    return neg_batch_loss_grad_serial if n_pairs * n_targets * dim < SERIAL_BATCH_BELOW else neg_batch_loss_grad


@njit_serial
def neg_window_loss_grad(center_vec, outside_indices, outside_vectors, neg_indices, grad_center_out, grad_rows_out):
    """Skip-gram window: sum over outside words j of ``J_neg(v_c, o_j, U)`` with negatives
    ``neg_indices[j]`` (n, K). Writes grad_center_out (d,) (the summed center gradient) and
    grad_rows_out (n, K+1, d) (pair j's rows). Returns the summed loss."""
    d = center_vec.shape[0]
    pair_grad = center_vec.copy()
    loss = 0.0
    for j in range(d):
        grad_center_out[j] = 0.0
    for i in range(outside_indices.shape[0]):
        loss += neg_pair_loss_grad(
            center_vec,
            outside_indices[i],
            outside_vectors,
            neg_indices[i],
            pair_grad,
            grad_rows_out[i],
        )
        for j in range(d):
            grad_center_out[j] += pair_grad[j]
    return loss


@njit_serial
def scatter_add_rows(outside_indices, neg_indices, grad_rows, out):
    """Add compact row gradients into a dense (V, d) ``out`` (not cleared), in order.

    outside_indices (n,), neg_indices (n, K), grad_rows (n, K+1, d) as written by the window
    or batch kernels. Repeated words add up, as docs/math.md requires.
    """
    d = out.shape[1]
    for i in range(outside_indices.shape[0]):
        w = outside_indices[i]
        for j in range(d):
            out[w, j] += grad_rows[i, 0, j]
        for k in range(neg_indices.shape[1]):
            w = neg_indices[i, k]
            for j in range(d):
                out[w, j] += grad_rows[i, k + 1, j]


def shared_neg_window_loss_grad(
    context_words, target_words, input_vectors, output_vectors, grad_inputs_out, grad_outputs_out
):
    """Negative sampling with negatives shared across a window (docs/math.md "Shared negatives over a window").

    Pairing of word2vec.c: the *context* words' input vectors (rows ``context_words`` (n,) of
    ``input_vectors``) are scored against the output vectors of ``target_words`` (m,): index 0
    is the center word (label 1), 1..m-1 the negatives shared by the whole window (label 0):
    :func:`~nbw2v.losses.window.labelled_window_loss_grad` with labels ``[1, 0, ..., 0]``.
    Writes grad_inputs_out (n, d) and grad_outputs_out (m, d). Returns the loss (float64).
    """
    labels = np.zeros(np.asarray(target_words).shape[0])
    labels[0] = 1.0
    return labelled_window_loss_grad(
        context_words, target_words, labels, input_vectors, output_vectors, grad_inputs_out, grad_outputs_out
    )
