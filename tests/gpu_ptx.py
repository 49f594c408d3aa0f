"""Compile every GPU kernel to PTX for an H100/H200 (sm_90) on a machine without a GPU: catches
what the CUDA simulator cannot (Numba typing for the CUDA target). Run by tests/test_gpu.py in a
subprocess; prints one line per kernel, or SKIP when NVVM/NVRTC are not installed."""

import sys

import numba.cuda.dispatcher as dispatcher
from numba import cuda, float32, float64, int32, int64


class _Sm90:
    compute_capability = (9, 0)


# device functions are compiled for "the current device": there is none here, so name one
dispatcher.get_current_device = lambda: _Sm90()

from nbw2v.gpu import kernels  # noqa: E402

f32, f64 = float32[:, ::1], float64[:, ::1]
SIGNATURES = {
    "softmax_rows": [(f32, int64[::1], float64[::1]), (f64, int64[::1], float64[::1])],
    "gemm": [(f32, f32, f32, int64, int64), (f64, f64, f64, int64, int64)],
    "shared_neg_windows": [
        (int64[:, ::1], int64[::1], int64[:, ::1], m, m, m3, m3, float64[::1])
        for m, m3 in ((f32, float32[:, :, ::1]), (f64, float64[:, :, ::1]))
    ],
    "train_sgns": [
        (
            f32,
            f32,
            int32[::1],
            int64[::1],
            int64[::1],
            int64[::1],
            float32[::1],
            float64[::1],
            int32[::1],
            int32[::1],
            int64,
            int64,
            int64,
            int64,
            int64,
            int64,
            float64,
            float64,
            int64,
            int64,
            float64[::1],
            int64[::1],
        )
    ],  # fmt: skip
}

try:
    for name, signatures in SIGNATURES.items():
        for signature in signatures:
            ptx, _ = cuda.compile_ptx(getattr(kernels, name).py_func, signature, cc=(9, 0))
            print(f"{name}: {len(ptx)} bytes of PTX")
except Exception as exc:  # noqa: BLE001
    if "libnvrtc" in str(exc) or "libnvvm" in str(exc) or "NVVM" in type(exc).__name__:
        print(f"SKIP: the CUDA compiler libraries are not installed ({str(exc).splitlines()[0]})")
        sys.exit(0)
    raise
