"""Checks for the public API: every bad argument raises ``ValueError`` naming the argument
and what was expected, before any kernel runs (a kernel given a wrong shape or an index out
of range would read out of bounds, not fail)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


def float_dtype(*arrays) -> np.dtype:
    """float32 if every float input is float32, else float64 (integers count as float64)."""
    kinds = [np.asarray(a).dtype for a in arrays]
    return np.dtype(np.float32) if all(k == np.float32 for k in kinds) else np.dtype(np.float64)


def as_vectors(name: str, value, ndim: int, dtype: np.dtype, finite: bool = True) -> np.ndarray:
    """A finite, C-contiguous float array of ``ndim`` dimensions, converted to ``dtype``.
    ``finite=False`` leaves the finiteness to :func:`require_finite` after the kernel ran (the
    per-pair functions: a scan of every row would cost more than the pair's own work)."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name}: expected a {ndim}-D array of floats, got {type(value).__name__} ({exc})") from None
    if arr.dtype.kind not in "fiu" or arr.dtype == np.float16:
        raise ValueError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        shape = "(d,)" if ndim == 1 else "(V, d)"
        raise ValueError(f"{name}: expected a {ndim}-D array of shape {shape}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        require_finite(name, arr)
    return arr


def require_finite(name: str, arr: np.ndarray, rows=None) -> None:
    """Raise ``ValueError`` naming the first non-finite element of ``arr`` (only ``arr[rows]``
    when rows are given: the rows a kernel read), by its index in ``arr``."""
    part = arr if rows is None else arr[np.asarray(rows)]
    if np.isfinite(part).all():
        return
    bad = [int(i) for i in np.argwhere(~np.isfinite(part))[0]]
    if rows is not None:
        bad[0] = int(np.asarray(rows)[bad[0]])
    raise ValueError(
        f"{name}: contains a non-finite value ({arr[tuple(bad)]} at index {tuple(bad)}); "
        "vectors must be finite (a diverged run produces NaN/inf)"
    )


def as_index(name: str, value, n_words: int) -> int:
    """A word index in ``[0, n_words)``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer word index in [0, {n_words}), got {value!r}")
    if not 0 <= int(value) < n_words:
        raise ValueError(f"{name}: index {int(value)} is out of range: expected 0 <= {name} < {n_words} (V)")
    return int(value)


def as_indices(name: str, value, n_words: int, ndim: int = 1) -> np.ndarray:
    """A non-empty int64 array of word indices in ``[0, n_words)``."""
    if isinstance(value, (str, bytes)) or (
        not isinstance(value, (Sequence, np.ndarray)) and not hasattr(value, "__array__")
    ):
        raise ValueError(f"{name}: expected a sequence of integer word indices, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception:
        raise ValueError(f"{name}: expected a rectangular array of integer word indices") from None
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one word index, got an empty {type(value).__name__}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer word indices, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim}-D indices, got shape {arr.shape}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n_words:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name}: index {bad} is out of range: expected 0 <= index < {n_words} (V)")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_dim(name: str, arr: np.ndarray, d: int, other: str) -> None:
    if arr.shape[-1] != d:
        raise ValueError(f"{name}: has dimension d={arr.shape[-1]} but {other} has d={d}; they must match")


def as_tree(name: str, tree, n_words: int | None = None):
    """A :class:`~nbw2v.losses.hierarchical.HuffmanTree` (from ``nbw2v.huffman_tree(counts)``)
    whose inner nodes fit ``n_words`` rows of inner vectors (V - 1 inner nodes for V words)."""
    from nbw2v.losses.hierarchical import HuffmanTree

    if not isinstance(tree, HuffmanTree):
        raise ValueError(
            f"{name}: expected a HuffmanTree (nbw2v.huffman_tree(counts), counts in descending order), "
            f"got {type(tree).__name__}"
        )
    if n_words is not None and tree.lens.shape[0] - 1 > n_words:
        raise ValueError(
            f"{name}: the tree has {tree.lens.shape[0]} words, so {tree.lens.shape[0] - 1} inner nodes, but the "
            f"inner vectors have only {n_words} rows"
        )
    return tree
