"""Safe ``.npz`` reading and writing: sizes checked before anything is allocated.

A crafted or damaged ``.npz`` can declare arrays far larger than the file (a few MB of deflate
expanding to gigabytes) or than the machine. :func:`npz_headers` reads only the ``.npy``
headers of the members; callers check the declared shapes against what they expect and
:func:`check_fits` against the available memory, before any array is read.

Words are stored as one UTF-8 byte array joined by newlines (:func:`pack_words`), never as a
fixed-width string array, whose size is the number of words times the longest word.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


class ArrayFileError(ValueError):
    """An ``.npz`` file is damaged or declares arrays it cannot hold."""


def available_memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(nbytes: int, what: str, fix: str = "") -> None:
    """ArrayFileError when ``nbytes`` exceed 90% of the available memory."""
    free = available_memory_bytes()
    if free is not None and nbytes > 0.9 * free:
        raise ArrayFileError(
            f"{what} needs {nbytes / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB of memory is available{fix}"
        )


def npz_headers(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{member: (shape, dtype)}`` of an ``.npz`` from the ``.npy`` headers alone; each member
    must hold at least the bytes its header declares (uncompressed size in the zip directory)."""
    path = Path(path)
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    reader = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = reader(f)
                    header_bytes = f.tell()
                if dtype.hasobject:
                    raise ArrayFileError(f"{path}: member {info.filename} holds Python objects (not allowed)")
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if info.file_size < header_bytes + declared:
                    raise ArrayFileError(
                        f"{path}: member {info.filename} declares shape {shape} ({declared:,} bytes) but holds "
                        f"{info.file_size - header_bytes:,} bytes: a damaged or crafted file"
                    )
                out[info.filename[: -len(".npy")]] = (tuple(int(n) for n in shape), dtype)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ArrayFileError):
            raise
        raise ArrayFileError(f"{path}: not a readable .npz file ({exc}); truncated or damaged?") from None
    return out


def declared_bytes(headers: dict[str, tuple[tuple[int, ...], np.dtype]], names=None) -> int:
    return sum(
        int(np.prod(shape, dtype=object)) * dtype.itemsize
        for name, (shape, dtype) in headers.items()
        if names is None or name in names
    )


def pack_words(words: list[str]) -> np.ndarray:
    """Words (no whitespace inside) as one uint8 array: UTF-8, newline-separated."""
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def unpack_words(array: np.ndarray) -> list[str]:
    """Inverse of :func:`pack_words`; also reads the fixed-width string arrays of older files."""
    if array.dtype.kind in "US":
        return [str(w) for w in array]
    if array.size == 0:
        return []
    return array.tobytes().decode("utf-8").split("\n")
