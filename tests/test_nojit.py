"""The kernel tests again with NUMBA_DISABLE_JIT=1: the kernels are plain Python/NumPy then,
which is how to debug them and how coverage sees their bodies."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT", "0") != "0", reason="already without JIT")
def test_kernel_tests_pass_without_jit():
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    files = [
        "test_closed_form.py",
        "test_kernels.py",
        "test_shared_negatives.py",
        "test_api_errors.py",
    ]  # (gradcheck: the same kernels, 30 s more)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[str(TESTS / f) for f in files]],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=TESTS.parent,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout.splitlines()[-1]
