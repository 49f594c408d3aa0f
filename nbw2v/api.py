"""Public, CS224N-compatible API over the Numba kernels (rows are words).

Each function validates its arguments first (``ValueError`` naming the argument), converts
them to one float dtype (float32 if every float input is float32, else float64), calls the
kernel and returns dense gradients. The loss is returned as a Python float computed in float64.
"""

from __future__ import annotations

import math

import numpy as np

from nbw2v._alloc import zeros
from nbw2v._validate import as_index, as_indices, as_tree, as_vectors, check_dim, float_dtype, require_finite
from nbw2v.losses import (
    hs_batch_kernel,
    hs_pair_loss_grad,
    hs_scatter_add_rows,
    hs_window_loss_grad,
    neg_batch_kernel,
    neg_pair_loss_grad,
    neg_window_loss_grad,
    scatter_add_rows,
    softmax_batch_loss_grad,
    softmax_window_kernel,
)
from nbw2v.losses.registry import get as loss_spec


def _outside_and_center(center_vec, outside_vectors):
    """The two arrays in one float dtype, shapes checked; their finiteness is checked by
    :func:`_finite_loss` after the kernel (a scan of all V rows before a K-row pair would cost
    more than the pair: 670 us against 50 us at V = 10,000, d = 100)."""
    dtype = float_dtype(center_vec, outside_vectors)
    outside = as_vectors("outside_vectors", outside_vectors, 2, dtype, finite=False)
    center = as_vectors("center_vec", center_vec, 1, dtype, finite=False)
    check_dim("center_vec", center, outside.shape[1], "outside_vectors")
    return center, outside


def _finite_loss(loss, *inputs) -> float:
    """The loss as a float; if it is not finite, the ``ValueError`` naming the non-finite input
    among ``inputs``: (name, array, rows the kernel read or None for all). A non-finite value
    in any input the loss depends on makes the loss NaN or inf. ``rows`` may be a function
    returning them (computed only when the loss is not finite)."""
    if not math.isfinite(loss):
        for name, arr, rows in inputs:
            require_finite(name, arr, rows() if callable(rows) else rows)
    return float(loss)


def naive_softmax_loss_and_grad(center_vec, outside_idx, outside_vectors):
    """Naive-softmax loss ``-log softmax(U v_c)_o`` and its gradients (docs/math.md "Naive softmax").

    center_vec (d,), outside_idx int in [0, V), outside_vectors (V, d).
    Returns ``(loss, grad_center_vec (d,), grad_outside_vectors (V, d))``.
    """
    center, outside = _outside_and_center(center_vec, outside_vectors)
    o = as_index("outside_idx", outside_idx, outside.shape[0])
    grad_center = np.empty_like(center)
    grad_outside = np.empty_like(outside)
    kernel = softmax_window_kernel(*outside.shape)  # serial for small problems: no thread-pool wake-up
    loss = kernel(center, np.array([o], np.int64), outside, grad_center, grad_outside)
    return (
        _finite_loss(loss, ("center_vec", center, None), ("outside_vectors", outside, None)),
        grad_center,
        grad_outside,
    )


def neg_sampling_loss_and_grad(center_vec, outside_idx, outside_vectors, neg_indices):
    """Negative-sampling loss and gradients for one pair with explicit negatives (docs/math.md 2).

    neg_indices: K >= 1 word indices; a word drawn twice counts twice and a negative equal to
    ``outside_idx`` is an ordinary negative term. Returns
    ``(loss, grad_center_vec (d,), grad_outside_vectors (V, d))`` (K+1 non-zero rows at most).
    """
    center, outside = _outside_and_center(center_vec, outside_vectors)
    n_words = outside.shape[0]
    o = as_index("outside_idx", outside_idx, n_words)
    negs = as_indices("neg_indices", neg_indices, n_words)
    grad_center = np.empty_like(center)
    rows = np.empty((1, negs.shape[0] + 1, center.shape[0]), center.dtype)
    loss = neg_pair_loss_grad(center, o, outside, negs, grad_center, rows[0])
    used = lambda: np.concatenate([[o], negs])  # noqa: E731  (only when the loss is not finite)
    loss = _finite_loss(loss, ("center_vec", center, None), ("outside_vectors", outside, used))
    grad_outside = zeros(outside.shape, outside.dtype)  # zero pages from the OS: only K+1 rows touched
    scatter_add_rows(np.array([o], np.int64), negs[None, :], rows, grad_outside)
    return loss, grad_center, grad_outside


def hierarchical_softmax_loss_and_grad(center_vec, outside_idx, inner_vectors, tree):
    """Hierarchical-softmax loss ``-sum_l log sigma(s_l u_{n_l} . v_c)`` over the outside
    word's Huffman path and its gradients (docs/math.md "Hierarchical softmax").

    center_vec (d,), outside_idx int in [0, V), inner_vectors (>= V-1, d) (row n: inner node n;
    the trainer's output matrix, V rows, its last unused), tree = ``nbw2v.huffman_tree(counts)``.
    Returns ``(loss, grad_center_vec (d,), grad_inner_vectors)`` (the path's rows non-zero).
    """
    center, inner = _outside_and_center(center_vec, inner_vectors)
    tree = as_tree("tree", tree, inner.shape[0])
    o = as_index("outside_idx", outside_idx, tree.lens.shape[0])
    grad_center = np.empty_like(center)
    rows = np.empty((1, tree.points.shape[1], center.shape[0]), center.dtype)
    loss = hs_pair_loss_grad(center, o, inner, tree, grad_center, rows[0])
    path = tree.points[o, : tree.lens[o]]
    loss = _finite_loss(loss, ("center_vec", center, None), ("inner_vectors", inner, path))
    grad_inner = zeros(inner.shape, inner.dtype)
    hs_scatter_add_rows(np.array([o], np.int64), tree, rows, grad_inner)
    return loss, grad_center, grad_inner


def skipgram(
    center_word_idx,
    outside_word_indices,
    center_vectors,
    outside_vectors,
    loss: str = "softmax",
    neg_indices=None,
    tree=None,
):
    """Skip-gram loss of one center word over its outside words (docs/math.md "Skip-gram over a window").

    center_vectors, outside_vectors: (V, d). loss: "softmax", "negative" or "hs"; with
    "negative", neg_indices has shape (len(outside_word_indices), K); with "hs", tree is
    ``nbw2v.huffman_tree(counts)`` and outside_vectors holds the inner nodes' vectors. Returns
    ``(loss, grad_center_vectors (V, d), grad_outside_vectors (V, d))``; only row
    ``center_word_idx`` of grad_center_vectors is non-zero.
    """
    spec = loss_spec(loss)
    for arg, value in (("neg_indices", neg_indices), ("tree", tree)):
        if value is not None and spec.extra != arg:
            raise ValueError(f"{arg}: only used with loss={'negative' if arg == 'neg_indices' else 'hs'!r}; pass None")
    dtype = float_dtype(center_vectors, outside_vectors)
    centers = as_vectors("center_vectors", center_vectors, 2, dtype, finite=False)  # checked after the kernel
    outside = as_vectors("outside_vectors", outside_vectors, 2, dtype, finite=False)
    if centers.shape != outside.shape:
        raise ValueError(
            f"center_vectors has shape {centers.shape} but outside_vectors has shape "
            f"{outside.shape}; both must be (V, d)"
        )
    n_words, dim = outside.shape
    c = as_index("center_word_idx", center_word_idx, n_words)
    words = as_indices("outside_word_indices", outside_word_indices, n_words)
    grad_centers = zeros(centers.shape, dtype)  # zero pages from the OS: one row is written
    if spec.extra == "tree":
        if tree is None:
            raise ValueError("tree: required with loss='hs': nbw2v.huffman_tree(counts) of the vocabulary")
        tree = as_tree("tree", tree, n_words)
        if tree.lens.shape[0] != n_words:
            raise ValueError(f"tree: has {tree.lens.shape[0]} words but the vectors have V={n_words} rows")
        rows = np.empty((words.shape[0], tree.points.shape[1], dim), dtype)
        total = hs_window_loss_grad(centers[c], words, outside, tree, grad_centers[c], rows)
        paths = lambda: np.concatenate([tree.points[w, : tree.lens[w]] for w in words])  # noqa: E731
        total = _finite_loss(total, ("center_vectors", centers, [c]), ("outside_vectors", outside, paths))
        grad_outside = zeros(outside.shape, dtype)
        hs_scatter_add_rows(words, tree, rows, grad_outside)
        return total, grad_centers, grad_outside
    if spec.extra == "":
        grad_outside = np.empty_like(outside)
        kernel = softmax_window_kernel(n_words, dim)
        total = kernel(centers[c], words, outside, grad_centers[c], grad_outside)
        total = _finite_loss(total, ("center_vectors", centers, [c]), ("outside_vectors", outside, None))
        return total, grad_centers, grad_outside
    if neg_indices is None:
        raise ValueError(
            "neg_indices: required with loss='negative': an int array of shape "
            f"({words.shape[0]}, K), one row of K negatives per outside word"
        )
    negs = as_indices("neg_indices", neg_indices, n_words, ndim=2)
    if negs.shape[0] != words.shape[0]:
        raise ValueError(
            f"neg_indices: expected shape ({words.shape[0]}, K) (one row per outside word), got {negs.shape}"
        )
    rows = np.empty((words.shape[0], negs.shape[1] + 1, dim), dtype)
    total = neg_window_loss_grad(centers[c], words, outside, negs, grad_centers[c], rows)
    used = lambda: np.concatenate([words, negs.ravel()])  # noqa: E731  (only when the loss is not finite)
    total = _finite_loss(total, ("center_vectors", centers, [c]), ("outside_vectors", outside, used))
    grad_outside = zeros(outside.shape, dtype)
    scatter_add_rows(words, negs, rows, grad_outside)
    return total, grad_centers, grad_outside


def _batch_inputs(center_vecs, outside_idx, outside_vectors):
    """Checked batch inputs; finiteness is checked through the losses (:func:`_finite_loss`)."""
    dtype = float_dtype(center_vecs, outside_vectors)
    outside = as_vectors("outside_vectors", outside_vectors, 2, dtype, finite=False)
    centers = as_vectors("center_vecs", center_vecs, 2, dtype, finite=False)
    check_dim("center_vecs", centers, outside.shape[1], "outside_vectors")
    idx = as_indices("outside_idx", outside_idx, outside.shape[0])
    if idx.shape[0] != centers.shape[0]:
        raise ValueError(
            f"outside_idx: has {idx.shape[0]} entries but center_vecs has {centers.shape[0]} rows; "
            "expected one outside word per center vector"
        )
    return centers, idx, outside


def naive_softmax_loss_and_grad_batch(center_vecs, outside_idx, outside_vectors):
    """Naive softmax over B independent pairs (row b of center_vecs with outside_idx[b]).

    Returns ``(losses (B,) float64, grad_center_vecs (B, d), grad_outside_vectors (V, d))``,
    the last summed over the batch.
    """
    centers, idx, outside = _batch_inputs(center_vecs, outside_idx, outside_vectors)
    losses = np.empty(centers.shape[0], np.float64)
    grad_centers = np.empty_like(centers)
    grad_outside = np.empty_like(outside)
    total = softmax_batch_loss_grad(centers, idx, outside, losses, grad_centers, grad_outside)
    _finite_loss(total, ("center_vecs", centers, None), ("outside_vectors", outside, None))
    return losses, grad_centers, grad_outside


def neg_sampling_loss_and_grad_batch(center_vecs, outside_idx, outside_vectors, neg_indices):
    """Negative sampling over B independent pairs; neg_indices (B, K).

    Returns ``(losses (B,) float64, grad_center_vecs (B, d), grad_outside_vectors (V, d))``.
    """
    centers, idx, outside = _batch_inputs(center_vecs, outside_idx, outside_vectors)
    negs = as_indices("neg_indices", neg_indices, outside.shape[0], ndim=2)
    if negs.shape[0] != centers.shape[0]:
        raise ValueError(f"neg_indices: expected shape ({centers.shape[0]}, K), got {negs.shape}")
    losses = np.empty(centers.shape[0], np.float64)
    grad_centers = np.empty_like(centers)
    rows = np.empty((centers.shape[0], negs.shape[1] + 1, centers.shape[1]), centers.dtype)
    total = neg_batch_kernel(*negs.shape, centers.shape[1])(centers, idx, outside, negs, losses, grad_centers, rows)
    used = lambda: np.concatenate([idx, negs.ravel()])  # noqa: E731  (only when the loss is not finite)
    _finite_loss(total, ("center_vecs", centers, None), ("outside_vectors", outside, used))
    grad_outside = zeros(outside.shape, outside.dtype)
    scatter_add_rows(idx, negs, rows, grad_outside)
    return losses, grad_centers, grad_outside


def hierarchical_softmax_loss_and_grad_batch(center_vecs, outside_idx, inner_vectors, tree):
    """Hierarchical softmax over B independent pairs (row b of center_vecs with outside_idx[b]).

    Returns ``(losses (B,) float64, grad_center_vecs (B, d), grad_inner_vectors)``, the last
    summed over the batch.
    """
    dtype = float_dtype(center_vecs, inner_vectors)
    inner = as_vectors("inner_vectors", inner_vectors, 2, dtype, finite=False)
    centers = as_vectors("center_vecs", center_vecs, 2, dtype, finite=False)
    check_dim("center_vecs", centers, inner.shape[1], "inner_vectors")
    tree = as_tree("tree", tree, inner.shape[0])
    idx = as_indices("outside_idx", outside_idx, tree.lens.shape[0])
    if idx.shape[0] != centers.shape[0]:
        raise ValueError(
            f"outside_idx: has {idx.shape[0]} entries but center_vecs has {centers.shape[0]} rows; "
            "expected one outside word per center vector"
        )
    losses = np.empty(centers.shape[0], np.float64)
    grad_centers = np.empty_like(centers)
    rows = np.empty((centers.shape[0], tree.points.shape[1], centers.shape[1]), dtype)
    total = hs_batch_kernel(centers.shape[0], tree.points.shape[1], centers.shape[1])(
        centers, idx, inner, tree, losses, grad_centers, rows
    )
    paths = lambda: np.concatenate([tree.points[w, : tree.lens[w]] for w in idx])  # noqa: E731
    _finite_loss(total, ("center_vecs", centers, None), ("inner_vectors", inner, paths))
    grad_inner = zeros(inner.shape, inner.dtype)
    hs_scatter_add_rows(idx, tree, rows, grad_inner)
    return losses, grad_centers, grad_inner
