"""``nbw2v replay``: send an offline journal (:mod:`nbw2v.tracking.journal`) to MLflow, once.

Kept apart from the journal itself: the tracker writes journals, this reads one and drives a
tracker, so neither module imports the other's user.
"""

from __future__ import annotations

from pathlib import Path

from nbw2v.tracking.journal import OFFLINE_DIR, read_journal
from nbw2v.tracking.tracker import MlflowTracker, StoreUnreachable


def replay(path: str | Path, tracking_uri: str = "", warn=None) -> tuple[str, int]:
    """Send a journal to MLflow. Returns (run id, number of operations sent now).

    Idempotent and resumable: progress is recorded in ``REPLAY_PROGRESS`` beside the journal
    after every operation and ``REPLAYED`` at the end, so a second replay sends nothing and an
    interrupted one continues where it stopped, into the same run. Damaged lines are skipped
    and named through ``warn``."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    warn = warn or (lambda text: None)
    path = Path(path)
    if path.is_dir():
        path = path / "journal.jsonl"
    if not path.is_file():
        raise ValueError(f"{path}: no such journal (look in ./{OFFLINE_DIR}/)")
    done_marker, progress_file = path.parent / "REPLAYED", path.parent / "REPLAY_PROGRESS"
    if done_marker.exists():
        run_id = done_marker.read_text().strip()
        warn(f"{path}: already replayed into MLflow run {run_id}; nothing sent (delete {done_marker} to send again)")
        return run_id, 0
    ops, damaged = read_journal(path)
    if not ops or ops[0].get("op") != "header":
        raise ValueError(f"{path}: not an nbw2v MLflow journal (line 1 is not its header)")
    if damaged:
        warn(
            f"{path}: skipped damaged line(s) {', '.join(map(str, damaged[:10]))}"
            f"{' ...' if len(damaged) > 10 else ''} (cut off when the process stopped?); replaying the "
            f"{len(ops) - 1} complete record(s)"
        )
    header = ops[0]
    uri = tracking_uri or header["tracking_uri"]
    run_id = header["run_id"]
    sent = 0
    if progress_file.exists():  # an earlier replay stopped part-way: continue it
        run_id, _, count = progress_file.read_text().partition(" ")
        sent = int(count or 0)
    tracker = MlflowTracker(uri, header["experiment"], header.get("run_name") or "")
    try:
        client: MlflowClient = tracker.connect()
    except ValueError as exc:  # its advice (logger.on_error=warn) is for training, not for replay
        first = exc.cause if isinstance(exc, StoreUnreachable) else str(exc).split(": ", 1)[-1]
        raise ValueError(
            f"cannot send {path} to the MLflow store {uri}: {first}; start the store (or give another with "
            "--tracking-uri) and rerun nbw2v replay: the journal is kept and nothing is sent twice"
        ) from None
    for index, op in enumerate(ops[1:]):
        if index < sent:
            continue
        kind = op["op"]
        if kind == "start":
            if not run_id:  # created now, with the time it started (not the replay's)
                run = client.create_run(
                    tracker.experiment_id,
                    start_time=op.get("time"),
                    run_name=op.get("run_name"),
                    tags=op.get("tags", {}),
                )
                run_id = run.info.run_id
        elif kind == "log_batch":
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, ts, step) for k, v, ts, step in op.get("metrics", [])],
                params=[Param(k, v) for k, v in op.get("params", [])],
                tags=[RunTag(k, v) for k, v in op.get("tags", [])],
            )
        elif kind == "log_text":
            client.log_text(run_id, op["text"], op["artifact_file"])
        elif kind == "log_artifact":
            client.log_artifact(run_id, op["path"], op.get("artifact_path"))
        elif kind == "end":
            end_ms = op.get("time")
            client.set_terminated(run_id, status=op["status"], end_time=end_ms)
        progress_file.write_text(f"{run_id or ''} {index + 1}")
    if run_id and not any(op["op"] == "end" for op in ops):
        close_unended(client, run_id, ops, path, warn)
    done_marker.write_text(f"{run_id}\n")
    progress_file.unlink(missing_ok=True)
    return run_id, len(ops) - 1 - sent


def close_unended(client, run_id: str, ops: list[dict], path: Path, warn) -> None:
    """A journal without the run's end (its process was killed, or the last line was cut off):
    the run would stay RUNNING. Closed KILLED as of its last journaled record when its process is
    gone (this host); otherwise said, with how to close it later."""
    from mlflow.entities import RunTag

    from nbw2v.tracking.liveness import TAG_PROCESS, process_alive

    identity = client.get_run(run_id).data.tags.get(TAG_PROCESS, "")
    alive = process_alive(identity) if identity else None
    if alive is not False:
        why = "its process still runs" if alive else "its process ran on another host"
        warn(
            f"{path}: the journal has no end of run {run_id} and {why}: the run stays RUNNING; once that process "
            "is gone, close it with: nbw2v runs --stale --close"
        )
        return
    times = [op["time"] for op in ops if isinstance(op.get("time"), int)]
    times += [m[2] for op in ops for m in op.get("metrics", []) if len(m) == 4 and isinstance(m[2], int)]
    reason = "its journal ends without the run's end (the process was killed, or the last line was cut off)"
    client.log_batch(run_id, tags=[RunTag("nbw2v.error", f"closed at replay: {reason}")])
    client.set_terminated(run_id, status="KILLED", end_time=max(times, default=0) or None)
    warn(f"{path}: {reason}; run {run_id} closed KILLED as of its last journaled record")
