"""The GPU trainer: :class:`CudaRunner`, the runner the epoch/progress/checkpoint loop of
:mod:`nbw2v.training.loop` is given for ``train.device=cuda`` (picked by name through
:func:`nbw2v.losses.registry.runner_class`; neither package imports the other): each round of
chunks is one launch of :func:`~nbw2v.gpu.kernels.train_sgns`.

The corpus ids, sentence/chunk offsets, subsampling and noise tables and both matrices live on
the GPU for the whole run; per round only the chunks' float64 loss partials and pair counts come
back (the progress line and ``loss/train`` mean the same as on the CPU). The host copies of the
matrices are refreshed at the end of every epoch (NaN check, per-epoch evaluation, the result)
and before a checkpoint.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, typeof

from nbw2v.gpu import kernels
from nbw2v.limits import window_shared_bytes

#: kernel launches per epoch (each one progress report); more chunks per launch keep more of a
#: large GPU busy, fewer report more often
LAUNCHES_PER_EPOCH = 4


class CudaRunner:
    def __init__(self, loop):
        self.loop = loop
        n_chunks, sched = loop.n_chunks, loop.sched
        per_launch = max(1, -(-n_chunks // LAUNCHES_PER_EPOCH))
        loop.rounds = [(c, min(c + per_launch, n_chunks)) for c in range(0, n_chunks, per_launch)]
        dim = loop.input_vectors.shape[1]
        self.block = kernels.round_threads(dim)
        self.shared = window_shared_bytes(2 * sched.window, sched.negatives + 1, dim)
        to = cuda.to_device
        self.d_in, self.d_out = to(loop.input_vectors), to(loop.output_vectors)
        self.d_corpus = [to(np.ascontiguousarray(a)) for a in loop.arrays]
        self.d_tables = [to(np.ascontiguousarray(a)) for a in loop.tables]
        self.d_kept = cuda.device_array_like(self.d_corpus[0])
        self.d_loss = cuda.to_device(np.zeros(n_chunks, np.float64))
        self.d_pairs = cuda.to_device(np.zeros(n_chunks, np.int64))

    def _args(self, first: int, epoch: int) -> tuple:
        s = self.loop.sched
        return (
            self.d_in, self.d_out, *self.d_corpus, *self.d_tables, self.d_kept,
            int(first), int(epoch), int(s.seed), int(s.epochs), int(s.window), int(s.negatives),
            float(s.lr0), float(s.min_lr_ratio), int(s.total_words), int(s.collision), self.d_loss, self.d_pairs,
        )  # fmt: skip

    def run_round(self, first, last, epoch):
        if last <= first:  # train() asks for a compile outside the timed loop
            compile_ = getattr(kernels.train_sgns, "compile", None)  # (the simulator has none)
            if compile_ is not None:
                compile_(tuple(typeof(a) for a in self._args(0, 0)))
            return
        kernels.train_sgns[last - first, self.block, 0, self.shared](*self._args(first, epoch))
        self.loop.loss_sums[first:last] = self.d_loss[first:last].copy_to_host()
        self.loop.pair_counts[first:last] = self.d_pairs[first:last].copy_to_host()

    def sync_host(self) -> None:
        self.d_in.copy_to_host(self.loop.input_vectors)
        self.d_out.copy_to_host(self.loop.output_vectors)
