"""Offline journal for MLflow: when the tracking store cannot be reached (at start with
``logger.on_error=warn``, or when a server dies mid-run), every tracking call is appended to a
local JSON-lines file instead, so training goes on and nothing is lost; ``nbw2v replay FILE``
sends it to MLflow later (creating the run if it never existed there).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

OFFLINE_DIR = "mlflow-offline"


class Journal:
    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        run_id: str | None,
        run_name: str | None,
        root: str | Path = OFFLINE_DIR,
    ):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.dir = Path(root).resolve() / f"{stamp}-{run_id or 'new-run'}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "journal.jsonl"
        self.append(
            {
                "op": "header",
                "tracking_uri": tracking_uri,
                "experiment": experiment,
                "run_id": run_id,
                "run_name": run_name,
            }
        )

    def append(self, op: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(op) + "\n")
            f.flush()

    def keep_file(self, local_path: str | Path) -> str:
        """Copy an artifact into the journal folder (the original may be a temporary file)."""
        folder = self.dir / "artifacts" / str(len(list(self.dir.glob("artifacts/*"))))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(local_path).name  # the artifact keeps its name
        shutil.copy2(local_path, target)
        return str(target)


class LostJournal:
    """Stands in when no journal can be written (the disk is full): operations are dropped."""

    path = Path("(no journal: the disk refused it)")

    def append(self, op: dict) -> None:
        pass

    def keep_file(self, local_path: str | Path) -> str:
        return str(local_path)


def read_journal(path: Path) -> tuple[list[dict], list[int]]:
    """(records, damaged line numbers): every complete JSON record is kept; a line cut off when
    the process stopped (or otherwise not JSON) is skipped and named."""
    records, damaged = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                damaged.append(line_no)
                continue
            if isinstance(record, dict) and "op" in record:
                records.append(record)
            else:
                damaged.append(line_no)
    return records, damaged


def replay(path: str | Path, tracking_uri: str = "", warn=None) -> tuple[str, int]:
    """Send a journal to MLflow. Returns (run id, number of operations sent now).

    Idempotent and resumable: progress is recorded in ``REPLAY_PROGRESS`` beside the journal
    after every operation and ``REPLAYED`` at the end, so a second replay sends nothing and an
    interrupted one continues where it stopped, into the same run. Damaged lines are skipped
    and named through ``warn``."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from .tracking import MlflowTracker

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
    client: MlflowClient = tracker.connect()
    for index, op in enumerate(ops[1:]):
        if index < sent:
            continue
        kind = op["op"]
        if kind == "start":
            if not run_id:
                run = client.create_run(tracker.experiment_id, run_name=op.get("run_name"), tags=op.get("tags", {}))
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
    done_marker.write_text(f"{run_id}\n")
    progress_file.unlink(missing_ok=True)
    return run_id, len(ops) - 1 - sent
