"""A vectorisable ``exp`` for the softmax's non-positive, max-shifted scores.

Numba calls libm's scalar ``exp`` one element at a time (no SVML here), and for the batched
softmax that single pass costs as much as a matrix product. This version is branch-free
arithmetic that LLVM turns into AVX2/AVX-512 code:

    exp(x) = 2**n * exp(r),   n = round(x / ln 2),  r = x - n ln 2  (Cody-Waite, two-part ln 2)

with a Taylor polynomial for ``exp(r)`` on |r| <= ln(2)/2 (degree 7 in float32, 13 in float64:
truncation error below one ulp) and ``2**n`` built from its exponent bits. Inputs are clamped
below at the smallest ``x`` whose ``2**n`` is a normal number (results there are < 1e-37 resp.
1e-307 and vanish against the row maximum's term, which is 1).

``2**n`` is a bitcast of an integer in a register (``_float_from_bits``, LLVM's ``bitcast``),
so the loop needs no scratch array and vectorises whole. ``exp_nonpos_inplace(x)`` (a 1-D
array), ``exp_nonpos(x)`` (one float32/float64 value, for a loop that does more with it) and
``exp_nonpos_vector(v)`` (the same steps on a :mod:`nbw2v._simd` vector: the trainer's logistic
pass) are plain NumPy under ``NUMBA_DISABLE_JIT=1`` and in Python
callers; inside kernels Numba uses the per-dtype implementations registered below.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from nbw2v._jit import FASTMATH_STRICT
from nbw2v._simd import Vector, vfloor, vfma, vmax, vmul, vpow2, vsplat, vsub


def exp_nonpos_inplace(x):
    """``x[:] = exp(x)`` for a contiguous 1-D float32/float64 array with entries <= 0."""
    np.exp(x, out=x)


def exp_nonpos(x):
    """``exp(x)`` of one float32/float64 value ``x <= 0``, in x's type."""
    return np.exp(x)


def exp_nonpos_vector(x):
    """``exp`` of each lane of a :mod:`nbw2v._simd` vector of values <= 0 (the same steps as
    :func:`exp_nonpos`, all lanes at once)."""
    return np.exp(x)


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float whose bit pattern is ``bits`` (int32 -> float32, int64 -> float64), in a
    register: LLVM's bitcast, which vectorises (a ``view`` of a scratch array would not)."""
    float_t = {types.int32: types.float32, types.int64: types.float64}.get(bits)
    if float_t is None:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType() if float_t == types.float32 else ir.DoubleType())

    return float_t(bits), codegen


_LOG2E = 1.4426950408889634


def _make_impl(float_t, int_t, x_min, bias, shift, ln2_hi, ln2_lo, coeffs):
    coeffs = tuple(float_t(c) for c in coeffs)  # highest degree first
    c_deg = len(coeffs)
    log2e, ln2_hi, ln2_lo, x_min = (float_t(v) for v in (_LOG2E, ln2_hi, ln2_lo, x_min))
    half = float_t(0.5)
    bias = int_t(bias)
    shift = int_t(shift)

    @register_jitable(fastmath=set(FASTMATH_STRICT))
    def exp_scalar(x):
        x = max(x, x_min)
        n = np.floor(x * log2e + half)
        r = (x - n * ln2_hi) - n * ln2_lo
        p = coeffs[0]
        for k in range(1, c_deg):  # unrolled by LLVM: c_deg is a compile-time constant
            p = p * r + coeffs[k]
        return p * _float_from_bits(int_t((int_t(n) + bias) << shift))  # (Numba widens int32 sums)

    def impl(x):
        for j in range(x.shape[0]):
            x[j] = exp_scalar(x[j])

    @register_jitable(fastmath=set(FASTMATH_STRICT))
    def exp_vector(x):
        x = vmax(x, vsplat(x, x_min))
        n = vfloor(vfma(x, vsplat(x, log2e), vsplat(x, half)))
        r = vsub(vsub(x, vmul(n, vsplat(x, ln2_hi))), vmul(n, vsplat(x, ln2_lo)))
        p = vsplat(x, coeffs[0])
        for k in range(1, c_deg):
            p = vfma(p, r, vsplat(x, coeffs[k]))
        return vmul(p, vpow2(n))  # (bias and shift of the type: in vpow2)

    return impl, exp_scalar, exp_vector


def _taylor(deg):
    out, f = [], 1.0
    for k in range(deg + 1):
        if k:
            f *= k
        out.append(1.0 / f)
    return out[::-1]


_IMPLS = {
    types.float32: _make_impl(np.float32, np.int32, -87.0, 127, 23, 0.693359375, -2.12194440e-4, _taylor(7)),
    types.float64: _make_impl(
        np.float64,
        np.int64,
        -708.0,
        1023,
        52,
        6.93147180369123816490e-01,
        1.90821492927058770002e-10,
        _taylor(13),
    ),
}


@overload(exp_nonpos_inplace, jit_options={"fastmath": set(FASTMATH_STRICT)})
def _exp_nonpos_inplace_overload(x):
    if isinstance(x, types.Array) and x.ndim == 1 and x.dtype in _IMPLS:
        return _IMPLS[x.dtype][0]
    return None


@overload(exp_nonpos, jit_options={"fastmath": set(FASTMATH_STRICT)})
def _exp_nonpos_overload(x):
    if x in _IMPLS:
        return _IMPLS[x][1]
    return None


@overload(exp_nonpos_vector, jit_options={"fastmath": set(FASTMATH_STRICT)})
def _exp_nonpos_vector_overload(x):
    if isinstance(x, Vector) and x.dtype in _IMPLS:
        return _IMPLS[x.dtype][2]
    return None
