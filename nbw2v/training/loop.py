"""The training loop every runner shares: epochs, rounds of chunks, progress (loss, words/s,
ETA), checkpoints, Ctrl-C/SIGTERM handling and divergence checks. A runner (the CPU's Hogwild
and mini-batch runners in :mod:`nbw2v.training.runners`, the GPU's in :mod:`nbw2v.gpu.trainer`)
only says how to run one round of chunks: an object made from the loop (``runner(loop)``) with
``run_round(first, last, epoch)`` and, optionally, ``sync_host()`` and ``one_chunk_per_round``.
The loop knows no runner by name (:func:`nbw2v.losses.registry.runner_class` picks one), so
neither this package nor :mod:`nbw2v.gpu` imports the other.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from nbw2v.progress import Progress, format_eta
from nbw2v.text.vocab import Vocab
from nbw2v.tracking.liveness import Interrupted
from nbw2v.tracking.tracker import Tracker
from nbw2v.training.checkpoint import CheckpointWriteError, TrainState, fallback_path
from nbw2v.training.kernels import learning_rate

#: points of the logged loss curve (``loss/train``) over a whole run
CURVE_POINTS = 100
#: chunks of a round at most (10M corpus words, 40 MB of a mapped corpus's ids, at the default 10k a chunk)
MAX_ROUND_CHUNKS = 1024

if TYPE_CHECKING:
    from nbw2v.text.corpus import Corpus


class TrainingDiverged(RuntimeError):
    """The loss or the parameters became NaN/inf; no vectors are returned."""


class TrainingInterrupted(Interrupted):
    """Ctrl-C or SIGTERM during training: raised after the checkpoint is written."""


class TrainHooks(Protocol):
    """Optional callbacks of the experiment layer (gradient checks, per-epoch evaluation)."""

    def before_training(self, vocab: Vocab, corpus: Corpus, input_vectors, output_vectors, tables) -> None: ...
    def after_epoch(self, epoch: int, input_vectors, output_vectors, step: int) -> None: ...


class deferred_signals:
    """While training: Ctrl-C (SIGINT) and SIGTERM only set a flag that the loop checks after
    each round (so a checkpoint is always taken at a consistent chunk boundary); a second
    Ctrl-C interrupts at once (a checkpoint being written is then removed, never left half)."""

    def __init__(self, loop, keep_checkpoint: bool = False):
        self.loop = loop
        self.keep_checkpoint = keep_checkpoint
        self.previous = {}

    def _handler(self, signum, frame):
        if self.loop.stop_signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt("interrupted again (second Ctrl-C): stopped at once")
        self.loop.stop_signal = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, exc_type, exc, tb):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        loop = self.loop
        if exc_type is None and loop.stop_signal is not None:  # arrived after the last round
            path = loop.final_checkpoint
            if path is None and not self.keep_checkpoint:
                path = loop.save(loop.sched.epochs, 0, loop.epoch_losses, loop.history, fallback=True)
            where = f"; the trained model is in the checkpoint {path}" if path else ""
            raise TrainingInterrupted(
                f"interrupted by {signal_name(loop.stop_signal)} after training finished{where}",
                path,
                sigterm=loop.stop_signal == signal.SIGTERM,
            )
        return False


def signal_name(signum: int | None) -> str:
    return "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"


class EpochLoop:
    """Epochs, rounds of chunks, progress reports, checkpoints; ``runner`` runs one round."""

    stop_signal: int | None = None
    checkpoint = None  # callable(TrainState, path=None) -> Path, set by train()
    warn = print  # where checkpoint warnings go (train sets progress.message)
    final_checkpoint: Path | None = None
    # the matrices as the kernels take them (set by train): rows padded to whole cache lines, the
    # output matrix with rows appended for kernels' scratch; input_vectors/output_vectors view them
    input_storage = None
    output_storage = None
    tree = None  # hierarchical softmax's Huffman tree (set by train)
    pager = None  # a mapped corpus's pager: the pages of trained chunks are handed back (set by train)

    def __init__(self, cfg, input_vectors, output_vectors, arrays, sched, tables, threads, runner):
        self.epoch_losses: list[float] = []  # of this run so far (set by run(); read on interruption)
        self.history: list = []
        self.cfg, self.sched, self.tables, self.arrays = cfg, sched, tables, arrays
        self.input_vectors, self.output_vectors = input_vectors, output_vectors
        self.n_chunks = arrays.chunk_starts.shape[0] - 1
        self.loss_sums = np.zeros(self.n_chunks, np.float64)
        self.pair_counts = np.zeros(self.n_chunks, np.int64)
        # a runner whose rounds are already parallel inside (mini-batches) takes one chunk a round
        one_at_a_time = cfg.train.deterministic or getattr(runner, "one_chunk_per_round", False)
        # ~50 rounds an epoch (progress, Ctrl-C), at most MAX_ROUND_CHUNKS chunks: the corpus pages of
        # a mapped corpus are handed back after each round, so a round bounds what is resident
        per_round = 1 if one_at_a_time else max(threads * 2, min(self.n_chunks // 50, MAX_ROUND_CHUNKS))
        self.rounds = [(c, min(c + per_round, self.n_chunks)) for c in range(0, self.n_chunks, per_round)]
        self._write_failed = False
        self.runner = runner(self)  # may set its own rounds (a GPU launch takes many chunks)

    def run_round(self, first: int, last: int, epoch: int) -> None:
        self.runner.run_round(first, last, epoch)

    def sync_host(self) -> None:
        """Bring the host matrices up to date (a GPU runner keeps them on the device)."""
        sync = getattr(self.runner, "sync_host", None)
        if sync is not None:
            sync()

    def lr_at(self, epoch: int, words_done: float) -> float:
        s = self.sched
        return learning_rate(s.lr0, s.min_lr_ratio, epoch, words_done, s.total_words, s.epochs)

    def save(self, epoch: int, next_chunk: int, epoch_losses, history, fallback: bool = False) -> Path | None:
        """Write a checkpoint; a disk that refuses (read-only, full) is a warning, never the end
        of the run. ``fallback``: on failure try the temporary directory too (an interruption:
        the last chance to keep the work)."""
        if self.checkpoint is None:
            return None
        self.sync_host()
        if not (np.isfinite(self.input_vectors).all() and np.isfinite(self.output_vectors).all()):
            return None  # never replace the last good checkpoint with a diverged state
        sums, counts = (self.loss_sums, self.pair_counts) if next_chunk else (None, None)
        state = TrainState(epoch, next_chunk, sums, counts, list(epoch_losses), list(history))
        try:
            path = self.checkpoint(state)
            self._write_failed = False
            return path
        except CheckpointWriteError as exc:
            target = fallback_path()
            if fallback:
                self.warn(f"nbw2v: WARNING: {exc.strerror}; trying {target}")
            elif not self._write_failed:  # once per failing streak, not every interval
                self.warn(f"nbw2v: WARNING: {exc.strerror}; training goes on (free space or fix train.checkpoint_dir)")
            self._write_failed = True
            if not fallback:
                return None
        try:
            path = self.checkpoint(state, target)
        except CheckpointWriteError as exc:
            self.warn(f"nbw2v: WARNING: {exc.strerror}; the trained state could not be saved")
            return None
        self.warn(f"nbw2v: saved the checkpoint to {path} instead")
        return path

    def run(
        self, tracker: Tracker, progress: Progress, stats: dict, hooks: TrainHooks | None, state: TrainState
    ) -> list[float]:
        s, words_before = self.sched, self.arrays.chunk_words_before
        history = stats.setdefault("loss_history", [])  # (words done, interval mean loss)
        history.extend(state.history)
        report_every = float(self.cfg.train.report_every_s)
        checkpoint_every = float(self.cfg.train.checkpoint_every_s)
        checkpoint_words = int(self.cfg.train.checkpoint_every_words)
        last_checkpoint_done = state.epoch * s.total_words + int(words_before[state.next_chunk])
        total = s.epochs * s.total_words
        epoch_losses = self.epoch_losses = list(state.epoch_losses)
        self.history = history
        start = last_report = last_checkpoint = time.perf_counter()
        start_done = state.epoch * s.total_words + int(words_before[state.next_chunk])
        interval_loss, interval_pairs = 0.0, 0
        # the logged loss curve: a point every 1% of training (and at each epoch's end), whatever
        # the machine's speed, so the chart has enough points to read; the console reports by time
        curve_every = max(total // CURVE_POINTS, 1)
        curve_loss, curve_pairs, next_curve = 0.0, 0, start_done + curve_every
        estimated = False
        for epoch in range(state.epoch, s.epochs):
            rounds = self.rounds
            if epoch == state.epoch and state.loss_sums is not None:  # resumed mid-epoch
                self.loss_sums[:] = state.loss_sums
                self.pair_counts[:] = state.pair_counts
                rounds = [r for r in self.rounds if r[0] >= state.next_chunk]
                if rounds and rounds[0][0] != state.next_chunk:
                    rounds.insert(0, (state.next_chunk, rounds[0][0]))
                elif not rounds and state.next_chunk < self.n_chunks:
                    rounds = [(state.next_chunk, self.n_chunks)]
            else:
                self.loss_sums[:] = 0.0
                self.pair_counts[:] = 0
            for first, last in rounds:
                self.run_round(first, last, epoch)
                if self.pager is not None:  # resident memory: the chunks in flight, not the corpus
                    a = self.arrays
                    self.pager.release(
                        int(words_before[first]), int(words_before[last]),
                        int(a.chunk_starts[first]), int(a.chunk_starts[last]),
                    )  # fmt: skip
                round_loss = float(self.loss_sums[first:last].sum())
                if not math.isfinite(round_loss):
                    raise TrainingDiverged(
                        f"loss became {round_loss} in epoch {epoch + 1} at {int(words_before[last]):,} words "
                        f"(lr {self.lr_at(epoch, words_before[last]):.3g}): training diverged; lower train.lr"
                    )
                interval_loss += round_loss
                interval_pairs += int(self.pair_counts[first:last].sum())
                curve_loss += round_loss
                curve_pairs += int(self.pair_counts[first:last].sum())
                done_now = epoch * s.total_words + int(words_before[last])
                if done_now >= next_curve or last == self.n_chunks:
                    mean = curve_loss / max(curve_pairs, 1)
                    history.append((done_now, mean))
                    tracker.log_metrics(
                        {
                            "loss/train": mean,
                            "train/lr": self.lr_at(epoch, words_before[last]),
                            "train/epoch": round(done_now / s.total_words, 4),
                        },
                        step=done_now,
                    )
                    curve_loss, curve_pairs = 0.0, 0
                    next_curve = (done_now // curve_every + 1) * curve_every
                now = time.perf_counter()
                if not estimated and now - start >= 1.0:  # one estimate, early: long runs say so up front
                    estimated = True
                    done = epoch * s.total_words + int(words_before[last]) - start_done
                    eta = (total - start_done - done) * (now - start) / max(done, 1)
                    if eta > 120:
                        progress.message(
                            f"nbw2v: estimated training time {format_eta(eta)} ({done / (now - start):,.0f} training "
                            f"words/s, {s.epochs} epoch(s) of {s.total_words:,} words)"
                        )
                if now - last_report >= report_every or (epoch == s.epochs - 1 and last == self.n_chunks):
                    done = epoch * s.total_words + int(words_before[last])
                    speed = (done - start_done) / max(now - start, 1e-9)
                    mean = interval_loss / max(interval_pairs, 1)
                    lr = self.lr_at(epoch, words_before[last])
                    progress.update(
                        epoch + 1, s.epochs, done / total, mean, lr, speed, (total - done) / max(speed, 1e-9)
                    )
                    tracker.log_metrics({"perf/words_per_sec": round(speed)}, step=done)
                    interval_loss, interval_pairs, last_report = 0.0, 0, now
                if self.stop_signal is not None:
                    path = self.save(epoch, last, epoch_losses, history, fallback=True)
                    where = f"; the checkpoint {path} keeps its state" if path else "; no checkpoint could be written"
                    raise TrainingInterrupted(
                        f"training interrupted by {signal_name(self.stop_signal)} in epoch {epoch + 1}{where}",
                        path,
                        sigterm=self.stop_signal == signal.SIGTERM,
                    )
                due = (checkpoint_every and now - last_checkpoint >= checkpoint_every) or (
                    checkpoint_words and done_now - last_checkpoint_done >= checkpoint_words
                )
                if due and last < self.n_chunks:
                    self.save(epoch, last, epoch_losses, history)
                    last_checkpoint, last_checkpoint_done = time.perf_counter(), done_now
            epoch_loss = float(self.loss_sums.sum() / max(int(self.pair_counts.sum()), 1))
            epoch_losses.append(epoch_loss)
            self.sync_host()
            tracker.log_metrics({"loss/epoch": epoch_loss}, step=(epoch + 1) * s.total_words)
            for name, matrix in (("input", self.input_vectors), ("output", self.output_vectors)):
                if not np.isfinite(matrix).all():
                    raise TrainingDiverged(
                        f"the {name} vectors contain NaN/inf after epoch {epoch + 1}; lower train.lr"
                    )
            if hooks is not None:
                paused = time.perf_counter()
                hooks.after_epoch(epoch + 1, self.input_vectors, self.output_vectors, (epoch + 1) * s.total_words)
                hook_seconds = time.perf_counter() - paused
                start += hook_seconds  # evaluation/gradcheck time is not training time
                last_report += hook_seconds
            if checkpoint_every and epoch + 1 < s.epochs and time.perf_counter() - last_checkpoint >= checkpoint_every:
                self.save(epoch + 1, 0, epoch_losses, history)
                last_checkpoint = time.perf_counter()
        elapsed = time.perf_counter() - start
        if start_done >= total:  # resumed from a checkpoint of a finished training
            stats.update(train_seconds=0.0, words_per_sec=0.0, train_words_per_sec=0.0)
            progress.message(f"nbw2v: training was already complete; final epoch loss {epoch_losses[-1]:.4f}")
            return epoch_losses
        fraction = (total - start_done) / total  # of the run trained in this process
        stats["train_seconds"] = elapsed
        stats["words_per_sec"] = stats["raw_words"] * s.epochs * fraction / max(elapsed, 1e-9)
        stats["train_words_per_sec"] = (total - start_done) / max(elapsed, 1e-9)
        progress.message(
            f"nbw2v: trained {s.epochs} epoch(s) in {elapsed:.1f} s: {stats['words_per_sec']:,.0f} corpus words/s, "
            f"final epoch loss {epoch_losses[-1]:.4f}"
        )
        tracker.log_metrics(
            {"perf/words_per_sec_total": round(stats["words_per_sec"]), "perf/train_seconds": round(elapsed, 3)},
            step=total,
        )
        return epoch_losses
