"""Corpus readers and the encoding of text to int32 word ids plus sentence offsets.

Formats (``data.format``):

* ``text``: one sentence per line, whitespace-separated tokens; a file, a ``.gz``/``.bz2``
  file, or a directory of such files (read in sorted order). Lines longer than
  ``max_sentence_length`` words are split (a text8-style single-line file becomes sentences).
* ``text8``: the text8 benchmark file (one line of 17M words); ``data.corpus=text8`` downloads
  it once into the cache directory (size-checked), with a clear error when offline.
* ``sst``: the Stanford Sentiment Treebank ``datasetSentences.txt`` (header line, then
  ``sentence_index<TAB>sentence``), the corpus of the CS224N assignment; ``data.corpus=sst``
  downloads Stanford's treebank zip once into the cache directory and takes that file from it.
* ``auto``: ``sst`` if the first line is that header, else ``text``.

Reading: byte blocks tokenised by compiled, parallel kernels (:mod:`nbw2v.text.scanner`);
tokens are never Python strings, each distinct token is decoded (and lower-cased) once. Tokens
are split as ``str.split()`` splits (every Unicode whitespace), lines at ``\n`` / ``\r``.
:func:`read_corpus` keeps one int32 per token in memory (provisional ids in first-seen order)
and :func:`encode_corpus` then maps them to the vocabulary's ids, drops the words it does not
keep (as word2vec.c does before windowing) and splits long sentences. The cached path streams
both steps through files instead (:mod:`nbw2v.text.corpus_store`): memory stays flat.
"""

from __future__ import annotations

import bz2
import gzip
import io
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nbw2v.config import ConfigError
from nbw2v.paths import DATA_DIR, default_cache_dir

BUNDLED_CORPUS = DATA_DIR / "corpora" / "sample-wiki-wordnet-kjv.txt.gz"
TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
TEXT8_ZIP_BYTES = 31_344_016  # published size of text8.zip
TEXT8_BYTES = 100_000_000  # text8 is the first 1e8 bytes of the cleaned enwik9
SST_HEADER = "sentence_index\tsentence"
#: Stanford's treebank zip (the CS224N assignment's get_datasets.sh downloads the same address)
SST_URL = "http://nlp.stanford.edu/~socherr/stanfordSentimentTreebank.zip"
SST_MEMBER = "stanfordSentimentTreebank/datasetSentences.txt"
SST_SENTENCES = 11_855
#: a run of this many bytes with no whitespace is not text: refused, never held in memory
MAX_TOKEN_CHARS = 64 << 20


class CorpusError(ValueError):
    """The corpus cannot be read (missing, empty, not UTF-8, wrong format)."""


def _download(url: str, dest: Path, setting: str, hint: str, expected_bytes: int | None = None) -> None:
    """``url`` into ``dest`` through ``dest.part`` (renamed only when complete, so an interrupted
    download is never taken for the file); a one-line error naming the setting when offline."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CorpusError(f"{setting}: could not download {url} ({exc}). Offline? {hint}") from None
    size = partial.stat().st_size
    if expected_bytes is not None and size != expected_bytes:
        partial.unlink()
        raise CorpusError(f"{url}: downloaded {size} bytes, expected {expected_bytes}: not the {dest.name}")
    partial.replace(dest)


def _unzip_member(zip_path: Path, member: str, target: Path) -> None:
    """One member of a zip file into ``target`` (through ``target.part``)."""
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(zip_path) as zf, zf.open(member) as src, open(partial, "wb") as out:
            while block := src.read(1 << 20):
                out.write(block)
    except (zipfile.BadZipFile, KeyError) as exc:
        partial.unlink(missing_ok=True)
        zip_path.unlink(missing_ok=True)  # a broken download: fetched again next time
        raise CorpusError(f"{zip_path}: not the expected zip ({exc}); removed, run again to download it anew") from None
    partial.replace(target)


def fetch_text8(cache_dir: str | Path | None = None, url: str = TEXT8_URL) -> Path:
    """Path of the text8 file, downloading and size-checking ``text8.zip`` on first use."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / "text8"
    if target.exists() and target.stat().st_size == TEXT8_BYTES:
        return target
    zip_path = cache / "text8.zip"
    if not (zip_path.exists() and zip_path.stat().st_size == TEXT8_ZIP_BYTES):
        hint = (
            f"Download text8.zip by hand into {cache} (or set data.cache_dir), or pass the unzipped file "
            "as data.corpus=PATH"
        )
        _download(url, zip_path, "data.corpus=text8", hint, TEXT8_ZIP_BYTES)
    _unzip_member(zip_path, "text8", target)
    if target.stat().st_size != TEXT8_BYTES:
        raise CorpusError(f"{zip_path}: text8 inside has {target.stat().st_size} bytes, expected {TEXT8_BYTES}")
    return target


def fetch_sst(cache_dir: str | Path | None = None, url: str | None = None) -> Path:
    """Path of the Stanford Sentiment Treebank's ``datasetSentences.txt`` (the CS224N
    assignment's corpus), downloading Stanford's ``stanfordSentimentTreebank.zip`` on first use
    and checking what it holds (the SST header, 11,855 sentences)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / "sst" / "datasetSentences.txt"
    if target.exists() and _sst_sentences(target) == SST_SENTENCES:
        return target
    zip_path = cache / "stanfordSentimentTreebank.zip"
    if not zip_path.exists():
        hint = (
            f"Download stanfordSentimentTreebank.zip by hand into {cache} (or set data.cache_dir), or pass its "
            "datasetSentences.txt as data.corpus=PATH"
        )
        _download(url or SST_URL, zip_path, "data.corpus=sst", hint)
    target.parent.mkdir(parents=True, exist_ok=True)
    _unzip_member(zip_path, SST_MEMBER, target)
    found = _sst_sentences(target)
    if found != SST_SENTENCES:
        target.unlink()
        zip_path.unlink()  # fetched anew next time
        raise CorpusError(
            f"{zip_path}: its {SST_MEMBER} has {found} sentences, expected {SST_SENTENCES}: not the treebank's "
            "file (removed)"
        )
    return target


def _sst_sentences(path: Path) -> int:
    """Sentences in an SST datasetSentences.txt (-1 without the SST header)."""
    with open(path, "rb") as f:
        if f.readline().decode("utf-8", "replace").rstrip("\r\n") != SST_HEADER:
            return -1
        return sum(1 for line in f if line.strip())


def resolve_paths(corpus: str, cache_dir: str = "") -> list[Path]:
    """The files of a corpus setting: 'bundled', 'text8', 'sst', a file or a directory."""
    if corpus == "bundled":
        return [BUNDLED_CORPUS]
    if corpus == "text8":
        return [fetch_text8(cache_dir or None)]
    if corpus == "sst":
        return [fetch_sst(cache_dir or None)]
    path = Path(corpus).expanduser()
    if not path.exists():
        raise CorpusError(f"data.corpus={corpus!r}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise CorpusError(f"data.corpus={corpus!r}: the directory has no files")
        return files
    return [path]


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file, transparently decompressing .gz and .bz2; strict UTF-8."""
    return io.TextIOWrapper(open_bytes(path), encoding="utf-8", errors="strict", newline=None)


def open_bytes(path: Path):
    """The file's bytes, .gz and .bz2 decompressed."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115


def _utf16_bom(path: Path) -> str:
    """'UTF-16LE' / 'UTF-16BE' for a file starting with that byte-order mark, else ''."""
    try:
        with open_bytes(path) as f:
            head = f.read(2)
    except (OSError, EOFError):
        return ""
    return {b"\xff\xfe": "UTF-16LE", b"\xfe\xff": "UTF-16BE"}.get(head, "")


def _first_bad_utf8(path: Path) -> str:
    """'at line N, byte B' of the first byte that is not UTF-8 (run only after a decode error,
    to name the real line); '' if it cannot be found."""
    offset = 0
    try:
        with open_bytes(path) as f:
            for line_no, raw in enumerate(f, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return f"at line {line_no}, byte {offset + exc.start + 1:,}"
                offset += len(raw)
    except (OSError, EOFError):
        return ""
    return ""


def _not_utf8(path: Path, exc: UnicodeDecodeError, fallback_where: str) -> CorpusError:
    """The error for a file that is not UTF-8: a UTF-16 one named as such (with the iconv line),
    else the line and byte of the first bad byte."""
    utf16 = _utf16_bom(path)
    if utf16:
        return CorpusError(
            f"{path}: a {utf16} file (it starts with a {utf16} byte-order mark), not UTF-8; re-encode it: "
            f"iconv -f UTF-16 -t UTF-8 {path} > {path.stem}.utf8{path.suffix}"
        )
    where = _first_bad_utf8(path) or fallback_where
    return CorpusError(
        f"{path}: not valid UTF-8 {where} ({exc.reason}); re-encode the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
    )


def detect_format(path: Path) -> str:
    try:
        with open_text(path) as f:
            first = f.readline(4096)
    except (OSError, EOFError, UnicodeDecodeError):
        return "text"  # read_blocks reports the error with context
    return "sst" if first.rstrip("\r\n") == SST_HEADER else "text"


def read_blocks(path: Path, fmt: str, block_chars: int = 1 << 20) -> Iterator[tuple[str, bool]]:
    """The text of one file in blocks of about ``block_chars`` characters, as
    ``(text, continues)``: blocks end at a line end, except inside a line longer than a block
    (text8 is one 100 MB line), which is cut at a space and marked ``continues=True`` so the
    caller keeps counting it as one line. Memory stays at one block. SST: only the sentence
    column. Errors name the file and the line."""
    line_no = 0
    try:
        with open_text(path) as f:
            if fmt == "sst":
                header = f.readline()
                line_no = 1
                if header.rstrip("\r\n") != SST_HEADER:
                    raise CorpusError(f"{path}: not an SST datasetSentences.txt (first line {header[:60]!r})")
            carry = ""
            while True:
                chunk = f.read(block_chars)
                if not chunk:
                    block, carry = carry, ""
                else:
                    cut = chunk.rfind("\n") + 1
                    if cut == 0 and fmt != "sst":  # inside a very long line: cut at a space
                        space = max(chunk.rfind(" "), chunk.rfind("\t")) + 1
                        if space > 0:
                            block, carry = carry + chunk[:space], chunk[space:]
                            yield block, True
                            continue
                    if cut == 0:  # no break at all in this block (one huge token): keep reading
                        carry += chunk
                        if len(carry) > MAX_TOKEN_CHARS:
                            raise CorpusError(
                                f"{path}: more than {MAX_TOKEN_CHARS:,} characters without a space or line break "
                                f"after line {line_no}: not a text corpus (binary data?)"
                            )
                        continue
                    block, carry = carry + chunk[:cut], chunk[cut:]
                if not block:
                    break
                if fmt == "sst":
                    sentences = []
                    for line in block.splitlines():
                        line_no += 1
                        _, sep, sentence = line.partition("\t")
                        if not sep:
                            raise CorpusError(f"{path}:{line_no}: expected 'index<TAB>sentence', got {line[:60]!r}")
                        sentences.append(sentence)
                    block = "\n".join(sentences)
                else:
                    line_no += block.count("\n")
                yield block, False
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc, f"after line {line_no}") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise CorpusError(f"{path}: cannot read after line {line_no}: {exc} (truncated or corrupt file?)") from None


@dataclass
class RawCorpus:
    """Tokens as provisional word ids (first-seen order), before a vocabulary exists."""

    token_ids: np.ndarray  # int32 (n_tokens,)
    line_starts: np.ndarray  # int64 (n_lines + 1,)
    words: list[str]  # provisional id -> word
    counts: np.ndarray  # int64 (len(words),)

    @property
    def n_tokens(self) -> int:
        return int(self.token_ids.shape[0])


@dataclass
class ScanResult:
    """What reading a corpus gives besides the token stream: the words (lower-cased types
    merged) and how token types map to them."""

    words: list[str]  # provisional word id -> word, first-seen order
    counts: np.ndarray  # int64 per word
    type_to_word: np.ndarray  # int32 per token type
    n_tokens: int


class _GzipReader:
    """A .gz file's bytes, inflated by zlib in 1 MiB steps (the gzip module inflates 8 KiB
    reads: 1.5x slower); members concatenated as gzip does; the CRC is checked by zlib."""

    STEP = 1 << 20

    def __init__(self, path: Path):
        self.raw = open(path, "rb")  # noqa: SIM115  (closed by __exit__)
        self.dec = zlib.decompressobj(31)
        self.pending = b""
        self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.raw.close()

    def read(self, n: int) -> bytes:
        out, size = [], 0
        try:
            while size < n:
                if self.dec.eof:  # a member ended: another may follow
                    rest = self.dec.unused_data or self.raw.read(self.STEP)
                    if not rest.strip(b"\0"):  # the end (gzip tolerates zero padding)
                        break
                    self.dec, self.pending = zlib.decompressobj(31), rest.lstrip(b"\0")
                if not self.pending:
                    self.pending = self.raw.read(self.STEP)
                    if not self.pending:
                        if not self.started:
                            break  # an empty file
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                self.started = True
                chunk = self.dec.decompress(self.pending, n - size)
                self.pending = self.dec.unconsumed_tail
                out.append(chunk)
                size += len(chunk)
        except zlib.error as exc:
            raise gzip.BadGzipFile(str(exc)) from None
        return b"".join(out)


def _file_blocks(path: Path, fmt: str, block_bytes: int, position: list):
    """A file's bytes in blocks for the scanner; SST: its sentence column only.
    ``position[0]`` is set to a callable giving the bytes of the file read so far (on disk)."""
    if fmt == "sst":
        for text, _ in read_blocks(path, "sst"):
            yield np.frombuffer((text + "\n").encode("utf-8"), np.uint8)
        return
    from nbw2v.text.scanner import file_blocks  # Numba: imported when a corpus is read

    gz = path.name.lower().endswith(".gz")
    with _GzipReader(path) if gz else open_bytes(path) as f:
        if gz:
            position[0] = f.raw.tell
        elif isinstance(f, io.BufferedReader):
            position[0] = f.tell
        yield from file_blocks(f, block_bytes, MAX_TOKEN_CHARS)


class _ReadProgress:
    """'reading: 35% (350M words, 14M words/s, ETA 0:00:45)' every ``every`` seconds once a read
    takes longer than ``after`` seconds (small corpora say nothing)."""

    def __init__(self, paths: list[Path], log, after: float = 5.0, every: float = 15.0):
        import time

        self.clock = time.perf_counter
        self.start = self.last = self.clock()
        self.total = sum(p.stat().st_size for p in paths) or 1
        self.done_files = 0
        self.log, self.after, self.every = log, after, every
        self.position: list = [None]

    def file_done(self, path: Path) -> None:
        self.done_files += path.stat().st_size
        self.position[0] = None

    def tick(self, words: int) -> None:
        now = self.clock()
        if self.log is None or now - self.start < self.after or now - self.last < self.every:
            return
        self.last = now
        from nbw2v.progress import format_eta

        speed = words / (now - self.start)
        where = self.position[0]
        count = f"{words / 1e6:,.{1 if words < 1e7 else 0}f}M words"
        if where is None:
            self.log(f"nbw2v: reading the corpus: {count}, {speed / 1e6:.1f}M words/s")
            return
        fraction = min((self.done_files + where()) / self.total, 1.0)
        eta = (now - self.start) * (1 - fraction) / max(fraction, 1e-9)
        self.log(
            f"nbw2v: reading the corpus: {100 * fraction:.0f}% ({count}, {speed / 1e6:.1f}M words/s, "
            f"ETA {format_eta(eta)})"
        )


def scan_corpus(
    corpus: str, fmt: str, lowercase: bool, cache_dir: str, sink, block_bytes: int = 0, log=None
) -> ScanResult:
    """Tokenise every file of ``corpus`` (compiled, parallel; see :mod:`nbw2v.text.scanner`),
    handing each block's token type ids and completed line lengths to ``sink(ids, lines)``.
    ``log(text)``: progress with an ETA on a long read."""
    from nbw2v.text.scanner import BLOCK_BYTES, NoBreak, Scanner

    paths = resolve_paths(corpus, cache_dir)
    scanner = Scanner(block_bytes=block_bytes or BLOCK_BYTES)
    progress = _ReadProgress(paths, log)
    texts: list[str] = []
    for path in paths:
        file_fmt = detect_format(path) if fmt == "auto" else ("text" if fmt == "text8" else fmt)
        try:
            for block in _file_blocks(path, file_fmt, scanner.block_bytes, progress.position):
                sink(*scanner.scan(block))
                progress.tick(scanner.tokens)
        except NoBreak:
            raise CorpusError(
                f"{path}: more than {MAX_TOKEN_CHARS:,} bytes without a space or line break after line "
                f"{scanner.line_breaks}: not a text corpus (binary data?)"
            ) from None
        except (EOFError, gzip.BadGzipFile, OSError) as exc:
            raise CorpusError(
                f"{path}: cannot read after line {scanner.line_breaks}: {exc} (truncated or corrupt file?)"
            ) from None
        sink(np.zeros(0, np.int32), scanner.end_line())
        progress.file_done(path)
        try:  # each new type once: UTF-8 is checked where the type first occurs
            texts.extend(scanner.type_texts(len(texts)))
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc, "") from None
    if scanner.tokens == 0:
        raise CorpusError(f"data.corpus={corpus!r}: no words found (empty or whitespace-only)")
    if lowercase and texts:  # one lower() of all types (a newline between them stops Final_Sigma as a space does)
        texts = "\n".join(texts).lower().split("\n")
    words = list(dict.fromkeys(texts))  # first-seen order
    type_counts = scanner.counts[: len(texts)]
    if len(words) == len(texts):  # no two types became one word
        return ScanResult(words, type_counts.copy(), np.arange(len(texts), dtype=np.int32), scanner.tokens)
    word_ids = {w: i for i, w in enumerate(words)}
    type_to_word = np.fromiter(map(word_ids.__getitem__, texts), np.int32, len(texts))
    counts = np.zeros(len(words), np.int64)
    np.add.at(counts, type_to_word, type_counts)
    return ScanResult(words, counts, type_to_word, scanner.tokens)


def read_corpus(
    corpus: str, fmt: str = "auto", lowercase: bool = True, cache_dir: str = "", block_bytes: int = 0, log=None
) -> RawCorpus:
    """Read every file of ``corpus`` once into memory: token ids (provisional, first-seen
    order), line offsets, words and counts. (The cached path streams to disk instead:
    :mod:`nbw2v.text.corpus_store`.)"""
    token_blocks: list[np.ndarray] = []
    line_blocks: list[np.ndarray] = []

    def keep(ids, lines):
        if ids.size:
            token_blocks.append(ids)
        if lines.size:
            line_blocks.append(lines.astype(np.int64))

    found = scan_corpus(corpus, fmt, lowercase, cache_dir, keep, block_bytes, log)
    types = np.concatenate(token_blocks)
    token_blocks.clear()
    tokens = found.type_to_word[types]
    del types
    lengths = np.concatenate(line_blocks)
    line_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return RawCorpus(tokens, line_starts, found.words, found.counts)


@dataclass
class Corpus:
    """The training corpus: vocabulary ids of kept words and sentence boundaries (in memory,
    or memory-mapped from a store of :mod:`nbw2v.text.corpus_store`)."""

    ids: np.ndarray  # int32 (n_words,), vocabulary ids
    sentence_starts: np.ndarray  # int64 (n_sentences + 1,), ids[s[i]:s[i+1]] is sentence i
    #: content hash (checkpoint.corpus_hash) when known without reading the arrays
    digest: str = ""
    #: a mapped corpus's :class:`nbw2v.text.corpus_store.Pager` (None: in memory)
    pager: Any = None

    @property
    def n_words(self) -> int:
        return int(self.ids.shape[0])

    @property
    def n_sentences(self) -> int:
        return int(self.sentence_starts.shape[0] - 1)


def encode_corpus(raw: RawCorpus, remap: np.ndarray, max_sentence_length: int) -> Corpus:
    """Map provisional ids to vocabulary ids (``remap``, -1 = dropped), drop those words and
    split sentences longer than ``max_sentence_length``."""
    mapped = remap[raw.token_ids]
    keep = mapped >= 0
    # kept words per line (lines are never empty here, so reduceat's segments are too)
    lengths = np.add.reduceat(keep, raw.line_starts[:-1], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    ids = np.ascontiguousarray(mapped[keep], dtype=np.int32)
    del mapped, keep
    starts = starts[lengths > 0]
    lengths = lengths[lengths > 0]
    if lengths.size and lengths.max() > max_sentence_length:
        pieces = (lengths + max_sentence_length - 1) // max_sentence_length
        first = np.repeat(starts, pieces)
        offset = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        starts = first + offset * max_sentence_length
    if ids.size == 0:
        raise ConfigError("the vocabulary keeps no word of the corpus: lower data.min_count")
    return Corpus(ids, np.concatenate([starts, [ids.size]]).astype(np.int64))


def shuffle_sentences(corpus: Corpus, seed: int) -> Corpus:
    """The same sentences in a random order (seeded): one gather of the ids, O(words)."""
    starts = corpus.sentence_starts
    lengths = np.diff(starts)
    order = np.random.default_rng([int(seed), 0x5F_5EED]).permutation(lengths.size)
    new_lengths = lengths[order]
    new_starts = np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64)
    source = np.repeat(starts[:-1][order] - new_starts[:-1], new_lengths) + np.arange(corpus.n_words)
    return Corpus(np.ascontiguousarray(corpus.ids[source]), new_starts)
