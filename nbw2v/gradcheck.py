"""Gradient checks: the analytic kernels against central differences (docs/math.md "The gradient check").

    g_num[i] = (J(x + h e_i) - J(x - h e_i)) / (2 h)
    err[i]   = |g_num[i] - g_analytic[i]| / max(1, |g_num[i]|, |g_analytic[i]|)

Always in float64 (float32 round-off of ~1e-7 / h would swamp the signal). A correct gradient
gives a max error near 1e-9; a wrong one, errors of order 1e-1. The loss evaluations call the
kernels directly, with preallocated buffers, so a check on a small problem takes milliseconds
(cheap enough to log with every training run). ``max_coords`` checks a random subset of the
coordinates of each gradient, for larger (real) problems.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nbw2v import api
from nbw2v.losses import (
    hs_pair_loss_grad,
    hs_window_loss_grad,
    huffman_tree,
    labelled_window_loss_grad,
    neg_pair_loss_grad,
    neg_window_loss_grad,
    softmax_window_kernel,
)
from nbw2v.losses.registry import LOSSES

DEFAULT_STEP = 1e-4
#: Above this a gradient is reported as wrong (docs/math.md: correct ones give ~1e-9).
TOLERANCE = 1e-6


def max_rel_error(
    loss_fn: Callable[[], float],
    x: np.ndarray,
    analytic: np.ndarray,
    h: float = DEFAULT_STEP,
    coords: np.ndarray | None = None,
) -> float:
    """Max relative error between ``analytic`` and central differences of ``loss_fn`` in ``x``.

    ``x`` is a float64 array that ``loss_fn()`` reads; it is perturbed in place, one coordinate
    at a time, and restored. ``coords`` (flat indices) restricts the check; default: all.
    """
    if x.dtype != np.float64 or not x.flags.c_contiguous:
        raise ValueError(f"x: expected a C-contiguous float64 array, got {x.dtype}")
    if analytic.shape != x.shape:
        raise ValueError(f"analytic: expected shape {x.shape} (the shape of x), got {analytic.shape}")
    if not h > 0:
        raise ValueError(f"h: expected a positive step, got {h}")
    flat, grad = x.reshape(-1), analytic.reshape(-1)
    worst = 0.0
    for i in range(flat.size) if coords is None else coords:
        orig = flat[i]
        flat[i] = orig + h
        plus = loss_fn()
        flat[i] = orig - h
        minus = loss_fn()
        flat[i] = orig
        numeric = (plus - minus) / (2.0 * h)
        err = abs(numeric - grad[i]) / max(1.0, abs(numeric), abs(grad[i]))
        worst = max(worst, err)
    return float(worst)


def _coords(size: int, max_coords: int | None, rng: np.random.Generator) -> np.ndarray | None:
    if max_coords is None or size <= max_coords:
        return None
    return rng.choice(size, size=max_coords, replace=False)


def _errors(loss_fn, grads, h, max_coords, seed) -> dict[str, float]:
    """``{name: max_rel_error}`` for each ``(name, x, analytic)``, on at most ``max_coords``
    random coordinates of each."""
    rng = np.random.default_rng(seed)
    return {name: max_rel_error(loss_fn, x, g, h, _coords(x.size, max_coords, rng)) for name, x, g in grads}


def _f64(a) -> np.ndarray:
    return np.array(a, dtype=np.float64, order="C")  # a private copy: it gets perturbed


def check_naive_softmax(center_vec, outside_idx, outside_vectors, h=DEFAULT_STEP, max_coords=None, seed=0):
    """Gradient check of the naive-softmax pair kernel: max error per gradient."""
    v, U = _f64(center_vec), _f64(outside_vectors)
    _, g_v, g_u = api.naive_softmax_loss_and_grad(v, outside_idx, U)
    idx = np.array([outside_idx], np.int64)
    buf_v, buf_u = np.empty_like(v), np.empty_like(U)

    def loss():
        return softmax_window_kernel(*U.shape)(v, idx, U, buf_v, buf_u)

    return _errors(loss, (("grad_center_vec", v, g_v), ("grad_outside_vectors", U, g_u)), h, max_coords, seed)


def check_neg_sampling(center_vec, outside_idx, outside_vectors, neg_indices, h=DEFAULT_STEP, max_coords=None, seed=0):
    """Gradient check of the negative-sampling pair kernel: max error per gradient."""
    v, U = _f64(center_vec), _f64(outside_vectors)
    negs = np.ascontiguousarray(neg_indices, dtype=np.int64)
    _, g_v, g_u = api.neg_sampling_loss_and_grad(v, outside_idx, U, negs)
    buf_v, buf_rows = np.empty_like(v), np.empty((negs.size + 1, v.size))

    def loss():
        return neg_pair_loss_grad(v, outside_idx, U, negs, buf_v, buf_rows)

    return _errors(loss, (("grad_center_vec", v, g_v), ("grad_outside_vectors", U, g_u)), h, max_coords, seed)


def check_hierarchical(center_vec, outside_idx, inner_vectors, tree, h=DEFAULT_STEP, max_coords=None, seed=0):
    """Gradient check of the hierarchical-softmax pair kernel: max error per gradient."""
    v, U = _f64(center_vec), _f64(inner_vectors)
    _, g_v, g_u = api.hierarchical_softmax_loss_and_grad(v, outside_idx, U, tree)
    buf_v, buf_rows = np.empty_like(v), np.empty((tree.points.shape[1], v.size))

    def loss():
        return hs_pair_loss_grad(v, outside_idx, U, tree, buf_v, buf_rows)

    return _errors(loss, (("grad_center_vec", v, g_v), ("grad_outside_vectors", U, g_u)), h, max_coords, seed)


def check_skipgram(
    center_word_idx,
    outside_word_indices,
    center_vectors,
    outside_vectors,
    loss="softmax",
    neg_indices=None,
    h=DEFAULT_STEP,
    max_coords=None,
    seed=0,
    tree=None,
):
    """Gradient check of the skip-gram window kernels (any loss), over both matrices."""
    C, U = _f64(center_vectors), _f64(outside_vectors)
    words = np.ascontiguousarray(outside_word_indices, dtype=np.int64)
    _, g_c, g_u = api.skipgram(center_word_idx, words, C, U, loss, neg_indices, tree)
    buf_v = np.empty(C.shape[1])
    if loss == "hs":
        buf_rows = np.empty((words.size, tree.points.shape[1], C.shape[1]))

        def loss_fn():
            return hs_window_loss_grad(C[center_word_idx], words, U, tree, buf_v, buf_rows)
    elif loss == "softmax":
        buf_u = np.empty_like(U)

        def loss_fn():
            return softmax_window_kernel(*U.shape)(C[center_word_idx], words, U, buf_v, buf_u)
    else:
        negs = np.ascontiguousarray(neg_indices, dtype=np.int64)
        buf_rows = np.empty((words.size, negs.shape[1] + 1, C.shape[1]))

        def loss_fn():
            return neg_window_loss_grad(C[center_word_idx], words, U, negs, buf_v, buf_rows)

    grads = (("grad_center_vectors", C, g_c), ("grad_outside_vectors", U, g_u))
    return _errors(loss_fn, grads, h, max_coords, seed)


def random_problem(seed=0, n_words=8, dim=5, n_neg=4, window=2):
    """A small random float64 problem with the awkward cases built in: a repeated outside
    word, a negative drawn twice and a negative equal to the outside word."""
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((n_words, dim))
    U = rng.standard_normal((n_words, dim))
    center = int(rng.integers(n_words))
    outside = rng.integers(0, n_words, 2 * window)
    outside[-1] = outside[0]
    negs = rng.integers(0, n_words, (outside.size, n_neg))
    negs[0, 0] = outside[0]
    if n_neg > 1:
        negs[0, 1] = negs[0, -1]
    tree = huffman_tree(np.sort(rng.integers(1, 100, n_words))[::-1])  # paths of unequal length
    return {"center": center, "outside": outside, "C": C, "U": U, "negs": negs, "tree": tree}


#: one check per registered loss: (pair check, extra argument of the window check)
_PAIR_CHECKS = {
    "softmax": lambda v_c, o, U, p, h: check_naive_softmax(v_c, o, U, h),
    "negative": lambda v_c, o, U, p, h: check_neg_sampling(v_c, o, U, p["negs"][0], h),
    "hs": lambda v_c, o, U, p, h: check_hierarchical(v_c, o, U, p["tree"], h),
}


def gradcheck_all(seed=0, n_words=8, dim=5, n_neg=4, window=2, h=DEFAULT_STEP) -> dict[str, float]:
    """Check every gradient of every registered loss (pair and window) on one random problem.

    Returns ``{"<loss>/<form>/<gradient>": max_rel_err}``, e.g. ``"negative/window/grad_outside_vectors"``.
    """
    p = random_problem(seed, n_words, dim, n_neg, window)
    v_c, o = p["C"][p["center"]], int(p["outside"][0])
    results = {}
    for name in LOSSES:
        negs, tree = (p["negs"] if name == "negative" else None), (p["tree"] if name == "hs" else None)
        window_errs = check_skipgram(p["center"], p["outside"], p["C"], p["U"], name, negs, h, tree=tree)
        for form, errs in (("pair", _PAIR_CHECKS[name](v_c, o, p["U"], p, h)), ("window", window_errs)):
            for grad, err in errs.items():
                results[f"{name}/{form}/{grad}"] = err
    return results


def check_shared_window(context_words, target_words, input_vectors, output_vectors, h=DEFAULT_STEP, labels=None):
    """Gradient check of the window kernel the trainer uses (docs/math.md "Shared negatives
    over a window"): context rows against labelled targets (default labels: the first target
    1, the others 0, i.e. shared negatives; a hierarchical-softmax path gives 1 - its bits)."""
    X, Y = _f64(input_vectors), _f64(output_vectors)
    ctx = np.ascontiguousarray(context_words, dtype=np.int64)
    tgt = np.ascontiguousarray(target_words, dtype=np.int64)
    if labels is None:
        labels = np.zeros(tgt.size)
        labels[0] = 1.0
    labels = np.ascontiguousarray(labels, dtype=np.float64)
    g_rows_x = np.empty((ctx.size, X.shape[1]))
    g_rows_y = np.empty((tgt.size, X.shape[1]))
    labelled_window_loss_grad(ctx, tgt, labels, X, Y, g_rows_x, g_rows_y)
    g_x, g_y = np.zeros_like(X), np.zeros_like(Y)
    np.add.at(g_x, ctx, g_rows_x)
    np.add.at(g_y, tgt, g_rows_y)
    buf_x, buf_y = np.empty_like(g_rows_x), np.empty_like(g_rows_y)

    def loss():
        return labelled_window_loss_grad(ctx, tgt, labels, X, Y, buf_x, buf_y)

    return {"grad_input_vectors": max_rel_error(loss, X, g_x, h), "grad_output_vectors": max_rel_error(loss, Y, g_y, h)}


def check_training_tuples(
    ids,
    sentence_starts,
    input_vectors,
    output_vectors,
    noise_probs,
    loss="negative",
    n_neg=5,
    window=5,
    shared_negatives=True,
    samples=3,
    seed=0,
    max_coords=300,
    tree=None,
) -> dict[str, float]:
    """Gradient checks on real (center, context, negatives) tuples drawn from a corpus and the
    current vectors: the kernel the trainer uses for the configured loss, in float64, on the
    sub-problem of the rows involved (softmax: all rows, with sampled coordinates).

    Returns ``{"<gradient>": max over samples, "max_rel_err": max over all}``.
    """
    rng = np.random.default_rng(seed)
    lengths = np.diff(sentence_starts)
    usable = np.flatnonzero(lengths >= 2)
    if usable.size == 0:
        raise ValueError("the corpus has no sentence of two or more words to draw gradient-check tuples from")
    worst: dict[str, float] = {}
    for _ in range(samples):
        s = int(rng.choice(usable))
        lo, hi = int(sentence_starts[s]), int(sentence_starts[s + 1])
        t = int(rng.integers(lo, hi))
        ctx = np.array([ids[j] for j in range(max(lo, t - window), min(hi, t + window + 1)) if j != t], np.int64)
        center = int(ids[t])
        if loss == "hs":  # the trainer's kernel: the contexts against the center word's path
            n = int(tree.lens[center])
            rows_in, ctx_local = np.unique(ctx, return_inverse=True)
            nodes = tree.points[center, :n]
            errs = check_shared_window(
                ctx_local, np.arange(n), input_vectors[rows_in], output_vectors[nodes], labels=tree.labels[center, :n]
            )
        elif loss == "softmax":
            errs = check_skipgram(
                center, ctx, input_vectors, output_vectors, "softmax", max_coords=max_coords, seed=seed
            )
        else:
            negs = rng.choice(len(noise_probs), size=(ctx.size, n_neg), p=noise_probs)
            if shared_negatives:
                targets = np.concatenate([[center], negs[0]])
                rows_in, ctx_local = np.unique(ctx, return_inverse=True)
                rows_out, tgt_local = np.unique(targets, return_inverse=True)
                errs = check_shared_window(ctx_local, tgt_local, input_vectors[rows_in], output_vectors[rows_out])
            else:
                rows = np.unique(np.concatenate([[center], ctx, negs.ravel()]))
                local = {w: i for i, w in enumerate(rows.tolist())}
                remap = np.vectorize(local.__getitem__)
                errs = check_skipgram(
                    local[center], remap(ctx), input_vectors[rows], output_vectors[rows], "negative", remap(negs)
                )
        for key, err in errs.items():
            worst[key] = max(worst.get(key, 0.0), err)
    worst["max_rel_err"] = max(worst.values())
    return worst
