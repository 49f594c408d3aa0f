"""Numba kernels (through the public API and directly) against the float64 reference.

Also run with NUMBA_DISABLE_JIT=1 by tests/test_nojit.py.
"""

import numba
import numpy as np
import pytest
from conftest import JIT_DISABLED, assert_close, make_problem

import nbw2v
from nbw2v import losses, reference
from nbw2v._fastexp import exp_nonpos, exp_nonpos_inplace
from nbw2v._jit import njit_serial

SIZES = [(1, 1), (5, 3), (37, 16), (1100, 8)]  # 1100 > CHUNK: several reduction chunks


@pytest.mark.parametrize("n_words,dim", SIZES)
def test_softmax_pair_matches_reference(rng, n_words, dim):
    C, U = make_problem(rng, n_words, dim)
    for o in {0, n_words - 1, int(rng.integers(n_words))}:
        got = nbw2v.naive_softmax_loss_and_grad(C[0], o, U)
        want = reference.naive_softmax_loss_and_grad(C[0], o, U)
        assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-12)
        assert_close(got[1], want[1], 1e-12)
        assert_close(got[2], want[2], 1e-12)


@pytest.mark.parametrize("n_words,dim", SIZES)
@pytest.mark.parametrize("n_neg", [1, 5, 15])
def test_negative_pair_matches_reference(rng, n_words, dim, n_neg):
    C, U = make_problem(rng, n_words, dim)
    o = int(rng.integers(n_words))
    negs = rng.integers(0, n_words, n_neg)
    negs[0] = o  # a negative equal to the outside word
    if n_neg > 2:
        negs[2] = negs[1]  # a word drawn twice
    got = nbw2v.neg_sampling_loss_and_grad(C[1 % n_words], o, U, negs)
    want = reference.neg_sampling_loss_and_grad(C[1 % n_words], o, U, negs)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert_close(got[1], want[1], 1e-12)
    assert_close(got[2], want[2], 1e-12)


@pytest.mark.parametrize("loss", ["softmax", "negative"])
@pytest.mark.parametrize("n_words,dim", SIZES[1:])
def test_skipgram_window_matches_reference(rng, loss, n_words, dim):
    C, U = make_problem(rng, n_words, dim)
    center = int(rng.integers(n_words))
    outside = rng.integers(0, n_words, 6)
    outside[3] = outside[0]  # a word twice in the window
    negs = rng.integers(0, n_words, (6, 5)) if loss == "negative" else None
    got = nbw2v.skipgram(center, outside, C, U, loss, negs)
    want = reference.skipgram(center, outside, C, U, loss, negs)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert_close(got[1], want[1], 1e-12)
    assert_close(got[2], want[2], 1e-12)


@pytest.mark.parametrize("scale", [50.0, 400.0])
def test_large_scores_stay_finite_and_exact(rng, scale):
    """Scores of magnitude 50+ (here up to ~1e3): no overflow, no NaN, still equal to the oracle."""
    C, U = make_problem(rng, 40, 4)
    v_c = C[0] / np.linalg.norm(C[0]) * scale
    assert np.abs(U @ v_c).max() > 50
    negs = rng.integers(0, 40, 10)
    for got, want in (
        (nbw2v.naive_softmax_loss_and_grad(v_c, 3, U), reference.naive_softmax_loss_and_grad(v_c, 3, U)),
        (
            nbw2v.neg_sampling_loss_and_grad(v_c, 3, U, negs),
            reference.neg_sampling_loss_and_grad(v_c, 3, U, negs),
        ),
    ):
        assert np.isfinite(got[0]) and all(np.isfinite(g).all() for g in got[1:])
        assert got[0] == pytest.approx(want[0], rel=1e-12)
        assert_close(got[1], want[1], 1e-12)
        assert_close(got[2], want[2], 1e-12)
    for dtype in (np.float32, np.float64):
        losses_b, g_c, g_u = nbw2v.naive_softmax_loss_and_grad_batch(
            np.stack([v_c, -v_c]).astype(dtype), [3, 5], U.astype(dtype)
        )
        assert np.isfinite(losses_b).all() and np.isfinite(g_c).all() and np.isfinite(g_u).all()


@pytest.mark.parametrize("fn", ["softmax", "negative", "skipgram"])
def test_float32_runs_in_float32_and_agrees_with_float64(rng, fn):
    C, U = make_problem(rng, 300, 20, scale=0.3)
    negs = rng.integers(0, 300, (3, 5))
    calls = {
        "softmax": lambda C, U: nbw2v.naive_softmax_loss_and_grad(C[0], 7, U),
        "negative": lambda C, U: nbw2v.neg_sampling_loss_and_grad(C[0], 7, U, negs[0]),
        "skipgram": lambda C, U: nbw2v.skipgram(0, [7, 8, 9], C, U, "negative", negs),
    }[fn]
    lo = calls(C.astype(np.float32), U.astype(np.float32))
    hi = calls(C, U)
    assert all(g.dtype == np.float32 for g in lo[1:])
    assert all(g.dtype == np.float64 for g in hi[1:])
    assert lo[0] == pytest.approx(hi[0], rel=1e-5)
    for a, b in zip(lo[1:], hi[1:], strict=True):
        assert_close(a, b, 1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_softmax_equals_pairs(rng, dtype):
    C, U = make_problem(rng, 700, 12, dtype)
    outside = rng.integers(0, 700, 9)
    losses_b, g_c, g_u = nbw2v.naive_softmax_loss_and_grad_batch(C[:9], outside, U)
    assert g_c.dtype == dtype and g_u.dtype == dtype
    g_u_sum = np.zeros((700, 12))
    for b in range(9):
        loss, g_v, g_ub = reference.naive_softmax_loss_and_grad(C[b], outside[b], U)
        assert losses_b[b] == pytest.approx(loss, rel=1e-12 if dtype == np.float64 else 1e-5)
        assert_close(g_c[b], g_v, 1e-12 if dtype == np.float64 else 1e-5)
        g_u_sum += g_ub
    assert_close(g_u, g_u_sum, 1e-12 if dtype == np.float64 else 1e-5)


def test_batched_negative_equals_pairs(rng):
    C, U = make_problem(rng, 50, 6)
    outside = rng.integers(0, 50, 11)
    negs = rng.integers(0, 50, (11, 4))
    negs[0, 0] = outside[0]
    losses_b, g_c, g_u = nbw2v.neg_sampling_loss_and_grad_batch(C[:11], outside, U, negs)
    g_u_sum = np.zeros_like(U)
    for b in range(11):
        loss, g_v, g_ub = reference.neg_sampling_loss_and_grad(C[b], outside[b], U, negs[b])
        assert losses_b[b] == pytest.approx(loss, rel=1e-12)
        assert_close(g_c[b], g_v, 1e-12)
        g_u_sum += g_ub
    assert_close(g_u, g_u_sum, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_negative_step_equals_params_minus_lr_grad(rng, dtype):
    C, U = make_problem(rng, 20, 7, dtype)
    negs = np.array([4, 4, 2, 9, 2], np.int64)  # duplicates, and 2 is also the outside word
    loss, g_c, g_u = nbw2v.neg_sampling_loss_and_grad(C[5], 2, U, negs)
    C_new, U_new, lr = C.copy(), U.copy(), 0.05
    step_loss = losses.sgd_step_neg(C_new, U_new, 5, 2, negs, lr, np.empty(7, dtype), np.empty(6))
    tol = 1e-12 if dtype == np.float64 else 2e-6
    assert step_loss == pytest.approx(loss, rel=1e-12)
    want_C = C.copy()
    want_C[5] -= lr * g_c
    assert_close(C_new, want_C, tol)
    assert_close(U_new, U - lr * g_u, tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_step_equals_params_minus_lr_grad(rng, dtype):
    C, U = make_problem(rng, 900, 5, dtype)
    window = np.array([3, 8, 3, 0], np.int64)
    loss, g_C, g_U = nbw2v.skipgram(6, window, C, U, "softmax")
    C_new, U_new, lr = C.copy(), U.copy(), 0.1
    step_loss = losses.sgd_step_softmax(C_new, U_new, 6, window, lr, np.empty(5, dtype), np.empty_like(U))
    tol = 1e-12 if dtype == np.float64 else 2e-6
    assert step_loss == pytest.approx(loss, rel=1e-12)
    assert_close(C_new, C - lr * g_C, tol)
    assert_close(U_new, U - lr * g_U, tol)


@pytest.mark.parametrize("dtype,x_min", [(np.float32, -87.0), (np.float64, -708.0)])
def test_fast_exp_accuracy(rng, dtype, x_min):
    x = np.concatenate([[0.0, -1e-30, -0.5, x_min + 0.5], -rng.exponential(20.0, 5000)]).astype(dtype)
    x = x[x >= x_min]
    got = x.copy()

    @numba.njit
    def run(a):
        exp_nonpos_inplace(a)

    run(got)
    want = np.exp(x.astype(np.float64))
    rel = np.abs(got - want) / want
    assert rel.max() < (3e-7 if dtype == np.float32 else 1e-15)
    below = np.array([x_min - 50.0, -np.inf], dtype)
    run(below)  # clamped: tiny, finite, non-negative, never NaN
    assert np.all(np.isfinite(below)) and np.all(below >= 0) and np.all(below < 1e-37)
    one_at_a_time = np.empty_like(x)  # the scalar form (the trainer's logistic pass): the same values

    @numba.njit
    def run_scalar(a, out):
        for j in range(a.shape[0]):
            out[j] = exp_nonpos(a[j])

    run_scalar(x, one_at_a_time)
    assert one_at_a_time.dtype == dtype and np.array_equal(one_at_a_time, got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_vectors_load_and_store_only_their_lanes(rng, dtype):
    """nbw2v._simd: a vector of ``lanes`` elements; a load of k lanes reads ``a[row, j:j+k]``
    and zero-fills the rest (nothing past k is read: here the last k elements of the array's
    last row), a store writes only ``a[row, j:j+k]``; fma, add, splat and sum lane-wise."""
    from nbw2v._simd import lanes, vadd, vfma, vload, vsplat, vstore, vsum, vzero

    @numba.njit
    def run(a, out, k, j):
        v = vload(a, a.shape[0] - 1, j, k)
        vstore(out, 1, 2, vadd(vfma(v, vsplat(a, 2.0), vzero(a)), vsplat(a, 0.5)), k)
        return vsum(v), lanes(a)

    width = 16 if dtype == np.float32 else 8
    for k in range(1, width + 1):
        a = rng.standard_normal((3, k + 3)).astype(dtype)  # the loaded lanes end the array
        out = np.full((3, width + 4), 7.0, dtype)
        total, n_lanes = run(a, out, k, 3)
        want = out.copy()
        want[1, 2 : 2 + k] = 2.0 * a[-1, 3:] + 0.5
        assert n_lanes == width and np.array_equal(out, want)
        assert total == pytest.approx(a[-1, 3:].astype(np.float64).sum(), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_lanewise_math_of_the_logistic_pass(rng, dtype):
    """The vector operations of the logistic pass, lane by lane as NumPy (masked loads: the
    lanes past k are zeros), the float64 labels cast to the vectors' type, the sum of the first
    k lanes in float64, and the vector exp equal to the scalar one lane by lane."""
    from nbw2v._fastexp import exp_nonpos, exp_nonpos_vector
    from nbw2v._simd import (
        vabs,
        vdiv,
        vfloor,
        vload,
        vload_cast,
        vmax,
        vmul,
        vpow2,
        vstore,
        vsub,
        vsum_first,
        vwhere_ge,
    )  # fmt: skip

    @numba.njit
    def run(a, labels, out, k):
        x, y = vload(a, 0, 0, k), vload(a, 1, 0, k)
        vstore(out, 0, 0, vmul(x, y), k)
        vstore(out, 1, 0, vsub(x, y), k)
        vstore(out, 2, 0, vdiv(x, vabs(y)), k)
        vstore(out, 3, 0, vmax(x, y), k)
        vstore(out, 4, 0, vfloor(x), k)
        vstore(out, 5, 0, vwhere_ge(x, y, vabs(x), vload_cast(a, labels, 0, k)), k)
        vstore(out, 6, 0, vpow2(vfloor(x)), k)
        vstore(out, 7, 0, exp_nonpos_vector(vsub(vsub(x, x), vabs(x))), k)
        return vsum_first(x, k)

    @numba.njit
    def scalar_exp(v, out):
        for j in range(v.shape[0]):
            out[j] = exp_nonpos(v[j])

    width = 16 if dtype == np.float32 else 8
    for k in range(1, width + 1):
        a = (rng.standard_normal((2, width)) * 4).astype(dtype)
        a[1, :k] += np.where(a[1, :k] == 0, 1, 0).astype(dtype)
        labels = rng.random(width)
        out = np.full((8, width), 7.0, dtype)
        total = run(a, labels, out, k)
        x, y = a[0, :k], a[1, :k]
        picked = np.where(x >= y, np.abs(x), labels[:k].astype(dtype))
        powers = np.ldexp(dtype(1), np.floor(x).astype(int))
        want = [x * y, x - y, x / np.abs(y), np.maximum(x, y), np.floor(x), picked, powers]
        for row, w in enumerate(want):
            assert np.array_equal(out[row, :k], w.astype(dtype)), row
        scalar = np.empty(k, dtype)
        scalar_exp(-np.abs(x), scalar)
        assert np.array_equal(out[7, :k], scalar)
        assert np.all(out[:, k:] == 7.0)  # masked stores: nothing past k
        assert total == pytest.approx(x.astype(np.float64).sum(), rel=1e-12, abs=1e-12)


@pytest.mark.skipif(JIT_DISABLED, reason="machine code needs the JIT")
def test_prefetch_row_is_only_a_hint():
    """The trainer prefetches the next center's negative rows: an instruction in the machine
    code that changes no value (in plain Python a no-op)."""
    from nbw2v._prefetch import prefetch_row

    @numba.njit
    def touch(a, r):
        prefetch_row(a, r)
        return a[r].sum()

    a = np.arange(3 * 100, dtype=np.float32).reshape(3, 100)
    before = a.copy()
    assert touch(a, 2) == a[2].sum() and np.array_equal(a, before)
    assert "prefetch" in touch.inspect_asm(touch.signatures[0])  # prefetchw or prefetcht0


@pytest.mark.skipif(JIT_DISABLED, reason="machine code needs the JIT")
def test_prefetch_item_is_only_a_hint():
    """The trainer prefetches the alias-table entries of the draw after next: an instruction
    that changes no value (in plain Python a no-op)."""
    from nbw2v._prefetch import prefetch_item

    @numba.njit
    def touch(v, i):
        prefetch_item(v, i)
        return v[i]

    v = np.arange(1000.0)
    assert touch(v, 999) == 999.0 and np.array_equal(v, np.arange(1000.0))
    assert "prefetch" in touch.inspect_asm(touch.signatures[0])


@pytest.mark.skipif(JIT_DISABLED, reason="machine code needs the JIT")
def test_logistic_block_divides_in_vectors():
    """Numba's default (Python) error model tests every division for zero, and that branch
    kept the logistic pass scalar; nbw2v._jit compiles with NumPy's model, so its divisions
    are packed (``divps``), and a division by zero gives inf, not an exception."""
    from nbw2v.losses._scalar import logistic_coefficients

    fresh = njit_serial(logistic_coefficients.py_func, cache=False)  # cached code has no assembly to read
    work = np.zeros((2, 64), np.float32)
    fresh(work, 64, 0.1, np.zeros(64))
    assert "divps" in fresh.inspect_asm(fresh.signatures[0])  # vdivps with AVX, divps with SSE only

    @njit_serial(cache=False)
    def divide(a, b):
        return a / b

    assert divide(1.0, 0.0) == np.inf


@pytest.mark.parametrize("dtype,tol", [(np.float32, 3e-7), (np.float64, 1e-15)])
def test_logistic_block_in_its_own_type(rng, dtype, tol):
    """The trainer's logistic pass runs in the vectors' type: the coefficients ``lr (label -
    sigmoid(s))`` and the loss ``log1p(exp(-|s|)) + max(-+s, 0)`` to float32 precision in
    float32 (twice as wide, 7 series terms), to 1e-15 in float64, for either label."""
    from nbw2v.losses._scalar import logistic_coefficients

    s = np.concatenate([[0.0, 1e-8, -1e-8, 40.0, -40.0, 86.0, -86.0], rng.normal(0, 6, 400)]).astype(dtype)
    x = s.astype(np.float64)
    want_sig, want_l1p = 1.0 / (1.0 + np.exp(-x)), np.log1p(np.exp(-np.abs(x)))
    for label in (1.0, 0.0):
        work = np.full((2, s.shape[0] + 5), 7.0, dtype)  # the columns past n stay untouched
        work[0, : s.shape[0]] = s
        lr = 0.25
        loss = logistic_coefficients(work, s.shape[0], lr, np.full(s.shape[0], label))
        assert np.array_equal(work[0, : s.shape[0]], s) and np.all(work[:, s.shape[0] :] == 7.0)
        assert work.dtype == dtype
        got_sig = label - work[1, : s.shape[0]].astype(np.float64) / lr
        if label == 0.0:  # -lr sigmoid(s): relative precision even for tiny sigmoids
            assert (np.abs(got_sig - want_sig) / want_sig).max() < 4 * tol
        else:  # lr (1 - sigmoid(s)), rounded in the type: absolute precision
            assert np.abs(got_sig - want_sig).max() < 4 * tol
        want_terms = want_l1p + np.maximum((1.0 - 2.0 * label) * x, 0.0)
        assert loss == pytest.approx(want_terms.sum(), rel=4 * tol)
        for j in range(0, s.shape[0], 37):  # one score at a time: each term to the type's precision
            one = np.array([[s[j]], [0.0]], dtype)
            term = logistic_coefficients(one, 1, lr, np.array([label]))
            assert term == pytest.approx(want_terms[j], rel=tol, abs=1e-37)


@pytest.mark.skipif(JIT_DISABLED or numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_parallel_kernels_are_deterministic_across_thread_counts(rng):
    C, U = make_problem(rng, 5000, 32, np.float32)
    outside = rng.integers(0, 5000, 64)
    negs = rng.integers(0, 5000, (64, 5))
    window = outside[:6]
    before = numba.get_num_threads()
    results = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results[threads] = (
                nbw2v.skipgram(3, window, C, U, "softmax"),
                nbw2v.naive_softmax_loss_and_grad_batch(C[:64], outside, U),
                nbw2v.neg_sampling_loss_and_grad_batch(C[:64], outside, U, negs),
            )
    finally:
        numba.set_num_threads(before)
    for one, two in zip(results[1], results[2], strict=True):
        for a, b in zip(one, two, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_batch_kernels_serial_twins_agree_and_are_picked_for_small_batches():
    """Small batches skip the thread pool (35-90 us to wake for a few microseconds of work)."""
    from nbw2v._jit import SERIAL_BATCH_BELOW
    from nbw2v.losses import hs_batch_kernel, hs_batch_loss_grad, huffman_tree, neg_batch_kernel
    from nbw2v.losses import neg_batch_loss_grad as neg_parallel
    from nbw2v.losses.hierarchical import hs_batch_loss_grad_serial
    from nbw2v.losses.negative import neg_batch_loss_grad_serial
    from nbw2v.losses.softmax import SERIAL_ROWS_BELOW, softmax_rows_inplace, softmax_rows_inplace_serial

    rng = np.random.default_rng(4)
    X, U = rng.standard_normal((6, 8)), rng.standard_normal((40, 8))
    o, negs = rng.integers(0, 40, 6), rng.integers(0, 40, (6, 3))
    tree = huffman_tree(np.arange(40, 0, -1))
    results = []
    for neg_kernel, hs_kernel in (
        (neg_parallel, hs_batch_loss_grad),
        (neg_batch_loss_grad_serial, hs_batch_loss_grad_serial),
    ):
        ln, gn, rn = np.empty(6), np.empty((6, 8)), np.empty((6, 4, 8))
        lh, gh, rh = np.empty(6), np.empty((6, 8)), np.zeros((6, tree.points.shape[1], 8))  # rows past a path: 0
        neg_kernel(X, o, U, negs, ln, gn, rn)
        hs_kernel(X, o, U, tree, lh, gh, rh)
        scores = X @ U.T
        losses = np.empty(6)
        (softmax_rows_inplace if neg_kernel is neg_parallel else softmax_rows_inplace_serial)(scores, o, losses)
        results.append((ln, gn, rn, lh, gh, rh, scores, losses))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert neg_batch_kernel(1, 11, 3) is neg_batch_loss_grad_serial
    assert neg_batch_kernel(SERIAL_BATCH_BELOW, 1, 1) is neg_parallel
    assert hs_batch_kernel(1, 20, 3) is hs_batch_loss_grad_serial
    assert hs_batch_kernel(SERIAL_BATCH_BELOW, 1, 1) is hs_batch_loss_grad
    assert SERIAL_ROWS_BELOW > 5 * 40  # a batch of this size takes the serial exp pass


def test_the_serial_twin_equals_the_parallel_kernel_and_is_picked_for_small_problems():
    from nbw2v.losses import (
        softmax_window_kernel,
        softmax_window_loss_grad,
        softmax_window_loss_grad_serial,
    )
    from nbw2v.losses.softmax import SERIAL_BELOW_VD

    rng = np.random.default_rng(3)
    U, v = rng.standard_normal((1500, 16)), rng.standard_normal(16)
    words = np.array([3, 7, 3], np.int64)
    out = []
    for kernel in (softmax_window_loss_grad, softmax_window_loss_grad_serial):
        gc, go = np.empty(16), np.empty((1500, 16))
        out.append((kernel(v, words, U, gc, go), gc, go))
    # the same math; the two compilations vectorise differently (last-ulp differences)
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-13)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-12, atol=1e-15)
    assert softmax_window_kernel(5, 3) is softmax_window_loss_grad_serial
    assert softmax_window_kernel(SERIAL_BELOW_VD, 1) is softmax_window_loss_grad


@pytest.mark.skipif(JIT_DISABLED, reason="compiled code only: without the JIT both ways are NumPy")
def test_simd_avx512_and_avx2_ways_give_identical_steps(tmp_path):
    """_simd reads and writes a row's full chunks with masked instructions on AVX-512 machines
    and with plain ones elsewhere (AVX2: a masked store there is microcoded, 1.9x slower
    training), and the window step blocks its scores 2 x 4 or 2 x 2 (AVX2's 16 registers): the
    skip-gram and CBOW steps are bit-identical either way. This process compiles
    the host's way; a child process (no kernel cache: nothing compiled the other way is kept)
    the other."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from simd_cases import simd_cases

    here = simd_cases()
    env = {**os.environ, "NBW2V_NO_CACHE": "1"}
    script = Path(__file__).with_name("simd_cases.py")
    subprocess.run([sys.executable, str(script), str(tmp_path / "other.npz")], check=True, env=env, timeout=600)
    other = dict(np.load(tmp_path / "other.npz"))
    assert bool(other.pop("avx512")) != bool(here.pop("avx512"))
    assert sorted(other) == sorted(here)
    for key, values in here.items():
        assert np.array_equal(values, other[key]), key
