"""Small numerically stable building blocks shared by the loss kernels."""

from __future__ import annotations

import math

import numpy as np

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
    """``log sigmoid(x) = -log1p(exp(-x))``, stable for large ``|x|`` (MATH.md section 2)."""
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
def logistic_terms(x):
    """``(sigmoid(x), log sigmoid(x), log sigmoid(-x))`` from one exp and one log1p, stable for
    any finite x (computed in float64 whatever the input type)."""
    x = np.float64(x)
    e = math.exp(-abs(x))
    l1p = math.log1p(e)
    if x >= 0.0:
        return 1.0 / (1.0 + e), -l1p, -x - l1p
    return e / (1.0 + e), x - l1p, -l1p
