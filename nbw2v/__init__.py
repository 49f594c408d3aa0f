"""nbw2v: a word2vec toolkit for studying the losses, gradients and training of skip-gram.

The public API wraps Numba kernels (``nbw2v.losses``); ``nbw2v.reference`` is the plain
NumPy oracle they are tested against and ``nbw2v.gradcheck`` checks them numerically.
"""

from nbw2v import _jit  # noqa: F401  (first: sets thread-pool defaults before NumPy/Numba start them)
from nbw2v.api import (
    hierarchical_softmax_loss_and_grad,
    hierarchical_softmax_loss_and_grad_batch,
    naive_softmax_loss_and_grad,
    naive_softmax_loss_and_grad_batch,
    neg_sampling_loss_and_grad,
    neg_sampling_loss_and_grad_batch,
    skipgram,
)
from nbw2v.gradcheck import gradcheck_all, max_rel_error
from nbw2v.losses import HuffmanTree, huffman_tree

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "HuffmanTree",
    "gradcheck_all",
    "hierarchical_softmax_loss_and_grad",
    "hierarchical_softmax_loss_and_grad_batch",
    "huffman_tree",
    "max_rel_error",
    "naive_softmax_loss_and_grad",
    "naive_softmax_loss_and_grad_batch",
    "neg_sampling_loss_and_grad",
    "neg_sampling_loss_and_grad_batch",
    "skipgram",
]
