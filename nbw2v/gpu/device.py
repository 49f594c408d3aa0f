"""Is a CUDA GPU usable here? One answer, with the reason, for errors and reports."""

from __future__ import annotations

import os

from nbw2v.config import ConfigError


class GpuUnavailable(ConfigError):
    """``train.device=cuda`` (or a GPU kernel) was asked for and no GPU can run it."""


def simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "") not in {"", "0"}


def gpu_status() -> tuple[bool, str]:
    """(usable, description): the GPU's name and compute capability, the simulator, or why not."""
    try:
        from numba import cuda
    except ImportError as exc:  # numba without its CUDA target (numba-cuda not installed)
        return False, f"numba-cuda is not installed ({exc}); pip install 'nbw2v[cuda]'"
    if simulator_enabled():
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1: correct but very slow)"
    try:
        if not cuda.is_available():
            return False, "no CUDA GPU or driver found (numba.cuda.is_available() is False)"
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        return True, f"{name} (compute capability {device.compute_capability[0]}.{device.compute_capability[1]})"
    except Exception as exc:  # noqa: BLE001  (driver errors come in many types)
        return False, f"the CUDA driver failed: {str(exc).strip().splitlines()[0][:200]}"


def require_gpu(what: str = "train.device=cuda") -> str:
    """The GPU's description, or ``GpuUnavailable`` naming the setting and the fixes."""
    ok, description = gpu_status()
    if not ok:
        raise GpuUnavailable(
            f"{what}: no usable GPU: {description}. Use train.device=cpu, or run on a machine with an NVIDIA "
            "GPU, its driver and numba-cuda (pip install 'nbw2v[cuda]'); NUMBA_ENABLE_CUDASIM=1 runs the "
            "kernels on Numba's (slow) CUDA simulator"
        )
    return description
