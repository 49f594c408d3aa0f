"""Sizes the trainers are built for, which the configuration checks (plain Python, no kernel and
no device module imported: :mod:`nbw2v.config` checks them before anything touches a GPU, and
the GPU kernels are sized by them)."""

#: most threads a block of the GPU kernels uses (reduction buffers are this long)
MAX_THREADS = 256
#: most context words of one window (2 * model.window) and targets (loss.K + 1) per window
MAX_CONTEXT = 128
MAX_TARGETS = 128
#: dynamic shared memory a block may use without opting in (bytes; every CUDA GPU since 2012)
SHARED_LIMIT = 48 * 1024


def window_shared_bytes(n_context: int, n_targets: int, dim: int, itemsize: int = 4) -> int:
    """Dynamic shared memory of one window block: the staged rows and the coefficient matrix."""
    return itemsize * (n_context * dim + n_targets * dim + n_context * n_targets)
