"""A vectorisable ``exp`` for the softmax's non-positive, max-shifted scores.

Numba calls libm's scalar ``exp`` one element at a time (no SVML here), and for the batched
softmax that single pass costs as much as a matrix product. This version is branch-free
arithmetic that LLVM turns into AVX2/AVX-512 code:

    exp(x) = 2**n * exp(r),   n = round(x / ln 2),  r = x - n ln 2  (Cody-Waite, two-part ln 2)

with a Taylor polynomial for ``exp(r)`` on |r| <= ln(2)/2 (degree 7 in float32, 13 in float64:
truncation error below one ulp) and ``2**n`` built from its exponent bits. Inputs are clamped
below at the smallest ``x`` whose ``2**n`` is a normal number (results there are < 1e-37 resp.
1e-307 and vanish against the row maximum's term, which is 1).

``exp_nonpos_inplace(x)`` is the plain NumPy function under ``NUMBA_DISABLE_JIT=1`` and in
Python callers; inside kernels Numba uses the per-dtype implementation registered below.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable

from nbw2v._jit import FASTMATH_STRICT


def exp_nonpos_inplace(x):
    """``x[:] = exp(x)`` for a contiguous 1-D float32/float64 array with entries <= 0."""
    np.exp(x, out=x)


def exp_nonpos_scratch(x, bits):
    """:func:`exp_nonpos_inplace` without allocating: ``bits`` is a scratch int array as long
    as ``x`` (int32 for float32, int64 for float64: :func:`exp_scratch_bits`), for hot loops
    over short arrays."""
    np.exp(x, out=x)


def exp_scratch_bits(n, like):
    """A scratch array of ``n`` ints for :func:`exp_nonpos_scratch` on arrays of ``like``'s
    dtype (int32 for float32, int64 for float64)."""
    return np.empty(n, np.int32 if like.dtype == np.float32 else np.int64)


_LOG2E = 1.4426950408889634


def _make_impl(float_t, int_t, x_min, bias, shift, ln2_hi, ln2_lo, coeffs):
    coeffs = tuple(float_t(c) for c in coeffs)  # highest degree first
    c_deg = len(coeffs)
    log2e, ln2_hi, ln2_lo, x_min = (float_t(v) for v in (_LOG2E, ln2_hi, ln2_lo, x_min))
    half = float_t(0.5)
    bias = int_t(bias)
    shift = int_t(shift)

    def impl_scratch(x, bits):
        m = x.shape[0]
        for j in range(m):
            xj = max(x[j], x_min)
            n = np.floor(xj * log2e + half)
            r = (xj - n * ln2_hi) - n * ln2_lo
            p = coeffs[0]
            for k in range(1, c_deg):  # unrolled by LLVM: c_deg is a compile-time constant
                p = p * r + coeffs[k]
            x[j] = p
            bits[j] = (int_t(n) + bias) << shift
        pow2 = bits[:m].view(float_t)
        for j in range(m):
            x[j] *= pow2[j]

    scratch_jitted = register_jitable(fastmath=set(FASTMATH_STRICT))(impl_scratch)

    def impl(x):
        scratch_jitted(x, np.empty(x.shape[0], int_t))

    return impl, impl_scratch


def _taylor(deg):
    out, f = [], 1.0
    for k in range(deg + 1):
        if k:
            f *= k
        out.append(1.0 / f)
    return out[::-1]


_IMPL32, _SCRATCH32 = _make_impl(np.float32, np.int32, -87.0, 127, 23, 0.693359375, -2.12194440e-4, _taylor(7))
_IMPL64, _SCRATCH64 = _make_impl(
    np.float64,
    np.int64,
    -708.0,
    1023,
    52,
    6.93147180369123816490e-01,
    1.90821492927058770002e-10,
    _taylor(13),
)


@overload(exp_nonpos_inplace, jit_options={"fastmath": set(FASTMATH_STRICT)})
def _exp_nonpos_inplace_overload(x):
    if isinstance(x, types.Array) and x.ndim == 1:
        if x.dtype == types.float32:
            return _IMPL32
        if x.dtype == types.float64:
            return _IMPL64
    return None


@overload(exp_nonpos_scratch, jit_options={"fastmath": set(FASTMATH_STRICT)})
def _exp_nonpos_scratch_overload(x, bits):
    if isinstance(x, types.Array) and x.ndim == 1 and isinstance(bits, types.Array):
        if x.dtype == types.float32 and bits.dtype == types.int32:
            return _SCRATCH32
        if x.dtype == types.float64 and bits.dtype == types.int64:
            return _SCRATCH64
    return None


@overload(exp_scratch_bits)
def _exp_scratch_bits_overload(n, like):
    if isinstance(like, types.Array) and like.dtype == types.float32:
        return lambda n, like: np.empty(n, np.int32)
    if isinstance(like, types.Array) and like.dtype == types.float64:
        return lambda n, like: np.empty(n, np.int64)
    return None
