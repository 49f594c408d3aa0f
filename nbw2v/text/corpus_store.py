"""The encoded corpus as files: written as a stream, memory-mapped for training.

A store is a directory:

* ``ids.i32``: the vocabulary id of every kept corpus word, raw little-endian int32;
* ``starts.i64``: sentence offsets into it (int64, one more than there are sentences);
* ``meta.npz``: the vocabulary (words, counts), the sizes, the content digest and the stats.

:func:`build` reads the corpus once (compiled tokeniser, :func:`nbw2v.text.corpus.scan_corpus`),
writing the token type ids and line lengths to two temporary files, builds the vocabulary from
the counts, then streams those files through :func:`nbw2v.text.scan_kernels.encode_block`
(drop the words not kept, split long lines) into the store. Memory stays at the type table and
a few blocks, whatever the corpus size; the disk holds ~8 bytes per corpus word meanwhile.

:func:`load` maps the two arrays (copy-on-write private mappings: the kernels see ordinary
writable int32/int64 arrays, nothing is ever written back). Training reads them chunk by chunk;
:class:`Pager` hands the pages of trained chunks back to the kernel, so the resident memory
stays at the chunks in flight instead of growing to the corpus size over an epoch.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import sys
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nbw2v.config import ConfigError
from nbw2v.text.arrayfile import pack_words, unpack_words
from nbw2v.text.corpus import Corpus, scan_corpus
from nbw2v.text.vocab import MAX_WORD_CHARS, Vocab, word_lengths

IDS, STARTS, META = "ids.i32", "starts.i64", "meta.npz"
_TYPES, _LINES = "types.tmp", "lines.tmp"
#: tokens per step of the encoding pass
ENCODE_BLOCK = 1 << 22
PAGE = mmap.PAGESIZE


class _Writer:
    """File writes (and hashing) on one thread, in the order given, at most ``depth`` arrays
    behind: the encoding goes on meanwhile (file writes and BLAKE2 release the GIL). Errors
    (a full disk) are raised in the caller at a later :meth:`put` or at :meth:`drain`."""

    def __init__(self, depth: int = 3):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="nbw2v-store-writer")
        self.pending: deque = deque()
        self.depth = depth

    def put(self, fn, *args) -> None:
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) > self.depth:
            self.pending.popleft().result()

    def drain(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        try:
            if exc_type is None:
                self.drain()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _write_all(f, *arrays) -> None:
    for array in arrays:
        f.write(memoryview(array))


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(data_cfg, directory: Path, log=_stderr) -> tuple[Vocab, dict[str, float]]:
    """Read the corpus of ``data_cfg`` and write its store into ``directory`` (created);
    ``log``: where progress goes on a long read."""
    from nbw2v.text import scan_kernels as k

    directory.mkdir(parents=True)
    types_path, lines_path = directory / _TYPES, directory / _LINES
    with open(types_path, "wb") as tf, open(lines_path, "wb") as lf, _Writer() as writer:

        def sink(ids: np.ndarray, lines: np.ndarray) -> None:  # fresh arrays each block: safe to hand over
            writer.put(_write_all, tf, ids)
            writer.put(_write_all, lf, lines)

        found = scan_corpus(
            str(data_cfg.corpus), data_cfg.format, data_cfg.lowercase, data_cfg.cache_dir, sink, log=log
        )
    vocab, remap = Vocab.from_counts(found.words, found.counts, data_cfg.min_count, data_cfg.max_vocab_size)
    type_remap = remap[found.type_to_word]
    digest = hashlib.blake2b(digest_size=8)  # as checkpoint.corpus_hash: ids, then starts
    state = np.zeros(6, np.int64)
    n_sentences = 0
    with (
        open(types_path, "rb") as tf,
        open(lines_path, "rb") as lf,
        open(directory / IDS, "wb") as idf,
        open(directory / STARTS, "wb") as sf,
        _Writer() as writer,
        ThreadPoolExecutor(1, thread_name_prefix="nbw2v-store-reader") as reader,
    ):
        tokens = lines = np.zeros(0, np.int32)
        ahead = reader.submit(np.fromfile, tf, np.int32, ENCODE_BLOCK)
        while True:
            if state[0] == tokens.shape[0]:
                tokens, state[0] = ahead.result(), 0
                ahead = reader.submit(np.fromfile, tf, np.int32, ENCODE_BLOCK)
            if state[1] == lines.shape[0]:
                lines, state[1] = np.fromfile(lf, np.int32, ENCODE_BLOCK), 0
            if tokens.shape[0] == 0:
                break
            ids_out = np.empty(tokens.shape[0], np.int32)  # fresh: the writer may still hold the last ones
            starts_out = np.empty(tokens.shape[0], np.int64)
            n_out, n_starts = k.encode_block(
                tokens, tokens.shape[0], type_remap, lines, lines.shape[0], int(data_cfg.max_sentence_length),
                ids_out, starts_out, state,
            )  # fmt: skip
            writer.put(_write_all, idf, ids_out[:n_out])
            writer.put(digest.update, memoryview(ids_out[:n_out]))
            writer.put(_write_all, sf, starts_out[:n_starts])
            n_sentences += n_starts
        n_words = int(state[5])
        writer.put(_write_all, sf, np.array([n_words], np.int64))
    types_path.unlink()
    lines_path.unlink()
    if n_words == 0:
        raise ConfigError("the vocabulary keeps no word of the corpus: lower data.min_count")
    with open(directory / STARTS, "rb") as sf:
        while block := sf.read(8 << 20):
            digest.update(block)
    stats = {
        "raw_words": float(found.n_tokens),
        "raw_types": float(len(found.words)),
        "train_words": float(n_words),
        "sentences": float(n_sentences),
        "long_tokens": float((word_lengths(found.words) > MAX_WORD_CHARS).sum()),
    }
    with open(directory / META, "wb") as f:
        np.savez(
            f,
            words=pack_words(vocab.words),
            counts=vocab.counts,
            n_words=np.int64(n_words),
            n_sentences=np.int64(n_sentences),
            digest=np.array(digest.hexdigest()),
            stats=np.array(json.dumps(stats)),
        )
    return vocab, stats


def compile_reader() -> float:
    """Compile (or load from Numba's cache) the kernels of reading and encoding a corpus, on a
    few words with the argument types of a real read; returns the seconds it took. Called before
    a read, so that the read's progress, speed and time count reading only (a cold compile is
    ~10 s, then ~0.4 s to load). Tiny tables: nothing large is allocated."""
    import io
    import time

    from nbw2v.text import scan_kernels as k
    from nbw2v.text.scanner import Scanner, file_blocks

    start = time.perf_counter()
    scanner = Scanner(types=8)
    for block in file_blocks(io.BytesIO("the corpus reader\u3000compiles once\n".encode()), 64, 64):
        scanner.scan(block)
    scanner.type_texts(0)
    k.rehash(scanner.slots, scanner.shift, scanner.type_tag, scanner.n_types)  # (called when the table grows)
    tokens, lines = np.zeros(4, np.int32), np.array([4], np.int32)
    k.encode_block(
        tokens, tokens.shape[0], np.zeros(1, np.int32), lines, lines.shape[0], 10,
        np.empty(4, np.int32), np.empty(4, np.int64), np.zeros(6, np.int64),
    )  # fmt: skip
    return time.perf_counter() - start


class Pager:
    """The mappings of a loaded store; :meth:`release` drops the pages of a trained range from
    this process (they are read again from the page cache or the disk when next needed)."""

    def __init__(self, ids_map: mmap.mmap, starts_map: mmap.mmap):
        self.maps = (ids_map, starts_map)
        self.can_release = hasattr(mmap, "MADV_DONTNEED")

    def release_all(self) -> None:
        """Drop every mapped page (after a pass over the whole corpus: chunking, a digest)."""
        for m in self.maps:
            if self.can_release and len(m):
                m.madvise(mmap.MADV_DONTNEED)

    def release(self, word_lo: int, word_hi: int, sentence_lo: int, sentence_hi: int) -> None:
        if not self.can_release:
            return
        for m, lo, hi in ((self.maps[0], 4 * word_lo, 4 * word_hi), (self.maps[1], 8 * sentence_lo, 8 * sentence_hi)):
            first, last = lo // PAGE * PAGE, hi // PAGE * PAGE
            if last > first:
                m.madvise(mmap.MADV_DONTNEED, first, last - first)


def _map(path: Path, dtype, count: int) -> tuple[np.ndarray, mmap.mmap]:
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    return np.frombuffer(m, dtype=dtype, count=count), m


def load(directory: Path) -> tuple[Vocab, Corpus, dict[str, float]] | None:
    """The store in ``directory`` with its arrays memory-mapped; None if it is incomplete or
    damaged (sizes that disagree with its metadata)."""
    try:
        with np.load(directory / META, allow_pickle=False) as meta:
            vocab = Vocab(unpack_words(meta["words"]), meta["counts"])
            n_words, n_sentences = int(meta["n_words"]), int(meta["n_sentences"])
            digest, stats = str(meta["digest"]), json.loads(str(meta["stats"]))
        if (directory / IDS).stat().st_size != 4 * n_words or (directory / STARTS).stat().st_size != 8 * (
            n_sentences + 1
        ):
            return None
        ids, ids_map = _map(directory / IDS, np.int32, n_words)
        starts, starts_map = _map(directory / STARTS, np.int64, n_sentences + 1)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    if starts[-1] != n_words or starts[0] != 0:
        return None
    return vocab, Corpus(ids, starts, digest=digest, pager=Pager(ids_map, starts_map)), stats
