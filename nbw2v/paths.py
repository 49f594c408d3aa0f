"""Where nbw2v keeps files of its own: one cache folder (downloaded corpora, the corpus cache,
compiled kernels), ``$NBW2V_CACHE`` or ``~/.cache/nbw2v``. Imports nothing heavy: the Numba
options module reads it before Numba starts."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("NBW2V_CACHE") or Path.home() / ".cache" / "nbw2v")
