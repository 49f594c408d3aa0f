"""Numba loss kernels. Low-level: arrays in, caller-provided buffers out, no validation.

Use :mod:`nbw2v.api` (re-exported at the package top level) for checked calls.
"""

from nbw2v.losses.hierarchical import (
    HuffmanTree,
    hs_batch_kernel,
    hs_batch_loss_grad,
    hs_pair_loss_grad,
    hs_scatter_add_rows,
    hs_window_loss_grad,
    huffman_tree,
)
from nbw2v.losses.negative import (
    neg_batch_kernel,
    neg_batch_loss_grad,
    neg_pair_loss_grad,
    neg_window_loss_grad,
    scatter_add_rows,
    shared_neg_window_loss_grad,
)
from nbw2v.losses.sgd import sgd_step_cbow, sgd_step_neg, sgd_step_softmax, sgd_step_window
from nbw2v.losses.softmax import (
    softmax_batch_loss_grad,
    softmax_rows_inplace,
    softmax_window_kernel,
    softmax_window_loss_grad,
    softmax_window_loss_grad_serial,
)
from nbw2v.losses.window import labelled_window_loss_grad

__all__ = [
    "HuffmanTree",
    "hs_batch_kernel",
    "hs_batch_loss_grad",
    "hs_pair_loss_grad",
    "hs_scatter_add_rows",
    "hs_window_loss_grad",
    "huffman_tree",
    "labelled_window_loss_grad",
    "neg_batch_kernel",
    "neg_batch_loss_grad",
    "neg_pair_loss_grad",
    "neg_window_loss_grad",
    "scatter_add_rows",
    "sgd_step_cbow",
    "sgd_step_window",
    "shared_neg_window_loss_grad",
    "sgd_step_neg",
    "sgd_step_softmax",
    "softmax_batch_loss_grad",
    "softmax_rows_inplace",
    "softmax_window_loss_grad",
    "softmax_window_kernel",
    "softmax_window_loss_grad_serial",
]
