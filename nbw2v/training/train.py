"""``train(cfg, tracker) -> Embeddings``: the skip-gram / CBOW trainer (no Hydra in here).

Stages: validate the config (before any read or compile) -> read and count the corpus ->
vocabulary -> encode to ids -> epochs of Hogwild chunks (Numba, :mod:`nbw2v.training.kernels`)
with progress (loss, words/s, ETA) between rounds of chunks -> Embeddings.

Loss: every (center, context) pair's loss is summed in float64 per chunk, before that pair's
update; chunk sums are reduced in chunk order. The reported loss is the mean per pair over a
reporting interval (``loss/train``) or an epoch (``loss/epoch``), so it means the same for any
thread count; each pair's loss includes its K negative terms.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any

import numba
import numpy as np

from nbw2v._alloc import fix_mmap_threshold
from nbw2v._jit import set_threads
from nbw2v.config import ConfigError, validate
from nbw2v.embeddings import Embeddings
from nbw2v.losses import huffman_tree
from nbw2v.losses.registry import device_description, runner_class
from nbw2v.losses.registry import get as loss_spec
from nbw2v.progress import Progress
from nbw2v.text.arrayfile import available_memory_bytes
from nbw2v.text.corpus import Corpus, encode_corpus, read_corpus, shuffle_sentences
from nbw2v.text.vocab import MAX_WORD_CHARS, Vocab, alias_table, word_lengths
from nbw2v.tracking.liveness import interrupts_deferred
from nbw2v.tracking.tracker import NullTracker, Tracker
from nbw2v.training.checkpoint import (
    CheckpointError,
    CheckpointSlot,
    TrainState,
    corpus_hash,
    load_checkpoint,
    save_checkpoint,
    training_config_hash,
    validate_state,
    words_hash,
)
from nbw2v.training.kernels import (
    ARCH_CBOW,
    ARCH_SKIPGRAM,
    COLLIDE_KEEP,
    COLLIDE_REDRAW,
    COLLIDE_SKIP,
    TARGETS_PATH,
    CorpusArrays,
    Schedule,
    Tables,
    hot_node_rows,
    make_chunks,
    no_tree,
)
from nbw2v.training.loop import (  # noqa: F401  (TrainingDiverged, TrainingInterrupted: importable from here)
    EpochLoop,
    TrainHooks,
    TrainingDiverged,
    TrainingInterrupted,
    deferred_signals,
    signal_name,
)
from nbw2v.training.matrices import compact, row_storage

#: the naive softmax costs O(V d) per pair; above this V*d it is refused (use loss=negative)
SOFTMAX_MAX_VD = 50_000_000


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model.dim": 100, ...}`` from nested dataclasses or mappings."""
    items = dataclasses.asdict(cfg).items() if dataclasses.is_dataclass(cfg) else dict(cfg).items()
    out: dict[str, Any] = {}
    for key, value in items:
        if isinstance(value, dict) or dataclasses.is_dataclass(value) or hasattr(value, "items"):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


#: set by the sweep callback: Numba threads for each job, so that jobs x threads <= cores
ENV_THREADS = "NBW2V_THREADS_PER_JOB"


def threads_for(cfg) -> int:
    """``train.threads``; if 0 (auto): the per-job share set by a parallel sweep, else every
    core Numba may use."""
    import numba

    if cfg.train.threads:
        return int(cfg.train.threads)
    return int(os.environ.get(ENV_THREADS) or numba.config.NUMBA_NUM_THREADS)


def require_device(cfg) -> str:
    """ "" for the CPU; for ``train.device=cuda`` the GPU's description, or ``GpuUnavailable``
    naming the reason: checked before any read or compile, never a silent CPU run."""
    return device_description(cfg.train.device)  # by name: no import of nbw2v.gpu here


def _check_memory(n_words: int, dim: int, corpus_words: int, cfg) -> None:
    """Refuse, before allocating or compiling, a model that cannot fit in memory."""
    need = 2 * n_words * dim * 4 + corpus_words * 4  # a mapped corpus passes corpus_words=0
    need += loss_spec(cfg.loss.name).per_word_bytes(n_words, dim, cfg.train.softmax_batch)
    free = available_memory_bytes()
    if free is not None and need > 0.9 * free:
        raise ConfigError(
            f"model.dim={dim}: {n_words:,} words x {dim} dimensions need about {need / 2**30:.1f} GiB "
            f"(two float32 matrices + the corpus ids), but only {free / 2**30:.1f} GiB is available; lower "
            "model.dim, raise data.min_count or set data.max_vocab_size"
        )


def build_vocab_and_corpus(cfg) -> tuple[Vocab, Corpus, dict[str, float]]:
    """Read the corpus once, build the vocabulary and encode; returns timings and counts too.
    With ``data.cache`` (default) the encoded corpus is a store on disk, built once, shared by
    later runs and memory-mapped (memory stays flat whatever the corpus size); without it the
    corpus is read into memory. Reading is parallel on the run's threads."""
    set_threads(threads_for(cfg))
    fix_mmap_threshold()  # the read's large blocks go back to the OS when freed
    start = time.perf_counter()
    compiled: list[float] = []  # seconds compiling the reader (once), not counted as reading

    def reader_ready() -> None:  # (the in-memory read after a failed store build: already done)
        if not compiled:
            compiled.append(_compile_reader())

    def in_memory():
        reader_ready()
        return _build_vocab_and_corpus(cfg)

    if getattr(cfg.data, "cache", False):
        from nbw2v.text.cache import cached
        from nbw2v.text.corpus_store import build

        def store(data_cfg, directory):
            reader_ready()
            return build(data_cfg, directory)

        (vocab, corpus, stats), hit = cached(cfg.data, in_memory, store)
        stats = {**stats, "vocab_cached": float(hit)}
    else:
        vocab, corpus, stats = in_memory()
    stats = {**stats, "vocab_seconds": time.perf_counter() - start - sum(compiled)}
    if compiled:
        stats["reader_compile_seconds"] = compiled[0]
    if getattr(cfg.data, "shuffle", False):  # a mapped corpus is copied into memory, shuffled
        start = time.perf_counter()
        corpus = shuffle_sentences(corpus, cfg.seed)
        stats = {**stats, "shuffle_seconds": time.perf_counter() - start}
    return vocab, corpus, stats


def _compile_reader() -> float:
    """The corpus reader's kernels compiled (said when it takes a while: a first run); Ctrl-C /
    SIGTERM wait for the end, as for the training kernels."""
    from nbw2v.text.corpus_store import compile_reader

    with interrupts_deferred("nbw2v: interrupted: stopping once the corpus reader is compiled ..."):
        seconds = compile_reader()
    if seconds > 1.0:
        notice = f"nbw2v: compiled the corpus reader in {seconds:.1f} s (cached for next runs)"
        print(notice, file=sys.stderr, flush=True)
    return seconds


def _build_vocab_and_corpus(cfg) -> tuple[Vocab, Corpus, dict[str, float]]:
    """The corpus read into memory (``data.cache=false``, or a cache that cannot be written)."""
    start = time.perf_counter()
    data = cfg.data
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    raw = read_corpus(str(data.corpus), data.format, data.lowercase, data.cache_dir, log=log)
    vocab, remap = Vocab.from_counts(raw.words, raw.counts, data.min_count, data.max_vocab_size)
    corpus = encode_corpus(raw, remap, data.max_sentence_length)
    stats = {
        "vocab_seconds": time.perf_counter() - start,
        "raw_words": float(raw.n_tokens),
        "raw_types": float(len(raw.words)),
        "train_words": float(corpus.n_words),
        "sentences": float(corpus.n_sentences),
        "long_tokens": float((word_lengths(raw.words) > MAX_WORD_CHARS).sum()),
    }
    return vocab, corpus, stats


def train(
    cfg,
    tracker: Tracker | None = None,
    progress: Progress | None = None,
    prepared: tuple[Vocab, Corpus, dict[str, float]] | None = None,
    hooks: TrainHooks | None = None,
    slot: CheckpointSlot | None = None,
    keep_checkpoint: bool = False,
) -> Embeddings:
    """Train word vectors as ``cfg`` says; return them with ``.stats`` (timings, losses).

    ``progress``: where status goes (default: stderr, a live line on a terminal);
    ``SilentProgress()`` for none. ``prepared``: a ``build_vocab_and_corpus(cfg)`` result to
    reuse (benchmarks, sweeps). ``slot``: the config's checkpoint slot, already prepared by the
    caller (else train prepares and releases its own). ``keep_checkpoint``: leave a final
    checkpoint of the trained model for the caller to remove once its results are safe.
    Raises ``ConfigError`` for bad settings (before any work) and ``TrainingDiverged``.
    """
    validate(cfg)
    gpu = require_device(cfg)
    own_slot = slot is None
    if own_slot:  # checked before the corpus is read
        slot = CheckpointSlot(cfg.train.checkpoint_dir, training_config_hash(flatten(cfg)))
        slot.prepare(str(cfg.train.resume), int(cfg.train.epochs))
    try:
        vocab, corpus, stats = prepared or build_vocab_and_corpus(cfg)
        check_model(cfg, vocab, corpus)
        if cfg.train.sgd == "minibatch":  # the CS224N assignment's SGD: no epochs, no checkpoints
            from nbw2v.training.minibatch import train_minibatch

            (tracker or NullTracker()).log_params(flatten(cfg))
            return train_minibatch(cfg, tracker or NullTracker(), progress or Progress(), vocab, corpus, stats, hooks)
        return _train(
            cfg,
            tracker or NullTracker(),
            progress or Progress(),
            vocab,
            corpus,
            stats,
            hooks,
            slot,
            keep_checkpoint,
            gpu,
        )
    finally:
        if own_slot:
            slot.release()


def check_model(cfg, vocab: Vocab, corpus: Corpus) -> None:
    """What can be refused once the vocabulary is known, before any allocation, compile or
    tracked run: the naive softmax's size limit and the memory the model needs."""
    n_words, dim = len(vocab), cfg.model.dim
    if n_words < 2:  # nothing to predict but the word itself (and no Huffman tree): a meaningless run
        raise ConfigError(
            f"data.min_count={cfg.data.min_count}: only {n_words} word occurs that often; a model needs a "
            "vocabulary of 2 or more words: lower data.min_count (or use a larger corpus)"
        )
    if cfg.loss.name == "softmax" and n_words * dim > SOFTMAX_MAX_VD:
        raise ConfigError(
            f"loss.name=softmax: V*d = {n_words}*{dim} is too large for the O(V d)-per-pair naive softmax "
            f"(limit {SOFTMAX_MAX_VD:,}); raise data.min_count, set data.max_vocab_size, or use loss.name=negative"
        )
    _check_memory(n_words, dim, corpus.n_words if corpus.pager is None else 0, cfg)


def _train(cfg, tracker, progress, vocab, corpus, stats, hooks, slot, keep_checkpoint, gpu) -> Embeddings:
    log = progress.message
    threads = set_threads(threads_for(cfg))
    n_words, dim = len(vocab), cfg.model.dim
    if stats.get("long_tokens"):
        log(
            f"nbw2v: ignored {int(stats['long_tokens']):,} word type(s) longer than {MAX_WORD_CHARS:,} characters "
            "(not words: binary data or markup?)"
        )
    log(
        f"nbw2v: {stats['raw_words']:,.0f} corpus words, vocabulary {n_words:,} words "
        f"(min_count={cfg.data.min_count}), {corpus.n_words:,} training words in {corpus.n_sentences:,} "
        f"sentences; {'loaded from the corpus cache' if stats.get('vocab_cached') else 'read'} in "
        f"{stats['vocab_seconds']:.1f} s"
    )
    tracker.log_params(flatten(cfg))
    # constants of the run are params (metrics would sort first in every chart and plot as dots)
    tracker.log_params(
        {"corpus.vocab_size": n_words, "corpus.train_words": corpus.n_words, "corpus.words": int(stats["raw_words"])}
    )

    runner = runner_class(cfg.loss.name, "cuda" if gpu else "cpu")  # by name: no import of nbw2v.gpu here
    # the kernels work on rows padded to whole cache lines (the runner's choice); everything
    # else sees the [:, :dim] views, and the returned model the rows packed (matrices.py)
    pad = bool(getattr(runner, "padded_rows", False))
    rng = np.random.default_rng(cfg.seed)
    input_storage, input_vectors = row_storage(n_words, dim, pad)
    input_vectors[:] = (rng.random((n_words, dim), dtype=np.float32) - 0.5) / dim
    # hierarchical softmax: rows below the vocabulary's for the threads' private hot-node copies
    extra = hot_node_rows(n_words, loss_spec(cfg.loss.name).targets == TARGETS_PATH, numba.config.NUMBA_NUM_THREADS)
    output_storage, output_columns = row_storage(n_words + extra, dim, pad)
    output_vectors = output_columns[:n_words]
    threshold, alias = alias_table(vocab.noise_distribution(cfg.loss.ns_exponent))
    tables = Tables(vocab.keep_probs(cfg.data.sample), threshold, alias)
    chunk_starts, words_before = chunks_of(corpus, cfg)
    arrays = CorpusArrays(corpus.ids, corpus.sentence_starts, chunk_starts, words_before)
    sched = Schedule(
        seed=int(cfg.seed),
        epochs=int(cfg.train.epochs),
        window=int(cfg.model.window),
        negatives=int(cfg.loss.K),
        lr0=float(cfg.train.lr),
        min_lr_ratio=float(cfg.train.min_lr_ratio),
        total_words=int(corpus.n_words),
        collision={"skip": COLLIDE_SKIP, "keep": COLLIDE_KEEP, "redraw": COLLIDE_REDRAW}[cfg.loss.neg_collision],
        arch=ARCH_CBOW if cfg.model.arch == "cbow" else ARCH_SKIPGRAM,
        shared_negatives=bool(cfg.train.shared_negatives),
        targets=loss_spec(cfg.loss.name).targets,
    )
    tree = huffman_tree(vocab.counts) if sched.targets == TARGETS_PATH else no_tree()
    vocab_hash, corpus_digest = words_hash(vocab.words), corpus_hash(corpus)
    state = TrainState()
    if slot.resume_from is not None:
        state, loaded = slot.checked or _checked(
            slot.resume_from, vocab_hash, corpus_digest, input_vectors.shape, cfg, chunk_starts
        )  # checked once: by check_resume before the run opened, or here
        input_vectors[:] = loaded["input_vectors"]
        output_vectors[:] = loaded["output_vectors"]
        slot.checked = None  # the matrices are in the model now
        where = (
            "after training (evaluation and logging only)"
            if state.epoch == sched.epochs
            else (f"at epoch {state.epoch + 1}, chunk {state.next_chunk}")
        )
        log(f"nbw2v: resuming from {slot.resume_from} {where}")
    stats["checkpoint_path"] = str(slot.path)
    if hooks is not None:
        hooks.before_training(vocab, corpus, input_vectors, output_vectors, tables)
    if gpu:
        log(f"nbw2v: training on the GPU: {gpu}")
        stats["gpu"] = gpu
    loop = EpochLoop(cfg, input_vectors, output_vectors, arrays, sched, tables, threads, runner)
    loop.tree, loop.pager = tree, corpus.pager
    loop.input_storage, loop.output_storage = input_storage, output_storage
    loop.checkpoint = lambda st, path=None: save_checkpoint(
        path or slot.path, input_vectors, output_vectors, st, slot.config_hash, vocab_hash, vocab, corpus_digest
    )
    loop.warn = log
    compile_start = time.perf_counter()
    # no chunk: compiles (or loads from the cache) outside the timed loop. Ctrl-C / SIGTERM wait for
    # its end: raised inside Numba's compiler they were swallowed (the run went on) or broke its
    # cache write ("no compiled object yet", exit 1)
    with interrupts_deferred("nbw2v: interrupted: stopping once the training kernels are compiled ..."):
        loop.run_round(0, 0, 0)
    stats["compile_seconds"] = time.perf_counter() - compile_start
    if stats["compile_seconds"] > 1.0:
        log(f"nbw2v: compiled the training kernels in {stats['compile_seconds']:.1f} s (cached for next runs)")
    try:
        with deferred_signals(loop, keep_checkpoint):
            epoch_losses = loop.run(tracker, progress, stats, hooks, state)
            for name, matrix in (("input", input_vectors), ("output", output_vectors)):
                if not np.isfinite(matrix).all():
                    raise TrainingDiverged(f"the {name} vectors contain NaN/inf after training (lower train.lr)")
            if keep_checkpoint:  # the trained model survives an interrupted evaluation or upload
                # (fallback: a disk that filled up meanwhile moves it to the temporary directory)
                loop.final_checkpoint = loop.save(sched.epochs, 0, epoch_losses, stats["loss_history"], fallback=True)
    finally:
        progress.close()
    if not keep_checkpoint:
        slot.path.unlink(missing_ok=True)  # finished: a later resume=auto must not replay it
    input_vectors, output_vectors = compact(input_storage, dim), compact(output_storage, dim)[:n_words]
    emb = Embeddings(vocab, input_vectors, output_vectors)
    emb.stats = {**stats, "epoch_losses": epoch_losses, "threads": threads}
    emb.stats["final_checkpoint"] = str(loop.final_checkpoint or "")
    return emb


def check_resume(cfg, slot, vocab: Vocab, corpus: Corpus) -> None:
    """The checkpoint to resume checked against the corpus (vocabulary, content, position, finite
    matrices) once it is known and before the run opens
    (a checkpoint of another corpus, a NaN in its matrices: no FAILED run left for it)."""
    if slot.resume_from is None:
        return
    chunk_starts, _ = chunks_of(corpus, cfg)
    shape = (len(vocab), cfg.model.dim)
    digests = words_hash(vocab.words), corpus_hash(corpus)
    slot.checked = _checked(slot.resume_from, *digests, shape, cfg, chunk_starts)  # kept for train(): read once


def chunks_of(corpus: Corpus, cfg) -> tuple[np.ndarray, np.ndarray]:
    """The run's chunks (sentence index and words before each). The pass reads every page of
    the sentence offsets (442 MB for 1B words): a mapped corpus's are handed back as it goes."""
    pager = corpus.pager
    release = None if pager is None else (lambda lo, hi: pager.release(0, 0, lo, hi))
    return make_chunks(corpus.sentence_starts, chunk_words_of(cfg), release)


def chunk_words_of(cfg) -> int:
    """Corpus words per chunk of this run's trainer (a GPU launch takes larger chunks)."""
    return cfg.train.gpu_chunk_words if cfg.train.device == "cuda" else cfg.train.chunk_words


def _checked(path, vocab_hash, corpus_digest, shape, cfg, chunk_starts) -> tuple[TrainState, dict]:
    where = f"train.resume={str(path)!r}"
    meta, arrays = load_checkpoint(path, shape=shape)
    if meta.get("vocab_hash") != vocab_hash:
        raise CheckpointError(f"{where}: the corpus or its vocabulary changed since the checkpoint")
    if meta.get("corpus_hash") and meta["corpus_hash"] != corpus_digest:
        raise CheckpointError(
            f"{where}: the corpus changed since the checkpoint (same words and counts, other content or order); "
            "delete the checkpoint to start over"
        )
    return validate_state(meta, arrays, where, int(cfg.train.epochs), int(chunk_starts.shape[0] - 1)), arrays
