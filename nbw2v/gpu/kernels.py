"""Numba CUDA kernels: the same math as the CPU kernels (docs/math.md sections 1, 2, 5, 7), on a GPU.

Imports numpy and numba only (numba-cuda provides ``numba.cuda``). The random streams
(:mod:`nbw2v._rng`) and the stable logistic terms (:mod:`nbw2v.losses._scalar`) are the CPU
``@njit`` functions themselves, compiled for the GPU by Numba: one copy of that math.

Layout of the work, one *block* per unit:

* :func:`softmax_rows` - one block per pair (row of scores): an online max/sum pass in float64
  (stable log-sum-exp, the exact loss) and a normalise pass that turns the row into
  ``yhat - y`` in place. The three matrix products around it are cuBLAS (CuPy) or
  :func:`gemm` (a plain kernel, the fallback).
* :func:`shared_neg_windows` - one block per window: the rows of the window's context words
  and of its targets (center word + shared negatives) are staged in shared memory, scores and
  coefficients ``sigma(s) - label`` computed from them, gradients written per occurrence.
* :func:`train_sgns` - one block per corpus chunk (Hogwild across blocks, as the CPU trainer
  across threads): subsampling, window shrink and negative draws by thread 0 from the chunk's
  xorshift stream (the CPU trainer's draws, in the same order), then the section-7 update with
  every coefficient taken from the *old* rows (staged in shared memory), as the CPU kernel does.

Blocks use a power-of-two thread count (reductions are trees over shared memory; no warp
shuffles, so Numba's CUDA simulator runs every kernel in CI).
"""

from __future__ import annotations

import math

from numba import cuda, float64, int32, int64

from nbw2v._jit import cuda_device, cuda_kernel, rebind
from nbw2v._rng import alias_draw, stream_seed
from nbw2v._sampling import draw_targets, gather_window, learning_rate, subsample
from nbw2v.limits import MAX_CONTEXT, MAX_TARGETS, MAX_THREADS, window_shared_bytes
from nbw2v.losses._scalar import logistic_terms

# ---- block helpers ---------------------------------------------------------------------------


@cuda_device
def _block_sum(red, value):
    """Sum of ``value`` over the block (float64, fixed tree order); every thread gets it."""
    tid, n = cuda.threadIdx.x, cuda.blockDim.x
    red[tid] = value
    cuda.syncthreads()
    step = n // 2
    while step > 0:
        if tid < step:
            red[tid] += red[tid + step]
        cuda.syncthreads()
        step //= 2
    total = red[0]
    cuda.syncthreads()
    return total


@cuda_device
def _window_coefs(xs, ys, coef, n, m, dim, scale):
    """Scores of the n staged context rows against the m staged target rows (row-major n x m,
    target 0 labelled 1); ``coef = scale * (label - sigma(s))``. Returns this thread's part of
    the loss ``-sum log sigma(+-s)`` (float64)."""
    loss = 0.0
    for p in range(cuda.threadIdx.x, n * m, cuda.blockDim.x):
        i, k = p // m, p % m
        s = 0.0  # float64 accumulation, as the CPU loss kernel's dot
        for j in range(dim):
            s += float64(xs[i * dim + j]) * float64(ys[k * dim + j])
        sig, log_pos, log_neg = logistic_terms(s)
        if k == 0:
            coef[p] = scale * (1.0 - sig)
            loss -= log_pos
        else:
            coef[p] = -scale * sig
            loss -= log_neg
    return loss


@cuda_device
def _stage_rows(rows, words, count, dim, out):
    """out[r * dim + j] = rows[words[r], j] for r < count (coalesced over j)."""
    for p in range(cuda.threadIdx.x, count * dim, cuda.blockDim.x):
        r, j = p // dim, p % dim
        out[p] = rows[words[r], j]


# ---- naive softmax ---------------------------------------------------------------------------


@cuda_kernel
def softmax_rows(scores, outside_idx, losses):
    """Row b of ``scores`` (B, V) = ``U v_c`` becomes ``yhat - y`` in place; losses[b] =
    ``-log yhat_o`` (float64). Launch: B blocks, a power-of-two number of threads."""
    b = cuda.blockIdx.x
    tid, nthreads = cuda.threadIdx.x, cuda.blockDim.x
    red_max = cuda.shared.array(MAX_THREADS, float64)
    red_sum = cuda.shared.array(MAX_THREADS, float64)
    n_words = scores.shape[1]
    row = scores[b]
    o = outside_idx[b]
    s_o = float64(row[o])
    # one read: running max and sum of exp(s - max) per thread (online softmax)
    mx = -math.inf
    acc = 0.0
    for j in range(tid, n_words, nthreads):
        x = float64(row[j])
        if x > mx:
            acc = acc * math.exp(mx - x) + 1.0
            mx = x
        else:
            acc += math.exp(x - mx)
    red_max[tid] = mx
    red_sum[tid] = acc
    cuda.syncthreads()
    step = nthreads // 2
    while step > 0:
        if tid < step:
            m1, m2 = red_max[tid], red_max[tid + step]
            top = max(m1, m2)
            if top == -math.inf:
                red_sum[tid] = 0.0
            else:
                red_sum[tid] = red_sum[tid] * math.exp(m1 - top) + red_sum[tid + step] * math.exp(m2 - top)
            red_max[tid] = top
        cuda.syncthreads()
        step //= 2
    mx, total = red_max[0], red_sum[0]
    inv = 1.0 / total
    for j in range(tid, n_words, nthreads):
        row[j] = math.exp(float64(row[j]) - mx) * inv - (1.0 if j == o else 0.0)
    if tid == 0:
        losses[b] = math.log(total) + mx - s_o


@cuda_kernel
def gemm(a, b, c, trans_a, trans_b):
    """c = op(a) @ op(b), op = transpose when the flag is 1; one thread per element of c,
    accumulated in float64 (the fallback when CuPy's cuBLAS is not installed)."""
    j, i = cuda.grid(2)  # x -> columns: a warp writes (and reads b by) consecutive columns
    rows, cols = c.shape
    if i >= rows or j >= cols:
        return
    inner = a.shape[0] if trans_a else a.shape[1]
    acc = 0.0
    for k in range(inner):
        x = a[k, i] if trans_a else a[i, k]
        y = b[j, k] if trans_b else b[k, j]
        acc += float64(x) * float64(y)
    c[i, j] = acc


# ---- negative sampling, negatives shared by a window -----------------------------------------


@cuda_kernel
def shared_neg_windows(context_words, n_context, target_words, input_vectors, output_vectors, grad_inputs,
                       grad_outputs, losses):  # fmt: skip
    """Window b (one block): context_words[b, :n_context[b]] against target_words[b] (center
    word first, then the shared negatives), docs/math.md "Shared negatives over a window". Writes grad_inputs[b, i]
    (dJ/dx_i), grad_outputs[b, k] (dJ/dy_k) and losses[b] (float64). Dynamic shared memory:
    :func:`window_shared_bytes` of (max n_context, m, dim)."""
    b = cuda.blockIdx.x
    tid, nthreads = cuda.threadIdx.x, cuda.blockDim.x
    n, m, dim = n_context[b], target_words.shape[1], input_vectors.shape[1]
    nmax = context_words.shape[1]
    stage = cuda.shared.array(0, input_vectors.dtype)
    xs = stage[: nmax * dim]
    ys = stage[nmax * dim : (nmax + m) * dim]
    coef = stage[(nmax + m) * dim :]
    red = cuda.shared.array(MAX_THREADS, float64)
    _stage_rows(input_vectors, context_words[b], n, dim, xs)
    _stage_rows(output_vectors, target_words[b], m, dim, ys)
    cuda.syncthreads()
    loss = _window_coefs(xs, ys, coef, n, m, dim, -1.0)  # scale -1: coef = sigma(s) - label = dJ/ds
    cuda.syncthreads()
    for j in range(tid, dim, nthreads):
        for i in range(n):
            g = coef[i * m] * ys[j]
            for k in range(1, m):
                g += coef[i * m + k] * ys[k * dim + j]
            grad_inputs[b, i, j] = g
        for k in range(m):
            g = coef[k] * xs[j]
            for i in range(1, n):
                g += coef[i * m + k] * xs[i * dim + j]
            grad_outputs[b, k, j] = g
    total = _block_sum(red, loss)
    if tid == 0:
        losses[b] = total


# ---- the trainer -----------------------------------------------------------------------------


@cuda_device
def _sample_alias(state, threshold, alias):
    """:func:`nbw2v._rng.sample_alias` on device arrays (same draw, same result)."""
    state, i, u = alias_draw(state, threshold.shape[0])
    return state, (i if u < threshold[i] else int64(alias[i]))


#: the CPU trainer's subsampling (same stream)
_subsample = cuda_device(subsample)
_learning_rate = cuda_device(learning_rate)
_gather_window = cuda_device(gather_window)
#: the CPU trainer's negative draws (same stream, same order), with the device-array sampler
_draw_targets = cuda_device(rebind(draw_targets, sample_alias=_sample_alias))


@cuda_kernel
def train_sgns(input_vectors, output_vectors, ids, sentence_starts, chunk_starts, words_before, keep_prob,
               noise_threshold, noise_alias, kept, first, epoch, seed, epochs, window, negatives, lr0,
               min_lr_ratio, total_words, collision, loss_out, pairs_out):  # fmt: skip
    """Skip-gram, negatives shared by each window, on chunk ``first + blockIdx.x`` in place.

    word2vec.c pairing (context input rows against the center's output row and the negatives'),
    LR decayed per sentence from the corpus words before it (as the CPU trainer), float64 loss
    per chunk into loss_out[chunk] and pairs into pairs_out[chunk]. ``kept`` (int32, like ids)
    is scratch: each chunk writes only its own sentences' slice. Dynamic shared memory:
    :func:`window_shared_bytes` of (2 * window, negatives + 1, dim)."""
    chunk = first + cuda.blockIdx.x
    tid, nthreads = cuda.threadIdx.x, cuda.blockDim.x
    dim = input_vectors.shape[1]
    nmax, mmax = 2 * window, negatives + 1
    stage = cuda.shared.array(0, input_vectors.dtype)
    xs = stage[: nmax * dim]
    ys = stage[nmax * dim : (nmax + mmax) * dim]
    coef = stage[(nmax + mmax) * dim :]
    contexts = cuda.shared.array(MAX_CONTEXT, int32)
    targets = cuda.shared.array(MAX_TARGETS, int32)
    ahead = cuda.shared.array(MAX_TARGETS, int32)  # the next center's targets (the CPU's draw order)
    meta = cuda.shared.array(4, int64)  # kept words of the sentence, contexts, targets
    lr_shared = cuda.shared.array(1, float64)
    red = cuda.shared.array(MAX_THREADS, float64)
    state = stream_seed(seed, epoch, chunk)
    words_done = words_before[chunk]
    loss = 0.0
    pairs = int64(0)
    for s in range(chunk_starts[chunk], chunk_starts[chunk + 1]):
        lo, hi = sentence_starts[s], sentence_starts[s + 1]
        if tid == 0:
            lr_shared[0] = _learning_rate(lr0, min_lr_ratio, epoch, words_done, total_words, epochs)
            state, n_kept = _subsample(ids, lo, hi, keep_prob, state, kept[lo:hi])
            meta[0] = n_kept
        words_done += hi - lo
        cuda.syncthreads()
        n_kept = meta[0]
        lr = lr_shared[0]
        ahead_for, m_ahead = -1, 0
        for t in range(n_kept):
            if tid == 0:
                state, n_ctx = _gather_window(state, kept[lo:hi], n_kept, t, window, contexts)
                m = 0
                if n_ctx > 0:
                    # the CPU trainer's order: a center's negatives are drawn one step early
                    # (there to prefetch their rows); the same stream keeps the two comparable
                    if ahead_for == t:
                        for q in range(m_ahead):
                            targets[q] = ahead[q]
                        m = m_ahead
                    else:
                        state, m = _draw_targets(
                            state, kept[lo + t], negatives, collision, noise_threshold, noise_alias, targets
                        )
                    if t + 1 < n_kept:
                        state, m_ahead = _draw_targets(
                            state, kept[lo + t + 1], negatives, collision, noise_threshold, noise_alias, ahead
                        )
                        ahead_for = t + 1
                    pairs += n_ctx
                meta[1] = n_ctx
                meta[2] = m
            cuda.syncthreads()
            n_ctx, m = meta[1], meta[2]
            if n_ctx > 0:  # the same for every thread of the block
                _stage_rows(input_vectors, contexts, n_ctx, dim, xs)
                _stage_rows(output_vectors, targets, m, dim, ys)
                cuda.syncthreads()
                loss += _window_coefs(xs, ys, coef, n_ctx, m, dim, lr)  # coef = lr (label - sigma)
                cuda.syncthreads()
                for j in range(tid, dim, nthreads):  # from the old (staged) rows only
                    for i in range(n_ctx):
                        g = coef[i * m] * ys[j]
                        for k in range(1, m):
                            g += coef[i * m + k] * ys[k * dim + j]
                        input_vectors[contexts[i], j] += g
                    for k in range(m):
                        g = coef[k] * xs[j]
                        for i in range(1, n_ctx):
                            g += coef[i * m + k] * xs[i * dim + j]
                        output_vectors[targets[k], j] += g
            cuda.syncthreads()  # updates visible, shared buffers free for the next center
        cuda.syncthreads()  # meta/kept read by all before thread 0 starts the next sentence
    total = _block_sum(red, loss)
    if tid == 0:
        loss_out[chunk] = total
        pairs_out[chunk] = pairs


def round_threads(dim: int, limit: int = MAX_THREADS) -> int:
    """Threads per block for rows of ``dim``: a power of two >= dim/2, in [32, limit]."""
    t = 32
    while t < min(dim, limit):
        t *= 2
    return min(t, limit)


__all__ = [
    "MAX_CONTEXT",
    "MAX_TARGETS",
    "MAX_THREADS",
    "gemm",
    "round_threads",
    "shared_neg_windows",
    "softmax_rows",
    "train_sgns",
    "window_shared_bytes",
]
