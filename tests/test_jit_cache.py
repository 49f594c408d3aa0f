"""Numba's on-disk cache, parallel kernels included: a second process loads every kernel
from the cache (no recompilation) and gets bit-identical results."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys
import numpy as np
import nbw2v
from nbw2v import losses
rng = np.random.default_rng(0)
U = rng.standard_normal((700, 8)).astype(np.float32)
X = rng.standard_normal((4, 8)).astype(np.float32)
negs = rng.integers(0, 700, (4, 3))
out = {
    "softmax": nbw2v.naive_softmax_loss_and_grad(X[0], 3, U)[0],
    "batch": nbw2v.naive_softmax_loss_and_grad_batch(X, [1, 2, 3, 4], U)[0].tolist(),
    "neg": nbw2v.neg_sampling_loss_and_grad_batch(X, [1, 2, 3, 4], U, negs)[0].tolist(),
    "window": nbw2v.skipgram(0, [1, 2], U, U, "negative", negs[:2])[0],
}
# the calls above are small: the API picks the serial twins; the parallel kernels directly
scores, lo = X @ U.T, np.empty(4)
losses.softmax_rows_inplace(scores, np.array([1, 2, 3, 4]), lo)
out["rows"] = lo.tolist()
rows = np.empty((4, 4, 8), np.float32)
out["neg_parallel"] = losses.neg_batch_loss_grad(X, np.array([1, 2, 3, 4]), U, negs, np.empty(4),
                                                 np.empty_like(X), rows)
from nbw2v.losses.negative import neg_batch_loss_grad_serial
from nbw2v.losses.softmax import softmax_rows_inplace_serial
kernels = [losses.softmax_window_loss_grad_serial, losses.softmax_rows_inplace, losses.neg_batch_loss_grad,
           softmax_rows_inplace_serial, neg_batch_loss_grad_serial,
           losses.neg_pair_loss_grad, losses.neg_window_loss_grad, losses.scatter_add_rows]
out["hits"] = sum(sum(k.stats.cache_hits.values()) for k in kernels)
out["misses"] = sum(sum(k.stats.cache_misses.values()) for k in kernels)
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT", "0") != "0", reason="no JIT, no cache")
def test_second_process_loads_kernels_from_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NBW2V_NO_CACHE", None)
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["misses"] > 0  # compiled and written
    assert second["misses"] == 0 and second["hits"] >= 7  # every kernel the script dispatches
    for key in ("softmax", "batch", "neg", "window", "rows", "neg_parallel"):
        assert first[key] == second[key]
