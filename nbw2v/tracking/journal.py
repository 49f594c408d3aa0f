"""Offline journal for MLflow: when the tracking store cannot be reached (at start with
``logger.on_error=warn``, or when a server dies mid-run), every tracking call is appended to a
local JSON-lines file instead, so training goes on and nothing is lost; ``nbw2v replay FILE``
sends it to MLflow later (creating the run if it never existed there).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
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
        sweep_id: str = "",
        role: str = "",
    ):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        # unique: jobs of one process (Hydra's basic launcher) may journal in the same second
        self.dir = Path(root).resolve() / f"{stamp}-{run_id or 'new-run'}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.path = self.dir / "journal.jsonl"
        self.append(
            {
                "op": "header",
                "tracking_uri": tracking_uri,
                "experiment": experiment,
                "run_id": run_id,
                "run_name": run_name,
                "sweep_id": sweep_id,  # a sweep's journals are found, and replayed together, by it
                "role": role,
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


def journal_header(path: str | Path) -> dict:
    """A journal's header record (tracking URI, experiment, run, sweep id, role): its first
    line only; {} when that is not a header."""
    with open(path, encoding="utf-8", errors="replace") as f:
        try:
            record = json.loads(f.readline())
        except json.JSONDecodeError:
            return {}
    return record if isinstance(record, dict) and record.get("op") == "header" else {}


def find_journals(root: str | Path, sweep_id: str = "") -> list[Path]:
    """The journals under ``root`` (of one sweep if ``sweep_id``) not yet replayed, a sweep's
    children before its parent (whose report needs them)."""
    found = []
    for path in sorted(Path(root).glob("**/journal.jsonl")):
        if (path.parent / "REPLAYED").exists():
            continue
        header = journal_header(path)
        if not header or (sweep_id and header.get("sweep_id") != sweep_id):
            continue
        found.append((header.get("role") == "sweep", path))
    return [path for _, path in sorted(found)]
