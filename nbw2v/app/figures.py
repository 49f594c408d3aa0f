"""Figures of a run beside the loss curve: the mini-batch mode's cost curve and the CS224N
assignment's 2-D picture of chosen words."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nbw2v.app.plotting import pyplot


def cost_curve_png(iterations: np.ndarray, costs: np.ndarray, path: Path, anneal_every: int = 0) -> None:
    """The assignment's printed cost (moving average) against the SGD iteration."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(iterations, costs, color="tab:blue", label="cost (sgd.py's moving average)")
    if anneal_every:
        for x in range(anneal_every, int(iterations[-1]), anneal_every):
            ax.axvline(x, color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost")
    ax.grid(alpha=0.3)
    ax.legend(title="dotted: step halved" if anneal_every else None)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def word_projection(emb, words: list[str]) -> tuple[list[str], np.ndarray]:
    """The assignment's 2-D coordinates of ``words`` (those in the vocabulary): each word's
    center and outside vectors side by side, centred over the chosen words, projected on the
    top two eigenvectors of their covariance."""
    present = [w for w in words if w in emb]
    if len(present) < 2:
        raise ValueError(f"eval.plot_words: {len(present)} of the {len(words)} words are in the vocabulary; need 2")
    ids = [emb.vocab.index[w] for w in present]
    vectors = np.asarray(emb.vectors[ids], dtype=np.float64)
    if emb.output_vectors is not None:
        vectors = np.concatenate([vectors, np.asarray(emb.output_vectors[ids], dtype=np.float64)], axis=1)
    centred = vectors - vectors.mean(axis=0)
    covariance = centred.T @ centred / len(present)
    u, _, _ = np.linalg.svd(covariance)
    return present, centred @ u[:, :2]


def word_vectors_png(emb, words: list[str], path: Path) -> list[str]:
    """Draw :func:`word_projection` as the assignment's word_vectors.png; returns the words
    left out (not in the vocabulary)."""
    present, coords = word_projection(emb, words)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(coords[:, 0], coords[:, 1], color="tab:red", s=12)
    for (x, y), word in zip(coords, present, strict=True):
        ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title("words on the top two principal axes (center + outside vectors)")
    missing = [w for w in words if w not in emb]
    if missing:
        fig.text(0.01, 0.01, "not in the vocabulary: " + ", ".join(missing), fontsize=7, color="0.35")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return missing
