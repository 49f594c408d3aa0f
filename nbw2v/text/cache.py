"""Encoded-corpus cache: ids, sentence offsets and vocabulary, built once and reused.

Every job of a sweep (and every rerun) over the same corpus and the same vocabulary settings
would otherwise tokenise the text again. The cache key covers the corpus files' *content* (a
BLAKE2 hash of every byte for files up to 1 GiB, ~1 GB/s; beyond that 64 sampled 1 MiB blocks
plus size and modification time), the format, lower-casing and the vocabulary settings, so an
edit that keeps size and mtime (``sed -i`` then ``touch -r``) is a miss, not a stale hit. The
entry is written atomically, and a file lock (``filelock``: every OS) makes parallel jobs build
it once (the first builds, the others wait and load it). ``data.cache=false`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from nbw2v.text.arrayfile import pack_words, unpack_words
from nbw2v.text.corpus import Corpus, default_cache_dir, resolve_paths
from nbw2v.text.vocab import Vocab

VERSION = 2
#: files up to this size are hashed whole; larger ones by sampled blocks + size + mtime
FULL_HASH_BYTES = 1 << 30
SAMPLE_BLOCKS, SAMPLE_BYTES = 64, 1 << 20


def content_hash(path: Path) -> str:
    """BLAKE2 of the file's bytes (sampled blocks for files over ``FULL_HASH_BYTES``)."""
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if size <= FULL_HASH_BYTES:
            while block := f.read(8 << 20):
                h.update(block)
        else:
            st = path.stat()
            h.update(f"{size}:{st.st_mtime_ns}".encode())
            for i in range(SAMPLE_BLOCKS):
                f.seek((size - SAMPLE_BYTES) * i // (SAMPLE_BLOCKS - 1))
                h.update(f.read(SAMPLE_BYTES))
    return h.hexdigest()


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
    root = Path(data_cfg.cache_dir).expanduser() if data_cfg.cache_dir else default_cache_dir()
    return root / "corpora" / f"{cache_key(data_cfg)}.npz"


def load(path: Path) -> tuple[Vocab, Corpus, dict[str, float]] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            vocab = Vocab(unpack_words(data["words"]), data["counts"])
            corpus = Corpus(data["ids"], data["sentence_starts"])
            stats = json.loads(str(data["stats"]))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # unreadable: rebuild
    return vocab, corpus, stats


def save(path: Path, vocab: Vocab, corpus: Corpus, stats: dict[str, float]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                ids=corpus.ids,
                sentence_starts=corpus.sentence_starts,
                words=pack_words(vocab.words),
                counts=vocab.counts,
                stats=np.array(json.dumps(stats)),
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def cached(data_cfg, build):
    """``build()`` -> (vocab, corpus, stats), through the cache; returns it and whether it was a hit."""
    path = cache_path(data_cfg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"nbw2v: WARNING: no corpus cache in {path.parent} ({exc.strerror}); set data.cache_dir", file=sys.stderr)
        return build(), False
    from filelock import FileLock

    with FileLock(str(path.with_suffix(".lock"))):  # parallel jobs: the first builds, the others wait
        if path.exists():
            hit = load(path)
            if hit is not None:
                return hit, True
        result = build()
        try:
            save(path, *result)
        except OSError as exc:  # a full or read-only cache disk costs the cache, not the run
            print(f"nbw2v: WARNING: cannot write the corpus cache {path} ({exc.strerror}); going on", file=sys.stderr)
        return result, False
