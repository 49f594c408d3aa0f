"""Dense gradients that are mostly zero: memory straight from the operating system.

The public API returns ``(V, d)`` gradients of which one pair or window writes a few rows.
``np.zeros`` of 16 MB (V = 20,000, d = 100, float64) is not always fresh zero pages: glibc's
``calloc`` raises its mmap threshold after the first large block is freed (up to 32 MB), takes
the next ones from the heap and clears them with ``memset``, ~800 us a call here - more than
the pair's own work, and the same cost a plain NumPy version pays. An anonymous ``mmap`` is
always zero pages mapped on first touch: only the rows written cost anything.
"""

from __future__ import annotations

import mmap

import numpy as np

#: below this, ``np.zeros`` (an mmap and its page faults cost more than clearing a small block)
LAZY_BYTES = 1 << 20


def zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A writable, C-contiguous array of zeros; at ``LAZY_BYTES`` and above its pages come from
    an anonymous mapping (released when the array is)."""
    dtype = np.dtype(dtype)
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize < LAZY_BYTES:
        return np.zeros(shape, dtype)
    return mapped_zeros(shape, dtype)


def mapped_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """Zeros in an anonymous mapping of their own, whatever the size: page-aligned (so a
    matrix whose rows are whole cache lines has every row start one), each page mapped on first
    touch, released when the array is."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), np.uint8)[:nbytes].view(dtype).reshape(shape)


#: glibc's mallopt parameter number of M_MMAP_THRESHOLD
_M_MMAP_THRESHOLD = -3
_fixed: list[bool] = []


def fix_mmap_threshold(threshold: int = LAZY_BYTES) -> None:
    """Keep every block of ``threshold`` bytes or more an mmap of its own, given back on free.

    glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), so
    the blocks of a corpus read (8 MiB of bytes, token and line arrays) end up in the heap, whose
    freed pages stay with the process: reading refcorpus x10 left 305 MB resident (peak 345 MB)
    instead of 215 MB (peak 327 MB). A fixed threshold also stops that adjustment. Once per
    process, glibc only (elsewhere nothing happens)."""
    if _fixed:
        return
    _fixed.append(True)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, int(threshold))
    except (OSError, AttributeError):  # not glibc
        pass
