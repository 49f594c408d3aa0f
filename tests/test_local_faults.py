"""Faults on one machine (issue 29): trained vectors never lost, no command hanging on a dead
store, no store created by a listing. Real subprocesses; a full disk as a tiny tmpfs in a
private mount namespace; crafted files generated here."""

import os
import signal
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


def _cli(argv, capsys):
    from nbw2v.app.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_one_word_vocabulary_is_refused_for_every_loss(tmp_path, capsys):
    """29.17: data.max_vocab_size=1 with loss=negative/softmax trained a meaningless FINISHED run;
    with hs the advice named the wrong key."""
    from nbw2v.config import Config, ConfigError, validate

    cfg = Config()
    cfg.data.max_vocab_size = 1
    with pytest.raises(ConfigError, match=r"data.max_vocab_size=1: a model needs 2 or more words"):
        validate(cfg)
    corpus = tmp_path / "one.txt"
    corpus.write_text("a a a a b\n" * 3)
    for loss in ("negative", "softmax", "hs"):
        code, _, err = _cli(["train", "--corpus", str(corpus), "--min-count", "10", "--loss", loss], capsys)
        assert code == 2 and "data.min_count=10: only 1 word occurs that often" in err, (loss, err)


def test_a_utf16_corpus_is_named_with_the_right_advice(tmp_path, capsys):
    """29.18: a UTF-16 file (BOM) was advised `iconv -f latin1`."""
    corpus = tmp_path / "u16.txt"
    corpus.write_bytes("the cat sat on the mat\n".encode("utf-16"))
    code, _, err = _cli(["train", "--corpus", str(corpus), "--min-count", "1"], capsys)
    assert code == 2 and "UTF-16LE file (it starts with a UTF-16LE byte-order mark)" in err, err
    assert "iconv -f UTF-16 -t UTF-8" in err and "latin1" not in err


def test_vectors_files_faults_are_named(tmp_path, capsys):
    """29.19: a duplicate word named neither word nor line; a zero vector gave an empty list and
    exit 0; a .gz text file was read as raw bytes; a directory gave IsADirectoryError."""
    import gzip

    (tmp_path / "dup.txt").write_text("3 2\nking 1 2\nqueen 0.5 1\nking 3 4\n")
    code, _, err = _cli(["neighbors", str(tmp_path / "dup.txt"), "queen"], capsys)
    assert code == 2 and "the word 'king' occurs twice (lines 2 and 4)" in err
    text = "3 2\nking 1 2\nqueen 0 0\nman 3 4\n"
    (tmp_path / "z.txt").write_text(text)
    code, out, err = _cli(["neighbors", str(tmp_path / "z.txt"), "queen", "king"], capsys)
    assert code == 1 and "queen: no neighbours: the vector of queen is all zeros" in err
    assert "king: man 0.984" in out
    (tmp_path / "z.txt.gz").write_bytes(gzip.compress(text.encode()))
    code, out, err = _cli(["neighbors", str(tmp_path / "z.txt.gz"), "king"], capsys)
    assert code == 0 and "king: man 0.984" in out, err
    code, _, err = _cli(["eval", str(tmp_path)], capsys)
    assert code == 2 and "a directory, not a vectors file" in err and "Traceback" not in err


TRAIN = Path(sys.executable).parent / "nbw2v-train"


@needs_mounts
def test_a_read_only_working_folder_or_store_is_one_line_in_seconds(tmp_path):
    """29.11: Hydra's chained OSError traceback in a read-only working directory; 29.12: a store
    in a read-only folder retried for 110 s before "unable to open database file"."""
    corpus = _corpus(tmp_path)
    base = [str(TRAIN), f"data.corpus={corpus}", "data.min_count=1", "train.epochs=1", "model.dim=8"]
    ro = tmp_path / "ro"
    proc = subprocess.run(with_mount(ro, "ro,size=64k", ["sh", "-c", f'cd "{ro}" && exec "$@"', "sh", *base]),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f"cannot write the run's output folder in {ro} (read-only" in proc.stderr and "hydra.run.dir=" in proc.stderr
    start = time.monotonic()
    store = f"logger.tracking_uri=sqlite:///{ro}/mlflow.db"
    proc = subprocess.run(with_mount(ro, "ro,size=64k", [*base, store]), capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)  # fmt: skip
    assert proc.returncode == 2 and time.monotonic() - start < 30, proc.stderr[-2000:]
    assert f"its folder {ro} is read-only for this process" in proc.stderr and "Traceback" not in proc.stderr


def test_two_runs_creating_one_store_at_once_both_work(tmp_path):
    """29.13: the second of two processes started 0.5 s apart in a folder without mlflow.db
    failed in MLflow's schema migration ("duplicate column name", "table ... already exists")."""
    code = "from nbw2v.tracking.tracker import MlflowTracker; MlflowTracker('sqlite:///mlflow.db', 'race').connect()"
    first = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    second = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    for proc in (first, second):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]


def test_a_store_created_at_once_by_a_process_not_ours_opens(tmp_path):
    """CI, stop 36: a plain ``MlflowClient`` (the test's poller; for a user, ``mlflow ui`` or a
    script) creating a new SQLite store while a sweep opened it broke the sweep ("table skills
    already exists"; also "No such index", "no such column", Alembic's "expected to match one
    row"): our file lock does not bind other programs. Now a run retries while the store is being
    created, and the store it opens works. Several offsets: the failing window is ~1 s wide."""
    foreign = "from mlflow import MlflowClient; MlflowClient('sqlite:///mlflow.db').search_experiments()"
    ours = (
        "from nbw2v.tracking.tracker import MlflowTracker\n"
        "t = MlflowTracker('sqlite:///mlflow.db', 'race'); t.start(); t.log_metrics({'m': 1.0}, step=0); t.end()"
    )
    for offset in (0.0, 0.3, 0.6):
        folder = tmp_path / f"at{offset}"
        folder.mkdir()
        other = subprocess.Popen([sys.executable, "-c", foreign], cwd=folder, stderr=subprocess.DEVNULL)
        time.sleep(offset)
        proc = subprocess.run([sys.executable, "-c", ours], cwd=folder, capture_output=True, text=True, timeout=300)
        other.wait(timeout=300)
        assert proc.returncode == 0, (offset, proc.stderr[-2000:])


def test_a_failure_on_a_store_being_written_is_retried_and_on_a_still_one_raised(tmp_path, monkeypatch):
    """The rule of ``open_client``: retried while the store's files change, raised at once when
    they do not (a corrupt file is not waited on)."""
    import mlflow

    from nbw2v.tracking import tracker

    db = tmp_path / "mlflow.db"
    real, calls = mlflow.MlflowClient, []

    def half_made(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:  # the other process is still writing the schema
            with open(db, "ab") as fh:
                fh.write(b"x")
            raise KeyError("dimension_attributes")
        db.unlink()
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow, "MlflowClient", half_made)
    client = tracker.open_client(f"sqlite:///{db}")
    assert len(calls) == 3 and client.search_experiments(max_results=1)

    calls.clear()

    def still(*args, **kwargs):
        calls.append(1)
        raise KeyError("dimension_attributes")

    monkeypatch.setattr(mlflow, "MlflowClient", still)
    start = time.monotonic()
    with pytest.raises(KeyError):
        tracker.open_client(f"sqlite:///{db}")
    assert len(calls) == 1 and time.monotonic() - start < 1.0


def test_a_migration_left_half_done_is_cleared_once_the_store_is_still(tmp_path, monkeypatch):
    """A creation that failed half-way (the race above) leaves Alembic's scratch table, and every
    later migration failed on it ("table _alembic_tmp_experiments already exists"): once nobody
    writes the store, that table is dropped and the store opens. A store without one still
    raises (a corrupt file is not 'repaired')."""
    import sqlite3

    import mlflow

    from nbw2v.tracking import tracker

    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE _alembic_tmp_experiments (x INTEGER)")
        conn.execute("CREATE TABLE kept (x INTEGER)")
    real, calls = mlflow.MlflowClient, []

    def migrate(*args, **kwargs):
        calls.append(1)
        with sqlite3.connect(db) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "_alembic_tmp_experiments" in tables:
            raise RuntimeError("(sqlite3.OperationalError) table _alembic_tmp_experiments already exists")
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow, "MlflowClient", migrate)
    monkeypatch.setattr(tracker, "CREATION_SETTLE_S", 0.3)
    client = tracker.open_client(f"sqlite:///{db}")
    assert client.search_experiments(max_results=1) and len(calls) >= 2
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "kept" in tables and "_alembic_tmp_experiments" not in tables

    def broken(*args, **kwargs):
        raise RuntimeError("(sqlite3.OperationalError) table metrics already exists")

    monkeypatch.setattr(mlflow, "MlflowClient", broken)
    with pytest.raises(RuntimeError, match="metrics already exists"):
        tracker.open_client(f"sqlite:///{db}")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_starting_is_one_line(tmp_path, sig, code):
    """29.10: Ctrl-C or SIGTERM in the first second (imports, Hydra's compose) printed a 22-75
    line traceback. Sent at several moments of the start-up; Python's own start-up before the
    first instruction (its site module, ~0.03 s) is out of reach."""
    corpus = _corpus(tmp_path)
    for delay in (0.15, 0.5, 0.9):
        # 100 epochs: still running at the last signal on a fast, warm machine
        args = [str(TRAIN), f"data.corpus={corpus}", "data.min_count=1", "train.epochs=100", "logger.name=none"]
        proc = subprocess.Popen(args,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        assert proc.returncode == code and "Traceback" not in err and len(lines) <= 3, (delay, err[-2000:])


@pytest.mark.slow
def test_an_interrupt_while_the_kernels_compile_waits_for_them(tmp_path):
    """Found beside 29.10: SIGTERM while Numba compiled the training kernels (a cold cache) was
    swallowed inside the compiler (the run trained on, exit 0) or broke its cache write
    (RuntimeError "no compiled object yet", exit 1). Now held until the compile ends: one notice,
    then the run ends as interrupted."""
    from nbw2v.config import Config
    from nbw2v.training.train import build_vocab_and_corpus

    corpus = _corpus(tmp_path)
    cfg = Config()  # the corpus store built here (warm kernels): the cold process compiles only what it trains with
    cfg.data.corpus, cfg.data.min_count, cfg.data.cache_dir = str(corpus), 1, str(tmp_path / "store")
    build_vocab_and_corpus(cfg)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cold-cache")}
    args = [str(TRAIN), f"data.corpus={corpus}", "data.min_count=1", "train.epochs=100", "logger.name=none"]
    args.append(f"data.cache_dir={tmp_path / 'store'}")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "gradient check before training" in line:  # the training kernels compile next (cold: seconds)
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=300) == 143, "".join(seen) + rest
    assert "Traceback" not in rest and "no compiled object" not in rest, rest
    assert "stopping once the training kernels are compiled" in rest  # the signal came while compiling
    assert "nbw2v-train: interrupted by SIGTERM" in rest
