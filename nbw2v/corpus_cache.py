"""Encoded-corpus cache: ids, sentence offsets and vocabulary, built once and reused.

Every job of a sweep (and every rerun) over the same corpus and the same vocabulary settings
would otherwise tokenise the text again. The cache key covers the corpus files (path, size,
modification time), the format, lower-casing and the vocabulary settings; the entry is written
atomically, and a file lock makes parallel jobs build it once (the first builds, the others
wait and load it). ``data.cache=false`` turns it off.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .corpus import Corpus, default_cache_dir, resolve_paths
from .vocab import Vocab

VERSION = 1


def cache_key(data_cfg) -> str:
    files = []
    for path in resolve_paths(str(data_cfg.corpus), data_cfg.cache_dir):
        st = path.stat()
        files.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
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
            vocab = Vocab([str(w) for w in data["words"]], data["counts"])
            corpus = Corpus(data["ids"], data["sentence_starts"])
            stats = json.loads(str(data["stats"]))
    except (OSError, KeyError, ValueError):
        return None  # unreadable: rebuild
    return vocab, corpus, stats


def save(path: Path, vocab: Vocab, corpus: Corpus, stats: dict[str, float]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            ids=corpus.ids,
            sentence_starts=corpus.sentence_starts,
            words=np.array(vocab.words, dtype=str),
            counts=vocab.counts,
            stats=np.array(json.dumps(stats)),
        )
    os.replace(tmp, path)


def cached(data_cfg, build):
    """``build()`` -> (vocab, corpus, stats), through the cache; returns it and whether it was a hit."""
    path = cache_path(data_cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel jobs: the first builds, the others wait
        try:
            if path.exists():
                hit = load(path)
                if hit is not None:
                    return hit, True
            result = build()
            save(path, *result)
            return result, False
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
