"""The losses nbw2v knows, one entry each: the single place that says what a loss is made of.

Config validation, :mod:`nbw2v.api`, :mod:`nbw2v.gradcheck`, the float64 oracle
:mod:`nbw2v.reference` and the trainer (:mod:`nbw2v.training.train`, :mod:`nbw2v.training.kernels`) find a
loss here by its ``loss.name``. Adding a loss = its kernel module + one entry + tests
(``tests/test_registry.py`` checks that every entry has every part and that config, API and
gradient checks list exactly these names).

Kernels share one argument order: ``(center_vec, outside, outside_vectors, [extra,]
grad_center_out, grad_rows_out)``, where *extra* is what the loss needs beyond the vectors
(``neg_indices`` for negative sampling, the Huffman ``tree`` for hierarchical softmax, nothing
for the naive softmax, whose row gradient is dense).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nbw2v import reference
from nbw2v.losses import hierarchical, negative, softmax
from nbw2v.losses.window import TARGETS_NEGATIVE, TARGETS_PATH


@dataclass(frozen=True)
class LossSpec:
    name: str  # loss.name in the config, the API's loss= and nbw2v train --loss
    title: str
    extra: str  # the kernels' per-pair argument: "" | "neg_indices" | "tree"
    pair: Callable  # one (center, outside) pair -> loss; writes the center and row gradients
    window: Callable  # one center over its outside words (skip-gram window)
    batch: Callable  # B independent pairs in parallel
    reference: Callable  # the float64 oracle of one pair (nbw2v.reference)
    api: str  # the public CS224N-style pair function, nbw2v.<api>
    archs: tuple[str, ...]  # model.arch values the trainer supports with this loss
    devices: tuple[str, ...]  # train.device values
    runner: str  # trainer: "hogwild" (fused SGD steps over chunks) or "batched" (mini-batches)
    targets: int  # losses.window.TARGETS_*: what a hogwild step scores a center word against
    per_word_bytes: Callable[[int, int, int], int]  # memory beyond the two matrices: f(V, d, batch)


LOSSES: dict[str, LossSpec] = {
    spec.name: spec
    for spec in (
        LossSpec(
            name="negative",
            title="negative sampling: the outside word against K noise words, O(K d) per pair",
            extra="neg_indices",
            pair=negative.neg_pair_loss_grad,
            window=negative.neg_window_loss_grad,
            batch=negative.neg_batch_loss_grad,
            reference=reference.neg_sampling_loss_and_grad,
            api="neg_sampling_loss_and_grad",
            archs=("skipgram", "cbow"),
            devices=("cpu", "cuda"),
            runner="hogwild",
            targets=TARGETS_NEGATIVE,
            per_word_bytes=lambda V, d, batch: 16 * V,  # alias table + subsampling
        ),
        LossSpec(
            name="hs",
            title="hierarchical softmax: the outside word's Huffman path, O(d log V) per pair",
            extra="tree",
            pair=hierarchical.hs_pair_loss_grad,
            window=hierarchical.hs_window_loss_grad,
            batch=hierarchical.hs_batch_loss_grad,
            reference=reference.hierarchical_softmax_loss_and_grad,
            api="hierarchical_softmax_loss_and_grad",
            archs=("skipgram", "cbow"),
            devices=("cpu",),
            runner="hogwild",
            targets=TARGETS_PATH,
            per_word_bytes=lambda V, d, batch: 16 * V + 17 * 40 * V,  # the tree (paths rarely pass 40 nodes)
        ),
        LossSpec(
            name="softmax",
            title="naive softmax: the exact softmax over all V words, O(V d) per pair",
            extra="",
            pair=softmax.softmax_window_loss_grad_serial,
            window=softmax.softmax_window_loss_grad,
            batch=softmax.softmax_batch_loss_grad,
            reference=reference.naive_softmax_loss_and_grad,
            api="naive_softmax_loss_and_grad",
            archs=("skipgram",),
            devices=("cpu",),
            runner="batched",
            targets=TARGETS_NEGATIVE,
            per_word_bytes=lambda V, d, batch: 2 * V * d * 4 + batch * V * 4,  # gradient + scores
        ),
    )
}


#: the training loop's runners by name ("module:Class", imported when chosen: the registry, the
#: loop and the GPU package import none of each other)
RUNNERS = {
    ("hogwild", "cpu"): "nbw2v.training.runners:HogwildRunner",
    ("batched", "cpu"): "nbw2v.training.runners:SoftmaxRunner",
    ("hogwild", "cuda"): "nbw2v.gpu.trainer:CudaRunner",
}


#: how to ask whether a device is usable, by ``train.device`` ("module:function" returning its
#: description, raising with the reason): the CPU needs no check
DEVICE_CHECKS = {"cuda": "nbw2v.gpu.device:require_gpu"}


def device_description(device: str) -> str:
    """'' for the CPU; else the device's description, or the check's error naming the reason."""
    import importlib

    if device not in DEVICE_CHECKS:
        return ""
    module, _, name = DEVICE_CHECKS[device].partition(":")
    return getattr(importlib.import_module(module), name)()


def runner_class(loss: str, device: str = "cpu"):
    """The runner that trains ``loss`` on ``device`` (``config.validate`` has refused the pairs
    that have none)."""
    import importlib

    spec = get(loss)
    if device not in spec.devices or (spec.runner, device) not in RUNNERS:
        raise ValueError(f"loss.name={loss}: no trainer for train.device={device}")
    module, _, name = RUNNERS[(spec.runner, device)].partition(":")
    return getattr(importlib.import_module(module), name)


def names() -> tuple[str, ...]:
    return tuple(LOSSES)


def get(name: str) -> LossSpec:
    """The entry of ``name``; ``ValueError`` listing the known losses otherwise."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"loss: unknown loss {name!r}; expected one of {', '.join(map(repr, LOSSES))}") from None
