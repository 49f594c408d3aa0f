"""Vocabulary: counts, ``min_count`` / ``max_vocab_size``, frequency order, subsampling
keep-probabilities and the noise distribution (as an alias sampler).

Order is deterministic: count descending, then the word itself ascending (never dict or hash
order), so the same corpus always gives the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nbw2v.config import ConfigError

#: longer "words" (a base64 blob, a minified line) are left out of every vocabulary
MAX_WORD_CHARS = 1000


def word_lengths(words: list[str]) -> np.ndarray:
    """Characters of each word (int64)."""
    return np.fromiter(map(len, words), np.int64, len(words))


@dataclass
class Vocab:
    words: list[str]  # id -> word, most frequent first
    counts: np.ndarray  # int64 (V,)

    def __post_init__(self):
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def total(self) -> int:
        """Corpus words covered by the vocabulary (word2vec.c's train_words)."""
        return int(self.counts.sum())

    @classmethod
    def from_counts(
        cls, words: list[str], counts: np.ndarray, min_count: int = 5, max_vocab_size: int = 0
    ) -> tuple[Vocab, np.ndarray]:
        """Build the vocabulary; also return ``remap`` (input index -> vocab id, -1 if dropped)."""
        counts = np.asarray(counts, dtype=np.int64)
        too_long = np.flatnonzero(word_lengths(words) > MAX_WORD_CHARS)
        if too_long.size:
            counts = counts.copy()
            counts[too_long] = 0  # below any min_count: dropped like rare words
        keep = np.flatnonzero(counts >= min_count)
        if keep.size == 0:
            top = int(counts.max()) if counts.size else 0
            if top == 0:
                raise ConfigError(f"the corpus has no word of at most {MAX_WORD_CHARS} characters: not a text corpus?")
            raise ConfigError(
                f"data.min_count={min_count}: no word occurs that often (the most frequent occurs {top} "
                f"times); lower data.min_count to at most {max(top, 1)}"
            )
        kept_words = [words[i] for i in keep]
        # count descending, then word ascending: sort by word first, then stable by -count
        by_word = np.array(sorted(range(keep.size), key=kept_words.__getitem__), dtype=np.int64)
        order = by_word[np.argsort(-counts[keep][by_word], kind="stable")]
        if max_vocab_size and order.size > max_vocab_size:
            order = order[:max_vocab_size]
        chosen = keep[order]
        remap = np.full(counts.size, -1, dtype=np.int32)
        remap[chosen] = np.arange(chosen.size, dtype=np.int32)
        return cls([words[i] for i in chosen], counts[chosen].copy()), remap

    def keep_probs(self, sample: float) -> np.ndarray:
        """word2vec.c subsampling: keep a word of frequency f = count / total with probability
        ``(sqrt(f / t) + 1) * t / f`` (capped at 1); ``t = sample``, 0 keeps every word."""
        if sample <= 0:
            return np.ones(len(self), dtype=np.float32)
        f = self.counts / self.total
        return np.minimum(1.0, (np.sqrt(f / sample) + 1.0) * sample / f).astype(np.float32)

    def noise_distribution(self, exponent: float = 0.75) -> np.ndarray:
        """``P_n(w) ~ count(w)^exponent`` (float64, sums to 1)."""
        weights = self.counts.astype(np.float64) ** exponent
        return weights / weights.sum()

    def save(self, path: str | Path) -> None:
        """Word and count per line (tab-separated), most frequent first."""
        with open(path, "w", encoding="utf-8") as f:
            for word, count in zip(self.words, self.counts.tolist(), strict=True):
                f.write(f"{word}\t{count}\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        words, counts = [], []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                word, sep, count = line.rstrip("\n").rpartition("\t")
                if not sep or not count.isdigit():
                    raise ValueError(f"{path}:{line_no}: expected 'word<TAB>count', got {line[:60]!r}")
                words.append(word)
                counts.append(int(count))
        return cls(words, np.array(counts, dtype=np.int64))


def alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias method for O(1) sampling from ``probs`` (Vose's construction).

    Returns ``(threshold float64 (V,), alias int32 (V,))``: draw i uniformly in [0, V) and u in
    [0, 1); the sample is i if u < threshold[i], else alias[i].
    """
    n = probs.shape[0]
    scaled = np.asarray(probs, dtype=np.float64) * n / probs.sum()
    threshold = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # leftovers are 1 up to round-off
    return threshold, alias
