"""Word vectors with their vocabulary: similarity queries and file formats.

Formats:

* word2vec text: a header ``V d``, then ``word v1 ... vd`` per line (gensim's
  ``KeyedVectors.load_word2vec_format(binary=False)``, word2vec.c's ``-binary 0``);
* word2vec binary: the same header line, then per word ``word `` + d little-endian float32
  + ``\\n`` (``binary=True``, word2vec.c's ``-binary 1``);
* native ``.npz``: vectors, words and counts (and the output vectors when kept), fast to load.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from nbw2v.text.arrayfile import check_fits, declared_bytes, npz_headers, pack_words, unpack_words
from nbw2v.text.vocab import Vocab


class VectorsFormatError(ValueError):
    """A vectors file does not match its format (lying header, wrong float count, ...)."""


class Embeddings:
    def __init__(self, vocab: Vocab, vectors: np.ndarray, output_vectors: np.ndarray | None = None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
            raise ValueError(f"vectors: expected shape ({len(vocab)}, d) for {len(vocab)} words, got {vectors.shape}")
        self.vocab = vocab
        self.vectors = vectors
        self.output_vectors = output_vectors
        self._unit: np.ndarray | None = None

    @property
    def words(self) -> list[str]:
        return self.vocab.words

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word: str) -> bool:
        return word in self.vocab

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self._id(word)]

    def _id(self, word: str) -> int:
        try:
            return self.vocab.index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words)") from None

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero); cached."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.maximum(norms, 1e-30)
        return self._unit

    def similarity(self, a: str, b: str) -> float:
        u = self.unit_vectors
        return float(u[self._id(a)] @ u[self._id(b)])

    def most_similar(self, positive, negative=(), topn: int = 10, restrict: int | None = None):
        """Words closest by cosine to ``sum(positive) - sum(negative)`` (unit vectors), query
        words excluded: ``[(word, cosine), ...]``."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        unit = self.unit_vectors
        limit = len(self) if restrict is None else min(restrict, len(self))
        query = np.zeros(self.dim, dtype=np.float64)
        for w in positive:
            query += unit[self._id(w)]
        for w in negative:
            query -= unit[self._id(w)]
        norm = np.linalg.norm(query)
        if norm == 0:
            return []
        scores = unit[:limit] @ (query / norm).astype(np.float32)
        for w in (*positive, *negative):
            if self.vocab.index[w] < limit:
                scores[self.vocab.index[w]] = -np.inf
        top = np.argsort(-scores)[:topn]
        return [(self.words[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def postprocessed(self, center: bool = False, remove_top: int = 0) -> Embeddings:
        """A copy with the common direction taken out: ``center`` subtracts the mean vector;
        ``remove_top`` D > 0 also projects out the top D principal directions of the centred
        vectors ("all-but-the-top", Mu and Viswanath 2018; implies centring). Small or
        under-trained vectors often share one dominant direction that makes every cosine near
        1; this removes it before similarities are measured. No change when both are off."""
        if not center and remove_top <= 0:
            return self
        if remove_top >= self.dim:
            raise ValueError(
                f"remove_top={remove_top}: must be below the dimension {self.dim} (--remove-top, eval.remove_top)"
            )
        x = self.vectors.astype(np.float64)
        x -= x.mean(axis=0)
        if remove_top > 0:
            _, _, vt = np.linalg.svd(x, full_matrices=False)
            top = vt[:remove_top]
            x -= (x @ top.T) @ top
        out = Embeddings(self.vocab, x.astype(np.float32), self.output_vectors)
        out.stats = getattr(self, "stats", {})
        return out

    @staticmethod
    def describe_postprocessing(center: bool, remove_top: int) -> str:
        """'' when off; else e.g. 'centred, top 1 principal component removed'."""
        if remove_top > 0:
            return f"centred, top {remove_top} principal component{'s' if remove_top > 1 else ''} removed"
        return "centred" if center else ""

    # ---- files ---------------------------------------------------------------------------------

    def save(self, path: str | Path, fmt: str | None = None) -> Path:
        """Save as ``text``, ``binary`` or ``npz`` (default: by suffix: .npz, .bin, else text).
        Written to a temporary file and renamed: never a half-written file."""
        path = Path(path)
        fmt = fmt or self._format_of(path)
        if fmt not in ("text", "binary", "npz"):
            raise ValueError(f"fmt={fmt!r}: expected 'text', 'binary' or 'npz'")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            self._write(tmp, fmt)
            tmp.replace(path)
        except BaseException:  # full disk, Ctrl-C: never a partial file left behind
            tmp.unlink(missing_ok=True)
            raise
        return path

    def save_somewhere(self, path: str | Path) -> tuple[Path, OSError | None]:
        """:meth:`save` to ``path``; when that fails (a full disk, a folder turned read-only), to
        the temporary directory, then the home directory, as ``nbw2v-vectors-<pid>`` with the
        same suffix, so trained vectors are never lost. Returns (where they are, the error at
        ``path`` or None); raises the first error only when no place could take them."""
        try:
            return self.save(path), None
        except OSError as exc:
            first = exc
        import os
        import tempfile

        name = f"nbw2v-vectors-{os.getpid()}{Path(path).suffix}"
        for folder in (Path(tempfile.gettempdir()), Path.home()):
            try:
                return self.save(folder / name, self._format_of(Path(path))), first
            except OSError:
                continue
        raise first

    @staticmethod
    def _format_of(path: Path) -> str:
        return "npz" if path.suffix == ".npz" else "binary" if path.suffix == ".bin" else "text"

    def _write(self, tmp: Path, fmt: str) -> None:
        if fmt == "npz":
            arrays = {"vectors": self.vectors, "words": pack_words(self.words), "counts": self.vocab.counts}
            if self.output_vectors is not None:
                arrays["output_vectors"] = self.output_vectors
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        else:
            with open(tmp, "wb") as f:
                f.write(f"{len(self)} {self.dim}\n".encode())
                if fmt == "binary":
                    for word, row in zip(self.words, self.vectors, strict=True):
                        f.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
                else:
                    for word, row in zip(self.words, self.vectors, strict=True):
                        f.write((word + " " + " ".join(f"{x:.6g}" for x in row) + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path, fmt: str | None = None) -> Embeddings:
        """Load a word2vec text/binary file (auto-detected) or an nbw2v ``.npz``."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such vectors file")
        if fmt == "npz" or (fmt is None and path.suffix == ".npz"):
            emb = cls._load_npz(path)
        else:
            emb = cls._load_word2vec(path, fmt)
        bad = np.flatnonzero(~np.isfinite(emb.vectors).all(axis=1))
        if bad.size:
            row = int(bad[0])
            where = f"line {row + 2}" if path.suffix != ".npz" else f"row {row}"
            raise VectorsFormatError(
                f"{path}: {bad.size:,} vector(s) contain NaN/inf, the first for {emb.words[row]!r} ({where}); "
                "a diverged model? Retrain with a lower learning rate"
            )
        return emb

    @classmethod
    def _load_npz(cls, path: Path) -> Embeddings:
        """An nbw2v ``.npz`` (vectors, words, counts) or a training checkpoint (its input
        vectors); shapes are checked on the headers before any array is read."""
        headers = npz_headers(path)
        name = "vectors" if "vectors" in headers else "input_vectors"
        if name not in headers or "words" not in headers:
            raise VectorsFormatError(f"{path}: not an nbw2v vectors file or checkpoint (no vectors and words)")
        shape, dtype = headers[name]
        counts = headers.get("counts", ((0,), None))[0]
        if len(shape) != 2 or dtype.kind != "f" or counts != shape[:1]:
            raise VectorsFormatError(
                f"{path}: {name} of shape {shape} and {counts[0] if counts else 0} word counts do not match"
            )
        check_fits(declared_bytes(headers), f"{path}", "; it declares more than this machine can hold")
        try:
            with np.load(path, allow_pickle=False) as data:
                words = unpack_words(data["words"])
                if len(words) != shape[0]:
                    raise VectorsFormatError(f"{path}: {len(words):,} words for {shape[0]:,} vectors")
                vocab = Vocab(words, data["counts"])
                out = data["output_vectors"] if "output_vectors" in data else None
                return cls(vocab, data[name], out)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            if isinstance(exc, VectorsFormatError):
                raise
            raise VectorsFormatError(f"{path}: cannot read ({str(exc).splitlines()[0][:200]}); damaged?") from None

    @classmethod
    def _load_word2vec(cls, path: Path, fmt: str | None) -> Embeddings:
        from nbw2v.text.corpus import open_bytes  # .gz and .bz2 decompressed, as corpora are read

        name = path.name.lower()
        with open_bytes(path) as f:
            header = f.readline()
            try:
                n_words, dim = (int(x) for x in header.split())
            except ValueError:
                raise VectorsFormatError(f"{path}: first line must be 'V d', got {header[:60]!r}") from None
            if n_words < 1 or dim < 1:
                raise VectorsFormatError(f"{path}: header says {n_words} words of dimension {dim}")
            # every number takes at least one byte (text) or four (binary): a header that announces
            # more than the file can hold is refused before anything is allocated
            # (.gz records its uncompressed size; a .bz2 does not: its header is judged by the read)
            size = _gzip_size(path) if name.endswith(".gz") else path.stat().st_size
            if n_words * dim > size and not name.endswith(".bz2"):
                raise VectorsFormatError(
                    f"{path}: the header announces {n_words:,} words of dimension {dim:,}, more than the file's "
                    f"{size:,} bytes can hold"
                )
            check_fits(n_words * dim * 4 + size, f"{path}: {n_words:,} x {dim:,} vectors")
            try:
                body = f.read()
            except (OSError, EOFError) as exc:
                raise VectorsFormatError(f"{path}: cannot read ({exc}); truncated or damaged?") from None
        binary = fmt == "binary" if fmt else _looks_binary(body, dim)
        words: list[str] = []
        vectors = np.empty((n_words, dim), dtype=np.float32)
        pos = 0
        for i in range(n_words):
            if binary:
                space = body.find(b" ", pos)
                if space < 0 or space + 1 + 4 * dim > len(body):
                    raise VectorsFormatError(f"{path}: header says {n_words} words but the file ends at word {i}")
                word = body[pos:space].lstrip(b"\n")
                vectors[i] = np.frombuffer(body, dtype="<f4", count=dim, offset=space + 1)
                pos = space + 1 + 4 * dim
            else:
                end = body.find(b"\n", pos)
                end = len(body) if end < 0 else end
                parts = body[pos:end].rstrip().split(b" ")
                if pos >= len(body):
                    raise VectorsFormatError(f"{path}: header says {n_words} words but the file has {i}")
                if len(parts) != dim + 1:
                    raise VectorsFormatError(
                        f"{path}: line {i + 2} has {len(parts) - 1} numbers, the header says dimension {dim}"
                    )
                word = parts[0]
                try:
                    vectors[i] = np.array(parts[1:], dtype=np.float32)
                except ValueError:
                    raise VectorsFormatError(f"{path}: line {i + 2} has a value that is not a number") from None
                pos = end + 1
            try:
                words.append(word.decode("utf-8"))
            except UnicodeDecodeError:
                raise VectorsFormatError(f"{path}: word {i + 1} is not valid UTF-8") from None
        rest = body[pos:].strip()
        if rest:
            raise VectorsFormatError(f"{path}: more data after the {n_words} words the header announces")
        if len(set(words)) != len(words):
            first: dict[str, int] = {}
            for i, word in enumerate(words):
                if word in first:
                    where = "entries" if binary else "lines"
                    a, b = (first[word] + 1, i + 1) if binary else (first[word] + 2, i + 2)
                    raise VectorsFormatError(f"{path}: the word {word!r} occurs twice ({where} {a} and {b})")
                first[word] = i
        counts = np.arange(n_words, 0, -1, dtype=np.int64)  # file order = frequency order
        return cls(Vocab(words, counts), vectors)


def _gzip_size(path: Path) -> int:
    """The uncompressed size a gzip file records (its last 4 bytes, modulo 4 GiB)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 4:
            return 0
        f.seek(-4, 2)
        return int.from_bytes(f.read(4), "little")


def _looks_binary(body: bytes, dim: int) -> bool:
    """Binary rows hold raw float32 bytes after the word: control bytes and invalid UTF-8 are
    all but certain in 4*d of them. Text rows are UTF-8 in any alphabet (a word like 漢字 is no
    sign of binary). Decided on the 4*d bytes after the first word."""
    space = body.find(b" ")
    sample = body[space + 1 : space + 1 + 4 * dim] if space >= 0 else body[: 4 * dim]
    if any((byte < 32 and byte not in (9, 10, 13)) or byte == 127 for byte in sample):
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(sample) - 3  # a character cut at the sample's end is still text
    return False
