"""Encoded-corpus cache: the corpus store (ids, sentence offsets, vocabulary), built once and
memory-mapped by every later run.

Every job of a sweep (and every rerun) over the same corpus and the same vocabulary settings
would otherwise tokenise the text again. The cache key covers the corpus files' *content* (a
BLAKE2 hash of every byte for files up to 1 GiB, ~1 GB/s a core, pieces hashed on all cores;
beyond that 64 sampled 1 MiB blocks plus size and modification time), the format, lower-casing
and the vocabulary settings, so an edit that keeps size and mtime (``sed -i`` then ``touch -r``)
is a miss, not a stale hit.

An entry is a directory (:mod:`nbw2v.text.corpus_store`) built under a temporary name and
renamed when complete, so a killed build is never taken for an entry; a file lock
(``filelock``: every OS) makes parallel jobs build it once (the first builds, the others wait
and map it). Leftovers of killed builds are removed by the next build of the same key.
``data.cache=false`` turns the cache off (the corpus is then read into memory).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbw2v.text import corpus_store
from nbw2v.text.corpus import default_cache_dir, resolve_paths

VERSION = 3  # 3: a directory of raw arrays, memory-mapped (2: one .npz read into memory)
#: files up to this size are hashed whole; larger ones by sampled blocks + size + mtime
FULL_HASH_BYTES = 1 << 30
SAMPLE_BLOCKS, SAMPLE_BYTES = 64, 1 << 20


#: a whole-file hash is the BLAKE2 of the pieces' BLAKE2 digests (pieces hashed in parallel)
PIECE_BYTES = 8 << 20


def content_hash(path: Path) -> str:
    """BLAKE2 of the file's bytes (sampled blocks for files over ``FULL_HASH_BYTES``)."""
    st = path.stat()
    size = st.st_size
    h = hashlib.blake2b(digest_size=16)
    if size > FULL_HASH_BYTES:
        h.update(f"{size}:{st.st_mtime_ns}".encode())
        with open(path, "rb") as f:
            for i in range(SAMPLE_BLOCKS):
                f.seek((size - SAMPLE_BYTES) * i // (SAMPLE_BLOCKS - 1))
                h.update(f.read(SAMPLE_BYTES))
        return h.hexdigest()
    h.update(f"{size}:".encode())
    for digest in _piece_digests(path, size):
        h.update(digest)
    return h.hexdigest()


def _piece_digests(path: Path, size: int) -> list[bytes]:
    """The BLAKE2 digest of each ``PIECE_BYTES`` piece of the file, in order: hashed from a
    read-only mapping on the run's threads (hashlib lets go of the GIL), 1.1 -> 2.2 GB/s on 2
    cores, each piece's pages dropped from the process once hashed (a mapped page counts in
    its resident memory); read in blocks where the file cannot be mapped (empty, a pipe)."""
    import numba

    with open(path, "rb") as f:
        try:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            return [hashlib.blake2b(block, digest_size=16).digest() for block in iter(lambda: f.read(PIECE_BYTES), b"")]
    advise = hasattr(mapped, "madvise")  # (not on Windows)
    starts = range(0, size, PIECE_BYTES)

    def piece(lo: int) -> bytes:
        with view[lo : lo + PIECE_BYTES] as part:
            digest = hashlib.blake2b(part, digest_size=16).digest()
        if advise:  # the piece's pages leave this process (they stay in the page cache): RSS stays flat
            mapped.madvise(mmap.MADV_DONTNEED, lo, min(PIECE_BYTES, size - lo))
        return digest

    try:
        if advise:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        with (
            memoryview(mapped) as view,
            ThreadPoolExecutor(min(len(starts), numba.get_num_threads()), thread_name_prefix="nbw2v-hash") as pool,
        ):
            return list(pool.map(piece, starts))
    finally:
        mapped.close()


def cache_key(data_cfg) -> str:
    files = []
    for path in resolve_paths(str(data_cfg.corpus), data_cfg.cache_dir):
        files.append([str(path.resolve()), path.stat().st_size, content_hash(path)])
    settings = {
        "version": VERSION,
        "files": files,
        "format": data_cfg.format,
        "lowercase": bool(data_cfg.lowercase),
        "min_count": int(data_cfg.min_count),
        "max_vocab_size": int(data_cfg.max_vocab_size),
        "max_sentence_length": int(data_cfg.max_sentence_length),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]


def cache_path(data_cfg) -> Path:
    """The entry's directory."""
    root = Path(data_cfg.cache_dir).expanduser() if data_cfg.cache_dir else default_cache_dir()
    return root / "corpora" / cache_key(data_cfg)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def cached(data_cfg, build_in_memory, build_store=None):
    """The corpus of ``data_cfg`` as (vocab, corpus, stats), mapped from the cache (built there
    first if missing), and whether it was a hit. ``build_store(directory)`` writes an entry
    (default :func:`nbw2v.text.corpus_store.build`); a cache that cannot be written (read-only,
    full disk) costs the cache, not the run: ``build_in_memory()`` then reads the corpus."""
    path = cache_path(data_cfg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"nbw2v: WARNING: no corpus cache in {path.parent} ({exc.strerror}); set data.cache_dir", file=sys.stderr)
        return build_in_memory(), False
    from filelock import FileLock

    with FileLock(str(path.with_suffix(".lock"))):  # parallel jobs: the first builds, the others wait
        if path.exists():
            hit = corpus_store.load(path)
            if hit is not None:
                return hit, True
            _remove(path)  # incomplete or damaged: built anew
        for leftover in path.parent.glob(f"{path.name}.*.tmp"):  # killed builds of this key
            _remove(leftover)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            (build_store or corpus_store.build)(data_cfg, tmp)
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only cache disk: read into memory instead
            _remove(tmp)
            print(
                f"nbw2v: WARNING: cannot write the corpus cache {path} ({exc.strerror or exc}); reading the corpus "
                "into memory instead",
                file=sys.stderr,
            )
            return build_in_memory(), False
        except BaseException:
            _remove(tmp)
            raise
        loaded = corpus_store.load(path)
        if loaded is None:  # written but unreadable (a disk that lies): never fail the run for it
            _remove(path)
            return build_in_memory(), False
        return loaded, False
