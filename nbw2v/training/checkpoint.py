"""Training checkpoints: written atomically, locked, validated, resumed exactly.

A checkpoint holds both matrices, the vocabulary (so it is a complete model), hashes of the
config, the vocabulary and the encoded corpus, the position (epoch and next chunk) and the
loss bookkeeping of the epoch in progress. Random streams need no state: each chunk's stream
is derived from (seed, epoch, chunk), so resuming at a chunk boundary replays exactly what an
uninterrupted run would do (deterministic mode: identical vectors). A checkpoint with
``epoch == train.epochs`` is a *finished* training whose evaluation or upload did not
complete: resuming it skips straight to them.

Files are written to ``<name>.tmp`` and renamed over the target (``os.replace``), so a crash,
a second Ctrl-C or a full disk never leaves a half-written checkpoint in place of a good one;
the partial temporary file is removed. One process at a time uses a checkpoint: a lock file
(``filelock``, every OS) beside it is held for the whole run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nbw2v.config import ConfigError
from nbw2v.text.arrayfile import ArrayFileError, check_fits, declared_bytes, npz_headers, pack_words, unpack_words

#: what reading a damaged .npz can raise (BadZipFile and zlib.error are not OSError/ValueError)
_READ_ERRORS = (ArrayFileError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)

FORMATS = ("nbw2v-checkpoint-1", "nbw2v-checkpoint-2")
#: keys that may differ between an interrupted run and its resumption
#: settings that change how a run goes, not what it trains: left out of the configuration's hash
#: (a checkpoint resumes across them; logger.skip_finished treats runs differing only here as one)
RESUMABLE_DIFFERENCES = ("logger.", "train.resume", "train.checkpoint", "train.threads", "train.report_every_s")


class CheckpointError(ConfigError):
    """A checkpoint cannot be used (missing, damaged, another config or corpus, in use)."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (read-only or full disk); training can go on."""


def training_config_hash(flat_cfg: dict) -> str:
    """The one hash of a configuration (flattened ``{"model.dim": 100, ...}``)."""
    items = {k: v for k, v in flat_cfg.items() if not k.startswith(RESUMABLE_DIFFERENCES)}
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:16]


def words_hash(words: list[str]) -> str:
    return hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]


def corpus_hash(corpus) -> str:
    """Content of the encoded corpus (order included): a shuffled corpus with the same words
    and counts has another hash. A corpus store knows it (computed as it was written), so a
    mapped corpus is not read for it."""
    if corpus.digest:
        return corpus.digest
    h = hashlib.blake2b(digest_size=8)
    h.update(np.ascontiguousarray(corpus.ids).data)
    h.update(np.ascontiguousarray(corpus.sentence_starts).data)
    return h.hexdigest()


@dataclass
class TrainState:
    epoch: int = 0  # epoch in progress (0-based); == epochs: training finished
    next_chunk: int = 0  # first chunk of it not trained yet
    loss_sums: np.ndarray | None = None  # per chunk, this epoch
    pair_counts: np.ndarray | None = None
    epoch_losses: list[float] = field(default_factory=list)
    history: list[tuple[int, float]] = field(default_factory=list)


def save_checkpoint(
    path: str | Path,
    input_vectors,
    output_vectors,
    state: TrainState,
    config_hash: str,
    vocab_hash: str,
    vocab=None,
    corpus_digest: str = "",
) -> Path:
    """Write atomically. ``vocab`` (words and counts) is stored too, so a checkpoint is a
    complete model; the position stands in for LR and RNG state (both are functions of it).
    Raises ``CheckpointWriteError`` (the partial file removed) when the disk refuses."""
    path = Path(path)
    meta = {
        "format": FORMATS[-1],
        "config_hash": config_hash,
        "vocab_hash": vocab_hash,
        "corpus_hash": corpus_digest,
        "epoch": state.epoch,
        "next_chunk": state.next_chunk,
        "epoch_losses": state.epoch_losses,
        "history": state.history,
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            write_npz(
                f,
                input_vectors=input_vectors,
                output_vectors=output_vectors,
                loss_sums=np.zeros(0) if state.loss_sums is None else state.loss_sums,
                pair_counts=np.zeros(0, np.int64) if state.pair_counts is None else state.pair_counts,
                meta=np.array(json.dumps(meta)),
                words=pack_words(vocab.words if vocab is not None else []),
                counts=np.asarray(vocab.counts if vocab is not None else [], dtype=np.int64),
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointWriteError(exc.errno, f"cannot write the checkpoint {path}: {exc.strerror or exc}") from None
    except BaseException:  # a second Ctrl-C mid-write: no partial file left behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_npz(f, **arrays) -> None:
    """``np.savez`` (uncompressed); one place, so tests can slow or break the write."""
    np.savez(f, **arrays)


def load_checkpoint(path: str | Path, shape: tuple[int, int] | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays); ``CheckpointError`` naming the file when it is missing, damaged, of
    another format, or declares matrices of another ``shape`` (checked on the headers, before
    anything is allocated)."""
    path = Path(path)
    where = f"train.resume={str(path)!r}"
    meta, headers = load_checkpoint_meta(path)
    missing = {"input_vectors", "output_vectors", "loss_sums", "pair_counts"} - set(headers)
    if missing:
        raise CheckpointError(f"{where}: not an nbw2v checkpoint (no {', '.join(sorted(missing))})")
    for name in ("input_vectors", "output_vectors"):
        declared, dtype = headers[name]
        if shape is not None and declared != tuple(shape):
            raise CheckpointError(
                f"{where}: the checkpoint's {name} are {declared}, this run's model is {tuple(shape)} "
                "(the corpus, its vocabulary or model.dim changed)"
            )
        if dtype != np.float32 or len(declared) != 2:
            raise CheckpointError(f"{where}: {name} of type {dtype} and shape {declared}: not a checkpoint")
    try:
        check_fits(declared_bytes(headers), f"{where}: the checkpoint")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("input_vectors", "output_vectors", "loss_sums", "pair_counts")}
            if "words" in data:
                arrays["words"], arrays["counts"] = data["words"], data["counts"]
    except _READ_ERRORS as exc:
        raise _unreadable(where, exc) from None
    return meta, arrays


def _unreadable(where: str, exc: BaseException, path: Path | None = None) -> CheckpointError:
    if isinstance(exc, ArrayFileError) and "memory" in str(exc):
        return CheckpointError(str(exc))
    if path is not None and not _is_zip(path):  # another kind of file, not a damaged checkpoint
        kind = "a word2vec vectors file" if _looks_like_vectors(path) else "another kind of file"
        return CheckpointError(
            f"{where}: not an nbw2v checkpoint but {kind} (a checkpoint is the .npz a run writes to "
            "train.checkpoint_dir); name a checkpoint, or leave train.resume unset to start over"
        )
    return CheckpointError(
        f"{where}: not a readable nbw2v checkpoint ({str(exc).splitlines()[0][:300]}); truncated or damaged? "
        "Delete it to start over"
    )


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return True  # unreadable: said as such


def _looks_like_vectors(path: Path) -> bool:
    """A first line of two integers (``V d``): word2vec's text and binary header."""
    try:
        with open(path, "rb") as f:
            parts = f.readline(64).split()
    except OSError:
        return False
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def checkpoint_words(arrays: dict[str, np.ndarray]) -> list[str]:
    return unpack_words(arrays["words"]) if "words" in arrays else []


def _finite_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def check_meta(meta: dict, where: str, epochs: int, n_chunks: int | None = None) -> None:
    """A checkpoint's position and loss bookkeeping against this run, from its metadata alone
    (before the corpus is read: ``n_chunks`` None; again with it once the corpus is known): a
    crafted ``epoch=-5``, ``next_chunk=1e9`` or a NaN loss is an error, not a crash or a run."""

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{where}: damaged checkpoint: {what}")

    epoch, next_chunk = meta.get("epoch"), meta.get("next_chunk")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= epochs:
        raise bad(f"epoch={epoch!r}, expected 0..{epochs}")
    limit = 2**62 if n_chunks is None else n_chunks
    if not isinstance(next_chunk, int) or isinstance(next_chunk, bool) or not 0 <= next_chunk <= limit:
        raise bad(f"next_chunk={next_chunk!r}, expected 0..{'' if n_chunks is None else n_chunks}")
    if epoch == epochs and next_chunk != 0:
        raise bad(f"next_chunk={next_chunk} after the last epoch")
    losses = meta.get("epoch_losses")
    if not isinstance(losses, list) or len(losses) != epoch or not all(_finite_number(x) for x in losses):
        raise bad(f"epoch losses {str(losses)[:80]} for epoch {epoch} (a finite loss per finished epoch)")
    history = meta.get("history")
    if not isinstance(history, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(_finite_number(x) for x in h) for h in history
    ):
        raise bad("the loss history is not a list of finite (words, loss) pairs")


def validate_state(meta: dict, arrays: dict, where: str, epochs: int, n_chunks: int) -> TrainState:
    """The position and loss bookkeeping of a checkpoint as a TrainState, each value checked
    against this run (:func:`check_meta`, now with the corpus's chunk count)."""

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{where}: damaged checkpoint: {what}")

    check_meta(meta, where, epochs, n_chunks)
    epoch, next_chunk = meta["epoch"], meta["next_chunk"]
    losses, history = meta["epoch_losses"], meta["history"]
    loss_sums, pair_counts = arrays["loss_sums"], arrays["pair_counts"]
    if next_chunk > 0 and (loss_sums.shape != (n_chunks,) or pair_counts.shape != (n_chunks,)):
        raise bad(f"loss sums of shape {loss_sums.shape} for {n_chunks} chunks")
    for name in ("input_vectors", "output_vectors"):
        if not np.isfinite(arrays[name]).all():
            raise bad(f"{name} contain NaN/inf")
    return TrainState(
        epoch=epoch,
        next_chunk=next_chunk,
        loss_sums=loss_sums if next_chunk > 0 else None,
        pair_counts=pair_counts if next_chunk > 0 else None,
        epoch_losses=[float(x) for x in losses],
        history=[(int(h[0]), float(h[1])) for h in history],
    )


def _writable(folder: Path) -> str | None:
    """None if a file can be created in ``folder`` (or, if it does not exist yet, in its nearest
    existing parent: nothing is created); else the reason."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return "no existing parent directory"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".nbw2v-write-test-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


#: concurrent runs of one configuration each get their own checkpoint file (slot), up to this many
MAX_SLOTS = 16


class CheckpointSlot:
    """Where this run's checkpoints go, chosen and locked before any corpus read or MLflow run.

    The directory must be writable. Each file ``nbw2v-<config hash>[.<n>].npz`` has a lock file
    beside it (``filelock``: every OS), held for the whole run: two runs of one configuration
    at once get two files, two processes never resume one checkpoint, and a checkpoint left by
    an interrupted run is never silently overwritten by a fresh run."""

    def __init__(self, checkpoint_dir: str, config_hash: str):
        self.dir = Path(checkpoint_dir).expanduser().absolute()
        self.config_hash = config_hash
        self.path = self.candidates()[0]
        self.resume_from: Path | None = None
        #: a fallback checkpoint (temporary directory) this run resumed: removed when it finishes
        self.done_with: Path | None = None
        #: (TrainState, matrices) of ``resume_from`` once checked against the corpus (check_resume)
        self.checked: tuple | None = None
        self._locks: list = []

    def candidates(self) -> list[Path]:
        base = f"nbw2v-{self.config_hash}"
        return [self.dir / f"{base}.npz"] + [self.dir / f"{base}.{n}.npz" for n in range(1, MAX_SLOTS)]

    def prepare(self, resume: str, epochs: int | None = None) -> Path | None:
        """Check the directory, choose and lock this run's file, decide what to resume from
        (None: a fresh start) and, given this run's ``epochs``, check its metadata. Raises
        CheckpointError/ConfigError naming the key and the fix, before any corpus read or run."""
        reason = _writable(self.dir)
        if reason:
            raise ConfigError(
                f"train.checkpoint_dir={str(self.dir)!r}: cannot write checkpoints there ({reason}); set "
                "train.checkpoint_dir to a writable directory"
            )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if resume and resume != "auto":
                self.resume_from = self._explicit(Path(resume).expanduser().absolute())
            elif resume == "auto":
                self.resume_from = self._first(with_file=True)
                held = [p for p in self.candidates() if p.exists()] if self.resume_from is None else []
                if held:  # every checkpoint of this configuration is another process's
                    raise CheckpointError(
                        f"train.resume=auto: another process is training this configuration and holds its checkpoint "
                        f"{held[0]}; wait for it to finish, or train elsewhere (train.checkpoint_dir)"
                    )
                newer = self._newer_fallbacks()
                if newer and self.resume_from is not None:
                    raise CheckpointError(
                        f"train.resume=auto: this configuration has two checkpoints: {self.resume_from} and a newer "
                        f"one saved to the temporary directory, {newer[0]}; continue the newer with "
                        f"train.resume={newer[0]} (then delete the other), or the older with "
                        f"train.resume={self.resume_from}"
                    )
                if newer:  # the only checkpoint is the one the disk's fault sent to the temporary directory
                    self.resume_from = self._explicit(newer[0])
                if self.resume_from is None:
                    self._first(with_file=False)
            else:
                self._first(with_file=False)
            if self.resume_from is not None and epochs is not None:
                meta, _ = load_checkpoint_meta(self.resume_from)
                if meta.get("config_hash") != self.config_hash:
                    raise CheckpointError(
                        f"train.resume={str(self.resume_from)!r}: the checkpoint was written with another configuration"
                    )
                check_meta(meta, f"train.resume={str(self.resume_from)!r}", epochs)
            return self.resume_from
        except BaseException:
            self.release()
            raise

    def _newer_fallbacks(self) -> list[Path]:
        """This configuration's checkpoints in the temporary directory (where a checkpoint goes
        when its directory cannot take it) newer than the one chosen to resume, newest first."""
        since = self.resume_from.stat().st_mtime if self.resume_from is not None else 0.0
        found = []
        for path in fallback_path().parent.glob("nbw2v-checkpoint-*.npz"):
            try:
                ours = load_checkpoint_meta(path)[0].get("config_hash") == self.config_hash
                if ours and path.stat().st_mtime > since:
                    found.append(path)
            except (CheckpointError, OSError):
                continue
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    def _try_lock(self, path: Path):
        from filelock import FileLock, Timeout

        lock = FileLock(str(path.with_suffix(".lock")), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return None
        except OSError as exc:
            raise ConfigError(
                f"train.checkpoint_dir={str(self.dir)!r}: cannot lock {path.name} ({exc.strerror or exc}); set "
                "train.checkpoint_dir to a writable local directory"
            ) from None
        self._locks.append(lock)
        return lock

    def _unlock_last(self) -> None:
        """Release the last lock taken and remove its file (filelock re-checks a lock file removed
        while another process was acquiring it), so no run leaves a ``.lock`` behind."""
        lock = self._locks.pop()
        lock.release()
        Path(lock.lock_file).unlink(missing_ok=True)

    def _first(self, with_file: bool, skip_held: bool = False) -> Path | None:
        """Lock the first free file: one holding a checkpoint (``with_file``: resume it), or an
        empty one for a fresh run; a free file holding an interrupted run's checkpoint stops a
        fresh run (never overwritten)."""
        for path in self.candidates():
            if with_file and not path.exists():
                continue  # nothing to resume there: no lock file made for it
            if self._try_lock(path) is None:
                continue  # another process runs this configuration with this file
            if path.exists() == with_file:
                self.path = path
                return path if with_file else None
            self._unlock_last()
            if not with_file and not skip_held:
                raise CheckpointError(
                    f"train.resume is not set, but {path} holds the checkpoint of an interrupted run with this "
                    "configuration; continue it with train.resume=auto, or delete the file to start over"
                )
        if with_file:
            return None
        raise CheckpointError(
            f"train.checkpoint_dir={str(self.dir)!r}: {MAX_SLOTS} processes already train this configuration; wait "
            "for one to finish, or use another train.checkpoint_dir"
        )

    def _explicit(self, source: Path) -> Path:
        meta, _ = load_checkpoint_meta(source)
        if meta.get("config_hash") != self.config_hash:
            raise CheckpointError(
                f"train.resume={str(source)!r}: the checkpoint was written with another configuration (only "
                "logger.*, train.threads, train.checkpoint_* and train.report_every_s may change when resuming)"
            )
        if self._try_lock(source) is None:
            raise CheckpointError(
                f"train.resume={str(source)!r}: another process is resuming or writing this checkpoint; wait for it "
                "to finish"
            )
        if source in self.candidates():  # one of this config's files: continue it in place
            self.path = source
        else:  # a checkpoint kept elsewhere: it stays as it is, this run writes to a file of its own
            self._first(with_file=False, skip_held=True)  # (an interrupted run's file here is left alone)
            if is_fallback(source):  # the temporary directory's stand-in: done with once this run finishes
                self.done_with = source
        return source

    def release(self) -> None:
        while self._locks:
            self._unlock_last()


def fallback_path(pid: int | None = None) -> Path:
    """Where a checkpoint goes when its directory cannot take it (a full disk on Ctrl-C)."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"nbw2v-checkpoint-{pid or os.getpid()}.npz"


def is_fallback(path: Path) -> bool:
    return path.parent == fallback_path().parent and path.name.startswith("nbw2v-checkpoint-")


def load_checkpoint_meta(path: Path) -> tuple[dict, dict]:
    """A checkpoint's metadata alone (cheap: no matrices read), checked for readability."""
    where = f"train.resume={str(path)!r}"
    if not path.is_file():
        raise CheckpointError(f"{where}: no such checkpoint file")
    try:
        headers = npz_headers(path)
        if "meta" not in headers:
            raise CheckpointError(f"{where}: not an nbw2v checkpoint (no metadata)")
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
    except CheckpointError:
        raise
    except _READ_ERRORS as exc:
        raise _unreadable(where, exc, path) from None
    if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
        raise CheckpointError(f"{where}: not an nbw2v checkpoint (format {str(meta)[:80]!r})")
    return meta, headers
