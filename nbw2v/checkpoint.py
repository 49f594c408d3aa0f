"""Training checkpoints: written atomically, resumed exactly.

A checkpoint holds both matrices, the vocabulary's identity, the position (epoch and next
chunk) and the loss bookkeeping of the epoch in progress. Random streams need no state: each
chunk's stream is derived from (seed, epoch, chunk), so resuming at a chunk boundary replays
exactly what an uninterrupted run would do (deterministic mode: identical vectors).

Files are written to ``<name>.tmp`` and renamed over the target (``os.replace``), so a crash or
a full disk never leaves a half-written checkpoint in place of a good one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: keys that may differ between an interrupted run and its resumption
RESUMABLE_DIFFERENCES = ("logger.", "train.resume", "train.checkpoint", "train.threads", "train.report_every_s")


def training_config_hash(flat_cfg: dict) -> str:
    items = {k: v for k, v in flat_cfg.items() if not k.startswith(RESUMABLE_DIFFERENCES)}
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:16]


def words_hash(words: list[str]) -> str:
    return hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]


@dataclass
class TrainState:
    epoch: int = 0  # epoch in progress (0-based)
    next_chunk: int = 0  # first chunk of it not trained yet
    loss_sums: np.ndarray | None = None  # per chunk, this epoch
    pair_counts: np.ndarray | None = None
    epoch_losses: list[float] = field(default_factory=list)
    history: list[tuple[int, float]] = field(default_factory=list)


def save_checkpoint(
    path: str | Path, input_vectors, output_vectors, state: TrainState, config_hash: str, vocab_hash: str, vocab=None
) -> Path:
    """Write atomically. ``vocab`` (words and counts) is stored too, so a checkpoint is a
    complete model; the position stands in for LR and RNG state (both are functions of it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": "nbw2v-checkpoint-1",
        "config_hash": config_hash,
        "vocab_hash": vocab_hash,
        "epoch": state.epoch,
        "next_chunk": state.next_chunk,
        "epoch_losses": state.epoch_losses,
        "history": state.history,
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            input_vectors=input_vectors,
            output_vectors=output_vectors,
            loss_sums=np.zeros(0) if state.loss_sums is None else state.loss_sums,
            pair_counts=np.zeros(0, np.int64) if state.pair_counts is None else state.pair_counts,
            meta=np.array(json.dumps(meta)),
            words=np.array(vocab.words if vocab is not None else [], dtype=str),
            counts=np.asarray(vocab.counts if vocab is not None else [], dtype=np.int64),
        )
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays); ValueError naming the file when it is missing or not a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"train.resume={str(path)!r}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in ("input_vectors", "output_vectors", "loss_sums", "pair_counts")}
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"train.resume={str(path)!r}: not a readable nbw2v checkpoint ({exc})") from None
    if meta.get("format") != "nbw2v-checkpoint-1":
        raise ValueError(f"train.resume={str(path)!r}: unknown checkpoint format {meta.get('format')!r}")
    return meta, arrays
