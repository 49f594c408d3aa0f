import os
import threading
import time

import numpy as np
import pytest

from nbw2v.config import Config
from nbw2v.text import corpus_store
from nbw2v.text.cache import cache_path, cached
from nbw2v.text.corpus import Corpus
from nbw2v.training.checkpoint import corpus_hash
from nbw2v.training.train import _build_vocab_and_corpus, build_vocab_and_corpus


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

    def slow_build(data_cfg, directory):
        builds.append(1)
        time.sleep(0.5)
        return corpus_store.build(data_cfg, directory)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cached(cfg.data, lambda: 1 / 0, slow_build))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and sorted(hit for _, hit in results) == [False, True, True]
    assert cache_path(cfg.data).is_dir() and not list(cache_path(cfg.data).parent.glob("*.tmp"))


def test_the_store_maps_what_the_in_memory_path_reads(tmp_path):
    """The streamed store (type ids and lines through files, encoded in blocks) holds exactly
    what read_corpus + encode_corpus make in memory: words, counts, ids, sentences, digest."""
    corpus = tmp_path / "c.txt"
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    with open(corpus, "w") as f:
        for _ in range(400):  # lines of 0-60 words, some longer than max_sentence_length
            f.write(" ".join(words[int(min(rng.zipf(1.3), 299))] for _ in range(int(rng.integers(0, 60)))) + "\n")
    cfg = _cfg(tmp_path, corpus)
    cfg.data.min_count, cfg.data.max_sentence_length = 3, 25
    mem_vocab, mem, mem_stats = _build_vocab_and_corpus(cfg)
    store, raw_block = tmp_path / "store", corpus_store.ENCODE_BLOCK
    try:
        corpus_store.ENCODE_BLOCK = 97  # many encoding steps, lines across them
        vocab, stats = corpus_store.build(cfg.data, store)
    finally:
        corpus_store.ENCODE_BLOCK = raw_block
    assert sorted(p.name for p in store.iterdir()) == ["ids.i32", "meta.npz", "starts.i64"]  # temporaries gone
    loaded_vocab, mapped, loaded_stats = corpus_store.load(store)
    assert vocab.words == mem_vocab.words == loaded_vocab.words and np.array_equal(vocab.counts, mem_vocab.counts)
    assert np.array_equal(mapped.ids, mem.ids) and np.array_equal(mapped.sentence_starts, mem.sentence_starts)
    assert mapped.pager is not None and mem.pager is None
    assert mapped.digest == corpus_hash(Corpus(mem.ids, mem.sentence_starts))
    assert {k: loaded_stats[k] for k in stats} == {k: mem_stats[k] for k in stats}
    assert mapped.ids.flags.writeable  # the kernels' own array type (a private mapping: nothing written back)
    mapped.pager.release(0, mapped.n_words, 0, mapped.n_sentences)  # pages handed back, read again on use
    assert np.array_equal(mapped.ids, mem.ids)


def test_a_damaged_or_half_built_entry_is_built_anew(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b a\nc c d\n" * 50)
    cfg = _cfg(tmp_path, corpus)
    good = np.array(build_vocab_and_corpus(cfg)[1].ids)  # a copy: the mapping sees the damage below
    entry = cache_path(cfg.data)
    leftover = entry.with_name(entry.name + ".12345.tmp")  # a build killed with SIGKILL
    leftover.mkdir()
    (leftover / "types.tmp").write_bytes(b"\0" * 1000)
    with open(entry / "ids.i32", "r+b") as f:  # cut short
        f.truncate(12)
    _, again, stats = build_vocab_and_corpus(cfg)
    assert stats["vocab_cached"] == 0.0 and np.array_equal(again.ids, good)
    assert not leftover.exists()
    assert build_vocab_and_corpus(cfg)[2]["vocab_cached"] == 1.0


@pytest.mark.parametrize("arch,loss", [("skipgram", "negative"), ("cbow", "hs")])
def test_training_on_the_mapped_corpus_is_bit_identical_to_the_in_memory_one(tmp_path, arch, loss):
    """Deterministic mode: the memory-mapped store (pages handed back after every chunk) and
    the corpus read into memory give the same vectors to the last bit."""
    from nbw2v.progress import SilentProgress
    from nbw2v.training.train import train

    path = tmp_path / "c.txt"
    rng = np.random.default_rng(1)
    with open(path, "w") as f:
        for _ in range(600):
            f.write(" ".join(f"w{int(min(rng.zipf(1.4), 200))}" for _ in range(int(rng.integers(1, 40)))) + "\n")
    vectors, releases = [], []
    for cache in (True, False):
        cfg = _cfg(tmp_path, path)
        cfg.data.cache, cfg.model.arch, cfg.loss.name = cache, arch, loss
        cfg.model.dim, cfg.train.epochs, cfg.train.deterministic, cfg.train.chunk_words = 16, 2, True, 500
        cfg.train.checkpoint_dir = str(tmp_path / "ckpt")
        prepared = build_vocab_and_corpus(cfg)
        corpus = prepared[1]
        assert (corpus.pager is not None) == cache
        if cache:
            real = corpus.pager.release
            corpus.pager.release = lambda *a, real=real: (releases.append(a), real(*a))
        emb = train(cfg, progress=SilentProgress(), prepared=prepared)
        vectors.append((emb.vectors.copy(), emb.output_vectors.copy()))
    assert np.array_equal(vectors[0][0], vectors[1][0]) and np.array_equal(vectors[0][1], vectors[1][1])
    words = int(corpus.n_words)
    assert len(releases) > 10 and releases[-1][1] == words  # every chunk of every epoch handed back


def test_a_full_cache_disk_while_building_reads_into_memory_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b a\nc c d\n" * 200)
    cfg = _cfg(tmp_path, corpus)
    writes = []

    def full(f, *arrays):
        writes.append(1)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        for array in arrays:
            f.write(memoryview(array))

    monkeypatch.setattr(corpus_store, "_write_all", full)
    vocab, corpus_arrays, stats = build_vocab_and_corpus(cfg)
    assert stats["vocab_cached"] == 0.0 and corpus_arrays.pager is None and corpus_arrays.n_words == 1800
    assert "cannot write the corpus cache" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "cache" / "corpora").iterdir() if not p.name.endswith(".lock")] == []


def test_an_interrupted_build_removes_its_temporary_directory(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b a\nc c d\n" * 200)
    cfg = _cfg(tmp_path, corpus)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(corpus_store.Vocab, "from_counts", interrupted)  # after the temporary files are written
    with pytest.raises(KeyboardInterrupt):
        build_vocab_and_corpus(cfg)
    assert [p.name for p in (tmp_path / "cache" / "corpora").iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    assert build_vocab_and_corpus(cfg)[1].n_words == 1800


def test_chunks_found_block_by_block_are_the_chunks_of_one_pass():
    """make_chunks reads the sentence offsets in blocks (a mapped corpus hands each back): the
    chunks are the same for any block size, and every sentence is handed back once."""
    from nbw2v.training.kernels import make_chunks

    rng = np.random.default_rng(3)
    for _ in range(50):
        lengths = rng.integers(1, int(rng.choice([3, 60, 4000])), int(rng.integers(1, 400)))
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        chunk_words = int(rng.integers(1, 1500))
        whole = make_chunks(starts, chunk_words)
        released: list = []
        blocks = make_chunks(starts, chunk_words, lambda lo, hi, out=released: out.append((lo, hi)), block=5)
        assert np.array_equal(whole[0], blocks[0]) and np.array_equal(whole[1], blocks[1])
        assert whole[0][0] == 0 and whole[0][-1] == lengths.size and whole[1][-1] == starts[-1]
        assert np.all(np.diff(whole[0]) > 0) and np.array_equal(whole[1], starts[whole[0]])
        assert released[0][0] == 0 and released[-1][1] == lengths.size + 1  # every offset (n + 1)


@pytest.mark.parametrize("cache", [True, False])
def test_compiling_the_reader_is_said_and_not_counted_as_reading(tmp_path, monkeypatch, capsys, cache):
    """A first run compiled the reader's kernels inside the read: its progress said '0M words,
    0.0M words/s' and 'read in 19.4 s' for a 0.4 s read. They are compiled first, said when slow,
    and kept out of the read's time; a cache hit compiles nothing."""
    real = corpus_store.compile_reader

    def slow_compile():
        time.sleep(1.1)
        return real() + 1.1

    monkeypatch.setattr(corpus_store, "compile_reader", slow_compile)
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b a\nc c d\n")
    cfg = _cfg(tmp_path, corpus)
    cfg.data.cache = cache
    start = time.perf_counter()
    _, _, stats = build_vocab_and_corpus(cfg)
    elapsed = time.perf_counter() - start
    assert stats["reader_compile_seconds"] >= 1.1 and stats["vocab_seconds"] <= elapsed - 1.1
    assert "nbw2v: compiled the corpus reader in " in capsys.readouterr().err
    if cache:
        _, _, stats = build_vocab_and_corpus(cfg)
        assert stats["vocab_cached"] == 1.0 and "reader_compile_seconds" not in stats
        assert "compiled the corpus reader" not in capsys.readouterr().err


def test_read_progress_counts_small_reads_in_tenths_of_millions(tmp_path):
    from nbw2v.text.corpus import _ReadProgress

    path = tmp_path / "c.txt"
    path.write_text("x " * 1000)
    said = []
    progress = _ReadProgress([path], said.append, after=0.0, every=0.0)
    progress.position[0] = lambda: 500
    progress.tick(170_000)
    progress.tick(23_400_000)
    assert "(0.2M words, " in said[0] and "25%" in said[0] and "(23M words, " in said[1]


def test_large_blocks_stay_mappings_of_their_own_after_a_larger_one_is_freed():
    """glibc raised its mmap threshold to each large block freed, so a read's later blocks came
    from the heap and their pages stayed with the process (reading refcorpus x10: 305 MB resident
    after, 215 MB with the threshold fixed). A block glibc maps by itself starts 16 bytes into a
    page; one from the heap almost never does."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from nbw2v._alloc import fix_mmap_threshold\n"
        "if sys.argv[1] == '1':\n"
        "    fix_mmap_threshold()\n"
        "big = np.ones(8 << 20, np.uint8)\n"
        "del big\n"
        "print(np.empty(2 << 20, np.uint8).ctypes.data % 4096)\n"
    )
    run = lambda fixed: subprocess.run([sys.executable, "-c", code, fixed], capture_output=True, text=True, check=True)  # noqa: E731
    if int(run("0").stdout) == 16:
        pytest.skip("this C library does not move its mmap threshold (not glibc)")
    assert int(run("1").stdout) == 16


def test_the_content_hash_covers_every_piece_in_order(tmp_path, monkeypatch):
    """Files are hashed in pieces on several threads: every byte of every piece counts, and the
    pieces count in their order (swapping two equal-sized pieces is another file)."""
    from nbw2v.text import cache

    monkeypatch.setattr(cache, "PIECE_BYTES", 4096)
    a, b = bytes(range(256)) * 16, b"x" * 4096
    path = tmp_path / "c.txt"
    hashes = set()
    for content in (a + b + a[:100], b + a + a[:100], a + b + a[:99] + b"!", a + b + a[:100] + b"\n"):
        path.write_bytes(content)
        first = cache.content_hash(path)
        assert cache.content_hash(path) == first  # the same bytes, the same key
        hashes.add(first)
    assert len(hashes) == 4
    path.write_bytes(a + b + a[:100])
    again = cache.content_hash(path)
    monkeypatch.setattr(cache, "PIECE_BYTES", 1 << 20)  # one piece: another layout, another digest
    assert cache.content_hash(path) != again
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert len(cache.content_hash(empty)) == 32  # nothing to map: still a key


def test_hashing_a_large_corpus_keeps_resident_memory_flat(tmp_path):
    """The hash reads the file through a mapping; a mapped page counts in the process's resident
    memory, so each piece's pages are dropped once hashed: hashing 96 MB raises the peak RSS by
    a few pieces (8 MiB each), not by the file."""
    import subprocess
    import sys

    path = tmp_path / "big.txt"
    block = (b"alpha beta gamma delta\n" * 50_000)[: 1 << 20]  # 1 MiB
    with open(path, "wb") as f:
        for _ in range(96):
            f.write(block)
    code = (
        "import resource, sys; from pathlib import Path; from nbw2v.text.cache import content_hash\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "content_hash(Path(sys.argv[1]))\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)"
    )
    grew = float(
        subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    )
    assert path.stat().st_size >= 96 << 20 and grew < 48, f"peak RSS grew by {grew:.0f} MB hashing 96 MB"
