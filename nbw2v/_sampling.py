"""word2vec.c's sampling steps as plain Python: the learning-rate decay, the random window,
subsampling and the draw of negatives. Compiled twice: with ``njit`` for the CPU by
:mod:`nbw2v.training.kernels`, and as CUDA device functions by :mod:`nbw2v.gpu.kernels`; kept
here, below both, so that neither package imports the other.
"""

from __future__ import annotations

from nbw2v._rng import alias_draw, next_below, next_float, next_u64, sample_alias

COLLIDE_SKIP, COLLIDE_KEEP, COLLIDE_REDRAW = 0, 1, 2


def learning_rate(lr0, min_lr_ratio, epoch, words_done, total_words, epochs):
    """word2vec.c's linear decay: ``lr0 * max(min_lr_ratio, 1 - progress)``, progress = corpus
    words done (earlier epochs included) / all the run's words. Compiled for the CPU and the GPU;
    the progress line calls it as is."""
    progress = (epoch * 1.0 * total_words + words_done) / (epochs * 1.0 * total_words)
    return lr0 * max(min_lr_ratio, 1.0 - progress)


def gather_window(state, sentence, n, t, window, contexts):
    """word2vec.c's random window around position t of ``sentence[:n]``: an effective size
    uniform in [1, window], the words at 1..size positions either side into ``contexts``.
    Returns (state, number of context words). Compiled for the CPU and the GPU."""
    state, shrink = next_below(state, window)
    half = window - shrink
    n_ctx = 0
    for j in range(max(0, t - half), min(n, t + half + 1)):
        if j != t:
            contexts[n_ctx] = sentence[j]
            n_ctx += 1
    return state, n_ctx


def subsample(ids, lo, hi, keep_prob, state, out):
    """word2vec.c subsampling of ids[lo:hi] into out; returns (state, words kept). Plain Python
    compiled for the CPU and for the GPU."""
    n = 0
    for p in range(lo, hi):
        w = ids[p]
        keep = keep_prob[w]
        if keep < 1.0:
            state, u = next_float(state)
            if u >= keep:
                continue
        out[n] = w
        n += 1
    return state, n


def draw_targets(state, center, negatives, collision, noise_threshold, noise_alias, targets):
    """targets[0] = center, then K negatives from the alias table by the collision rule; returns
    (state, m). Compiled for the CPU, and for the GPU with its device-array ``sample_alias``
    (see ``_jit.rebind``)."""
    targets[0] = center
    m = 1
    for _ in range(negatives):
        state, w = sample_alias(state, noise_threshold, noise_alias)
        if w == center:
            if collision == COLLIDE_SKIP:
                continue
            if collision == COLLIDE_REDRAW:
                for _try in range(64):  # bounded: a word with ~all the noise mass cannot hang us
                    state, w = sample_alias(state, noise_threshold, noise_alias)
                    if w != center:
                        break
                if w == center:
                    continue
        targets[m] = w
        m += 1
    return state, m


def next_draw_columns(state, negatives, n_columns, columns):
    """The alias-table columns that the next step's draw of negatives will read first, from the
    stream's state after this step's draws, without advancing it: that step draws its window
    (one draw) and then K negatives (one draw each; a redraw after a collision is not foreseen).
    The trainer prefetches these columns' table entries a step early: the table (12 bytes a
    word) is larger than L2, and its loads were where the draws waited. Fills ``columns[:K]``."""
    peek, _ = next_u64(state)
    for q in range(negatives):
        peek, i, _u = alias_draw(peek, n_columns)
        columns[q] = i
