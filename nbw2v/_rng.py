"""Counter-free per-chunk random streams for the Numba training loops.

Each work chunk gets its own xorshift64* stream whose seed is derived (splitmix64) from
``(seed, epoch, chunk)``: never from a thread id and never from NumPy's global state, so the
draws of a chunk are the same whichever thread runs it, and deterministic mode reproduces
bit-for-bit. All arithmetic stays in uint64 (mixing in int64 would make Numba use float64);
the state crosses function boundaries as the same 64 bits typed int64, because a uint64 returned
to Python becomes a Python int that Numba would type int64 and refuse above 2**63 (the CUDA
simulator calls these functions from Python, one call at a time).
"""

from __future__ import annotations

import numpy as np

from nbw2v._jit import njit_serial

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STAR = np.uint64(0x2545F4914F6CDD1D)
_S12, _S25, _S27, _S30, _S27b, _S31 = (np.uint64(s) for s in (12, 25, 27, 30, 27, 31))
_S11, _S32 = np.uint64(11), np.uint64(32)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_LOW32 = np.uint64(0xFFFFFFFF)


@njit_serial
def splitmix64(x):
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27b)) * _MIX2
    return z ^ (z >> _S31)


@njit_serial
def stream_seed(seed, epoch, chunk):
    """The starting state of chunk ``chunk`` in epoch ``epoch`` (never zero)."""
    s = splitmix64(np.uint64(seed))
    s = splitmix64(s ^ np.uint64(epoch))
    s = splitmix64(s ^ np.uint64(chunk))
    return np.int64(s if s != np.uint64(0) else _GOLDEN)


@njit_serial
def next_u64(state):
    """xorshift64*: returns (new_state, 64 random bits)."""
    x = np.uint64(state)  # the state's bits, as unsigned: shifts must be logical
    x ^= x >> _S12
    x ^= x << _S25
    x ^= x >> _S27
    return np.int64(x), x * _STAR


@njit_serial
def next_float(state):
    """(new_state, uniform float64 in [0, 1))."""
    state, r = next_u64(state)
    return state, float(r >> _S11) * _INV53


@njit_serial
def next_below(state, n):
    """(new_state, uniform int in [0, n)) for 0 < n < 2**32 (multiply-shift, no modulo bias worth
    mentioning at these n)."""
    state, r = next_u64(state)
    return state, np.int64(((r >> _S32) * np.uint64(n)) >> _S32)


@njit_serial
def alias_draw(state, n):
    """(new_state, column, u) of one draw from an alias table of n columns: one 64-bit draw, the
    high half picks the column, the low half is u in [0, 1) deciding between it and its alias.
    Scalars only, so the GPU kernels (and Numba's CUDA simulator) call it too."""
    state, r = next_u64(state)
    i = np.int64(((r >> _S32) * np.uint64(n)) >> _S32)
    u = float(r & _LOW32) * (1.0 / 4294967296.0)
    return state, i, u


@njit_serial
def sample_alias(state, threshold, alias):
    """(new_state, a draw from the alias table (threshold, alias))."""
    state, i, u = alias_draw(state, threshold.shape[0])
    return state, (i if u < threshold[i] else np.int64(alias[i]))
