"""The CPU trainer's matrices: every row padded to whole 64-byte cache lines.

A row of d = 100 float32 is 400 bytes; packed, three rows in four start inside a cache line, so
the kernels' 64-byte vector loads and stores of such a row (:mod:`nbw2v._simd`) each touch two
lines (a split access: two L1 accesses per load, worse for stores), on every row of every step.
Padded to a multiple of 16 floats (d = 100: 112, 448 bytes) in page-aligned memory, every row
starts a line. The padding columns start at zero and stay zero (every update adds a product with
a zero of another row's padding), so the padded kernels compute the same numbers bit for bit;
measured on the trainer (CBOW, 1 thread, refcorpus): rows of 112 aligned ran 1.07-1.15x the
speed of rows of 100 unaligned, though they hold 12% more columns.

The training loop works on the padded storage; everything else (checkpoints, hooks, the returned
model) sees the ``[:, :dim]`` view, and :func:`compact` packs the rows in place after training.
"""

from __future__ import annotations

import numpy as np

from nbw2v._alloc import mapped_zeros

LINE_BYTES = 64


def padded_dim(dim: int, dtype=np.float32) -> int:
    """``dim`` rounded up to whole cache lines of ``dtype``."""
    per_line = LINE_BYTES // np.dtype(dtype).itemsize
    return -(-dim // per_line) * per_line


def row_storage(n_rows: int, dim: int, pad: bool = True, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``(storage, view)``: zeros of shape ``(n_rows, padded_dim(dim))`` (``pad``; else
    ``(n_rows, dim)``) in page-aligned memory, and its ``[:, :dim]`` view."""
    storage = mapped_zeros((n_rows, padded_dim(dim, dtype) if pad else dim), dtype)  # page-aligned
    return storage, storage[:, :dim]


def compact(storage: np.ndarray, dim: int, block: int = 4096) -> np.ndarray:
    """The first ``dim`` columns of ``storage`` as a C-contiguous ``(n_rows, dim)`` array in
    ``storage``'s own memory (rows moved forward in place, ``block`` rows at a time: no second
    matrix). ``storage`` is overwritten."""
    n_rows, width = storage.shape
    if width == dim:
        return storage
    flat = storage.reshape(-1)
    for lo in range(0, n_rows, block):
        hi = min(n_rows, lo + block)
        # the destination starts at or before the source: NumPy copies overlapping blocks safely
        flat[lo * dim : hi * dim] = storage[lo:hi, :dim].reshape(-1)
    return flat[: n_rows * dim].reshape(n_rows, dim)
