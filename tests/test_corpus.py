import bz2
import gzip

import numpy as np
import pytest

from nbw2v.text import corpus as corpus_mod
from nbw2v.text.corpus import CorpusError, encode_corpus, read_corpus
from nbw2v.text.vocab import Vocab

TEXT = "The cat sat\n\nthe dog  sat on the mat\nA cat\n"


def _encode(raw, min_count=1, max_len=10_000):
    vocab, remap = Vocab.from_counts(raw.words, raw.counts, min_count)
    return vocab, encode_corpus(raw, remap, max_len)


def _sentences(vocab, corp):
    s = corp.sentence_starts
    return [[vocab.words[i] for i in corp.ids[s[k] : s[k + 1]]] for k in range(corp.n_sentences)]


@pytest.mark.parametrize("suffix,opener", [(".txt", open), (".txt.gz", gzip.open), (".txt.bz2", bz2.open)])
def test_plain_and_compressed_files_read_the_same(tmp_path, suffix, opener):
    path = tmp_path / f"c{suffix}"
    with opener(path, "wt", encoding="utf-8") as f:
        f.write(TEXT)
    vocab, corp = _encode(read_corpus(str(path)))
    assert _sentences(vocab, corp) == [["the", "cat", "sat"], ["the", "dog", "sat", "on", "the", "mat"], ["a", "cat"]]
    assert vocab.words[:3] == ["the", "cat", "sat"]  # count desc, then word asc
    assert vocab.counts.tolist()[:3] == [3, 2, 2]


def test_lowercase_option(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TEXT)
    vocab, _ = _encode(read_corpus(str(path), lowercase=False))
    assert "The" in vocab and "the" in vocab and "A" in vocab


def test_directory_of_files_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second file\n")
    (tmp_path / "a.txt").write_text("first file\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    with gzip.open(sub / "c.txt.gz", "wt") as f:
        f.write("third file\n")
    vocab, corp = _encode(read_corpus(str(tmp_path)))
    assert [s[0] for s in _sentences(vocab, corp)] == ["first", "second", "third"]


def test_sst_format_is_detected_and_parsed(tmp_path):
    path = tmp_path / "datasetSentences.txt"
    path.write_text("sentence_index\tsentence\n1\tThe Rock is destined .\n2\tA gorgeous film .\n")
    vocab, corp = _encode(read_corpus(str(path)))
    assert _sentences(vocab, corp) == [["the", "rock", "is", "destined", "."], ["a", "gorgeous", "film", "."]]
    bad = tmp_path / "bad.txt"
    bad.write_text("sentence_index\tsentence\nno tab here\n")
    with pytest.raises(CorpusError, match="bad.txt:2: expected 'index<TAB>sentence'"):
        read_corpus(str(bad))


def test_text8_style_single_line_is_split_into_sentences(tmp_path):
    path = tmp_path / "text8"
    words = [f"w{i % 7}" for i in range(2503)]
    path.write_text(" ".join(words))  # one line, no newline at the end
    vocab, corp = _encode(read_corpus(str(path), fmt="text8"), max_len=1000)
    lengths = np.diff(corp.sentence_starts).tolist()
    assert lengths == [1000, 1000, 503]
    assert [vocab.words[i] for i in corp.ids[:3]] == ["w0", "w1", "w2"]


def test_small_blocks_keep_lines_whole(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("alpha beta gamma\ndelta epsilon\n" * 50)
    vocab, corp = _encode(read_corpus(str(path), block_bytes=7))  # cuts inside lines
    assert corp.n_sentences == 100 and corp.n_words == 250


def _reference_tokens(text: str, lowercase: bool):
    """What Python's own string methods make of a text: universal newlines, str.split()."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if lowercase:
        text = text.lower()
    lines = [line.split() for line in text.split("\n")]
    tokens = [w for line in lines for w in line]
    return tokens, [len(line) for line in lines if line]


@pytest.mark.parametrize("block_bytes", [5, 16, 333, 0])
@pytest.mark.parametrize("lowercase", [True, False])
def test_the_compiled_tokeniser_splits_as_python_does(tmp_path, block_bytes, lowercase):
    """Every str.isspace() code point separates tokens; \\n, \\r and \\r\\n end lines; case
    folding (Final_Sigma, dotted I) as str.lower(); blocks cut anywhere give the same result."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    pieces = ["The", "cat", "ΟΔΟΣ", "İstanbul", "naïve", "日本語", "a\x00b", "x" * 40, "\ufeffbom", "ς", "Σ"]
    # around the tokeniser's 8-byte words: 7, 8, 9 and 16 bytes, a difference after the first
    # word, "!" (0x21, the first byte its word test passes over) and bytes that are tested and
    # are not whitespace (control bytes, UTF-8, DEL)
    pieces += ["abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "x" * 39 + "y", "a!b!c!d!e!", "\x01\x02",
               "\x7fé\x1bé", "ab\u00c2cdefghi"]  # fmt: skip
    rng = np.random.default_rng(block_bytes + lowercase)
    parts = []
    for _ in range(3000):
        parts.append(pieces[rng.integers(len(pieces))])
        parts.append(spaces[rng.integers(len(spaces))] * int(rng.integers(1, 3)))
        if rng.random() < 0.05:
            parts.append(["\n", "\r", "\r\n", "\n\n"][rng.integers(4)])
    text = "".join(parts)
    path = tmp_path / "c.txt"
    path.write_bytes(text.encode("utf-8"))
    raw = read_corpus(str(path), lowercase=lowercase, block_bytes=block_bytes)
    tokens, lengths = _reference_tokens(text, lowercase)
    assert raw.words == list(dict.fromkeys(tokens))  # first-seen order
    assert [raw.words[i] for i in raw.token_ids] == tokens
    assert np.diff(raw.line_starts).tolist() == lengths
    assert raw.counts.tolist() == [tokens.count(w) for w in raw.words]


def test_words_below_min_count_are_dropped_before_windowing(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a a a rare b b b\nrare2\n")
    vocab, corp = _encode(read_corpus(str(path)), min_count=2)
    assert _sentences(vocab, corp) == [["a", "a", "a", "b", "b", "b"]]  # the empty line is gone too


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "no words found"),
        (b"   \n\n  \t\n", "no words found"),
        (b"caf\xe9 latin-1 text\n", "not valid UTF-8"),
    ],
)
def test_bad_corpora_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_corpus(str(path))


def test_truncated_gzip_is_reported(tmp_path):
    good = gzip.compress(("word " * 20000 + "\n").encode())
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorpusError, match="truncated or corrupt"):
        read_corpus(str(path))


def test_missing_corpus(tmp_path):
    with pytest.raises(CorpusError, match="no such file or directory"):
        read_corpus(str(tmp_path / "nope.txt"))


def test_text8_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(corpus_mod.urllib.request, "urlopen", offline)
    with pytest.raises(CorpusError, match="could not download .*Offline"):
        corpus_mod.fetch_text8(tmp_path)
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_text8_fetch_checks_size_and_unzips(tmp_path, monkeypatch):
    import io
    import zipfile

    payload = b" anarchism originated as a term" * 10
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("text8", payload)
    zipped = buf.getvalue()
    monkeypatch.setattr(corpus_mod, "TEXT8_ZIP_BYTES", len(zipped))
    monkeypatch.setattr(corpus_mod, "TEXT8_BYTES", len(payload))
    monkeypatch.setattr(corpus_mod.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(zipped))
    path = corpus_mod.fetch_text8(tmp_path)
    assert path.read_bytes() == payload
    monkeypatch.setattr(corpus_mod.urllib.request, "urlopen", lambda url, timeout: 1 / 0)
    assert corpus_mod.fetch_text8(tmp_path) == path  # cached: no second download


def test_a_line_longer_than_a_block_streams_and_stays_one_line(tmp_path, monkeypatch):
    import nbw2v.text.scanner as scanner_mod

    path = tmp_path / "text8"
    words = [f"w{i % 7}" for i in range(2503)]
    path.write_text(" ".join(words) + "\nsecond line here\n" + " ".join(words))  # last line unterminated
    real = scanner_mod._raw_blocks
    blocks = []

    def recorded(f, block_bytes, max_token_bytes):
        for block in real(f, block_bytes, max_token_bytes):
            blocks.append(len(block))
            yield block

    monkeypatch.setattr(scanner_mod, "_raw_blocks", recorded)
    raw = read_corpus(str(path), block_bytes=50)
    assert len(blocks) > 100 and max(blocks) < 100  # never more than about a block in memory
    assert np.diff(raw.line_starts).tolist() == [2503, 3, 2503]
    vocab, corp = _encode(raw, max_len=1000)
    assert np.diff(corp.sentence_starts).tolist() == [1000, 1000, 503, 3, 1000, 1000, 503]
    assert [vocab.words[i] for i in corp.ids[:3]] == ["w0", "w1", "w2"]


def test_shuffle_sentences_keeps_every_sentence_and_is_seeded():
    from nbw2v.text.corpus import Corpus, shuffle_sentences

    ids = np.arange(20, dtype=np.int32)
    starts = np.array([0, 3, 4, 9, 15, 20], dtype=np.int64)
    corpus = Corpus(ids, starts)
    shuffled = shuffle_sentences(corpus, seed=1)

    def sentences(c):
        return sorted(tuple(c.ids[c.sentence_starts[i] : c.sentence_starts[i + 1]]) for i in range(c.n_sentences))

    assert sentences(shuffled) == sentences(corpus)
    assert not np.array_equal(shuffled.ids, corpus.ids)  # another order ...
    again = shuffle_sentences(corpus, seed=1)
    assert np.array_equal(again.ids, shuffled.ids) and np.array_equal(again.sentence_starts, shuffled.sentence_starts)


def _sst_zip(tmp_path, sentences, member="stanfordSentimentTreebank/datasetSentences.txt"):
    import zipfile

    text = "sentence_index\tsentence\n" + "".join(f"{i + 1}\t{s}\n" for i, s in enumerate(sentences))
    path = tmp_path / "served" / "stanfordSentimentTreebank.zip"
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, text)
    return path


@pytest.fixture
def local_http(tmp_path):
    """A file server on 127.0.0.1 (no other network) for tmp_path/served; yields its base URL."""
    import functools
    import http.server
    import threading

    (tmp_path / "served").mkdir(exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sst_download_from_a_local_server_then_cached(tmp_path, monkeypatch, local_http):
    sentences = ["The Rock is destined to be great .", "A splash , even greater ."]
    zipped = _sst_zip(tmp_path, sentences)
    monkeypatch.setattr(corpus_mod, "SST_SENTENCES", 2)
    monkeypatch.setattr(corpus_mod, "SST_URL", f"{local_http}/{zipped.name}")
    cache = tmp_path / "cache"
    (path,) = corpus_mod.resolve_paths("sst", str(cache))
    assert path == cache / "sst" / "datasetSentences.txt" and path.read_text().splitlines()[1].startswith("1\tThe Rock")
    assert not list(cache.rglob("*.part"))
    zipped.unlink()  # the server has nothing now: a second call must not download
    assert corpus_mod.fetch_sst(cache) == path
    vocab, corp = _encode(read_corpus(str(path), lowercase=True), max_len=1000)
    assert "rock" in vocab.words and corp.n_sentences == 2


def test_sst_download_failures_are_one_line_and_leave_nothing(tmp_path, monkeypatch, local_http):
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError, match=r"data.corpus=sst: could not download .* Offline\?"):
        corpus_mod.fetch_sst(cache, url=f"{local_http}/missing.zip")  # 404
    assert not list(cache.rglob("*"))
    _sst_zip(tmp_path, ["one sentence ."], member="other/file.txt")
    with pytest.raises(CorpusError, match="not the expected zip"):
        corpus_mod.fetch_sst(cache, url=f"{local_http}/stanfordSentimentTreebank.zip")
    assert not [p for p in cache.rglob("*") if p.is_file()]
    assert not list(cache.rglob("*.zip")) and not list(cache.rglob("*.part"))  # fetched anew next time
    _sst_zip(tmp_path, ["only one sentence ."])  # the right name, the wrong file
    with pytest.raises(CorpusError, match="has 1 sentences, expected 11855: not the treebank's file"):
        corpus_mod.fetch_sst(cache, url=f"{local_http}/stanfordSentimentTreebank.zip")
    assert not [p for p in cache.rglob("*") if p.is_file()]
