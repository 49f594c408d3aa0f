"""Word vectors with their vocabulary: similarity queries and file formats.

Formats:

* word2vec text: a header ``V d``, then ``word v1 ... vd`` per line (gensim's
  ``KeyedVectors.load_word2vec_format(binary=False)``, word2vec.c's ``-binary 0``);
* word2vec binary: the same header line, then per word ``word `` + d little-endian float32
  + ``\\n`` (``binary=True``, word2vec.c's ``-binary 1``);
* native ``.npz``: vectors, words and counts (and the output vectors when kept), fast to load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .vocab import Vocab


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

    # ---- files ---------------------------------------------------------------------------------

    def save(self, path: str | Path, fmt: str | None = None) -> Path:
        """Save as ``text``, ``binary`` or ``npz`` (default: by suffix: .npz, .bin, else text).
        Written to a temporary file and renamed: never a half-written file."""
        path = Path(path)
        fmt = fmt or ("npz" if path.suffix == ".npz" else "binary" if path.suffix == ".bin" else "text")
        if fmt not in ("text", "binary", "npz"):
            raise ValueError(f"fmt={fmt!r}: expected 'text', 'binary' or 'npz'")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        if fmt == "npz":
            arrays = {
                "vectors": self.vectors,
                "words": np.array(self.words, dtype=object).astype(str),
                "counts": self.vocab.counts,
            }
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
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, fmt: str | None = None) -> Embeddings:
        """Load a word2vec text/binary file (auto-detected) or an nbw2v ``.npz``."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such vectors file")
        if fmt == "npz" or (fmt is None and path.suffix == ".npz"):
            with np.load(path, allow_pickle=False) as data:
                vocab = Vocab([str(w) for w in data["words"]], data["counts"])
                out = data["output_vectors"] if "output_vectors" in data else None
                return cls(vocab, data["vectors"], out)
        return cls._load_word2vec(path, fmt)

    @classmethod
    def _load_word2vec(cls, path: Path, fmt: str | None) -> Embeddings:
        with open(path, "rb") as f:
            header = f.readline()
            try:
                n_words, dim = (int(x) for x in header.split())
            except ValueError:
                raise VectorsFormatError(f"{path}: first line must be 'V d', got {header[:60]!r}") from None
            if n_words < 1 or dim < 1:
                raise VectorsFormatError(f"{path}: header says {n_words} words of dimension {dim}")
            body = f.read()
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
            raise VectorsFormatError(f"{path}: a word occurs twice")
        counts = np.arange(n_words, 0, -1, dtype=np.int64)  # file order = frequency order
        return cls(Vocab(words, counts), vectors)


def _looks_binary(body: bytes, dim: int) -> bool:
    """Binary rows hold raw float32 bytes after the word; text rows only printable ASCII.
    Decide on the 4*d bytes after the first word: text if they are all printable."""
    space = body.find(b" ")
    sample = body[space + 1 : space + 1 + 4 * dim] if space >= 0 else body[: 4 * dim]
    printable = set(range(32, 127)) | {9, 10, 13}
    return not all(byte in printable for byte in sample)
