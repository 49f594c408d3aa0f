"""Where nbw2v's files are: the package's bundled data, and one cache folder (downloaded corpora, the corpus cache,
compiled kernels), ``$NBW2V_CACHE`` or ``~/.cache/nbw2v``. Imports nothing heavy: the Numba
options module reads it before Numba starts."""

from __future__ import annotations

import os
from pathlib import Path

#: the installed package's folder (its bundled data under ``data/``), wherever a module sits in it
PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def default_cache_dir() -> Path:
    return Path(os.environ.get("NBW2V_CACHE") or Path.home() / ".cache" / "nbw2v")
