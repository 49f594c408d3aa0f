"""Small numerically stable building blocks shared by the loss kernels."""

from __future__ import annotations

import math

import numpy as np

from .._fastexp import exp_nonpos_scratch
from .._jit import njit_serial


@njit_serial
def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow for any finite ``x`` (float64 in, float64 out)."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit_serial
def log_sigmoid(x):
    """``log sigmoid(x) = -log1p(exp(-x))``, stable for large ``|x|`` (docs/math.md "Negative sampling")."""
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit_serial
def dot(a, b):
    """Dot product of two 1-D rows, accumulated in float64 (rows may be float32)."""
    acc = 0.0
    for j in range(a.shape[0]):
        acc += np.float64(a[j]) * np.float64(b[j])  # (Numba's float() keeps float32 as float32)
    return acc


@njit_serial
def row_max(row):
    """Maximum of a 1-D array, with 16 independent lanes so LLVM vectorises it."""
    n = row.shape[0]
    lanes = np.full(16, row[0])
    body = n - n % 16
    for j in range(0, body, 16):
        for lane in range(16):
            v = row[j + lane]
            lanes[lane] = v if v > lanes[lane] else lanes[lane]
    m = lanes[0]
    for lane in range(1, 16):
        m = lanes[lane] if lanes[lane] > m else m
    for j in range(body, n):
        m = row[j] if row[j] > m else m
    return m


@njit_serial
def axpy(alpha, x, y):
    """``y += alpha * x`` for 1-D rows (``alpha`` cast to the rows' dtype)."""
    a = y.dtype.type(alpha)
    for j in range(y.shape[0]):
        y[j] += a * x[j]


@njit_serial
def dot_native(a, b):
    """Dot product accumulated in the rows' own dtype (the trainer's hot loop: float32 rows
    vectorise twice as wide as with a float64 accumulator)."""
    acc = a.dtype.type(0)
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


@njit_serial
def dot4_native(x, y0, y1, y2, y3):
    """Four dot products of ``x`` with ``y0..y3`` in one pass (each element of ``x`` loaded once
    for four multiply-adds: the window kernels' scores are load-bound otherwise)."""
    zero = x.dtype.type(0)
    s0, s1, s2, s3 = zero, zero, zero, zero
    for j in range(x.shape[0]):
        xj = x[j]
        s0 += xj * y0[j]
        s1 += xj * y1[j]
        s2 += xj * y2[j]
        s3 += xj * y3[j]
    return s0, s1, s2, s3


@njit_serial
def axpy4(a0, x0, a1, x1, a2, x2, a3, x3, y):
    """``y += a0 x0 + a1 x1 + a2 x2 + a3 x3`` in one pass over ``y`` (one load and store of y
    for four multiply-adds); the coefficients are cast to y's dtype."""
    t = y.dtype.type
    b0, b1, b2, b3 = t(a0), t(a1), t(a2), t(a3)
    for j in range(y.shape[0]):
        y[j] += b0 * x0[j] + b1 * x1[j] + b2 * x2[j] + b3 * x3[j]


@njit_serial
def logistic_terms(x):
    """``(sigmoid(x), log sigmoid(x), log sigmoid(-x))`` from one exp and one log1p, stable for
    any finite x (computed in float64 whatever the input type)."""
    x = np.float64(x)
    e = math.exp(-abs(x))
    l1p = math.log1p(e)
    if x >= 0.0:
        return 1.0 / (1.0 + e), -l1p, -x - l1p
    return e / (1.0 + e), x - l1p, -l1p


@njit_serial
def _atanh_series(w):
    """sum_{j=0..16} w^j / (2j + 1), Horner, written out so LLVM vectorises the caller's loop.
    With w = z^2 <= 1/9 the truncation error is below 1e-17."""
    p = 1.0 / 33.0
    p = p * w + 1.0 / 31.0
    p = p * w + 1.0 / 29.0
    p = p * w + 1.0 / 27.0
    p = p * w + 1.0 / 25.0
    p = p * w + 1.0 / 23.0
    p = p * w + 1.0 / 21.0
    p = p * w + 1.0 / 19.0
    p = p * w + 1.0 / 17.0
    p = p * w + 1.0 / 15.0
    p = p * w + 1.0 / 13.0
    p = p * w + 1.0 / 11.0
    p = p * w + 1.0 / 9.0
    p = p * w + 1.0 / 7.0
    p = p * w + 1.0 / 5.0
    p = p * w + 1.0 / 3.0
    return p * w + 1.0


@njit_serial
def logistic_terms_block(scores, sig_out, log1p_out, bits):
    """Vectorised :func:`logistic_terms` over a block (float64 arrays of equal length):
    ``sig_out = sigmoid(scores)`` and ``log1p_out = log1p(exp(-|scores|))``, so that
    ``-log sigmoid(s) = log1p_out + max(-s, 0)`` and ``-log sigmoid(-s) = log1p_out + max(s, 0)``.
    bits: int64 scratch. Branch-free, no libm call: the trainer's hot path."""
    n = scores.shape[0]
    for j in range(n):
        sig_out[j] = -abs(scores[j])
    exp_nonpos_scratch(sig_out[:n], bits)
    for j in range(n):
        e = sig_out[j]
        z = e / (2.0 + e)  # log1p(e) = 2 atanh(z), z in (0, 1/3] for e in (0, 1]
        log1p_out[j] = 2.0 * z * _atanh_series(z * z)
        sig_out[j] = (1.0 if scores[j] >= 0.0 else e) / (1.0 + e)
