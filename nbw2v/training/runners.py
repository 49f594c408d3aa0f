"""The CPU runners of the training loop (:class:`nbw2v.training.loop.EpochLoop`): how one round
of chunks is trained. Each is made from the loop (``Runner(loop)``) and reads its matrices,
corpus arrays, schedule and tables from it; :func:`nbw2v.losses.registry.runner_class` picks one
by the loss's ``runner`` and the device (the GPU's is :class:`nbw2v.gpu.trainer.CudaRunner`).
"""

from __future__ import annotations

import numpy as np

from nbw2v.losses.softmax import softmax_batch_loss_grad
from nbw2v.training.kernels import chunk_pairs, train_chunks


class HogwildRunner:
    """Negative sampling and hierarchical softmax: fused SGD steps over chunks, in parallel."""

    padded_rows = True  # its kernels take rows padded to whole cache lines (training/matrices.py)

    def __init__(self, loop):
        self.loop = loop

    def run_round(self, first, last, epoch):
        loop = self.loop
        train_chunks(
            loop.input_vectors if loop.input_storage is None else loop.input_storage,
            loop.output_vectors if loop.output_storage is None else loop.output_storage,
            loop.arrays,
            first,
            last,
            epoch,
            loop.sched,
            loop.tables,
            loop.tree,
            loop.loss_sums,
            loop.pair_counts,
        )


class SoftmaxRunner:
    """Naive softmax (exact, O(V d) per pair, for small vocabularies and teaching): the pairs of
    a chunk in mini-batches through the batched kernel; textbook pairing (center input vector
    against all outside vectors); one SGD step per mini-batch with the summed gradient."""

    one_chunk_per_round = True

    def __init__(self, loop):
        self.loop = loop

    def run_round(self, first, last, epoch):
        loop = self.loop
        a, s = loop.arrays, loop.sched
        batch = int(loop.cfg.train.softmax_batch)
        for chunk in range(first, last):
            n_sent_words = int(a.chunk_words_before[chunk + 1] - a.chunk_words_before[chunk])
            centers = np.empty(2 * s.window * n_sent_words + 1, np.int64)
            outside = np.empty_like(centers)
            n_pairs, words = chunk_pairs(a, chunk, epoch, s, loop.tables, centers, outside)
            scores = np.empty((batch, loop.input_vectors.shape[0]), np.float32)
            losses = np.empty(batch, np.float64)
            grad_out = np.empty_like(loop.output_vectors)
            total = 0.0
            for lo in range(0, n_pairs, batch):
                hi = min(n_pairs, lo + batch)
                c, o = centers[lo:hi], outside[lo:hi]
                lr = loop.lr_at(epoch, a.chunk_words_before[chunk] + words * lo / max(n_pairs, 1))
                X = loop.input_vectors[c]
                grad_x = np.empty_like(X)
                total += softmax_batch_loss_grad(
                    X, o, loop.output_vectors, losses[: hi - lo], grad_x, grad_out, scores[: hi - lo]
                )
                np.add.at(loop.input_vectors, c, -lr * grad_x)
                loop.output_vectors -= np.float32(lr) * grad_out
            loop.loss_sums[chunk] = total
            loop.pair_counts[chunk] = n_pairs
