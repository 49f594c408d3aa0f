"""Kernels of the mini-batch SGD mode (``train.sgd=minibatch``): CS224N's word2vec experiment.

The assignment trains differently from word2vec.c. Its corpus is the sentences repeated
``copies`` times, each word kept with probability ``min(1, sqrt(sample * N / count))`` (drawn
once, before training; N = corpus words), sentences of one word dropped. Each SGD iteration
draws ``batch`` windows: a window size ``c`` uniform in 1..window, a sentence and a position
uniform, the outside words the up-to-``c`` words on either side that differ from the center
word (an empty window is drawn again with the same ``c``). Every (center, outside) pair has its
own K negatives from the unigram^0.75 table, each redrawn while equal to the outside word. The
loss and gradient are averaged over the batch and one step ``params -= step * grad`` follows;
the step halves every ``anneal_every`` iterations. Gradients are gathered in row buffers and
only the rows the batch touched are updated and cleared, so an iteration costs what its windows
cost, not O(V d).
"""

from __future__ import annotations

import numpy as np

from nbw2v._jit import njit_serial
from nbw2v._rng import next_below, next_float, sample_alias
from nbw2v.losses._scalar import log_sigmoid, sigmoid


@njit_serial
def assignment_corpus(ids, starts, keep_prob, copies, state):
    """The assignment's training sentences: ``copies`` passes over the sentences (``ids`` with
    offsets ``starts``), each word kept with ``keep_prob[word]``, sentences left with fewer than
    two words dropped. Returns ``(state, ids, starts)`` (int32 ids, int64 offsets)."""
    n_sent = starts.shape[0] - 1
    out = np.empty(copies * ids.shape[0], np.int32)
    out_starts = np.empty(copies * n_sent + 1, np.int64)
    out_starts[0] = 0
    n_out, k = 0, 0
    for _ in range(copies):
        for s in range(n_sent):
            begin = n_out
            for p in range(starts[s], starts[s + 1]):
                w = ids[p]
                state, u = next_float(state)
                if u < keep_prob[w]:
                    out[n_out] = w
                    n_out += 1
            if n_out - begin < 2:
                n_out = begin  # the assignment keeps sentences of more than one word
            else:
                k += 1
                out_starts[k] = n_out
    return state, out[:n_out].copy(), out_starts[: k + 1].copy()


@njit_serial
def _random_window(state, ids, starts, size, context):
    """One of the assignment's random contexts: ``(state, center, n)`` with the outside words in
    ``context[:n]`` (center-word repeats removed; drawn again until non-empty)."""
    n_sent = starts.shape[0] - 1
    while True:
        state, s = next_below(state, n_sent)
        lo, hi = starts[s], starts[s + 1]
        state, j = next_below(state, hi - lo)
        pos = lo + j
        center = ids[pos]
        n = 0
        for p in range(max(lo, pos - size), min(hi, pos + size + 1)):
            if p != pos and ids[p] != center:
                context[n] = ids[p]
                n += 1
        if n > 0:
            return state, center, n


@njit_serial
def _touch(row, stamp, mark, touched, n_touched):
    if mark[row] != stamp:
        mark[row] = stamp
        touched[n_touched] = row
        n_touched += 1
    return n_touched


@njit_serial
def minibatch_iterations(
    C, O, ids, starts, threshold, alias, state, first, last, batch, window, K, step0, anneal_every, G, mark, losses
):
    """Iterations ``first .. last-1`` (0-based) of the assignment's SGD in place on the center
    vectors C and outside vectors O (V, d). G (2V, d) is zero on entry and exit (rows [:V]: C's
    gradient, [V:]: O's); mark (2V,) int64 stamps of touched rows; losses[it] gets iteration
    it's batch-mean loss. Returns the random state."""
    V, d = C.shape
    context = np.empty(2 * window, np.int64)
    negatives = np.empty(K, np.int64)
    touched = np.empty(2 * batch * (2 * window * (K + 1) + 1), np.int64)
    scale = 1.0 / batch
    for it in range(first, last):
        halvings = it // anneal_every if anneal_every > 0 else 0
        step = step0 * 0.5**halvings  # halved after iterations anneal_every, 2 anneal_every, ...
        stamp = it + 1
        n_touched = 0
        loss = 0.0
        for _ in range(batch):
            state, size = next_below(state, window)
            state, c, n = _random_window(state, ids, starts, size + 1, context)
            n_touched = _touch(c, stamp, mark, touched, n_touched)
            for i in range(n):
                o = context[i]
                for k in range(K):
                    state, w = sample_alias(state, threshold, alias)
                    while w == o:  # the assignment redraws a negative equal to the outside word
                        state, w = sample_alias(state, threshold, alias)
                    negatives[k] = w
                score = 0.0
                for j in range(d):
                    score += O[o, j] * C[c, j]
                coef = sigmoid(score) - 1.0
                loss -= log_sigmoid(score)
                n_touched = _touch(V + o, stamp, mark, touched, n_touched)
                for j in range(d):
                    G[c, j] += coef * O[o, j]
                    G[V + o, j] += coef * C[c, j]
                for k in range(K):
                    w = negatives[k]
                    score = 0.0
                    for j in range(d):
                        score += O[w, j] * C[c, j]
                    coef = sigmoid(score)
                    loss -= log_sigmoid(-score)
                    n_touched = _touch(V + w, stamp, mark, touched, n_touched)
                    for j in range(d):
                        G[c, j] += coef * O[w, j]
                        G[V + w, j] += coef * C[c, j]
        losses[it] = loss * scale
        lr = step * scale
        for t in range(n_touched):  # params -= step * (gradient / batch); the buffer cleared
            r = touched[t]
            if r < V:
                for j in range(d):
                    C[r, j] -= lr * G[r, j]
                    G[r, j] = 0.0
            else:
                for j in range(d):
                    O[r - V, j] -= lr * G[r, j]
                    G[r, j] = 0.0
    return state
