"""Faults on one machine (issue 29): trained vectors never lost, no command hanging on a dead
store, no store created by a listing. Real subprocesses; a full disk as a tiny tmpfs in a
private mount namespace; crafted files generated here."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port, needs_mounts, with_mount

NBW2V = Path(sys.executable).parent / "nbw2v"


def _corpus(tmp_path: Path) -> Path:
    """500 word types, enough for vectors larger than a 64 KiB disk."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(f"w{(i * 7 + j) % 500}" for j in range(12)) for i in range(3000)))
    return corpus


@needs_mounts
@pytest.mark.parametrize("suffix", [".bin", ".txt", ".npz"])
def test_train_out_on_a_full_disk_keeps_the_vectors_elsewhere(tmp_path, suffix):
    """29.1: the vectors were trained, then lost with a 25-line OSError traceback."""
    spare = tmp_path / "spare"
    spare.mkdir()
    out = tmp_path / "full" / f"v{suffix}"
    args = [str(NBW2V), "train", "--corpus", str(_corpus(tmp_path)), "--min-count", "1", "--epochs", "1"]
    cmd = with_mount(tmp_path / "full", "size=64k", [*args, "--dim", "100", "--out", str(out)])
    env = {**os.environ, "TMPDIR": str(spare)}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (kept,) = spare.glob(f"nbw2v-vectors-*{suffix}")
    line = next(x for x in proc.stderr.splitlines() if "cannot write the vectors" in x)
    assert f"--out {out}" in line and "No space left on device" in line and f"saved them to {kept}" in line
    from nbw2v.embeddings import Embeddings

    assert len(Embeddings.load(kept)) == 500


@pytest.mark.parametrize(
    "command",
    [
        ["runs"],
        ["runs", "--stale", "--close"],
        ["report", "20260101-000000-abcdef"],
        ["eval", "0123456789abcdef0123456789abcdef"],
        ["neighbors", "0123456789abcdef0123456789abcdef", "king"],
        ["compare", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdee"],
    ],
    ids=lambda c: "-".join(c[:2]) if c[0] == "runs" else c[0],
)
def test_every_store_command_fails_fast_on_a_dead_server(tmp_path, command):
    """29.2: `nbw2v runs --tracking-uri http://127.0.0.1:<refused>` was silent for 249 s, then
    a traceback (MLflow's client retries for minutes): one line within seconds."""
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    proc = subprocess.run([str(NBW2V), *command, "--tracking-uri", uri], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and time.monotonic() - start < 20, proc.stderr[-2000:]
    assert f"--tracking-uri={uri}: cannot reach the MLflow server" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_a_listing_never_creates_a_store(tmp_path):
    """29.15: `nbw2v runs` in an empty folder created mlflow.db."""
    proc = subprocess.run([str(NBW2V), "runs"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "no RUNNING runs: no MLflow store at" in proc.stdout, proc.stderr
    assert not (tmp_path / "mlflow.db").exists()
    proc = subprocess.run([str(NBW2V), "report", "x"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "no MLflow store at" in proc.stderr and not (tmp_path / "mlflow.db").exists()
