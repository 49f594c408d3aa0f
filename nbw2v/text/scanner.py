"""The corpus reader: files -> byte blocks -> token type ids and line lengths, with counts.

Blocks of ``BLOCK_BYTES`` raw bytes (decompressed for .gz/.bz2, on a reader thread so that
decompression overlaps tokenisation) are cut after their last whitespace and tokenised by the
compiled kernels of :mod:`nbw2v.text.scan_kernels` in parallel segments. What stays in memory
is the table of token types (each distinct byte string once) and one block; the token ids and
line lengths of every block go to the caller (:meth:`Scanner.blocks`), which writes them to
disk (:mod:`nbw2v.text.corpus_store`) or keeps them (:func:`nbw2v.text.corpus.read_corpus`).

Token types are raw byte strings; :meth:`Scanner.words` decodes them once each (UTF-8 errors
name the file and line), lower-cases them when asked and merges the types that become one
word, so lower-casing costs per distinct type, not per token.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numba
import numpy as np

from nbw2v.text import scan_kernels as k

#: raw bytes tokenised per call (the transient memory is ~5x this)
BLOCK_BYTES = 8 << 20
#: a run of this many bytes with no whitespace is not text: refused, never held in memory
MAX_TOKEN_BYTES = 64 << 20


class NoBreak(ValueError):
    """``MAX_TOKEN_BYTES`` without a whitespace byte."""


def _raw_blocks(f, block_bytes: int, max_token_bytes: int) -> Iterator[np.ndarray]:
    """``f``'s bytes in blocks that end just after a whitespace code point (the last block: at
    the end of the file). Each block is a fresh array: it may still be tokenised while the next
    is read."""
    carry = b""
    size = min(block_bytes, 1 << 20)  # a small first block fills the type table: fewer serial misses after
    while True:
        chunk = f.read(size)
        size = block_bytes
        if not chunk:
            if carry:
                yield np.frombuffer(carry, np.uint8)
            return
        data = carry + chunk if carry else chunk
        arr = np.frombuffer(data, np.uint8)
        cut = k.last_break(arr, arr.shape[0])
        if cut == 0:
            if len(data) > max_token_bytes:
                raise NoBreak(len(data))
            carry = data
            continue
        carry = data[cut:]
        yield arr[:cut]


def _prefetched(blocks: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """The same blocks, read ahead on a thread (file reads and zlib/bz2 release the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        q.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    thread = threading.Thread(target=produce, name="nbw2v-corpus-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _shift(slots: np.ndarray) -> np.uint64:
    """64 - log2(rows of the table): Fibonacci hashing's top bits index it."""
    return np.uint64(64 - (slots.shape[0].bit_length() - 1))


class Scanner:
    """Token types and their counts over every block scanned so far."""

    def __init__(self, threads: int | None = None, block_bytes: int = BLOCK_BYTES, types: int = 1 << 17):
        """``types``: room for this many types (a power of two) before the tables grow."""
        self.block_bytes = block_bytes
        self.segments = max(1, int(threads or numba.get_num_threads())) * 4
        self.slots = np.zeros((4 * types, 2), np.uint64)  # (tag, type id + 1); 0: empty
        self.shift = _shift(self.slots)
        self.type_tag = np.zeros(types, np.uint64)
        self.type_off = np.zeros(types, np.int64)
        self.type_len = np.zeros(types, np.int32)
        self.counts = np.zeros(types, np.int64)
        self.arena = np.zeros(16 * types, np.uint8)
        self.state = np.zeros(2, np.int64)  # types, arena bytes used
        self.carry = np.zeros(2, np.int64)  # words of the open line, line breaks so far
        self.tokens = 0

    @property
    def n_types(self) -> int:
        return int(self.state[0])

    @property
    def line_breaks(self) -> int:
        return int(self.carry[1])

    def _grow(self, need_bytes: int) -> None:
        """Room for one more type, ``need_bytes`` more arena bytes, a table at most half full."""
        n = self.n_types
        if n >= self.type_tag.shape[0]:
            size = 2 * self.type_tag.shape[0]
            for name in ("type_tag", "type_off", "type_len", "counts"):
                old = getattr(self, name)
                new = np.zeros(size, old.dtype)
                new[:n] = old[:n]
                setattr(self, name, new)
        if self.arena.shape[0] - int(self.state[1]) < need_bytes:
            arena = np.zeros(max(2 * self.arena.shape[0], int(self.state[1]) + need_bytes), np.uint8)
            arena[: self.state[1]] = self.arena[: self.state[1]]
            self.arena = arena
        if 2 * (n + 1) > self.slots.shape[0]:
            self.slots = np.zeros((4 * self.slots.shape[0], 2), np.uint64)
            self.shift = _shift(self.slots)
            k.rehash(self.slots, self.shift, self.type_tag, n)

    def scan(self, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tokenise one block (ending at whitespace or at the end of a file): its type ids and
        the lengths of the lines it completes (views, valid until the next call)."""
        n = buf.shape[0]
        starts = k.segment_starts(buf, n, self.segments)
        out = np.empty(n // 2 + starts.shape[0] + 1, np.int32)
        lines = np.empty_like(out)
        info = np.zeros((starts.shape[0] - 1, 7), np.int64)
        table = (self.slots, self.shift, self.type_tag, self.type_off, self.type_len, self.arena)
        k.scan_segments(buf, starts, *table, out, lines, info)
        if info[:, 5].any():
            resume = np.zeros(2, np.int64)
            while not k.resolve_misses(
                buf, starts, info, out, self.slots, self.shift, self.type_tag, self.type_off, self.type_len,
                self.arena, self.state, resume,
            ):  # fmt: skip
                self._grow(n)
        total = int(info[:, 0].sum())
        ids = np.empty(total, np.int32)
        done = np.empty(int(info[:, 1].sum()) + starts.shape[0], np.int32)
        n_ids, n_lines = k.emit_block(starts, info, out, lines, self.counts, ids, done, self.carry)
        self.tokens += n_ids
        return ids, done[:n_lines]

    def end_line(self) -> np.ndarray:
        """A file ended: its last line (if it has words) is complete."""
        words = int(self.carry[0])
        self.carry[0] = 0
        return np.array([words] if words else [], np.int32)

    def type_texts(self, first: int) -> list[str]:
        """Types ``first ..`` decoded (one UTF-8 decode of them joined by newlines, which no
        type contains); UnicodeDecodeError if one is not UTF-8."""
        last = self.n_types
        if last <= first:
            return []
        joined = k.join_types(self.arena, self.type_off, self.type_len, first, last)
        return joined.tobytes().decode("utf-8").split("\n")


def file_blocks(f, block_bytes: int = BLOCK_BYTES, max_token_bytes: int = MAX_TOKEN_BYTES) -> Iterator[np.ndarray]:
    """Blocks of an open binary file, read ahead on a thread."""
    return _prefetched(_raw_blocks(f, block_bytes, max_token_bytes))
