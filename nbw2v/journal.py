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


def replay(path: str | Path, tracking_uri: str = "") -> tuple[str, int]:
    """Send a journal to MLflow. Returns (run id, number of operations replayed)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from .tracking import MlflowTracker

    path = Path(path)
    if path.is_dir():
        path = path / "journal.jsonl"
    if not path.is_file():
        raise ValueError(f"{path}: no such journal (look in ./{OFFLINE_DIR}/)")
    ops = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not ops or ops[0].get("op") != "header":
        raise ValueError(f"{path}: not an nbw2v MLflow journal")
    header = ops[0]
    uri = tracking_uri or header["tracking_uri"]
    run_id = header["run_id"]
    tracker = MlflowTracker(uri, header["experiment"], header.get("run_name") or "")
    client: MlflowClient = tracker.connect()
    for op in ops[1:]:
        kind = op["op"]
        if kind == "start":
            if run_id is None:
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
            client.set_terminated(run_id, status=op["status"])
    (path.parent / "REPLAYED").write_text(f"{run_id}\n")
    return run_id, len(ops) - 1
