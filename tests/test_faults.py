"""Fault tests: interruption (SIGINT, SIGTERM) with checkpoint and exact resume, divergence
keeping the last good checkpoint, resume mismatches, corrupt inputs. Bounded in time."""

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nbw2v.config import Config, ConfigError
from nbw2v.progress import SilentProgress
from nbw2v.text.corpus import CorpusError, read_corpus
from nbw2v.training.checkpoint import load_checkpoint
from nbw2v.training.train import TrainingDiverged, train

EXE = Path(sys.executable).parent / "nbw2v-train"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    lines = [" ".join(rng.choice(words, size=12, p=None)) for _ in range(20000)]
    path = tmp_path_factory.mktemp("faults") / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cfg(corpus, tmp_path, **train):
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count = str(corpus), 1
    cfg.model.dim = 16
    cfg.train.epochs = 2
    cfg.train.deterministic = True
    cfg.train.chunk_words = 1000
    cfg.train.checkpoint_dir = str(tmp_path / "ckpt")
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_writes_a_checkpoint_and_resume_is_exact(corpus, tmp_path, sig):
    store = f"sqlite:///{tmp_path / 'm.db'}"
    base = [
        str(EXE),
        f"data.corpus={corpus}",
        "data.min_count=1",
        "model.dim=16",
        "train=deterministic",
        "train.epochs=3",
        "train.chunk_words=1000",
        "train.report_every_s=0",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"train.checkpoint_dir={tmp_path / 'ckpt'}",
        f"logger.tracking_uri={store}",
        "logger.save_vectors=npz",
        f"hydra.run.dir={tmp_path / 'out'}",
    ]
    proc = subprocess.Popen([*base, "logger.run_name=cut"], stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    seen = []
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        seen.append(line)
        if "epoch 2/3" in line:  # mid-training
            proc.send_signal(sig)
            break
        assert time.monotonic() < deadline, "".join(seen)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == (130 if sig == signal.SIGINT else 143), rest[-2000:]
    assert "checkpoint" in rest and "train.resume=" in rest
    checkpoints = list((tmp_path / "ckpt").glob("nbw2v-*.npz"))
    assert len(checkpoints) == 1 and not list((tmp_path / "ckpt").glob("*.tmp"))
    meta, _ = load_checkpoint(checkpoints[0])
    assert meta["epoch"] in (1, 2)

    resumed = subprocess.run(
        [*base, "logger.run_name=resumed", "train.resume=auto"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from" in resumed.stderr
    assert not checkpoints[0].exists()  # removed once the run finished
    straight = subprocess.run(
        [*base, "logger.run_name=straight"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert straight.returncode == 0, straight.stderr[-2000:]

    from mlflow import MlflowClient

    client = MlflowClient(store)
    runs = {r.info.run_name: r for r in client.search_runs(["1"])}
    assert runs["cut"].info.status == "KILLED"
    assert runs["cut"].data.tags["nbw2v.training.checkpoint"].endswith(".npz")
    vectors = {}
    for name in ("resumed", "straight"):
        assert runs[name].info.status == "FINISHED"
        folder = client.download_artifacts(runs[name].info.run_id, "vectors")
        vectors[name] = np.load(Path(folder) / "vectors.npz")["vectors"]
    np.testing.assert_array_equal(vectors["resumed"], vectors["straight"])
    assert runs["resumed"].data.metrics["loss/epoch"] == runs["straight"].data.metrics["loss/epoch"]


def test_divergence_keeps_the_last_good_checkpoint(corpus, tmp_path):
    cfg = _cfg(corpus, tmp_path, lr=9.9, checkpoint_every_s=1e-9, epochs=3)
    cfg.model.dim = 64
    with pytest.raises(TrainingDiverged, match="lower train.lr"):
        train(cfg, progress=SilentProgress())
    for path in (tmp_path / "ckpt").glob("*.npz"):  # whatever was written is finite
        _, arrays = load_checkpoint(path)
        assert np.isfinite(arrays["input_vectors"]).all() and np.isfinite(arrays["output_vectors"]).all()


def test_resume_refuses_another_configuration(corpus, tmp_path):
    cfg = _cfg(corpus, tmp_path, checkpoint_every_s=1e-9, epochs=2)
    train(cfg, progress=SilentProgress())  # finished: its checkpoint is gone
    assert not list((tmp_path / "ckpt").glob("*.npz"))
    # make one by hand from a run of another config, then resume with this one
    from nbw2v.training.checkpoint import TrainState, save_checkpoint

    path = save_checkpoint(tmp_path / "other.npz", np.zeros((2, 2)), np.zeros((2, 2)), TrainState(), "x" * 16, "y")
    cfg.train.resume = str(path)
    with pytest.raises(ConfigError, match="another configuration"):
        train(cfg, progress=SilentProgress())
    cfg.train.resume = str(tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match="no such checkpoint file"):
        train(cfg, progress=SilentProgress())


def test_corrupt_inputs_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(100_000))
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        read_corpus(str(garbage))
    cut = tmp_path / "cut.txt.gz"
    text = " ".join(f"w{i}" for i in np.random.default_rng(0).integers(0, 10**6, 50_000)).encode()
    packed = gzip.compress(text)
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CorpusError, match="truncated or corrupt"):
        read_corpus(str(cut))
    fake_gz = tmp_path / "fake.txt.gz"
    fake_gz.write_bytes(b"this is not gzip at all\n")
    with pytest.raises(CorpusError, match="cannot read"):
        read_corpus(str(fake_gz))


def test_long_single_line_corpus_streams_in_sentences(tmp_path):
    """A text8-like file (one line, no newline) is read in blocks and split into sentences."""
    path = tmp_path / "one_line.txt"
    with open(path, "w") as f:
        for _ in range(200):
            f.write(" ".join(f"w{i % 97}" for i in range(5000)) + " ")
    raw = read_corpus(str(path))
    assert raw.n_tokens == 1_000_000 and len(raw.line_starts) == 2


def test_a_model_too_big_for_memory_is_refused_before_allocation(corpus, tmp_path, monkeypatch):
    import nbw2v.training.train as train_mod

    # the two matrices: 38 kB (a mapped corpus is not counted)
    monkeypatch.setattr(train_mod, "available_memory_bytes", lambda: 30_000)
    with pytest.raises(ConfigError, match=r"model.dim=16: 300 words x 16 dimensions need about .* GiB"):
        train(_cfg(corpus, tmp_path), progress=SilentProgress())


def test_checkpoints_every_n_words_are_written_atomically(corpus, tmp_path, monkeypatch):
    import nbw2v.training.train as train_mod

    saved = []
    real = train_mod.save_checkpoint

    def spy(path, *args):
        saved.append(path)
        return real(path, *args)

    monkeypatch.setattr(train_mod, "save_checkpoint", spy)
    train(_cfg(corpus, tmp_path, checkpoint_every_s=0.0, checkpoint_every_words=50_000), progress=SilentProgress())
    assert len(saved) >= 5  # 2 epochs of 240k words
    assert not [p for p in (tmp_path / "ckpt").glob("*") if p.suffix != ".lock"]  # finished: nothing left


def test_corrupt_sqlite_store_is_a_clear_error(tmp_path):
    from nbw2v.tracking.tracker import MlflowTracker

    db = tmp_path / "mlflow.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="cannot use this MLflow store"):
        MlflowTracker(f"sqlite:///{db}").start()
