"""Launchers: wall time of one 2 x 2 sweep (window 2,5 x K 2,5) through Hydra's joblib launcher
and through hydra-ray-launcher against a Ray head on this machine.

    python experiments/bench_launchers.py [--epochs 1] [--rounds 1]

Each sweep is the same ``nbw2v-train --multirun`` command on the bundled corpus (dim 50), logging
to a fresh SQLite store, with the machine's cores shared by the jobs (joblib: n_jobs=2; Ray:
a head with every core, ``num_cpus`` = cores / 2 per job). The Ray head is started before the
timings (its start-up is reported apart) and stopped at the end. Writes ``bench_launchers.md`` /
``.json`` to experiments/reports/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbw2v.app.run import cpu_name

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def sweep_command(tmp: Path, name: str, epochs: int, *launcher: str) -> list[str]:
    return [
        str(BIN / "nbw2v-train"),
        "--multirun",
        f"train.epochs={epochs}",
        "model.dim=50",
        "model.window=2,5",
        "loss.K=2,5",
        "eval.analogies=",
        f"logger.tracking_uri=sqlite:///{tmp / name}.db",
        f"hydra.sweep.dir={tmp / name}",
        *launcher,
    ]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        sys.exit(f"bench_launchers: {cmd[2:]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "reports"))
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.rounds < 1:
        parser.error(f"--epochs and --rounds: expected integers >= 1, got {args.epochs} and {args.rounds}")
    cores = os.cpu_count() or 1
    per_job = max(1, cores // 2)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    results: dict[str, list[float]] = {"joblib": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--num-cpus={cores}",
             "--include-dashboard=false", "--disable-usage-stats"],
            check=True, capture_output=True, timeout=300, cwd=tmp, env=env,
        )  # fmt: skip
        ray_start = time.perf_counter() - start
        try:
            launchers = {
                "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                "ray": ["hydra/launcher=nbw2v_ray", f"hydra.launcher.ray.remote.num_cpus={per_job}"],
            }
            for r in range(args.rounds):  # alternate, so drifting machine load hits both
                for name, overrides in launchers.items():
                    results[name].append(timed(sweep_command(tmp, f"{name}{r}", args.epochs, *overrides), tmp))
        finally:
            subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120, env=env)
    joblib_s, ray_s = statistics.median(results["joblib"]), statistics.median(results["ray"])
    report = {
        "machine": f"{cpu_name()}, {cores} cores, Python {platform.python_version()}",
        "command": f"python experiments/bench_launchers.py --epochs {args.epochs} --rounds {args.rounds}",
        "sweep": f"2 x 2 (window 2,5 x K 2,5), bundled corpus, dim 50, {args.epochs} epoch(s), 2 jobs at a time",
        "ray_head_start_seconds": round(ray_start, 2),
        "joblib_seconds": [round(x, 2) for x in results["joblib"]],
        "ray_seconds": [round(x, 2) for x in results["ray"]],
        "ray_over_joblib": round(ray_s / joblib_s, 3),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_launchers.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Sweep launchers: joblib vs Ray on one machine",
        "",
        f"- Machine: {report['machine']}",
        f"- Command: `{report['command']}`",
        f"- Sweep: {report['sweep']}; wall time of the whole `nbw2v-train --multirun` command",
        "",
        "| launcher | wall seconds (median) | runs |",
        "|---|---:|---|",
        f"| joblib (n_jobs=2, {per_job} thread(s) per job) | {joblib_s:.1f} | {report['joblib_seconds']} |",
        f"| Ray (local head, num_cpus={per_job} per job) | {ray_s:.1f} | {report['ray_seconds']} |",
        "",
        f"Ray / joblib: {report['ray_over_joblib']:.2f}x. Starting the Ray head (not in the timings): "
        f"{ray_start:.1f} s.",
    ]
    (out / "bench_launchers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
