"""Hierarchical softmax (docs/math.md "Hierarchical softmax"): word2vec.c's Huffman tree and
the loss and gradient kernels over a word's path.

The tree has the V words as leaves and V - 1 inner nodes, each with its own output vector
(rows ``0 .. V-2`` of the output matrix; the root is node ``V - 2``). A word's path is the
inner nodes from the root down to it, with a code bit per node (0: the path goes to the child
built from the smaller count, 1: the other one). For a center vector ``v`` and outside word
``o`` with path nodes ``n_1..n_L`` and bits ``b_1..b_L``::

    J_hs(v, o, U) = - sum_l log sigma(s_l u_{n_l} . v),   s_l = 1 - 2 b_l

Kernels return the gradient of the L path rows as a compact (L, d) block in path order (row l
belongs to node ``points[o, l]``), like the negative-sampling kernels' (K+1, d) block.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from nbw2v._jit import SERIAL_BATCH_BELOW, njit_parallel, njit_serial, serial_twin
from nbw2v.losses._scalar import dot, logistic_terms


class HuffmanTree(NamedTuple):
    """A word's path: ``points[w, :lens[w]]`` inner nodes from the root, ``codes[w, :lens[w]]``
    their bits, ``labels = 1 - codes`` (float64: the logistic targets of the trainer)."""

    codes: np.ndarray  # uint8 (V, L)
    points: np.ndarray  # int64 (V, L)
    lens: np.ndarray  # int32 (V,)
    labels: np.ndarray  # float64 (V, L)


@njit_serial
def _smallest(count, pos1, pos2):
    """The smaller of the next leaf (from the rare end) and the next merged node; a leaf only
    when strictly smaller (word2vec.c's tie rule). Returns (node, pos1, pos2) advanced."""
    if pos1 >= 0 and count[pos1] < count[pos2]:
        return pos1, pos1 - 1, pos2
    return pos2, pos1, pos2 + 1


@njit_serial
def _build(counts, parent, binary):
    """word2vec.c's CreateBinaryTree: counts sorted descending; two cursors (leaves from the
    rare end, inner nodes in creation order) pick the two smallest at each of the V - 1 merges."""
    n = counts.shape[0]
    count = np.empty(2 * n, np.int64)
    count[:n] = counts
    count[n:] = np.iinfo(np.int64).max // 4
    pos1, pos2 = n - 1, n
    for a in range(n - 1):
        min1, pos1, pos2 = _smallest(count, pos1, pos2)
        min2, pos1, pos2 = _smallest(count, pos1, pos2)
        count[n + a] = count[min1] + count[min2]
        parent[min1] = n + a
        parent[min2] = n + a
        binary[min2] = 1


def huffman_tree(counts) -> HuffmanTree:
    """The Huffman tree of word2vec.c over word counts in descending order (nbw2v's
    vocabulary order): frequent words get short codes. Ties break as in word2vec.c."""
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    n = counts.shape[0]
    if n < 2:
        raise ValueError(f"hierarchical softmax needs a vocabulary of at least 2 words, got {n}")
    if np.any(np.diff(counts) > 0):
        raise ValueError("counts: must be in descending order (the vocabulary's order)")
    parent = np.zeros(2 * n, np.int64)
    binary = np.zeros(2 * n, np.uint8)
    _build(counts, parent, binary)
    lens = _depths(parent, n)
    codes = np.zeros((n, int(lens.max())), np.uint8)
    points = np.zeros((n, int(lens.max())), np.int64)
    _paths(parent, binary, lens, codes, points)
    return HuffmanTree(codes, points, lens, 1.0 - codes.astype(np.float64))


@njit_serial
def _depths(parent, n):
    lens = np.empty(n, np.int32)
    root = 2 * n - 2
    for w in range(n):
        depth, b = 0, w
        while b != root:
            b = parent[b]
            depth += 1
        lens[w] = depth
    return lens


@njit_serial
def _paths(parent, binary, lens, codes, points):
    """Walk each leaf up to the root, filling its path from the end: row w holds, root first,
    each inner node (id - V) and the bit of its child on the way down (word2vec.c's order)."""
    n = lens.shape[0]
    for w in range(n):
        b = w
        for step in range(lens[w] - 1, -1, -1):
            codes[w, step] = binary[b]
            b = parent[b]
            points[w, step] = b - n


@njit_serial
def hs_pair_loss_grad(center_vec, outside_idx, inner_vectors, tree, grad_center_out, grad_rows_out):
    """``J_hs(v_c, o, U)`` for one pair; returns the loss (float64).

    center_vec (d,), inner_vectors (>= V-1, d), tree a :class:`HuffmanTree`. Writes
    grad_center_out (d,) and grad_rows_out (>= L_o, d): row l is dJ/du for node points[o, l].
    """
    d = center_vec.shape[0]
    for j in range(d):
        grad_center_out[j] = 0.0
    loss = 0.0
    for step in range(tree.lens[outside_idx]):
        node = tree.points[outside_idx, step]
        sig, log_pos, log_neg = logistic_terms(dot(inner_vectors[node], center_vec))
        label = tree.labels[outside_idx, step]
        loss -= log_pos if label > 0.5 else log_neg
        coef = sig - label  # dJ/dscore = sigma(u.v) - (1 - bit)
        for j in range(d):
            grad_center_out[j] += coef * inner_vectors[node, j]
            grad_rows_out[step, j] = coef * center_vec[j]
    return loss


@njit_serial
def hs_window_loss_grad(center_vec, outside_indices, inner_vectors, tree, grad_center_out, grad_rows_out):
    """Skip-gram window: sum over outside words of ``J_hs(v_c, o_j, U)``. Writes
    grad_center_out (d,) (summed) and grad_rows_out (n, L, d) (pair j's path rows). Returns the loss."""
    d = center_vec.shape[0]
    pair_grad = np.empty_like(grad_center_out)
    for j in range(d):
        grad_center_out[j] = 0.0
    loss = 0.0
    for i in range(outside_indices.shape[0]):
        loss += hs_pair_loss_grad(center_vec, outside_indices[i], inner_vectors, tree, pair_grad, grad_rows_out[i])
        for j in range(d):
            grad_center_out[j] += pair_grad[j]
    return loss


@njit_parallel
def hs_batch_loss_grad(center_vecs, outside_idx, inner_vectors, tree, losses_out, grad_centers_out, grad_rows_out):
    """B independent pairs in parallel: center_vecs (B, d), outside_idx (B,). Writes
    losses_out (B,), grad_centers_out (B, d), grad_rows_out (B, L, d). Returns the summed loss
    (added in pair order: deterministic)."""
    for b in prange(center_vecs.shape[0]):
        losses_out[b] = hs_pair_loss_grad(
            center_vecs[b], outside_idx[b], inner_vectors, tree, grad_centers_out[b], grad_rows_out[b]
        )
    total = 0.0
    for b in range(losses_out.shape[0]):
        total += losses_out[b]
    return total


hs_batch_loss_grad_serial = serial_twin(hs_batch_loss_grad)


def hs_batch_kernel(n_pairs: int, path_len: int, dim: int):
    """The batched hierarchical-softmax kernel to call from Python: serial when the batch is
    small (:data:`nbw2v._jit.SERIAL_BATCH_BELOW`)."""
    return hs_batch_loss_grad_serial if n_pairs * path_len * dim < SERIAL_BATCH_BELOW else hs_batch_loss_grad


@njit_serial
def hs_scatter_add_rows(outside_indices, tree, grad_rows, out):
    """Add compact path-row gradients (n, L, d) into a dense (V, d) ``out`` (not cleared)."""
    d = out.shape[1]
    for i in range(outside_indices.shape[0]):
        o = outside_indices[i]
        for step in range(tree.lens[o]):
            node = tree.points[o, step]
            for j in range(d):
                out[node, j] += grad_rows[i, step, j]
