"""Host wrappers of the GPU loss kernels, with the CPU kernels' interface.

Inputs may be NumPy arrays (copied to the GPU, results copied back into the given output
arrays) or device arrays (Numba device arrays or anything with ``__cuda_array_interface__``,
such as CuPy arrays: no copy, outputs stay on the device). No validation here: like
:mod:`nbw2v.losses`, these are the low-level kernels (the checked API is :mod:`nbw2v.api`).

Matrix products of the batched softmax: ``matmul="cublas"`` (CuPy), ``"kernel"`` (the plain
:func:`~nbw2v.gpu.kernels.gemm` kernel) or ``"auto"`` (cuBLAS when CuPy imports and a real GPU
is in use). ``experiments/gpu_check.py`` measures both.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from nbw2v.gpu import kernels
from nbw2v.gpu.device import require_gpu, simulator_enabled
from nbw2v.limits import MAX_CONTEXT, MAX_TARGETS, window_shared_bytes

_GEMM_TILE = 16


def _cupy():
    if simulator_enabled():
        return None
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def matmul_backend(matmul: str = "auto") -> str:
    if matmul not in {"auto", "cublas", "kernel"}:
        raise ValueError(f"matmul={matmul!r}: expected 'auto', 'cublas' or 'kernel'")
    if matmul == "auto":
        return "cublas" if _cupy() is not None else "kernel"
    if matmul == "cublas" and _cupy() is None:
        raise ValueError("matmul='cublas' needs CuPy on a real GPU (pip install cupy-cuda12x); use 'kernel'")
    return matmul


def _on_device(array):
    """(device array, was it copied from the host)."""
    if isinstance(array, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(array)), True
    as_cuda_array = getattr(cuda, "as_cuda_array", None)  # (the simulator's arrays are already its own)
    return (as_cuda_array(array) if as_cuda_array is not None else array), False


def _gemm(a, b, out, trans_a: bool, trans_b: bool, backend: str) -> None:
    """out = op(a) @ op(b) on the device."""
    if backend == "cublas":
        cp = _cupy()
        x, y = cp.asarray(a), cp.asarray(b)
        cp.matmul(x.T if trans_a else x, y.T if trans_b else y, out=cp.asarray(out))
        return
    rows, cols = out.shape
    grid = ((cols + _GEMM_TILE - 1) // _GEMM_TILE, (rows + _GEMM_TILE - 1) // _GEMM_TILE)
    kernels.gemm[grid, (_GEMM_TILE, _GEMM_TILE)](a, b, out, int(trans_a), int(trans_b))


def softmax_batch_loss_grad(center_vecs, outside_idx, outside_vectors, losses_out, grad_centers_out,
                            grad_outside_out, scores_work=None, matmul: str = "auto", threads: int = 0):  # fmt: skip
    """Naive softmax over B (center, outside) pairs on the GPU; the CPU kernel's contract:
    center_vecs (B, d), outside_idx (B,), outside_vectors (V, d) -> losses_out (B,) float64,
    grad_centers_out (B, d), grad_outside_out (V, d) = sum_b dJ_b/dU. Returns the summed loss."""
    require_gpu("nbw2v.gpu.losses.softmax_batch_loss_grad")
    backend = matmul_backend(matmul)
    x, _ = _on_device(center_vecs)
    o, _ = _on_device(np.asarray(outside_idx, np.int64) if isinstance(outside_idx, np.ndarray) else outside_idx)
    u, _ = _on_device(outside_vectors)
    outs = [_on_device(a) for a in (losses_out, grad_centers_out, grad_outside_out)]
    (losses, _), (grad_c, _), (grad_u, _) = outs
    n_pairs, n_words = x.shape[0], u.shape[0]
    if scores_work is None:
        scores = cuda.device_array((n_pairs, n_words), x.dtype)
    else:
        scores, _ = _on_device(scores_work)
    _gemm(x, u, scores, False, True, backend)  # S = X U^T
    block = threads or kernels.round_threads(n_words // 4)
    kernels.softmax_rows[n_pairs, block](scores, o, losses)  # S -> yhat - y
    _gemm(scores, u, grad_c, False, False, backend)  # dJ/dX = (yhat - y) U
    _gemm(scores, x, grad_u, True, False, backend)  # dJ/dU = (yhat - y)^T X
    for host, (dev, copied) in zip((losses_out, grad_centers_out, grad_outside_out), outs, strict=True):
        if copied:
            dev.copy_to_host(host)
    return float(losses.copy_to_host().sum())


def shared_neg_windows_loss_grad(context_words, n_context, target_words, input_vectors, output_vectors,
                                 grad_inputs_out, grad_outputs_out, losses_out, threads: int = 0):  # fmt: skip
    """B windows at once (one GPU block each), docs/math.md "Shared negatives over a window": window b scores
    context_words[b, :n_context[b]] (input rows) against target_words[b] (output rows; index 0
    the center word, the rest its shared negatives). Writes grad_inputs_out (B, n, d),
    grad_outputs_out (B, m, d) (one row per occurrence) and losses_out (B,) float64; returns
    the summed loss."""
    require_gpu("nbw2v.gpu.losses.shared_neg_windows_loss_grad")
    ctx, _ = _on_device(np.asarray(context_words, np.int64))
    n_ctx, _ = _on_device(np.asarray(n_context, np.int64))
    tgt, _ = _on_device(np.asarray(target_words, np.int64))
    x, _ = _on_device(input_vectors)
    y, _ = _on_device(output_vectors)
    outs = [_on_device(a) for a in (grad_inputs_out, grad_outputs_out, losses_out)]
    (g_in, _), (g_out, _), (losses, _) = outs
    n_windows, nmax, m, dim = ctx.shape[0], ctx.shape[1], tgt.shape[1], x.shape[1]
    if nmax > MAX_CONTEXT or m > MAX_TARGETS:
        raise ValueError(f"at most {MAX_CONTEXT} context words and {MAX_TARGETS} targets per window")
    shared = window_shared_bytes(nmax, m, dim, x.dtype.itemsize)
    block = threads or kernels.round_threads(dim)
    kernels.shared_neg_windows[n_windows, block, 0, shared](ctx, n_ctx, tgt, x, y, g_in, g_out, losses)
    for host, (dev, copied) in zip((grad_inputs_out, grad_outputs_out, losses_out), outs, strict=True):
        if copied:
            dev.copy_to_host(host)
    return float(losses.copy_to_host().sum())


def shared_neg_window_loss_grad(context_words, target_words, input_vectors, output_vectors, grad_inputs_out,
                                grad_outputs_out, threads: int = 0):  # fmt: skip
    """One window: the interface of :func:`nbw2v.losses.shared_neg_window_loss_grad`."""
    losses = np.zeros(1, np.float64)
    n = len(context_words)
    g_in = np.empty((1, n, grad_inputs_out.shape[1]), grad_inputs_out.dtype)
    g_out = np.empty((1, len(target_words), grad_outputs_out.shape[1]), grad_outputs_out.dtype)
    loss = shared_neg_windows_loss_grad(
        np.asarray(context_words)[None, :], np.array([n]), np.asarray(target_words)[None, :],
        input_vectors, output_vectors, g_in, g_out, losses, threads,
    )  # fmt: skip
    grad_inputs_out[:] = g_in[0]
    grad_outputs_out[:] = g_out[0]
    return loss
