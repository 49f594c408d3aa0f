"""The mini-batch SGD mode (``train.sgd=minibatch``): CS224N's word2vec experiment, faithfully.

``experiment=cs224n`` selects it: 10-d vectors on the Stanford Sentiment Treebank sentences,
40,000 iterations of 50 random windows (size 1..5), K=10 negatives, step 0.3 halved every
20,000 iterations, the cost printed as the assignment's run.py prints it (an exponential
moving average, ``0.95 * cost + 0.05 * loss``, updated every 10 iterations). The kernels are
:mod:`nbw2v.training.minibatch_kernels`; this module prepares the data, reports progress and
returns the vectors. The vectors are float64, as the assignment's; no checkpoints (the whole
run takes seconds): Ctrl-C or SIGTERM stops it and the tracked run is marked KILLED.
"""

from __future__ import annotations

import time

import numpy as np

from nbw2v._rng import stream_seed
from nbw2v.embeddings import Embeddings
from nbw2v.progress import Progress, format_eta
from nbw2v.text.corpus import Corpus
from nbw2v.text.vocab import Vocab, alias_table
from nbw2v.training.minibatch_kernels import assignment_corpus, minibatch_iterations

#: the assignment's sgd.py updates its printed cost every 10 iterations
COST_EVERY = 10
#: iterations per kernel call: progress, metrics and Ctrl-C are handled between calls
ROUND = 500


def assignment_keep_probs(counts: np.ndarray, sample: float) -> np.ndarray:
    """The assignment's subsampling: keep a word with probability ``min(1, sqrt(sample * N /
    count))`` (N = corpus words; ``sample`` 0 keeps every word). Not word2vec.c's rule."""
    if sample <= 0:
        return np.ones(counts.shape[0])
    return np.minimum(1.0, np.sqrt(sample * counts.sum() / counts.astype(np.float64)))


def moving_cost(
    losses: np.ndarray, every: int = COST_EVERY, after: int = 0, cost: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's printed cost: at iterations every, 2 every, ... (1-based) the
    exponential moving average ``0.95 * cost + 0.05 * loss`` (the first is the loss itself).
    Returns (iterations, costs). ``after`` and ``cost``: continue from the cost at iteration
    ``after`` (the training loop's rounds) instead of starting over."""
    at = np.arange((after // every + 1) * every, losses.shape[0] + 1, every)
    costs = np.empty(at.shape[0])
    for i, it in enumerate(at):
        loss = float(losses[it - 1])
        cost = loss if it == every else 0.95 * cost + 0.05 * loss
        costs[i] = cost
    return at, costs


def train_minibatch(cfg, tracker, progress: Progress, vocab: Vocab, corpus: Corpus, stats: dict, hooks) -> Embeddings:
    """Train as the assignment does (module docstring); returns the center vectors (the output
    vectors beside them) with ``.stats`` holding the iteration losses and the printed costs."""
    t = cfg.train
    n_words, dim = len(vocab), int(cfg.model.dim)
    iterations, batch, window, K = int(t.iterations), int(t.batch_windows), int(cfg.model.window), int(cfg.loss.K)
    log = progress.message
    tracker.log_params(
        {"corpus.vocab_size": n_words, "corpus.train_words": corpus.n_words, "corpus.words": int(stats["raw_words"])}
    )
    state = stream_seed(int(cfg.seed), 0, 0)
    keep = assignment_keep_probs(vocab.counts, float(cfg.data.sample))
    state, ids, starts = assignment_corpus(corpus.ids, corpus.sentence_starts, keep, int(t.corpus_copies), state)
    if starts.shape[0] < 2:
        raise ValueError(
            f"train.sgd=minibatch: no sentence of two or more words is left after subsampling (data.sample="
            f"{cfg.data.sample}); lower data.sample or use a larger corpus"
        )
    log(
        f"nbw2v: mini-batch SGD (CS224N): {iterations:,} iterations of {batch} windows (size 1-{window}), "
        f"K={K}, step {t.lr} halved every {t.anneal_every:,}; {starts.shape[0] - 1:,} training sentences "
        f"({t.corpus_copies} copies, subsampled), vocabulary {n_words:,}"
    )
    rng = np.random.default_rng(cfg.seed)
    C = (rng.random((n_words, dim)) - 0.5) / dim  # the assignment's initialisation
    O = np.zeros((n_words, dim))
    threshold, alias = alias_table(vocab.noise_distribution(cfg.loss.ns_exponent))
    G = np.zeros((2 * n_words, dim))
    mark = np.zeros(2 * n_words, np.int64)
    losses = np.zeros(iterations)
    if hooks is not None:
        hooks.before_training(vocab, corpus, C, O, None)
    compile_start = time.perf_counter()
    minibatch_iterations(C, O, ids, starts, threshold, alias, state, 0, 0, batch, window, K, 0.0, 1, G, mark, losses)
    stats["compile_seconds"] = time.perf_counter() - compile_start
    print_every = max(COST_EVERY, int(t.cost_every) // COST_EVERY * COST_EVERY)
    cost, start, done = 0.0, time.perf_counter(), 0
    try:
        while done < iterations:
            last = min(iterations, done + ROUND)
            state = minibatch_iterations(
                C, O, ids, starts, threshold, alias, state, done, last, batch, window, K, float(t.lr),
                int(t.anneal_every), G, mark, losses,
            )  # fmt: skip
            at, costs = moving_cost(losses[:last], after=done, cost=cost)  # sgd.py's cost, this round's
            for it, value in zip(at.tolist(), costs.tolist(), strict=True):
                if it % print_every == 0:
                    log(f"iter {it}: {value:f}")
                    tracker.log_metrics({"loss/cost": value}, step=it)
            cost = costs[-1] if costs.shape[0] else cost
            elapsed = time.perf_counter() - start
            if last < iterations and last % (20 * ROUND) == 0:
                rate = last / elapsed
                eta = format_eta((iterations - last) / rate)
                log(f"nbw2v: {last:,}/{iterations:,} iterations, {rate:,.0f}/s, ETA {eta}")
            done = last
    finally:
        progress.close()
    train_seconds = time.perf_counter() - start
    if not (np.isfinite(C).all() and np.isfinite(O).all()):
        from nbw2v.training.loop import TrainingDiverged

        raise TrainingDiverged("the vectors contain NaN/inf after training (lower train.lr)")
    at, costs = moving_cost(losses)
    if hooks is not None:
        hooks.after_epoch(1, C, O, iterations)
    log(f"nbw2v: {iterations:,} iterations in {train_seconds:.1f} s; final cost {costs[-1]:.4f}")
    emb = Embeddings(vocab, C, O)
    emb.stats = {
        **stats,
        "train_seconds": train_seconds,
        "epoch_losses": [float(costs[-1])],
        "iteration_losses": losses,
        "cost_iterations": at,
        "costs": costs,
        "final_cost": float(costs[-1]),
        "words_per_sec": 0.0,
        "threads": 1,
        "final_checkpoint": "",
    }
    return emb
