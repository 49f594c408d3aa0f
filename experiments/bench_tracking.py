"""Tracking overhead: the same training run with ``logger=none`` and with MLflow (SQLite store).

    python experiments/bench_tracking.py [--rounds 3]

Alternates the two settings ``--rounds`` times on the bundled corpus (5 epochs, 2 threads) and
reports training seconds (median), the time spent in MLflow calls for step metrics
(``perf/tracking_seconds``) and the whole-run wall time. Writes ``bench_tracking.md``/``.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# isort: off
import nbw2v  # noqa: F401  (thread-pool defaults before NumPy loads OpenBLAS)

# isort: on
from mlflow import MlflowClient

from nbw2v.app.run import run_experiment
from nbw2v.config import Config
from nbw2v.progress import SilentProgress
from nbw2v.tracking.tracker import MlflowTracker, NullTracker

HERE = Path(__file__).resolve().parent


def one_run(logger: str, uri: str) -> dict:
    cfg = Config()
    cfg.logger.name, cfg.logger.tracking_uri, cfg.logger.experiment = logger, uri, "overhead"
    tracker = NullTracker() if logger == "none" else MlflowTracker(uri, "overhead")
    start = time.perf_counter()
    emb, _ = run_experiment(cfg, tracker=tracker, progress=SilentProgress())
    wall = time.perf_counter() - start
    return {
        "logger": logger,
        "train_seconds": emb.stats["train_seconds"],
        "wall_seconds": wall,
        "tracking_seconds": getattr(tracker, "flush_seconds", 0.0),
        "tracking_flushes": getattr(tracker, "flush_calls", 0),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "reports"))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds: expected an integer >= 1, got {args.rounds}")
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        MlflowClient(uri).search_experiments()  # migrate the new store outside the timings
        runs = []
        for _ in range(args.rounds):
            for logger in ("none", "mlflow"):
                runs.append(one_run(logger, uri))
                print(json.dumps(runs[-1]), flush=True)

    def med(logger, key):
        return statistics.median(r[key] for r in runs if r["logger"] == logger)

    summary = {k: {lg: med(lg, k) for lg in ("none", "mlflow")} for k in ("train_seconds", "wall_seconds")}
    summary["tracking_seconds_mlflow"] = med("mlflow", "tracking_seconds")
    report = {
        "command": " ".join(["python", *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "runs": runs,
        "summary": summary,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_tracking.json").write_text(json.dumps(report, indent=2) + "\n")
    t, w = summary["train_seconds"], summary["wall_seconds"]
    md = [
        "# Tracking overhead",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        "Bundled corpus, default config (skip-gram, K=5, 5 epochs, all cores); median of "
        f"{args.rounds} alternating runs each.",
        "",
        "| logger | training s | whole run s (incl. read, gradcheck, eval, artifacts) |",
        "|---|---|---|",
        f"| none | {t['none']:.2f} | {w['none']:.2f} |",
        f"| mlflow (SQLite) | {t['mlflow']:.2f} | {w['mlflow']:.2f} |",
        "",
        f"Training time ratio mlflow / none: {t['mlflow'] / t['none']:.3f}. Time inside MLflow calls for step "
        f"metrics (buffered, one batch per flush): {summary['tracking_seconds_mlflow'] * 1000:.1f} ms per run.",
    ]
    (out / "bench_tracking.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
