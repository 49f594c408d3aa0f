"""Tracking faults with a real MLflow server on loopback: unreachable at start (clear error, or
train and journal with logger.on_error=warn), and a server killed mid-run (training finishes,
nothing lost: the journal is replayed once the server is back)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
from conftest import free_port  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

BIN = Path(sys.executable).parent
EXE = BIN / "nbw2v-train"


def _base(tmp_path, uri, *extra):
    return [
        str(EXE),
        "train=deterministic",
        "train.epochs=2",
        "model.dim=16",
        "train.report_every_s=0",
        "logger.flush_every_s=0",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"logger.tracking_uri={uri}",
        "logger.save_vectors=npz",
        f"hydra.run.dir={tmp_path / 'out'}",
        *extra,
    ]


def _journal(stderr: str) -> str:
    line = next(ln for ln in stderr.splitlines() if "nbw2v replay" in ln)
    return line.split("nbw2v replay", 1)[1].strip()


@pytest.mark.slow
def test_unreachable_server_fails_fast_or_journals_with_warn(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = subprocess.run(_base(tmp_path, dead), capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "cannot reach the MLflow server" in proc.stderr
    assert time.monotonic() - started < 60
    assert "epoch" not in proc.stderr  # nothing trained

    proc = subprocess.run(
        _base(tmp_path, dead, "logger.on_error=warn"), capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # issue 29.16: the warning names the store's failure, not advice to set what is already set
    warning = next(x for x in proc.stderr.splitlines() if "WARNING: MLflow store" in x)
    assert "cannot reach the MLflow server" in warning and "on_error=warn" not in warning
    journal = _journal(proc.stderr)
    store = f"sqlite:///{tmp_path / 'later.db'}"
    from nbw2v.app.cli import main

    assert main(["replay", journal, "--tracking-uri", store]) == 0
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["model.dim"] == "16"
    assert len(client.get_metric_history(run.info.run_id, "loss/epoch")) == 2


@pytest.mark.slow
def test_server_killed_mid_run_loses_nothing(tmp_path, server):
    import gzip

    from nbw2v.paths import DATA_DIR

    # the bundled corpus's first 400,000 words: enough for WS353 pairs, a fifth of the time
    with gzip.open(DATA_DIR / "corpora" / "sample-wiki-wordnet-kjv.txt.gz", "rt", encoding="utf-8") as f:
        head, words = [], 0
        for line in f:
            head.append(line)
            words += len(line.split())
            if words > 400_000:
                break
    corpus = tmp_path / "head.txt"
    corpus.write_text("".join(head), encoding="utf-8")
    server.start()
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}  # the dead server fails at once (test speed)
    args = _base(tmp_path, server.uri, f"data.corpus={corpus}", "train.chunk_words=20000")
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "epoch 1/2" in line:
            server.stop()  # the server dies in the middle of training
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, rest[-3000:]
    assert "training goes on, tracking is journaled" in rest
    journal = _journal(rest)
    ops = [json.loads(x)["op"] for x in Path(journal).read_text().splitlines()]
    assert ops[0] == "header" and ops[-1] == "end"

    server.start()  # back, same backend store
    from nbw2v.app.cli import main

    assert main(["replay", journal]) == 0
    client = MlflowClient(server.uri)
    (run,) = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "loss/epoch")) == 2
    assert "eval/ws353" in run.data.metrics
    assert {"vectors", "loss_curve.png", "neighbours.md"} <= {a.path for a in client.list_artifacts(run.info.run_id)}


@pytest.mark.slow
def test_two_concurrent_writers_to_one_server_lose_nothing(tmp_path, server):
    server.start()
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"w{i % 50} w{(i * 7) % 50} w{(i * 3) % 50} w{i % 13}" for i in range(40000)) + "\n")
    procs = [
        subprocess.Popen(
            _base(
                tmp_path,
                server.uri,
                f"data.corpus={corpus}",
                "data.min_count=1",
                "train.chunk_words=2000",
                f"logger.run_name=writer{k}",
                f"hydra.run.dir={tmp_path / f'out{k}'}",
                "train.threads=1",
            ),
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for k in range(2)
    ]
    logs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    client = MlflowClient(server.uri)
    runs = {r.info.run_name: r for r in client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])}
    for k, log in enumerate(logs):
        run = runs[f"writer{k}"]
        assert run.info.status == "FINISHED" and len(run.data.params) > 40
        reported = sum(1 for line in log.splitlines() if "words/s  ETA" in line)
        assert reported > 10
        assert len(client.get_metric_history(run.info.run_id, "perf/words_per_sec")) == reported  # every one arrived
        curve = client.get_metric_history(run.info.run_id, "loss/train")  # a point every 1% of training
        assert 50 <= len(curve) <= 102 and len({m.step for m in curve}) == len(curve)
        assert len(client.get_metric_history(run.info.run_id, "loss/epoch")) == 2


@pytest.mark.slow
def test_a_sweep_through_a_store_outage_journals_and_replays_in_one_command(tmp_path, server):
    """The server dies once the sweep's parent run is open: the jobs train and journal
    (logger.on_error=warn) into logger.journal_dir; the sweep exits 3 saying where the journals
    are; with the server back, one `nbw2v replay DIR` sends every child, then the parent with
    its report and a status decided from the children; runs keep their original times."""
    from conftest import tiny_sweep_command

    server.start()
    journals = tmp_path / "journals"
    args = tiny_sweep_command(tmp_path, server.uri, "logger.on_error=warn", f"logger.journal_dir={journals}")
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}  # a dead store fails at once (test speed)
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    for line in proc.stderr:
        if "MLflow parent run" in line:
            server.stop()  # the store dies as the jobs begin
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=600) == 3, rest[-3000:]
    assert "failed during the sweep" in rest and f"nbw2v replay {journals}" in rest
    n = len(list(journals.glob("*/journal.jsonl")))
    assert n == 5, rest[-3000:]  # the 4 jobs' and the parent's, counted as such (issue 28.9)
    assert "4 job run(s) and the parent run journaled their tracking" in rest and "(5 journal(s))" in rest
    swept_at = time.time() * 1000

    server.start()  # back, same backend store
    from nbw2v.app.cli import main

    assert main(["replay", str(journals)]) == 0
    client = MlflowClient(server.uri)
    runs = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("nbw2v.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 4 and {r.info.status for r in children} == {"FINISHED"}
    assert all(r.info.start_time < swept_at and r.info.end_time < swept_at for r in children)  # not the replay's
    assert parent.info.status == "FINISHED" and parent.info.end_time < swept_at
    assert "report" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    # the report's local copy goes to the sweep's output directory, as at a sweep's end, not
    # into a child's journal folder
    assert (tmp_path / "multirun" / "report" / "runs.md").exists() and not list(journals.glob("*/report"))
    assert main(["replay", str(journals)]) == 0  # again: nothing left to send


def test_a_store_outage_with_on_error_fail_leaves_no_run_running_and_replays_as_incomplete(tmp_path, server):
    """Issue 28.2: with the default logger.on_error=fail the jobs after the outage cannot start;
    the driver says the store failed and where the journals are, and once replayed the sweep
    counts the configurations that never ran (FAILED, not FINISHED) and no run is RUNNING."""
    from conftest import tiny_sweep_command

    server.start()
    journals = tmp_path / "journals"
    args = tiny_sweep_command(tmp_path, server.uri, f"logger.journal_dir={journals}")
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    for line in proc.stderr:
        if "MLflow parent run" in line:
            server.stop()
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=600) == 3, rest[-3000:]
    assert "failed during the sweep" in rest and f"nbw2v replay {journals}" in rest and "Traceback" not in rest
    server.start()
    from nbw2v.app.cli import main

    assert main(["replay", str(journals)]) == 0
    client = MlflowClient(server.uri)
    runs = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("nbw2v.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert not any(r.info.status == "RUNNING" for r in runs)
    assert parent.info.status == "FAILED" and parent.data.tags["nbw2v.sweep_total"] == "4"
    finished = sum(r.info.status == "FINISHED" for r in children)
    assert int(parent.data.tags.get("nbw2v.sweep_missing", "0")) == 4 - len(children) and finished < 4
    # the configurations that never ran are named by their sweep values (the grid's jobs.json)
    missing = [m for m in parent.data.tags.get("nbw2v.sweep_missing_jobs", "").split(", ") if m]
    ran = {f"model.window={r.data.params['model.window']} loss.K={r.data.params['loss.K']}" for r in children}
    assert missing and len(missing) == 4 - len(children) and not set(missing) & ran, (missing, ran)
    assert all(m.startswith("model.window=") and " loss.K=" in m for m in missing), missing
