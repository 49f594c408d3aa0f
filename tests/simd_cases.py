"""The skip-gram and CBOW steps computed through :mod:`nbw2v._simd`, for comparing its two ways
of reading and writing a row's chunks and of blocking the scores (``nbw2v._simd.AVX512``: masked
instructions for every chunk and 2 x 4 blocks of scores, as on AVX-512 machines; a plain access
for full chunks, a masked one for the last, and 2 x 2 blocks, as on AVX2 machines). A process
compiles only one of them, so ``tests/test_kernels.py`` runs
the other in a child process: ``python tests/simd_cases.py OUT.npz`` flips the host's choice
before anything compiles and saves the results. Not collected on its own (no ``test_`` prefix).
"""

import sys

import numpy as np


def simd_cases() -> dict[str, np.ndarray]:
    """Steps on fixed problems at row lengths with and without a partial last chunk."""
    from nbw2v._simd import AVX512
    from nbw2v.losses.sgd import cbow_step, window_step

    rng = np.random.default_rng(11)
    out = {"avx512": np.array(AVX512)}
    for dtype in (np.float32, np.float64):
        for d in (3, 16, 100):
            n_rows, n, m = 40, 7, 6
            X = (rng.standard_normal((n_rows, d)) * 0.3).astype(dtype)
            Y = (rng.standard_normal((n_rows, d)) * 0.3).astype(dtype)
            W = rng.integers(0, n_rows, n)
            T = rng.integers(0, n_rows, m)
            labels = np.tile(np.r_[1.0, np.zeros(m - 1)], n)
            key = f"{np.dtype(dtype).name}_{d}"
            Xs, Ys = X.copy(), Y.copy()
            scratch = np.empty((n, d), dtype), np.empty((2, n * m), dtype)
            loss = window_step(Xs, Ys, W, 0, n, T, m, labels, 0.05, *scratch)
            out[f"window_{key}"] = np.concatenate([[loss], Xs.ravel(), Ys.ravel()])
            Xc, Yc = X.copy(), Y.copy()
            loss = cbow_step(Xc, Yc, W, n, T, m, labels, 0.05, np.empty((1, d), dtype), np.empty((2, m), dtype))
            out[f"cbow_{key}"] = np.concatenate([[loss], Xc.ravel(), Yc.ravel()])
    return out


if __name__ == "__main__":
    import nbw2v._simd

    nbw2v._simd.AVX512 = not nbw2v._simd.AVX512  # before the first compile
    np.savez(sys.argv[1], **simd_cases())
