"""The thread pools' environment defaults, set by ``nbw2v/__init__`` before NumPy or Numba can
start a pool (this module imports nothing). Why these values: :mod:`nbw2v._jit`."""

THREAD_ENV_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
