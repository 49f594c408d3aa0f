"""GPU kernels and trainer against the CPU kernels and reference.py.

Not collected on its own (no ``test_`` prefix): ``tests/test_gpu.py`` runs this file under
Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) in every CI run, and again on a real GPU
when one is present. Problems are small: the simulator runs every GPU thread as a Python thread.
"""

import math

import numpy as np
import pytest
from conftest import assert_close, make_problem

from nbw2v import losses as cpu
from nbw2v import reference
from nbw2v.gpu.device import gpu_status, simulator_enabled

USABLE, WHY = gpu_status()
pytestmark = pytest.mark.skipif(not USABLE, reason=WHY)
SIM = simulator_enabled()
THREADS = 32 if SIM else 0  # the simulator: the smallest block; a GPU: the wrappers' choice
TOL = {np.float32: 3e-5, np.float64: 1e-11}

if USABLE:
    from nbw2v.gpu import losses as gpu


def backends():
    return ["kernel"] if gpu.matmul_backend("auto") == "kernel" else ["kernel", "cublas"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_softmax_matches_the_cpu_kernel_and_the_reference(rng, dtype):
    n_pairs, n_words, dim = 4, 9, 6
    X, U = make_problem(rng, n_words, dim, dtype)
    X = X[:n_pairs].copy()
    outside = np.array([0, 3, 3, 8])
    want = [reference.naive_softmax_loss_and_grad(X[b], outside[b], U) for b in range(n_pairs)]
    cpu_losses, cpu_gx, cpu_gu = np.empty(n_pairs), np.empty((n_pairs, dim), dtype), np.empty((n_words, dim), dtype)
    cpu.softmax_batch_loss_grad(X, outside, U, cpu_losses, cpu_gx, cpu_gu)
    for backend in backends():
        losses, gx, gu = np.empty(n_pairs), np.empty((n_pairs, dim), dtype), np.empty((n_words, dim), dtype)
        total = gpu.softmax_batch_loss_grad(X, outside, U, losses, gx, gu, matmul=backend, threads=THREADS)
        assert total == pytest.approx(sum(w[0] for w in want), rel=TOL[dtype])
        assert_close(losses, [w[0] for w in want], TOL[dtype])
        assert_close(gx, np.stack([w[1] for w in want]), TOL[dtype])
        assert_close(gu, sum(w[2] for w in want), TOL[dtype])
        assert_close(gx, cpu_gx, TOL[dtype])
        assert_close(gu, cpu_gu, TOL[dtype])


def test_softmax_closed_form_case_of_math_md():
    U = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    v_c = np.array([[0.5, 0.5]])
    losses, gx, gu = np.empty(1), np.empty((1, 2)), np.empty((3, 2))
    gpu.softmax_batch_loss_grad(v_c, np.array([0]), U, losses, gx, gu, threads=THREADS)
    assert losses[0] == pytest.approx(math.log(2 * math.exp(0.5) + math.exp(-0.5)) - 0.5, rel=1e-14)
    yhat = np.exp([0.5, 0.5, -0.5]) / np.exp([0.5, 0.5, -0.5]).sum()
    assert_close(gx[0], U.T @ (yhat - [1, 0, 0]), 1e-14)
    assert_close(gu, np.outer(yhat - [1, 0, 0], v_c[0]), 1e-14)


def test_softmax_is_stable_for_huge_scores(rng):
    X, U = make_problem(rng, 8, 4, np.float64, scale=30.0)  # scores of order 1e3: exp() would overflow
    X = X[:2].copy()
    losses, gx, gu = np.empty(2), np.empty((2, 4)), np.empty((8, 4))
    gpu.softmax_batch_loss_grad(X, np.array([1, 5]), U, losses, gx, gu, threads=THREADS)
    want = [reference.naive_softmax_loss_and_grad(X[b], o, U)[0] for b, o in enumerate([1, 5])]
    assert np.isfinite(losses).all() and np.isfinite(gu).all()
    assert_close(losses, want, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shared_negative_windows_match_the_cpu_kernel(rng, dtype):
    """Three windows at once, of 4, 2 and 3 context words (padded), repeated words included."""
    X, Y = make_problem(rng, 10, 5, dtype, scale=0.7)
    contexts = np.array([[1, 2, 2, 7], [3, 4, 0, 0], [9, 8, 1, 0]])
    n_context = np.array([4, 2, 3])
    targets = np.array([[5, 0, 6, 6], [2, 9, 1, 3], [8, 8, 4, 0]])
    g_in, g_out, losses = np.empty((3, 4, 5), dtype), np.empty((3, 4, 5), dtype), np.empty(3)
    total = gpu.shared_neg_windows_loss_grad(contexts, n_context, targets, X, Y, g_in, g_out, losses, THREADS)
    for b in range(3):
        n = n_context[b]
        want_in, want_out = np.empty((n, 5)), np.empty((4, 5))
        want = cpu.shared_neg_window_loss_grad(
            contexts[b, :n], targets[b], X.astype(np.float64), Y.astype(np.float64), want_in, want_out
        )
        assert losses[b] == pytest.approx(want, rel=TOL[dtype])
        assert_close(g_in[b, :n], want_in, TOL[dtype])
        assert_close(g_out[b], want_out, TOL[dtype])
        ref_loss, ref_in, ref_out = reference.shared_negative_window(X[contexts[b, :n]], Y[targets[b]])
        assert losses[b] == pytest.approx(ref_loss, rel=TOL[dtype])
        assert_close(g_in[b, :n], ref_in, TOL[dtype])
    assert total == pytest.approx(losses.sum(), rel=1e-12)


def test_single_window_has_the_cpu_kernels_interface(rng):
    X, Y = make_problem(rng, 6, 3)
    contexts, targets = np.array([0, 4, 4]), np.array([2, 1, 5])
    got_in, got_out, want_in, want_out = (np.empty((3, 3)) for _ in range(4))
    got = gpu.shared_neg_window_loss_grad(contexts, targets, X, Y, got_in, got_out, threads=THREADS)
    want = cpu.shared_neg_window_loss_grad(contexts, targets, X, Y, want_in, want_out)
    assert got == pytest.approx(want, rel=1e-12)
    assert_close(got_in, want_in, 1e-12)
    assert_close(got_out, want_out, 1e-12)


def test_gpu_trainer_follows_the_cpu_trainer(tmp_path):
    """Same chunks, same random streams, same update: on the simulator (blocks one after another)
    the GPU trainer reproduces the deterministic CPU trainer to float32 round-off; on a real GPU
    blocks run at once (Hogwild), so only the loss is compared, loosely."""
    from nbw2v.config import Config
    from nbw2v.progress import SilentProgress
    from nbw2v.training.train import train

    words = "the king and the queen rule water flows to the sea a cat sat on my mat".split()
    text_rng = np.random.default_rng(3)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(text_rng.choice(words, size=text_rng.integers(3, 9))) for _ in range(24)))

    def config(device):
        cfg = Config()
        cfg.data.corpus, cfg.data.min_count, cfg.data.sample, cfg.data.cache = str(corpus), 1, 1e-2, False
        cfg.model.dim, cfg.model.window, cfg.loss.K, cfg.train.epochs = 8, 2, 3, 1
        cfg.train.chunk_words = cfg.train.gpu_chunk_words = 100
        cfg.train.report_every_s = 0.0
        cfg.train.checkpoint_dir = str(tmp_path / "ckpt")
        if device == "cpu":
            cfg.train.deterministic, cfg.train.threads = True, 1
        else:
            cfg.train.device = "cuda"
        return cfg

    want = train(config("cpu"), progress=SilentProgress())
    got = train(config("cuda"), progress=SilentProgress())
    assert got.stats["gpu"] and np.isfinite(got.vectors).all()
    if SIM:
        assert got.stats["epoch_losses"] == pytest.approx(want.stats["epoch_losses"], rel=1e-7)
        assert_close(got.vectors, want.vectors, 1e-5)
        assert_close(got.output_vectors, want.output_vectors, 1e-5)
    else:
        assert got.stats["epoch_losses"] == pytest.approx(want.stats["epoch_losses"], rel=0.05)
