import os

import numpy as np
import pytest

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def make_problem(rng, n_words, dim, dtype=np.float64, scale=1.0):
    C = (rng.standard_normal((n_words, dim)) * scale).astype(dtype)
    U = (rng.standard_normal((n_words, dim)) * scale).astype(dtype)
    return C, U


def assert_close(actual, expected, rtol):
    """Relative agreement, with the absolute floor scaled to the array's magnitude (entries of a
    gradient can be ~0 where the rest are O(1))."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1e-300, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
