"""Reliability beyond the happy failure paths (issue 13): nothing lost, nothing left RUNNING,
no secret stored, no allocation before validation, one clear line per known failure.

Real subprocesses and signals where the fault is a signal; read-only and full disks as tmpfs
mounts in a private mount namespace (``unshare``); crafted files generated here."""

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port, needs_mounts, with_mount

from nbw2v.config import Config, ConfigError
from nbw2v.embeddings import Embeddings, VectorsFormatError
from nbw2v.progress import SilentProgress
from nbw2v.training.checkpoint import (
    CheckpointError,
    CheckpointSlot,
    TrainState,
    load_checkpoint,
    save_checkpoint,
    training_config_hash,
)
from nbw2v.training.train import flatten, train

BIN = Path(sys.executable).parent
EXE = BIN / "nbw2v-train"
CHILD = Path(__file__).parent / "signal_child.py"
SECRET = "S3cretPW"

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    path = tmp_path_factory.mktemp("rel") / "c.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, size=12)) for _ in range(20000)) + "\n")
    return path


def overrides(tmp_path, corpus, *extra, epochs=1):
    """nbw2v-train overrides for a small run in ``tmp_path``; ``extra`` replaces keys given here."""
    keys = {e.split("=", 1)[0] for e in extra}
    base = [
        f"data.corpus={corpus}",
        "data.min_count=1",
        "model.dim=16",
        "train=deterministic",
        f"train.epochs={epochs}",
        "train.chunk_words=1000",
        "train.report_every_s=0",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"train.checkpoint_dir={tmp_path / 'ckpt'}",
        f"logger.tracking_uri=sqlite:///{tmp_path / 'm.db'}",
        f"hydra.run.dir={tmp_path / 'out'}",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    return [b for b in base if b.split("=", 1)[0] not in keys] + list(extra)


def nbw2v_train(tmp_path, args, **kwargs) -> subprocess.CompletedProcess:
    """``nbw2v-train ARGS`` in ``tmp_path``, output captured."""
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=tmp_path, timeout=300, **kwargs)


def runs(tmp_path):
    db = tmp_path / "m.db"
    if not db.exists():
        return []
    client = MlflowClient(f"sqlite:///{db}")
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


def _cfg(corpus, tmp_path, **train_kw):
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count, cfg.data.cache_dir = str(corpus), 1, str(tmp_path / "cache")
    cfg.model.dim = 16
    cfg.train.epochs, cfg.train.deterministic, cfg.train.chunk_words = 1, True, 1000
    cfg.train.checkpoint_dir = str(tmp_path / "ckpt")
    for key, value in train_kw.items():
        setattr(cfg.train, key, value)
    return cfg


# ---- 1, 2: interruptions in every phase -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "phase,sig",
    [
        ("corpus", "SIGTERM"),
        ("gradcheck", "SIGTERM"),
        ("evaluation", "SIGTERM"),
        ("evaluation", "SIGINT"),
        ("artifacts", "SIGTERM"),
    ],
)
def test_a_signal_in_any_phase_ends_the_run_and_keeps_the_trained_model(corpus, tmp_path, phase, sig):
    args = overrides(tmp_path, corpus, "logger.save_vectors=npz")
    proc = subprocess.run(
        [sys.executable, str(CHILD), phase, sig, *args], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    expected = 143 if sig == "SIGTERM" else 130
    assert proc.returncode == expected, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("nbw2v-train: interrupted by") and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    what = {"corpus": "reading the corpus", "gradcheck": "checking gradients", "evaluation": "evaluating"}
    assert what.get(phase, "logging") in last
    found = runs(tmp_path)
    if phase == "corpus":  # no run was opened yet
        assert found == []
        return
    (run,) = found
    assert run.info.status == "KILLED"
    assert run.data.tags["nbw2v.error"].startswith("interrupted by")
    if phase in ("evaluation", "artifacts"):  # trained: the model survives, and the run says how to finish
        checkpoint = Path(run.data.tags["nbw2v.training.checkpoint"])
        assert checkpoint.is_file() and "train.resume=auto" in last and f"nbw2v eval {checkpoint}" in last
        meta, arrays = load_checkpoint(checkpoint)
        assert meta["epoch"] == 1 and np.isfinite(arrays["input_vectors"]).all()
        from nbw2v.app.cli import main

        shutil.copy(checkpoint, tmp_path / "kept.npz")  # a kept checkpoint is a vectors file for nbw2v eval
        pairs = tmp_path / "pairs.tsv"
        pairs.write_text("w1\tw2\t1\nw3\tw4\t2\nw5\tw6\t3\n")
        assert main(["eval", str(tmp_path / "kept.npz"), "--analogies", "", "--similarity", str(pairs)]) == 0
        finished = nbw2v_train(tmp_path, [*args, "train.resume=auto"])
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert "training was already complete" in finished.stderr
        assert not checkpoint.exists()  # removed once the results are logged
        done = [r for r in runs(tmp_path) if r.info.status == "FINISHED"]
        assert len(done) == 1 and "eval/ws353_cov" in done[0].data.metrics
        client = MlflowClient(f"sqlite:///{tmp_path / 'm.db'}")
        folder = client.download_artifacts(done[0].info.run_id, "vectors")
        np.testing.assert_array_equal(np.load(Path(folder) / "vectors.npz")["vectors"], arrays["input_vectors"])


@pytest.mark.slow
def test_stale_runs_are_found_and_closed(corpus, tmp_path, capsys):
    proc = subprocess.Popen(
        [str(EXE), *overrides(tmp_path, corpus, epochs=3)], stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    for line in proc.stderr:
        if "epoch 2/3" in line:
            proc.send_signal(signal.SIGKILL)  # cannot be caught: the run stays RUNNING
            break
    proc.wait(timeout=60)
    (run,) = runs(tmp_path)
    assert run.info.status == "RUNNING"
    from nbw2v.app.cli import main

    store = ["--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    assert main(["runs", "--stale", *store]) == 0
    out = capsys.readouterr().out
    assert run.info.run_id in out and "process" in out and "is gone" in out
    assert main(["runs", "--stale", "--close", *store]) == 0
    (run,) = runs(tmp_path)
    assert run.info.status == "KILLED" and run.data.tags["nbw2v.error"].startswith("closed as stale")

    from nbw2v.tracking.liveness import TAG_HEARTBEAT, TAG_PROCESS, process_identity, verdict

    assert verdict({TAG_PROCESS: process_identity()}, 60, 0) == ""  # this process lives
    now = time.time()
    other = {TAG_PROCESS: "elsewhere:12:34", TAG_HEARTBEAT: str(now - 30)}
    assert verdict(other, 600, 0, now) == ""  # another host: judged by its heartbeat
    assert "no sign of life" in verdict(other, 10, 0, now)


# ---- 3, 4: disks that refuse, a second Ctrl-C ----------------------------------------------------


@needs_mounts
@pytest.mark.slow
def test_read_only_checkpoint_dir_fails_before_the_corpus_or_a_run(corpus, tmp_path):
    cmd = with_mount(tmp_path / "ckpt", "ro,size=64k", [str(EXE), *overrides(tmp_path, corpus)])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "train.checkpoint_dir=" in proc.stderr and "Read-only" in proc.stderr
    assert "corpus words" not in proc.stderr and runs(tmp_path) == []


@needs_mounts
@pytest.mark.slow
def test_full_disk_checkpoints_warn_and_training_goes_on(corpus, tmp_path):
    args = overrides(tmp_path, corpus, "train.checkpoint_every_words=30000", epochs=2)
    cmd = with_mount(tmp_path / "ckpt", "size=16k", [str(EXE), *args])
    spare = tmp_path / "spare"
    spare.mkdir()
    env = {**os.environ, "TMPDIR": str(spare)}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("training goes on (free space") == 1  # once, not every interval
    assert "No space left" in proc.stderr
    # the trained model went to the temporary directory until its results were logged, then away
    assert "saved the checkpoint to" in proc.stderr and list(spare.glob("nbw2v-checkpoint-*")) == []
    (run,) = runs(tmp_path)
    assert (
        run.info.status == "FINISHED"
        and len(MlflowClient(f"sqlite:///{tmp_path / 'm.db'}").get_metric_history(run.info.run_id, "loss/epoch")) == 2
    )


@needs_mounts
@pytest.mark.slow
def test_ctrl_c_on_a_full_disk_saves_the_checkpoint_elsewhere(corpus, tmp_path):
    spare = tmp_path / "spare"
    spare.mkdir()
    cmd = with_mount(tmp_path / "ckpt", "size=16k", [str(EXE), *overrides(tmp_path, corpus, epochs=3)])
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env={**os.environ, "TMPDIR": str(spare)}
    )
    for line in proc.stderr:
        if "epoch 2/3" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, rest[-2000:]
    assert "No space left" in rest and "saved the checkpoint to" in rest
    (saved,) = spare.glob("nbw2v-checkpoint-*.npz")
    assert f"train.resume={saved}" in rest  # named: train.resume=auto would not find it there
    assert load_checkpoint(saved)[0]["epoch"] in (1, 2)
    (run,) = runs(tmp_path)
    assert run.info.status == "KILLED" and run.data.tags["nbw2v.training.checkpoint"] == str(saved)
    assert not list((tmp_path / "ckpt").glob("*.tmp"))


def test_checkpoint_write_failure_removes_the_partial_file(tmp_path, monkeypatch):
    import nbw2v.training.checkpoint as ck

    def fail(f, **arrays):
        f.write(b"x" * 1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck, "write_npz", fail)
    vectors = np.zeros((4, 2), np.float32)
    with pytest.raises(ck.CheckpointWriteError, match="No space left"):
        save_checkpoint(tmp_path / "c.npz", vectors, vectors, TrainState(), "h", "v")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_second_ctrl_c_during_a_checkpoint_write_leaves_no_partial_file(corpus, tmp_path):
    args = overrides(tmp_path, corpus, epochs=3)
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "slow-checkpoint", "SIGINT", *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    sent = False
    for line in proc.stderr:
        if "epoch 2/3" in line and not sent:
            proc.send_signal(signal.SIGINT)  # first Ctrl-C: a checkpoint is written...
            sent = True
        if "CHECKPOINT WRITING" in line:
            assert list((tmp_path / "ckpt").glob("*.tmp"))  # ...the partial file exists...
            proc.send_signal(signal.SIGINT)  # ...and a second Ctrl-C cuts the write
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, rest[-2000:]
    assert "second Ctrl-C" in rest
    assert not list((tmp_path / "ckpt").glob("*.tmp"))
    (run,) = runs(tmp_path)
    assert run.info.status == "KILLED"


# ---- 5, 6, 10: one checkpoint, one owner, validated ----------------------------------------------


def test_a_fresh_run_never_overwrites_an_interrupted_runs_checkpoint(corpus, tmp_path):
    cfg = _cfg(corpus, tmp_path)
    slot = CheckpointSlot(cfg.train.checkpoint_dir, training_config_hash(flatten(cfg)))
    slot.dir.mkdir(parents=True)
    slot.path.write_bytes(b"the interrupted run's work")
    from nbw2v.app.run import run_experiment
    from nbw2v.tracking.tracker import MemoryTracker

    tracker = MemoryTracker()
    with pytest.raises(CheckpointError, match="train.resume=auto") as err:
        run_experiment(cfg, tracker=tracker, progress=SilentProgress())
    assert str(slot.path) in str(err.value)
    assert tracker.status is None and slot.path.read_bytes() == b"the interrupted run's work"


def test_one_checkpoint_has_one_owner_and_concurrent_runs_get_their_own(corpus, tmp_path):
    cfg = _crafted(tmp_path, corpus, lambda m: None)  # a real checkpoint of this config ...
    slot = CheckpointSlot(cfg.train.checkpoint_dir, training_config_hash(flatten(cfg)))
    slot.dir.mkdir(parents=True)
    shutil.move(cfg.train.resume, slot.path)  # ... left in its slot by an interrupted run
    assert slot.prepare("auto") == slot.path  # this process resumes it and holds it
    try:
        code = (
            "import sys\nfrom nbw2v.training.checkpoint import CheckpointSlot\n"
            f"s = CheckpointSlot({str(slot.dir)!r}, {slot.config_hash!r})\n"
            "print(s.prepare(sys.argv[1]), s.path)\ns.release()\n"
        )
        other = subprocess.run([sys.executable, "-c", code, str(slot.path)], capture_output=True, text=True)
        assert other.returncode != 0 and "another process is resuming or writing this checkpoint" in other.stderr
        other = subprocess.run([sys.executable, "-c", code, ""], capture_output=True, text=True)
        assert other.returncode == 0, other.stderr  # a fresh run of the same config: a file of its own
        assert other.stdout.split() == ["None", str(slot.candidates()[1])]
        # issue 29.3: a second resume=auto of the held checkpoint is refused (it trained from scratch)
        other = subprocess.run([sys.executable, "-c", code, "auto"], capture_output=True, text=True)
        assert other.returncode != 0
        assert "another process is training this configuration and holds its checkpoint" in other.stderr
    finally:
        slot.release()
    assert not list(slot.dir.glob("*.lock"))  # no lock file left behind, by any of them
    other = subprocess.run([sys.executable, "-c", code, "auto"], capture_output=True, text=True)
    assert other.returncode == 0 and other.stdout.split() == [str(slot.path)] * 2, other.stderr  # free again
    assert not list(slot.dir.glob("*.lock"))


def test_resume_chooses_between_a_slot_and_a_fallback_checkpoint(corpus, tmp_path, monkeypatch):
    """Issue 29.5-7: a newer fallback (temporary directory) beside an older slot checkpoint is
    named with both; alone, resume=auto finds it and the finished run removes it; an explicit
    resume from elsewhere leaves the slot's checkpoint alone (was: "train.resume is not set");
    a vectors file given as train.resume is said to be one (was: "damaged? Delete it")."""
    import os

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    from nbw2v.training.checkpoint import fallback_path

    cfg = _crafted(tmp_path, corpus, lambda m: None)
    slot = CheckpointSlot(cfg.train.checkpoint_dir, training_config_hash(flatten(cfg)))
    slot.dir.mkdir(parents=True)
    fallback = fallback_path(12345)
    shutil.copy(cfg.train.resume, fallback)
    shutil.move(cfg.train.resume, slot.path)
    os.utime(slot.path, (time.time() - 600, time.time() - 600))  # the older one
    with pytest.raises(CheckpointError, match="two checkpoints") as err:
        CheckpointSlot(str(slot.dir), slot.config_hash).prepare("auto")
    assert str(slot.path) in str(err.value) and f"train.resume={fallback}" in str(err.value)
    explicit = CheckpointSlot(str(slot.dir), slot.config_hash)
    assert explicit.prepare(str(fallback)) == fallback  # the slot's checkpoint is kept, not refused
    assert explicit.path == slot.candidates()[1] and explicit.done_with == fallback
    explicit.release()
    slot.path.unlink()
    alone = CheckpointSlot(str(slot.dir), slot.config_hash)
    assert alone.prepare("auto") == fallback
    alone.release()
    # resumed to the end, the run removes the fallback and its lock as it removes its own checkpoint
    from nbw2v.app.run import run_experiment
    from nbw2v.tracking.tracker import MemoryTracker

    cfg.train.resume = "auto"
    tracker = MemoryTracker()
    run_experiment(cfg, tracker=tracker, progress=SilentProgress())
    assert tracker.status == "FINISHED" and not fallback.exists() and not list(fallback.parent.glob("*.lock"))
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 2\na 1 2\nb 3 4\n")
    with pytest.raises(CheckpointError, match="not an nbw2v checkpoint but a word2vec vectors file") as err:
        CheckpointSlot(str(slot.dir), slot.config_hash).prepare(str(vectors))
    assert "Delete" not in str(err.value)


@pytest.mark.slow
def test_damaged_checkpoint_fails_before_the_corpus_and_any_run(corpus, tmp_path):
    cfg_args = overrides(tmp_path, corpus)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(2000))  # truncated/corrupt zip
    proc = nbw2v_train(tmp_path, [*cfg_args, f"train.resume={bad}"])
    assert proc.returncode == 2 and "not a readable nbw2v checkpoint" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "corpus words" not in proc.stderr and runs(tmp_path) == []


def _crafted(tmp_path, corpus, change, shape=None):
    """A real checkpoint of ``corpus``'s config with its metadata changed by ``change(meta)``."""
    cfg = _cfg(corpus, tmp_path)
    from nbw2v.training.train import build_vocab_and_corpus

    vocab, enc, _ = build_vocab_and_corpus(cfg)
    from nbw2v.training.checkpoint import corpus_hash, words_hash

    matrix = np.zeros(shape or (len(vocab), 16), np.float32)
    path = tmp_path / "crafted.npz"
    save_checkpoint(
        path,
        matrix,
        matrix,
        TrainState(),
        training_config_hash(flatten(cfg)),
        words_hash(vocab.words),
        vocab,
        corpus_hash(enc),
    )
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    cfg.train.resume = str(path)
    return cfg


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda m: m.update(epoch=-5), "epoch=-5"),
        (lambda m: m.update(next_chunk=10**9), "next_chunk=1000000000"),
        (lambda m: m.update(corpus_hash="0" * 16), "the corpus changed"),
    ],
    ids=["negative-epoch", "huge-chunk", "other-corpus"],
)
def test_crafted_checkpoint_metadata_is_refused(corpus, tmp_path, change, message):
    cfg = _crafted(tmp_path, corpus, change)
    with pytest.raises(CheckpointError, match=message):
        train(cfg, progress=SilentProgress())


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda m: m.update(epoch=-5), "epoch=-5"),
        (lambda m: m.update(epoch=1, epoch_losses=[float("nan")]), "epoch losses"),
        (lambda m: m.update(corpus_hash="0" * 16), "the corpus changed"),
    ],
    ids=["negative-epoch", "nan-loss", "other-corpus"],
)
def test_a_bad_checkpoint_leaves_no_run(corpus, tmp_path, change, message):
    """Issue 29.4: refused only after the corpus was read and a run opened (a FAILED run each);
    a NaN epoch loss was accepted. The metadata is checked before the corpus, the rest before
    the run opens."""
    from nbw2v.app.run import run_experiment
    from nbw2v.tracking.tracker import MemoryTracker

    cfg = _crafted(tmp_path, corpus, change)
    tracker = MemoryTracker()
    with pytest.raises(CheckpointError, match=message):
        run_experiment(cfg, tracker=tracker, progress=SilentProgress())
    assert tracker.status is None  # no run was opened


def test_resuming_a_shuffled_corpus_is_detected(corpus, tmp_path):
    cfg = _crafted(tmp_path, corpus, lambda m: None)
    lines = corpus.read_text().splitlines()
    shuffled = tmp_path / "shuffled.txt"
    shuffled.write_text("\n".join(reversed(lines)) + "\n")  # same words, same counts, other order
    cfg.data.corpus = str(shuffled)
    # the config hash covers data.corpus; rewrite the checkpoint's hash as if the path were the same
    ck = Path(cfg.train.resume)
    with np.load(ck) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    meta["config_hash"] = training_config_hash(flatten(cfg))
    arrays["meta"] = np.array(json.dumps(meta))
    with open(ck, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(CheckpointError, match="the corpus changed"):
        train(cfg, progress=SilentProgress())


def test_checkpoint_declaring_a_huge_matrix_is_refused_before_allocating(corpus, tmp_path):
    cfg = _crafted(tmp_path, corpus, lambda m: None)
    path = Path(cfg.train.resume)
    with zipfile.ZipFile(path, "a") as zf:  # add a member whose header declares 373 GiB
        import io

        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (500_000_000, 200)}
        )
        zf.writestr("huge.npy", header.getvalue())
    with pytest.raises(CheckpointError, match="declares shape"):
        train(cfg, progress=SilentProgress())
    cfg2 = _crafted(tmp_path, corpus, lambda m: None, shape=(7, 16))
    with pytest.raises(CheckpointError, match=r"\(7, 16\)"):
        train(cfg2, progress=SilentProgress())


# ---- 7: secrets ------------------------------------------------------------------------------------


def _all_text_under(root: Path) -> str:
    out = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            out.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


@pytest.mark.slow
def test_credentials_in_the_tracking_uri_are_never_written(corpus, tmp_path, server):
    server.start()
    uri = server.uri.replace("http://", f"http://alice:{SECRET}@")
    args = [a for a in overrides(tmp_path, corpus) if not a.startswith("logger.tracking_uri")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    proc = nbw2v_train(tmp_path, [*args, f"logger.tracking_uri={uri}", "logger.save_vectors=none"], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]  # the /health probe works with credentials too
    assert SECRET not in proc.stdout + proc.stderr
    assert "MLFLOW_TRACKING_USERNAME" in proc.stderr  # steered to the environment
    client = MlflowClient(server.uri)
    (run,) = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    assert run.data.params["logger.tracking_uri"] == server.uri
    logged = json.dumps([run.data.params, run.data.tags])
    for name in ("config/config.yaml", "config/overrides.txt"):
        logged += Path(client.download_artifacts(run.info.run_id, name, str(tmp_path / "dl"))).read_text()
    assert SECRET not in logged and "alice" not in logged
    assert SECRET not in _all_text_under(tmp_path / "out")  # .hydra/config.yaml, overrides.yaml

    # the store dying at start with logger.on_error=warn: the journal is clean too
    dead = f"http://bob:{SECRET}@127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [
            str(EXE),
            *[a for a in args if not a.startswith("hydra.run.dir")],
            f"logger.tracking_uri={dead}",
            "logger.on_error=warn",
            f"hydra.run.dir={tmp_path / 'o2'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert SECRET not in proc.stderr and SECRET not in _all_text_under(tmp_path / "mlflow-offline")
    assert SECRET not in _all_text_under(tmp_path / "o2")


def test_redaction_helpers():
    from nbw2v.tracking.redact import clean_argv, redact, split_credentials

    assert split_credentials("https://u:p%40ss@h.example:5000/x") == ("https://h.example:5000/x", "u", "p@ss")
    assert redact("uri: http://alice:pw@host:5000 and postgresql://u:v@db/mlflow") == (
        "uri: http://***@host:5000 and postgresql://***@db/mlflow"
    )
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    try:
        argv, moved = clean_argv(["model.dim=5", "logger.tracking_uri=http://a:b@h:1"])
        assert moved and argv == ["model.dim=5", "logger.tracking_uri=http://h:1"]
        assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "b"
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


# ---- 8, 12, 13: vectors and .npz files -------------------------------------------------------------


def _deflated_npz(path: Path, declared: tuple[int, int], words: int) -> None:
    """vectors.npy declaring ``declared`` float32 (all zeros: deflates ~1000x), and ``words`` words."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("vectors.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": declared})
            row = bytes(4 * declared[1])
            for _ in range(declared[0]):
                f.write(row)
        for name, arr in (("words", np.frombuffer(b"a\nb\nc", np.uint8)), ("counts", np.ones(words, np.int64))):
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr)


def test_crafted_npz_is_refused_before_loading(tmp_path):
    path = tmp_path / "crafted.npz"
    _deflated_npz(path, (20000, 1000), 3)  # 80 MB declared in a small file, 3 words
    assert path.stat().st_size < 2_000_000
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(VectorsFormatError, match="do not match"):
        Embeddings.load(path)
    assert time.perf_counter() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 40_000  # KiB: nothing loaded


def test_npz_declaring_more_than_memory_is_refused(tmp_path, monkeypatch):
    import nbw2v.text.arrayfile as af

    path = tmp_path / "big.npz"
    _deflated_npz(path, (3000, 1000), 3000)
    monkeypatch.setattr(af, "available_memory_bytes", lambda: 1_000_000)
    with pytest.raises(ValueError, match="GiB of memory is available"):
        Embeddings.load(path)


def test_vectors_header_larger_than_the_file_is_refused(tmp_path):
    path = tmp_path / "lying.txt"
    path.write_text("1000000000000 2\nthe 0.5 1\n")
    with pytest.raises(VectorsFormatError, match="more than the file"):
        Embeddings.load(path)


def test_text_vectors_with_non_ascii_words_load_as_text(tmp_path):
    path = tmp_path / "u.txt"
    path.write_bytes("3 2\nthe 0.5 1\n漢字 0.25 1\nof -0.5 1\n".encode())
    emb = Embeddings.load(path)
    assert emb.words == ["the", "漢字", "of"] and emb["漢字"].tolist() == [0.25, 1.0]
    emb.save(tmp_path / "u.bin")  # and binary still loads as binary
    assert Embeddings.load(tmp_path / "u.bin").words == emb.words


@pytest.mark.parametrize("suffix", [".txt", ".bin", ".npz"])
def test_non_finite_vectors_are_refused_with_the_word(tmp_path, capsys, suffix):
    from nbw2v.app.cli import main
    from nbw2v.text.vocab import Vocab

    vectors = np.ones((3, 2), np.float32)
    vectors[1, 0] = np.nan
    path = Embeddings(Vocab(["the", "bad", "of"], np.array([3, 2, 1])), vectors).save(tmp_path / f"v{suffix}")
    assert main(["eval", str(path)]) == 2
    assert "'bad'" in capsys.readouterr().err
    assert main(["neighbors", str(path), "the"]) == 2
    assert "NaN/inf" in capsys.readouterr().err


# ---- 9, 11, 16: corpora -----------------------------------------------------------------------------


def test_a_huge_token_neither_crashes_nor_bloats_the_cache(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(("a b c d e\n" * 500) + "x" * (1 << 20) + "\nf g\n")
    cfg = _cfg(path, tmp_path)
    from nbw2v.training.train import build_vocab_and_corpus

    vocab, _, stats = build_vocab_and_corpus(cfg)
    assert stats["long_tokens"] == 1 and all(len(w) < 10 for w in vocab.words)
    (entry,) = (p for p in (tmp_path / "cache" / "corpora").iterdir() if p.is_dir())
    assert sum(f.stat().st_size for f in entry.iterdir()) < 100_000
    vocab2, _, stats2 = build_vocab_and_corpus(cfg)
    assert stats2["vocab_cached"] == 1.0 and vocab2.words == vocab.words


def test_no_break_for_64_mib_is_not_a_corpus(tmp_path, monkeypatch):
    import nbw2v.text.corpus as corpus_mod

    monkeypatch.setattr(corpus_mod, "MAX_TOKEN_CHARS", 3 << 20)
    path = tmp_path / "blob.txt"
    path.write_bytes(b"z" * (5 << 20))
    with pytest.raises(corpus_mod.CorpusError, match="without a space or line break"):
        corpus_mod.read_corpus(str(path))


def test_the_corpus_cache_follows_content_not_mtime(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("alpha beta gamma\n" * 300)
    cfg = _cfg(path, tmp_path)
    from nbw2v.training.train import build_vocab_and_corpus

    vocab, _, _ = build_vocab_and_corpus(cfg)
    st = path.stat()
    path.write_text("alpha betb gamma\n" * 300)  # same size (sed -i), then touch -r
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    vocab2, _, stats = build_vocab_and_corpus(cfg)
    assert stats["vocab_cached"] == 0.0 and "betb" in vocab2.words and "beta" not in vocab2.words


@pytest.mark.slow
def test_whitespace_only_corpus_opens_no_run(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("   \n\t\n  \n")
    proc = nbw2v_train(tmp_path, [*overrides(tmp_path, path)])
    assert proc.returncode == 2 and "no words found" in proc.stderr and "Traceback" not in proc.stderr
    assert runs(tmp_path) == []


def test_a_bad_byte_names_its_real_line(tmp_path):
    from nbw2v.text.corpus import CorpusError, read_corpus

    for name, opener in (("c.txt", open), ("c.txt.gz", gzip.open)):
        path = tmp_path / name
        with opener(path, "wb") as f:
            f.write(b"one two\n" * 5000 + b"three \xff four\n")
        with pytest.raises(CorpusError, match="at line 5001, byte 40,007"):
            read_corpus(str(path))


def test_one_dimensional_vectors_say_why_there_is_no_spearman(tmp_path):
    from nbw2v.evaluation.evaluate import evaluate_similarity
    from nbw2v.text.vocab import Vocab

    pairs = tmp_path / "p.tsv"
    pairs.write_text("a\tb\t1\nb\tc\t2\na\tc\t3\n")
    emb = Embeddings(Vocab(["a", "b", "c"], np.array([3, 2, 1])), np.array([[1.0], [2.0], [0.5]], np.float32))
    result = evaluate_similarity(emb, pairs)
    assert result.spearman is None and "same cosine" in result.summary() and "1-dimensional" in result.summary()


# ---- 14, 15: the journal and a locked store -----------------------------------------------------------


def test_replay_is_idempotent_and_survives_a_cut_last_line(tmp_path, capsys):
    import socket

    from nbw2v.app.cli import main
    from nbw2v.tracking.journal import Journal
    from nbw2v.tracking.liveness import process_identity

    store = f"sqlite:///{tmp_path / 'later.db'}"
    journal = Journal(store, "nbw2v", None, "offline", root=tmp_path / "off")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # the journal's process: gone
    last = int(time.time() * 1000) - 60_000
    dead = {"nbw2v.process": f"{socket.gethostname()}:{gone.pid}:0"}
    journal.append({"op": "start", "run_name": "offline", "tags": dead})
    first = {"op": "log_batch", "metrics": [["loss/epoch", 1.5, last - 1000, 1]], "params": [["model.dim", "8"]]}
    journal.append(first)
    journal.append({"op": "log_batch", "metrics": [["loss/epoch", 1.2, last, 2]]})
    with open(journal.path, "a") as f:
        f.write('{"op": "end", "stat')  # the process died mid-line
    assert main(["replay", str(journal.path)]) == 0
    err = capsys.readouterr().err
    assert "damaged line(s) 5" in err
    # issue 29.14: the run is not left RUNNING unsaid: closed KILLED as of its last record
    assert "ends without the run's end" in err and "closed KILLED as of its last journaled record" in err
    assert main(["replay", str(journal.path)]) == 0
    assert "already replayed" in capsys.readouterr().err
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss/epoch")] == [1.5, 1.2]
    assert run.info.status == "KILLED" and run.info.end_time == last
    # a journal whose process still runs (this one): said, left RUNNING
    live = Journal(store, "nbw2v", None, "live", root=tmp_path / "live")
    live.append({"op": "start", "run_name": "live", "tags": {"nbw2v.process": process_identity()}})
    assert main(["replay", str(live.path)]) == 0
    assert "its process still runs: the run stays RUNNING" in capsys.readouterr().err


def test_replay_to_a_dead_server_says_how_to_replay_not_how_to_train(tmp_path, capsys):
    """Issue 28.9: the advice was logger.on_error=warn, a training setting."""
    import socket

    from nbw2v.app.cli import main
    from nbw2v.tracking.journal import Journal

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    journal = Journal(f"http://127.0.0.1:{port}", "nbw2v", None, "offline", root=tmp_path / "off")
    journal.append({"op": "start", "run_name": "offline", "tags": {}})
    assert main(["replay", str(journal.path)]) == 2
    err = capsys.readouterr().err
    assert f"cannot send {journal.path} to the MLflow store http://127.0.0.1:{port}" in err
    assert "--tracking-uri" in err and "on_error" not in err and len(err.strip().splitlines()) == 1
    assert journal.path.exists() and not (journal.path.parent / "REPLAYED").exists()


@pytest.mark.slow
def test_a_store_locked_at_start_is_waited_for(corpus, tmp_path):
    db = tmp_path / "m.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()  # create the store
    locked, release = threading.Event(), threading.Event()

    def hold():
        con = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(60)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    proc = subprocess.Popen([str(EXE), *overrides(tmp_path, corpus)], stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(12)  # longer than the ~7-9 s after which the start used to fail
    release.set()
    holder.join()
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode == 0, err[-2000:]
    assert [r.info.status for r in runs(tmp_path)] == ["FINISHED"]


# ---- 17: known failures are one line --------------------------------------------------------------------


@pytest.mark.slow
def test_divergence_is_one_line_unless_verbose(corpus, tmp_path):
    args = [*overrides(tmp_path, corpus, "train.lr=9.9", "model.dim=64"), "eval.gradcheck=false"]
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "NBW2V_VERBOSE")}
    proc = nbw2v_train(tmp_path, [*args], env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("nbw2v-train: failed:")
    assert "lower train.lr" in proc.stderr
    assert "Traceback" not in proc.stderr and "Error executing job" not in proc.stderr
    assert "Creating initial MLflow database tables" not in proc.stderr  # MLflow's INFO noise is gone
    (run,) = runs(tmp_path)
    assert run.info.status == "FAILED"
    verbose = nbw2v_train(
        tmp_path,
        [*[a for a in args if not a.startswith("hydra.run.dir")], f"hydra.run.dir={tmp_path / 'o2'}"],
        env={**env, "HYDRA_FULL_ERROR": "1"},
    )
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr


def test_config_errors_still_fail_before_anything(tmp_path):
    cfg = Config()
    cfg.train.checkpoint_dir = str(tmp_path / "file.txt" / "ckpt")
    (tmp_path / "file.txt").write_text("not a directory")
    with pytest.raises(ConfigError, match="train.checkpoint_dir"):
        train(cfg, progress=SilentProgress())


@pytest.mark.slow
def test_sigterm_to_a_sweep_ends_the_job_and_the_parent_killed(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(["the king and the queen rule", "water flows to the sea"] * 3000))
    cmd = [
        str(EXE),
        "--multirun",
        f"data.corpus={corpus}",
        "data.min_count=1",
        "train.epochs=3",
        "model.dim=8",
        "model.window=2,3",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        "train.report_every_s=0",
        "train.chunk_words=100",
        "train=deterministic",
        f"logger.tracking_uri=sqlite:///{tmp_path / 'm.db'}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"train.checkpoint_dir={tmp_path / 'ckpt'}",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=tmp_path)
    jobs = 0
    for line in proc.stderr:
        jobs += "gradient check" in line
        if jobs == 2 and "epoch 2/3" in line:  # inside the second job
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 143, rest[-2000:]
    assert rest.strip().splitlines()[-1].startswith("nbw2v-train: training interrupted by SIGTERM")
    status = {
        r.data.tags.get("nbw2v.role", "job"): r.info.status for r in runs(tmp_path) if r.info.status != "FINISHED"
    }
    assert status == {"sweep": "KILLED", "job": "KILLED"}
    # issue 29.8: rerun without train.resume: refused before any job (was: job 0 retrained, job 1
    # refused, the rest never ran, the parent FAILED)
    before = len(runs(tmp_path))
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert again.returncode == 2, again.stderr[-2000:]
    assert "1 job(s) of this sweep have an interrupted run's checkpoint" in again.stderr
    assert "model.window=3" in again.stderr and "train.resume=auto logger.skip_finished=true" in again.stderr
    assert len(runs(tmp_path)) == before


@pytest.mark.slow
def test_credentials_from_a_config_file_are_never_written(corpus, tmp_path):
    extra = tmp_path / "extra" / "logger"
    extra.mkdir(parents=True)
    (extra / "team.yaml").write_text(
        f"name: mlflow\ntracking_uri: http://alice:{SECRET}@127.0.0.1:{free_port()}/\non_error: warn\n"
    )
    args = [a for a in overrides(tmp_path, corpus) if not a.startswith("logger.")]
    proc = nbw2v_train(tmp_path, [*args, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "logger=team"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MLFLOW_TRACKING_USERNAME" in proc.stderr and SECRET not in proc.stderr
    for folder in ("out", "mlflow-offline", "ckpt"):
        assert SECRET not in _all_text_under(tmp_path / folder)


def test_a_full_disk_under_store_and_journal_loses_tracking_not_training(tmp_path, monkeypatch, capsys):
    import nbw2v.tracking.journal as journal_mod
    from nbw2v.tracking.tracker import MlflowTracker

    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'm.db'}", "nbw2v", flush_every_s=0.0)
    tracker.start()

    def full(*args, **kwargs):
        raise OSError(28, "database or disk is full")

    def no_journal(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tracker._client, "log_batch", full)
    monkeypatch.setattr(journal_mod.Journal, "__init__", no_journal)
    tracker.log_metrics({"loss/train": 1.0}, step=1)  # neither raises ...
    tracker.log_metrics({"loss/train": 0.9}, step=2)
    err = capsys.readouterr().err
    assert err.count("tracking of this run is lost from here on, training goes on") == 1  # ... and it says so once


@pytest.mark.slow
def test_a_refused_config_leaves_no_output_folder(tmp_path):
    proc = subprocess.run([str(EXE), "loss.K=0"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and "loss.K=0" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no outputs/<date>/<time>/.hydra, no mlflow.db, no checkpoints/
