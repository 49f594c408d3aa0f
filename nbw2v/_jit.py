"""The one place for Numba options.

Every kernel module takes its decorators from here, so the fastmath policy, the cache policy
and the thread count are decided once:

* ``FASTMATH`` allows the reassociation/contraction LLVM needs to vectorise reductions, but
  never ``nnan``/``ninf``: a diverging run must still produce NaN/inf we can detect.
* ``FASTMATH_STRICT`` is for code whose accuracy depends on evaluation order (the Cody-Waite
  range reduction in :mod:`nbw2v._fastexp`): contraction into FMA only.
* ``error_model="numpy"``: a float division by zero gives inf/NaN (as NumPy does) instead of
  raising ``ZeroDivisionError``. Python's model puts a test and a branch before every
  division, and the branch stops LLVM from vectorising the loop around it: the trainer's
  logistic pass (two divisions per score) ran scalar, 5.2 ns per score; vectorised 2.9 ns.
* ``cache=True`` everywhere, parallel kernels included: checked by
  ``tests/test_jit_cache.py`` (a second process loads them from the cache and agrees).
  ``NBW2V_NO_CACHE=1`` turns it off (e.g. to measure cold compiles).
* The cache lives in ``$NUMBA_CACHE_DIR`` (default ``~/.cache/nbw2v``) under a folder named
  after a hash of nbw2v's kernel modules (those with njit or overload): Numba checks only the
  timestamp of a kernel's own file, so an edit of a helper in another module would otherwise
  load stale machine code.
"""

from __future__ import annotations

import os

# Two thread pools take turns in the batched softmax: OpenBLAS's (matrix products) and
# Numba's (the exp/normalise pass). By default each spins on its cores for a while after its
# turn (OpenBLAS ~2**28 cycles, libgomp ~300k spins), stealing them from the other: measured
# 0.45x of the GEMM rate at V=10k with both spinning, 0.89x with both yielding. These are
# defaults only (an explicit setting in the environment wins) and take effect only for a pool
# not yet started (OpenBLAS: before NumPy/SciPy load it; libgomp: before Numba's first
# parallel kernel). ``thread_env_report()`` says what is in force.
from nbw2v._threads import THREAD_ENV_DEFAULTS  # noqa: E402  (set by nbw2v/__init__, first)

for _key, _value in THREAD_ENV_DEFAULTS.items():
    os.environ.setdefault(_key, _value)

import hashlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402  (after the environment defaults above, on purpose)

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
FASTMATH_STRICT = frozenset({"contract"})

ERROR_MODEL = "numpy"  # see above: divisions without a zero test, so loops vectorise

CACHE = os.environ.get("NBW2V_NO_CACHE", "") not in {"1", "true", "yes"}


def _sources_digest() -> str:
    digest = hashlib.sha256(numba.__version__.encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        source = path.read_bytes()
        if path.name == "_jit.py" or b"njit" in source or b"@overload" in source:  # kernel modules
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(source)
    return digest.hexdigest()[:16]


def _cache_dir() -> Path:
    from nbw2v.paths import default_cache_dir

    base = os.environ.get("NUMBA_CACHE_DIR") or default_cache_dir()
    return Path(base) / f"kernels-{_sources_digest()}"


if CACHE:
    try:
        _dir = _cache_dir()
        _dir.mkdir(parents=True, exist_ok=True)
        numba.config.CACHE_DIR = str(_dir)
    except OSError:  # unwritable home: Numba's own default (beside the sources, or none)
        pass

#: Parallel loops over fewer items than this run serially: spawning the thread pool costs
#: more than the work (the gradient check calls the kernels on tiny problems thousands of times).
#: Results do not depend on it: every reduction uses fixed chunks, whatever the thread count.
CHUNK = 512

#: a batched kernel call with fewer multiply-adds than this runs its serial twin: waking the thread
#: pool costs 35-90 us, more than such work (negative sampling, B=1, V=5, d=3: 71 us parallel)
SERIAL_BATCH_BELOW = 100_000


def njit_serial(fn=None, **overrides):
    """``@njit`` for serial kernels (fastmath set above, cached)."""
    opts = {"fastmath": set(FASTMATH), "cache": CACHE, "nogil": True, "error_model": ERROR_MODEL, **overrides}
    return numba.njit(**opts) if fn is None else numba.njit(**opts)(fn)


def njit_leaf(fn=None, **overrides):
    """:func:`njit_serial` for the trainer's inner kernels that allocate nothing (the SGD steps,
    the draws): compiled without Numba's reference-counting runtime, so their array arguments
    are borrowed from the caller. With it, every call increments and decrements each array
    argument's reference count on entry and exit (atomic read-modify-writes, ~30 a CBOW step),
    and with 2 threads the counters of the shared matrices bounce between the cores."""
    return njit_serial(fn, _nrt=False, **overrides)


def njit_parallel(fn=None, **overrides):
    """``@njit(parallel=True)`` for kernels with ``prange`` loops."""
    opts = {
        "fastmath": set(FASTMATH),
        "cache": CACHE,
        "parallel": True,
        "nogil": True,
        "error_model": ERROR_MODEL,
        **overrides,
    }
    return numba.njit(**opts) if fn is None else numba.njit(**opts)(fn)


def serial_twin(parallel_kernel, suffix: str = "_serial"):
    """The same Python body compiled without ``parallel=True`` (``prange`` runs as ``range``),
    for calls too small to wake the thread pool: each ``prange`` region costs ~90 us of
    scheduling however little work it holds. The twin gets its own name, because Numba's cache
    index is keyed by the function's name and file, not by the ``parallel`` flag (a same-named
    twin would load the parallel code from the cache)."""
    import types

    fn = getattr(parallel_kernel, "py_func", parallel_kernel)  # a plain function with NUMBA_DISABLE_JIT=1
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + suffix
    twin.__doc__, twin.__module__ = fn.__doc__, fn.__module__
    return njit_serial(twin)


def set_threads(n: int | None) -> int:
    """Set Numba's thread count for parallel kernels; ``None`` keeps the current one.

    Returns the number of threads in effect. Raises ``ValueError`` naming the valid range.
    """
    if n is None:
        return numba.get_num_threads()
    limit = numba.config.NUMBA_NUM_THREADS
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= limit:
        raise ValueError(f"threads={n!r}: expected an integer in [1, {limit}] (cores Numba may use)")
    numba.set_num_threads(n)
    return n


def thread_env_report() -> dict[str, str]:
    """The thread-pool settings in force, for logs and benchmark reports."""
    report = {key: os.environ.get(key, "") for key in THREAD_ENV_DEFAULTS}
    report["numba_threads"] = str(numba.get_num_threads())
    report["numba_threading_layer"] = str(numba.config.THREADING_LAYER)
    return report


def rebind(fn, **globals_):
    """``fn`` with some of the globals it calls replaced: one Python body compiled for the CPU
    (``@njit``) and for the GPU (``cuda.jit(device=True)``) where a helper it calls differs
    between the two (e.g. an array access the CUDA simulator must see as a device function)."""
    import types

    return types.FunctionType(fn.__code__, {**fn.__globals__, **globals_}, fn.__name__, fn.__defaults__, fn.__closure__)


def cuda_kernel(fn=None, **overrides):
    """``@numba.cuda.jit`` for the GPU kernels of :mod:`nbw2v.gpu` (imported only there, so the
    CPU package never needs numba-cuda). No fastmath: the losses are checked against float64
    references, and approximate division/exp would blur that. Cached like the CPU kernels."""
    from numba import cuda

    opts = {"cache": CACHE, **overrides}
    return cuda.jit(**opts) if fn is None else cuda.jit(**opts)(fn)


def cuda_device(fn=None, **overrides):
    """``@numba.cuda.jit(device=True)`` for helpers called from the GPU kernels."""
    from numba import cuda

    opts = {"device": True, **overrides}
    return cuda.jit(**opts) if fn is None else cuda.jit(**opts)(fn)
