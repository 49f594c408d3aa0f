"""nbw2v: a word2vec toolkit for studying the losses, gradients and training of skip-gram.

The public API wraps Numba kernels (``nbw2v.losses``); ``nbw2v.reference`` is the plain
NumPy oracle they are tested against and ``nbw2v.gradcheck`` checks them numerically.

Importing the package is light (no NumPy, no Numba): the names below are loaded on first use,
so the command-line entry points answer Ctrl-C from their first instruction
(:mod:`nbw2v.app.entry`). The thread-pool defaults of :mod:`nbw2v._jit` are set here, before
anything can start NumPy's or Numba's pools.
"""

import os as _os

from nbw2v._threads import THREAD_ENV_DEFAULTS as _DEFAULTS

for _key, _value in _DEFAULTS.items():
    _os.environ.setdefault(_key, _value)

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "hierarchical_softmax_loss_and_grad": "nbw2v.api",
    "hierarchical_softmax_loss_and_grad_batch": "nbw2v.api",
    "naive_softmax_loss_and_grad": "nbw2v.api",
    "naive_softmax_loss_and_grad_batch": "nbw2v.api",
    "neg_sampling_loss_and_grad": "nbw2v.api",
    "neg_sampling_loss_and_grad_batch": "nbw2v.api",
    "skipgram": "nbw2v.api",
    "gradcheck_all": "nbw2v.gradcheck",
    "max_rel_error": "nbw2v.gradcheck",
    "HuffmanTree": "nbw2v.losses",
    "huffman_tree": "nbw2v.losses",
}

__all__ = ["__version__", *sorted(_EXPORTS, key=str.lower)]


def __getattr__(name: str):
    import importlib

    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    try:  # a submodule used as an attribute (nbw2v.api, nbw2v.losses, ...)
        return importlib.import_module(f"nbw2v.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'nbw2v' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
