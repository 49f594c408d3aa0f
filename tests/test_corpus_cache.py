import os
import threading
import time

import numpy as np

from nbw2v.config import Config
from nbw2v.text.cache import cache_path, cached
from nbw2v.training.train import build_vocab_and_corpus


def _cfg(tmp_path, corpus):
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count, cfg.data.cache_dir = str(corpus), 1, str(tmp_path / "cache")
    return cfg


def test_second_build_loads_the_cache_and_a_changed_file_rebuilds(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b a\nc c d\n")
    cfg = _cfg(tmp_path, corpus)
    v1, c1, s1 = build_vocab_and_corpus(cfg)
    v2, c2, s2 = build_vocab_and_corpus(cfg)
    assert (s1["vocab_cached"], s2["vocab_cached"]) == (0.0, 1.0)
    assert v1.words == v2.words and np.array_equal(c1.ids, c2.ids)
    assert np.array_equal(c1.sentence_starts, c2.sentence_starts)
    cfg.data.min_count = 2  # other vocabulary settings: another entry
    assert build_vocab_and_corpus(cfg)[2]["vocab_cached"] == 0.0
    cfg.data.min_count = 1
    corpus.write_text("a b c a b a\nc c d e\n")
    os.utime(corpus, ns=(time.time_ns(), time.time_ns() + 10**9))
    v3, _, s3 = build_vocab_and_corpus(cfg)
    assert s3["vocab_cached"] == 0.0 and "e" in v3
    cfg.data.cache = False
    assert "vocab_cached" not in build_vocab_and_corpus(cfg)[2]


def test_parallel_builders_build_once(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("x y z\n")
    cfg = _cfg(tmp_path, corpus)
    builds = []

    def slow_build():
        builds.append(1)
        time.sleep(0.5)
        from nbw2v.training.train import _build_vocab_and_corpus

        return _build_vocab_and_corpus(cfg)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cached(cfg.data, slow_build))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and sorted(hit for _, hit in results) == [False, True, True]
    assert cache_path(cfg.data).exists() and not list(cache_path(cfg.data).parent.glob("*.tmp"))
