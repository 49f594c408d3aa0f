import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def make_problem(rng, n_words, dim, dtype=np.float64, scale=1.0):
    C = (rng.standard_normal((n_words, dim)) * scale).astype(dtype)
    U = (rng.standard_normal((n_words, dim)) * scale).astype(dtype)
    return C, U


def assert_close(actual, expected, rtol):
    """Relative agreement, with the absolute floor scaled to the array's magnitude (entries of a
    gradient can be ~0 where the rest are O(1))."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1e-300, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


TINY_TEXT = "\n".join(["the king and the queen rule", "water flows to the sea"] * 200)


def tiny_sweep_command(tmp_path, store, *extra):
    """``nbw2v-train --multirun`` of a 2 x 2 grid (window x K) on a tiny corpus, 1 epoch, logging to
    ``store``; writes the corpus to ``tmp_path/tiny.txt`` unless a test already did."""
    from pathlib import Path

    corpus = tmp_path / "tiny.txt"
    if not corpus.exists():
        corpus.write_text(TINY_TEXT)
    return [
        str(Path(sys.executable).parent / "nbw2v-train"),
        "--multirun",
        f"data.corpus={corpus}",
        "data.min_count=1",
        "train.epochs=1",
        "model.dim=8",
        "model.window=2,3",
        "loss.K=2,5",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"logger.tracking_uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        *extra,
    ]


def sweep_runs(client, experiment):
    """(parent runs, child runs) of the sweeps in an MLflow experiment."""
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in runs if r.data.tags.get("nbw2v.role") == "sweep"]
    return parents, [r for r in runs if r.data.tags.get("nbw2v.role") != "sweep"]


def _unshare_ok() -> bool:
    import shutil

    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


#: tests that mount a tiny (full) or read-only tmpfs in a private mount namespace
needs_mounts = pytest.mark.skipif(not _unshare_ok(), reason="needs unshare --mount (private tmpfs mounts)")


def with_mount(target: Path, options: str, cmd: list[str]) -> list[str]:
    """``cmd`` in a private mount namespace where ``target`` is a tmpfs mounted with ``options``."""
    target.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o {options} tmpfs "{target}" && exec "$@"'
    return ["unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh", *cmd]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``mlflow server`` on 127.0.0.1 (SQLite backend, artifacts served), started and stopped by tests."""

    def __init__(self, root: Path, port: int):
        self.root, self.port, self.proc = root, port, None
        self.uri = f"http://127.0.0.1:{port}"

    def start(self):
        cmd = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.root / 'server.db'}",
            "--artifacts-destination",
            str(self.root / "artifacts"),
            "--workers",
            "1",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.uri + "/health", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        pytest.fail("mlflow server did not start within 90 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path, free_port())
    yield srv
    srv.stop()


def experiment_script(name: str):
    """A script of experiments/ imported as a module (its functions and main)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
