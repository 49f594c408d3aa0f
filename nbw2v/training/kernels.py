"""Numba loops over work chunks of the corpus: subsampling, random window shrink, negative
draws, LR decay, and calls of the fused steps of :mod:`nbw2v.losses.sgd` (no second copy of
the math here).

A chunk is a run of whole sentences (about ``train.chunk_words`` words). It is the unit of
parallel work (``prange`` over chunks: Hogwild, threads update the shared matrices without
locks), of random streams (seeded from ``(seed, epoch, chunk)``) and of loss bookkeeping
(float64 loss and pair counts per chunk, reduced by the caller in chunk order, so the reported
loss means the same for any thread count).

Pairing: word2vec.c's. For a center position t, the context words' input vectors are scored
against the center word's output vector and the negatives' output vectors. With negatives
shared by a window (and CBOW), the next center's negatives are drawn one step early and their
rows prefetched (:mod:`nbw2v._prefetch`): the random stream is consumed in that order; the
alias-table entries of the draw after that are prefetched too (foreseen from the stream, not
drawn). The input row of the word that will enter the widest window next is prefetched at every
step.

The learning rate of a sentence is ``lr0 * max(min_lr_ratio, 1 - progress)``
(:func:`learning_rate`) where progress counts corpus words (before subsampling) of earlier
epochs, earlier chunks of this epoch and earlier sentences of this chunk: linear decay,
independent of thread timing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import get_thread_id, prange

from nbw2v._jit import njit_leaf, njit_parallel, njit_serial
from nbw2v._prefetch import prefetch_item, prefetch_row
from nbw2v._rng import stream_seed
from nbw2v._sampling import (  # noqa: F401  (COLLIDE_*: importable from here)
    COLLIDE_KEEP,
    COLLIDE_REDRAW,
    COLLIDE_SKIP,
    draw_targets,
    gather_window,
    learning_rate,
    next_draw_columns,
    subsample,
)
from nbw2v.losses.hierarchical import HuffmanTree
from nbw2v.losses.sgd import cbow_step, sgd_step_neg, window_step
from nbw2v.losses.window import TARGETS_NEGATIVE, TARGETS_PATH

ARCH_SKIPGRAM, ARCH_CBOW = 0, 1


def no_tree() -> HuffmanTree:
    """The tree argument of a negative-sampling run (unused, typed like a real one)."""
    return HuffmanTree(np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int64), np.zeros(1, np.int32), np.zeros((1, 1)))


class Schedule(NamedTuple):
    """Scalars of a run, bundled for the kernels."""

    seed: int
    epochs: int
    window: int
    negatives: int
    lr0: float
    min_lr_ratio: float
    total_words: int  # corpus words per epoch (before subsampling)
    collision: int  # COLLIDE_*
    arch: int  # ARCH_*
    shared_negatives: bool  # one block update per window (negatives or path shared by its contexts)
    targets: int = TARGETS_NEGATIVE  # TARGETS_*


class CorpusArrays(NamedTuple):
    ids: np.ndarray  # int32 (n_words,)
    sentence_starts: np.ndarray  # int64 (n_sentences + 1,)
    chunk_starts: np.ndarray  # int64 (n_chunks + 1,): sentence index where each chunk starts
    chunk_words_before: np.ndarray  # int64 (n_chunks + 1,): corpus words before each chunk


class Tables(NamedTuple):
    keep_prob: np.ndarray  # float32 (V,)
    noise_threshold: np.ndarray  # float64 (V,)
    noise_alias: np.ndarray  # int32 (V,)


_learning_rate = njit_leaf(learning_rate)


_gather_window = njit_leaf(gather_window)


@njit_leaf
def _longest_sentence(corpus, chunk):
    longest = 0
    for s in range(corpus.chunk_starts[chunk], corpus.chunk_starts[chunk + 1]):
        longest = max(longest, corpus.sentence_starts[s + 1] - corpus.sentence_starts[s])
    return longest


_subsample = njit_leaf(subsample)


_draw_targets = njit_leaf(draw_targets)


_next_draw_columns = njit_leaf(next_draw_columns)


@njit_leaf
def _draw(state, center, sched, tables, targets):
    return _draw_targets(
        state, center, sched.negatives, sched.collision, tables.noise_threshold, tables.noise_alias, targets
    )


#: hierarchical softmax: the inner nodes nearest the root (on nearly every path) that each
#: thread trains in a private copy, merged into the shared rows every HOT_SYNC_WORDS corpus words
#: and at the end of its chunk. Shared, the root's row alone is written by both threads on every
#: window and its cache lines shuttle between the cores: 1 -> 2 threads scaled 1.48x with it
#: shared, 1.74x with the copies (negatives: 1.85x), at the same WS353 (0.684 vs 0.673, 5 epochs).
#: The 64 nodes are the last merges of the Huffman build: the largest counts, the most visited.
HOT_NODES, HOT_SYNC_WORDS = 64, 2048


def hot_node_rows(n_words: int, hs: bool, threads: int) -> int:
    """Rows to append to the output matrix for the threads' private hot-node copies."""
    return threads * min(HOT_NODES, n_words - 1) if hs else 0


@njit_leaf
def _sync_hot(Y, lo, base, count, snapshot, first):
    """Merge a thread's private hot rows (``Y[base:base+count]``, copies of ``Y[lo:lo+count]``
    taken into ``snapshot``) into the shared rows: add what this thread changed (an element no
    other thread wrote since gets the private value exactly), then refresh the copies."""
    d = Y.shape[1]
    for h in range(count):
        for j in range(d):
            if not first:
                shared, mine = Y[lo + h, j], Y[base + h, j]
                Y[lo + h, j] = mine if shared == snapshot[h, j] else shared + (mine - snapshot[h, j])
            v = Y[lo + h, j]
            Y[base + h, j] = v
            snapshot[h, j] = v


@njit_serial
def _aligned_rows(n_rows, dim, dtype):
    """An uninitialised ``(n_rows, dim)`` scratch matrix starting on a 64-byte line (Numba's
    arrays start on 32 bytes): with rows of whole lines (training/matrices.py) no vector access
    to it is split. Skip-gram's window step reads and writes one such row per context and chunk
    of columns: 1 thread 0.92 -> 1.02M words/s (medians of 9 runs, A/B), CBOW the same."""
    buffer = np.empty(n_rows * dim + 64, dtype)
    skip = ((64 - buffer.ctypes.data % 64) % 64) // buffer.itemsize
    return buffer[skip : skip + n_rows * dim].reshape((n_rows, dim))


@njit_serial
def train_chunk(input_vectors, output_vectors, corpus, chunk, epoch, sched, tables, tree):
    """Train on one chunk in place; returns (loss_sum, pairs) as (float64, int64)."""
    dim = input_vectors.shape[1]
    dtype = input_vectors.dtype
    window = sched.window
    hs = sched.targets == TARGETS_PATH
    max_targets = tree.points.shape[1] if hs else sched.negatives + 1
    n_inner = tree.lens.shape[0] - 1
    n_hot = min(HOT_NODES, n_inner) if hs else 0
    hot_lo = n_inner - n_hot
    hot_base = tree.lens.shape[0] + get_thread_id() * n_hot
    if hot_base + n_hot > output_vectors.shape[0]:
        n_hot, hot_lo = 0, n_inner  # no private rows given: every node shared
    snapshot = np.empty((n_hot, dim), dtype)
    if n_hot:
        _sync_hot(output_vectors, hot_lo, hot_base, n_hot, snapshot, True)
    synced_at = corpus.chunk_words_before[chunk]
    sentence = np.empty(_longest_sentence(corpus, chunk), np.int32)
    contexts = np.empty(2 * window, np.int64)
    # One array of target rows and one of labels for every step (a Huffman path or the center
    # word and its negatives), never rebound in the loop: in this reference-counted kernel each
    # rebinding of an array variable is an atomic increment and decrement (5.5% of skip-gram's
    # time with two rebindings a step). The steps take one label per (context, target) score:
    # the targets' labels repeated for each of up to 2 * window contexts (the logistic pass runs
    # flat over the block).
    targets = np.empty(max_targets, np.int64)
    labels = np.zeros(2 * window * max_targets)  # negative sampling: the center word 1, negatives 0
    ahead = np.empty(sched.negatives + 1, np.int64)  # the next center's targets, drawn early
    ahead_for, m_ahead = -1, 0
    columns = np.empty(sched.negatives, np.int64)  # the alias columns of the draw after next
    labels_m = 0  # the target count labels is laid out for (m changes only when a negative is skipped)
    delta = _aligned_rows(2 * window, dim, dtype)
    grad_buf = np.empty(dim, dtype)
    mean = _aligned_rows(1, dim, dtype)
    coef64 = np.empty(sched.negatives + 1, np.float64)
    work = np.empty((2, 2 * window * max_targets), dtype)  # the logistic pass in the vectors' type
    state = stream_seed(sched.seed, epoch, chunk)
    words_done = corpus.chunk_words_before[chunk]
    loss, pairs = 0.0, np.int64(0)
    for s in range(corpus.chunk_starts[chunk], corpus.chunk_starts[chunk + 1]):
        lo, hi = corpus.sentence_starts[s], corpus.sentence_starts[s + 1]
        lr = _learning_rate(sched.lr0, sched.min_lr_ratio, epoch, words_done, sched.total_words, sched.epochs)
        words_done += hi - lo
        if n_hot and words_done - synced_at >= HOT_SYNC_WORDS:
            _sync_hot(output_vectors, hot_lo, hot_base, n_hot, snapshot, False)
            synced_at = words_done
        state, n = _subsample(corpus.ids, lo, hi, tables.keep_prob, state, sentence)
        ahead_for = -1
        for t in range(n):
            state, n_ctx = _gather_window(state, sentence, n, t, window, contexts)
            if t + window + 1 < n:  # the word that enters the widest window next: its input row
                prefetch_row(input_vectors, sentence[t + window + 1])  # (every context row was once)
            if n_ctx == 0:
                continue
            center = sentence[t]
            if hs:  # the center word's Huffman path, shared by its contexts
                m = tree.lens[center]
                label_rows = n_ctx if sched.shared_negatives and sched.arch != ARCH_CBOW else 1  # one step's contexts
                for q in range(m):  # the hot nodes' rows: this thread's private copies
                    p = tree.points[center, q]
                    targets[q] = p if p < hot_lo else hot_base + (p - hot_lo)
                    for i in range(label_rows):
                        labels[i * m + q] = tree.labels[center, q]
            elif sched.arch == ARCH_CBOW or sched.shared_negatives:  # the center word and K negatives
                if ahead_for == t:  # drawn one step ago, its rows already on their way
                    m = m_ahead
                    for q in range(m):
                        targets[q] = ahead[q]
                else:
                    state, m = _draw(state, center, sched, tables, targets)
                if t + 1 < n:  # the next center's negatives now: their rows load while this step runs
                    state, m_ahead = _draw(state, sentence[t + 1], sched, tables, ahead)
                    for q in range(m_ahead):  # the center's row too (1 thread: 1.07-1.17x, A/B runs)
                        prefetch_row(output_vectors, ahead[q])
                    ahead_for = t + 1
                    if t + 2 < n:  # and the alias entries the draw after this one will read
                        _next_draw_columns(state, sched.negatives, tables.noise_threshold.shape[0], columns)
                        for q in range(sched.negatives):  # (Zen 3, 1 thread: +7%, 5 A/B pairs)
                            prefetch_item(tables.noise_threshold, columns[q])
                            prefetch_item(tables.noise_alias, columns[q])
                if m != labels_m:
                    for j in range(2 * window * m):
                        labels[j] = 1.0 if j % m == 0 else 0.0
                    labels_m = m
            else:  # word2vec.c: fresh negatives for every (context, center) pair
                for i in range(n_ctx):
                    state, m = _draw(state, center, sched, tables, targets)
                    loss += sgd_step_neg(
                        input_vectors, output_vectors, contexts[i], targets[0], targets[1:m], lr, grad_buf, coef64
                    )
                pairs += n_ctx
                continue
            if sched.arch == ARCH_CBOW:  # one step for the window's mean
                loss += cbow_step(input_vectors, output_vectors, contexts, n_ctx, targets, m, labels, lr, mean, work)
                pairs += 1
                continue
            # skip-gram: the window's contexts in one block step, or (hierarchical softmax
            # without shared targets) word2vec.c's order, one context word at a time
            block = n_ctx if sched.shared_negatives else 1
            for i in range(0, n_ctx, block):
                n_step = min(block, n_ctx - i)
                loss += window_step(
                    input_vectors, output_vectors, contexts, i, n_step, targets, m, labels, lr, delta, work
                )  # fmt: skip
            pairs += n_ctx
    if n_hot:
        _sync_hot(output_vectors, hot_lo, hot_base, n_hot, snapshot, False)
    return loss, pairs


@njit_parallel
def train_chunks(input_vectors, output_vectors, corpus, first, last, epoch, sched, tables, tree, loss_out, pairs_out):
    """Hogwild over chunks ``first..last-1``: loss_out[c], pairs_out[c] per chunk."""
    # Tuples of arrays do not cross into a parfor body intact (Numba flattens them): unpack here
    # and rebuild inside.
    ids, sentence_starts, chunk_starts, words_before = corpus
    keep_prob, noise_threshold, noise_alias = tables
    codes, points, lens, labels = tree
    seed, epochs, window, negatives, lr0, min_lr_ratio, total_words, collision, arch, shared, targets = sched
    for c in prange(first, last):
        loss_out[c], pairs_out[c] = train_chunk(
            input_vectors,
            output_vectors,
            CorpusArrays(ids, sentence_starts, chunk_starts, words_before),
            c,
            epoch,
            Schedule(seed, epochs, window, negatives, lr0, min_lr_ratio, total_words, collision, arch, shared, targets),
            Tables(keep_prob, noise_threshold, noise_alias),
            HuffmanTree(codes, points, lens, labels),
        )


@njit_serial
def chunk_pairs(corpus, chunk, epoch, sched, tables, centers_out, outside_out):
    """The (center, outside) pairs of one chunk for the naive-softmax trainer (textbook
    pairing), after subsampling and window shrink. Outputs must hold 2 * window * chunk words;
    returns (n_pairs, words_in_chunk)."""
    sentence = np.empty(_longest_sentence(corpus, chunk), np.int32)
    contexts = np.empty(2 * sched.window, np.int64)
    state = stream_seed(sched.seed, epoch, chunk)
    n_pairs = 0
    for s in range(corpus.chunk_starts[chunk], corpus.chunk_starts[chunk + 1]):
        lo, hi = corpus.sentence_starts[s], corpus.sentence_starts[s + 1]
        state, n = _subsample(corpus.ids, lo, hi, tables.keep_prob, state, sentence)
        for t in range(n):
            state, n_ctx = _gather_window(state, sentence, n, t, sched.window, contexts)
            for i in range(n_ctx):
                centers_out[n_pairs] = sentence[t]
                outside_out[n_pairs] = contexts[i]
                n_pairs += 1
    words = corpus.chunk_words_before[chunk + 1] - corpus.chunk_words_before[chunk]
    return n_pairs, words


def make_chunks(
    sentence_starts: np.ndarray, chunk_words: int, release=None, block: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """Split sentences into runs of about ``chunk_words`` words (whole sentences).

    Returns (chunk_starts as sentence indices (n_chunks + 1,), words before each chunk). The
    offsets are read in blocks of ``block`` sentences, each handed to ``release(lo, hi)`` once
    used (a memory-mapped corpus: its pages are dropped as the pass goes, not all kept)."""
    ends = sentence_starts[1:]
    n = int(ends.shape[0])
    total = int(ends[-1])
    goals = np.arange(chunk_words, total, chunk_words, dtype=np.int64)
    starts, before = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)]
    done = 0  # goals placed so far
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        part = np.asarray(ends[lo:hi])
        # a chunk boundary after the first sentence that reaches each multiple of chunk_words
        upto = int(np.searchsorted(goals, part[-1], side="right"))
        marks = np.searchsorted(part, goals[done:upto], side="left") + lo + 1
        starts.append(marks.astype(np.int64))
        before.append(np.asarray(sentence_starts[marks], dtype=np.int64) if marks.size else np.zeros(0, np.int64))
        done = upto
        if release is not None:
            release(lo, hi + 1)
    starts.append(np.array([n], np.int64))
    before.append(np.array([total], np.int64))
    chunk_starts, words_before = np.concatenate(starts), np.concatenate(before)
    keep = np.concatenate([[True], np.diff(chunk_starts) > 0])  # goals that fell in one sentence: one boundary
    return chunk_starts[keep], words_before[keep]
