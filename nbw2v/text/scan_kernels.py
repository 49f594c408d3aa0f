"""Compiled tokenisation of UTF-8 byte blocks and the streamed encoding of token ids.

The reader (:mod:`nbw2v.text.scanner`) hands these kernels blocks of raw bytes that end at a
whitespace byte; they split them into tokens exactly as Python's ``str.split()`` does (every
code point for which ``str.isspace()`` is true separates tokens: the ASCII ones and the ten
multi-byte UTF-8 sequences of :func:`ws_len`), and lines at ``\\n`` and ``\\r`` (Python's
universal newlines: ``\\r\\n`` gives an empty line between, and empty lines are dropped).

Token *types* (distinct byte strings, before lower-casing) live in an open-addressing hash
table: ``slots`` (power-of-two size) holds (tag, type id + 1) pairs; per type its tag, its
offset and length in the byte ``arena``; a slot holds a type's tag (the token itself when it
has up to 7 bytes, else a hash; see :func:`_token`) beside its id, so a lookup touches one cache
line. A block is tokenised in two steps:

1. :func:`scan_segments` (parallel over segments of the block, table read-only): every token
   is looked up; a hit writes its type id, a miss writes ``-(byte offset + 1)``. Line lengths
   (in tokens) are recorded per segment.
2. :func:`resolve_misses` (serial, in token order, so type ids are deterministic): misses are
   looked up again and inserted. When the table, the type arrays or the arena are full it
   returns where it stopped; the caller grows them and calls it again.

:func:`emit_block` then joins the segments: contiguous type ids, counts, and the lengths of
the lines completed in this block (a line may continue over blocks and files' segments).
:func:`encode_block` maps type ids to vocabulary ids as a stream, drops the words the
vocabulary does not keep and splits long lines into sentences.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nbw2v._bytes import load_u64, trailing_zeros
from nbw2v._jit import njit_parallel, njit_serial

FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)
LOW56 = np.uint64((1 << 56) - 1)
BELOW_21 = np.uint64(0x2121212121212121)  # word-at-a-time "byte < 0x21" (with HIGH_BITS)
HIGH_BITS = np.uint64(0x8080808080808080)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of tag * GOLDEN index the table


def _byte_classes() -> np.ndarray:
    """Per byte value: 0 inside a token, 1 ASCII whitespace, 2 a line break (``\\n``, ``\\r``),
    3 the lead byte of a multi-byte whitespace code point (then :func:`wide_ws_len` decides)."""
    classes = np.zeros(256, np.uint8)
    classes[[9, 11, 12, 28, 29, 30, 31, 32]] = 1
    classes[[10, 13]] = 2
    classes[[0xC2, 0xE1, 0xE2, 0xE3]] = 3
    return classes


#: a constant of the compiled kernels (Numba freezes global arrays)
BYTE_CLASS = _byte_classes()


@njit_serial
def wide_ws_len(buf, i, end):
    """Bytes of the multi-byte whitespace code point at ``buf[i]`` (0: none). With the ASCII
    ones of :data:`BYTE_CLASS` this is Python's ``str.isspace()`` set: U+0085, U+00A0, U+1680,
    U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000."""
    c = buf[i]
    if c == 0xC2:
        if i + 1 < end and (buf[i + 1] == 0x85 or buf[i + 1] == 0xA0):
            return 2
        return 0
    if i + 2 >= end:
        return 0
    b1, b2 = buf[i + 1], buf[i + 2]
    if c == 0xE1:
        return 3 if b1 == 0x9A and b2 == 0x80 else 0
    if c == 0xE3:
        return 3 if b1 == 0x80 and b2 == 0x80 else 0
    if b1 == 0x80:  # E2 80 xx
        return 3 if (0x80 <= b2 <= 0x8A) or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF else 0
    return 3 if b1 == 0x81 and b2 == 0x9F else 0


@njit_serial
def ws_len(buf, i, end):
    """Bytes of the whitespace code point at ``buf[i]`` (0: not whitespace)."""
    c = BYTE_CLASS[buf[i]]
    if c == 0:
        return 0
    if c == 3:
        return wide_ws_len(buf, i, end)
    return 1


@njit_serial(inline="always")
def _ends_token(buf, j, end):
    """Whether ``buf[j]`` starts a whitespace code point (the token before it ends there)."""
    c = BYTE_CLASS[buf[j]]
    return c != 0 and (c != 3 or wide_ws_len(buf, j, end) != 0)


@njit_serial(inline="always")
def _token(buf, i, end):
    """(end, tag) of the token starting at ``buf[i]``: a token of up to 7 bytes is its own tag
    (the bytes, and the length in the top byte), a longer one is tagged by a hash of its 8-byte
    words (top byte 0), so most lookups compare one word and never read the arena.

    Read 8 bytes at a time while 8 remain: only a byte below 0x21 or from 0x80 up (ASCII
    whitespace and control bytes, UTF-8 lead and continuation bytes) may end a token, and those
    are found in the word at once and checked one by one against :data:`BYTE_CLASS`. Then byte
    by byte. With the lookups, one thread on refcorpus: 11 cycles a byte (21 byte by byte).
    The rare multi-byte whitespace test (:func:`wide_ws_len`) is a call, not inlined: inlined in
    every loop it cost 1.5x the scan time and 1.7x the compile time (16 s cold)."""
    h = FNV_OFFSET
    key = np.uint64(0)
    j = i
    while j + 8 <= end:
        w = load_u64(buf, j)
        maybe = ((w - BELOW_21) | w) & HIGH_BITS  # the top bit of each byte < 0x21 or >= 0x80
        stop = 8
        while maybe != np.uint64(0):
            k = np.int64(trailing_zeros(maybe) >> np.uint64(3))
            if _ends_token(buf, j + k, end):
                stop = k
                break
            maybe &= maybe - np.uint64(1)
        if stop < 8:
            if stop:
                key = w & ((np.uint64(1) << np.uint64(8 * stop)) - np.uint64(1))
            j += stop
            return _tagged(i, j, h, key)
        h = (h ^ w) * FNV_PRIME
        h ^= h >> np.uint64(32)
        j += 8
    shift = np.uint64(0)  # fewer than 8 bytes left
    while j < end and not _ends_token(buf, j, end):
        key |= np.uint64(buf[j]) << shift
        shift += np.uint64(8)
        j += 1
    return _tagged(i, j, h, key)


@njit_serial(inline="always")
def _tagged(i, j, h, key):
    """(j, tag) of the token ``buf[i:j]``: ``key`` holds its bytes after its last whole 8-byte
    word, ``h`` the hash of its whole words."""
    n = np.uint64(j - i)
    if n <= np.uint64(7):
        return j, key | (n << np.uint64(56))
    h = (h ^ key ^ (n << np.uint64(56))) * FNV_PRIME
    h ^= h >> np.uint64(29)
    return j, h & LOW56


@njit_serial(inline="always")
def _find(buf, start, n, tag, slots, shift, type_off, type_len, arena):
    """(type id or -1, slot index where the search ended). ``slots[i]`` = (tag, type id + 1),
    0 when empty; ``shift`` = 64 - log2(slots)."""
    mask = slots.shape[0] - 1
    idx = np.int64((tag * GOLDEN) >> shift)
    while True:
        v = slots[idx, 1]
        if v == 0:
            return -1, idx
        if slots[idx, 0] == tag:
            tid = np.int64(v) - 1
            if n <= 7:
                return tid, idx
            if type_len[tid] == n:
                off = type_off[tid]
                same = True
                for k in range(n):
                    if arena[off + k] != buf[start + k]:
                        same = False
                        break
                if same:
                    return tid, idx
        idx = (idx + 1) & mask


@njit_parallel
def scan_segments(buf, seg_start, slots, shift, type_tag, type_off, type_len, arena, out, lines, seg_info):
    """Tokenise ``buf[seg_start[s]:seg_start[s+1]]`` for every segment ``s`` in parallel.

    Segment ``s`` writes its tokens to ``out[seg_start[s] // 2 + s ...]`` (a token takes at
    least 2 bytes with its separator) and its completed non-empty line lengths to ``lines`` at
    the same base. ``seg_info[s]`` = (tokens, completed lines, words before its first line
    break, words after its last, 1 if it has a break, misses, line breaks)."""
    for s in prange(seg_start.shape[0] - 1):
        i, end = seg_start[s], seg_start[s + 1]
        base = seg_start[s] // 2 + s
        t = base
        n_lines = 0
        words = 0
        first = 0
        broke = 0
        misses = 0
        breaks = 0
        while i < end:
            c = BYTE_CLASS[buf[i]]
            if c == 1:
                i += 1
                continue
            if c == 2:
                if buf[i] == 10 or i + 1 >= end or buf[i + 1] != 10:
                    breaks += 1
                if broke == 0:
                    first = words
                    broke = 1
                elif words:
                    lines[base + n_lines] = words
                    n_lines += 1
                words = 0
                i += 1
                continue
            if c == 3:
                w = wide_ws_len(buf, i, end)
                if w:
                    i += w
                    continue
            j, h = _token(buf, i, end)
            tid, _ = _find(buf, i, j - i, h, slots, shift, type_off, type_len, arena)
            if tid < 0:
                out[t] = -(i + 1)
                misses += 1
            else:
                out[t] = tid
            t += 1
            words += 1
            i = j
        if broke == 0:
            first = words
            words = 0
        seg_info[s, 0] = t - base
        seg_info[s, 1] = n_lines
        seg_info[s, 2] = first
        seg_info[s, 3] = words
        seg_info[s, 4] = broke
        seg_info[s, 5] = misses
        seg_info[s, 6] = breaks


@njit_serial
def resolve_misses(buf, seg_start, seg_info, out, slots, shift, type_tag, type_off, type_len, arena, state, resume):
    """Look up again and insert, in token order, the tokens :func:`scan_segments` missed.

    ``state`` = [types, arena bytes used]; ``resume`` = [segment, token index] to start at.
    Returns 1 when done, 0 when a table is full (``resume`` then says where to go on)."""
    for s in range(resume[0], seg_start.shape[0] - 1):
        if seg_info[s, 5] == 0:
            continue
        base = seg_start[s] // 2 + s
        t0 = resume[1] if s == resume[0] and resume[1] > base else base
        for t in range(t0, base + seg_info[s, 0]):
            v = out[t]
            if v >= 0:
                continue
            i = -v - 1
            j, h = _token(buf, i, seg_start[s + 1])
            n = j - i
            tid, idx = _find(buf, i, n, h, slots, shift, type_off, type_len, arena)
            if tid < 0:
                n_types, used = state[0], state[1]
                if n_types >= type_tag.shape[0] or used + n > arena.shape[0] or 2 * (n_types + 1) > slots.shape[0]:
                    resume[0] = s
                    resume[1] = t
                    return 0
                tid = n_types
                slots[idx, 0] = h
                slots[idx, 1] = tid + 1
                type_tag[tid] = h
                type_off[tid] = used
                type_len[tid] = n
                arena[used : used + n] = buf[i:j]
                state[0] = n_types + 1
                state[1] = used + n
            out[t] = tid
    resume[0] = seg_start.shape[0] - 1
    return 1


@njit_serial
def rehash(slots, shift, type_tag, n_types):
    """Refill ``slots`` (all empty, a new size) with the first ``n_types`` types."""
    mask = slots.shape[0] - 1
    for tid in range(n_types):
        idx = np.int64((type_tag[tid] * GOLDEN) >> shift)
        while slots[idx, 1] != 0:
            idx = (idx + 1) & mask
        slots[idx, 0] = type_tag[tid]
        slots[idx, 1] = tid + 1


@njit_serial
def emit_block(seg_start, seg_info, out, lines, counts, ids_out, lines_out, carry):
    """Join the segments of a block: type ids into ``ids_out`` (counted in ``counts``), the
    lines completed in this block into ``lines_out``. ``carry`` = [words of the line still
    open, line breaks so far]. Returns (tokens, lines) written."""
    n_ids = 0
    n_lines = 0
    open_words = carry[0]
    for s in range(seg_start.shape[0] - 1):
        base = seg_start[s] // 2 + s
        for t in range(base, base + seg_info[s, 0]):
            tid = out[t]
            counts[tid] += 1
            ids_out[n_ids] = tid
            n_ids += 1
        open_words += seg_info[s, 2]
        if seg_info[s, 4]:
            if open_words:
                lines_out[n_lines] = open_words
                n_lines += 1
            for k in range(seg_info[s, 1]):
                lines_out[n_lines] = lines[base + k]
                n_lines += 1
            open_words = seg_info[s, 3]
        carry[1] += seg_info[s, 6]
    carry[0] = open_words
    return n_ids, n_lines


@njit_serial
def last_break(buf, n):
    """Index just after the last whitespace code point of ``buf[:n]`` (0: none). ASCII
    whitespace is searched from the end; a block with none is scanned for the multi-byte kind."""
    for i in range(n - 1, -1, -1):
        c = BYTE_CLASS[buf[i]]
        if c == 1 or c == 2:
            return i + 1
    cut = 0
    i = 0
    while i < n:
        w = ws_len(buf, i, n)
        if w:
            i += w
            cut = i
        else:
            i += 1
    return cut


@njit_serial
def segment_starts(buf, n, segments):
    """``segments + 1`` offsets splitting ``buf[:n]`` after ASCII whitespace bytes (never
    inside a token or a multi-byte code point); fewer segments when the block has few breaks."""
    starts = np.empty(segments + 1, np.int64)
    starts[0] = 0
    k = 1
    for s in range(1, segments):
        i = max(n * s // segments, starts[k - 1])
        while i < n:
            c = BYTE_CLASS[buf[i]]
            i += 1
            if c == 1 or c == 2:
                break
        if i < n and i > starts[k - 1]:
            starts[k] = i
            k += 1
    starts[k] = n
    return starts[: k + 1]


@njit_serial
def encode_block(tokens, n_tokens, remap, lines, n_lines, max_len, ids_out, starts_out, state):
    """Stream type ids to vocabulary ids: ``remap[type]`` (-1: dropped), sentences split at line
    ends and every ``max_len`` kept words. ``state`` = [token index, line index, words left in
    the open line, kept words in the open sentence, 1 if a sentence is open, words written so
    far]; the call stops when the tokens or the lines of this block are used up. Returns
    (ids written, sentence starts written)."""
    ti, li, left, kept, is_open, total = state[0], state[1], state[2], state[3], state[4], state[5]
    n_out = 0
    n_starts = 0
    while ti < n_tokens:
        if left == 0:
            if li >= n_lines:
                break
            left = lines[li]
            li += 1
            kept = 0
            is_open = 0
        v = remap[tokens[ti]]
        ti += 1
        left -= 1
        if v >= 0:
            if is_open == 0 or kept == max_len:
                starts_out[n_starts] = total
                n_starts += 1
                kept = 0
                is_open = 1
            ids_out[n_out] = v
            n_out += 1
            total += 1
            kept += 1
    state[0], state[1], state[2], state[3], state[4], state[5] = ti, li, left, kept, is_open, total
    return n_out, n_starts


@njit_serial
def join_types(arena, type_off, type_len, first, last):
    """The bytes of types ``first .. last - 1`` joined by newlines."""
    size = last - first - 1
    for t in range(first, last):
        size += type_len[t]
    out = np.empty(size, np.uint8)
    pos = 0
    for t in range(first, last):
        if t > first:
            out[pos] = 10
            pos += 1
        off, n = type_off[t], type_len[t]
        out[pos : pos + n] = arena[off : off + n]
        pos += n
    return out
