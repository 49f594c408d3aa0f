"""A whole "cluster" on this machine, in one command: PostgreSQL, an MLflow server on it, a Ray head.

    python experiments/local_cluster.py up   [--dir .cluster] [--ray-cpus 2]
    source .cluster/cluster.env          # MLFLOW_TRACKING_URI and RAY_ADDRESS
    .venv/bin/nbw2v-train --multirun sweep=window_k_dim hydra/launcher=nbw2v_ray hydra.launcher.ray.remote.num_cpus=1
    python experiments/local_cluster.py down [--dir .cluster]

What the cluster section of docs/sweeps.md describes, on 127.0.0.1 and free ports: a
PostgreSQL server (Debian's ``postgresql`` binaries; ``initdb`` into ``DIR/pg``), ``mlflow
server`` with that database (its files in a folder under /tmp) as its backend store and
``DIR/artifacts`` as its artifact store,
and a Ray head (``ray start --head``; its session files in a short folder under /tmp), every
server listening on 127.0.0.1 only (Ray in its single-machine mode: ``LOOPBACK_ENV``). ``down``
stops exactly what ``up`` started: PostgreSQL by ``pg_ctl``, the MLflow server and every Ray
process by a marker in their environment (never ``ray stop``, which stops every Ray on the
machine). ``tests/test_cluster.py`` uses the same functions.

The head also serves Ray Client (``ray://127.0.0.1:10001``); nbw2v sweeps refuse that form (its
connection failed when tried: the jobs' runtime environment carries a worker set-up hook) and
take the GCS address of ``cluster.env``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

BIN = Path(sys.executable).parent
MARKER = "NBW2V_LOCAL_CLUSTER"
#: Ray replaces a node address of 127.0.0.1 by the machine's external one (its servers then listen
#: on every interface, and a driver connects through that address) unless it runs as on a laptop:
#: single-machine mode keeps the head, its workers and the driver on the loopback interface
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(found[-1]) if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb/postgres refuse to run as root: use the postgres account then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(root: Path) -> tuple[str, int]:
    """initdb into root/data and start it on 127.0.0.1; returns (SQLAlchemy URI, port)."""
    pg = pg_bin()
    if pg is None:
        raise SystemExit("local cluster: PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    run = dict(check=True, capture_output=True, timeout=120)
    subprocess.run(_as_postgres([str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), **run)
    postgres_ctl(root, "start", port)
    subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"], **run)
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow", port


def postgres_ctl(root: Path, action: str, port: int = 0, mode: str = "fast") -> None:
    """``pg_ctl start`` (on 127.0.0.1:port) or ``stop`` (``-m mode``) of the server in root/data."""
    pg = pg_bin()
    ctl = [str(pg / "pg_ctl"), "-D", str(root / "data"), "-w", "-t", "60"]
    if action == "start":
        ctl += ["-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-l", str(root / "log"), "start"]
    else:
        ctl += ["-m", mode, "stop"]
    subprocess.run(_as_postgres(ctl), check=action == "start", capture_output=True, timeout=120)


def stop_postgres(root: Path) -> None:
    if pg_bin() is not None and (root / "data").exists():
        postgres_ctl(root, "stop", mode="immediate")


def start_mlflow(backend: str, artifacts: Path, marker: str) -> tuple[str, subprocess.Popen]:
    """``mlflow server`` on 127.0.0.1 (marked with ``marker`` in its environment); waits for
    /health. Returns (URL, process)."""
    port = free_port()
    key, value = marker.split("=", 1)
    proc = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", backend,
         "--artifacts-destination", str(artifacts), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, key: value},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            return url, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("local cluster: mlflow server did not start") from None
            time.sleep(0.5)


def start_ray(cpus: int, marker: str, cwd: Path) -> tuple[str, str]:
    """A Ray head on 127.0.0.1 (every process it spawns carries ``marker``); returns (address,
    its temporary folder)."""
    port = free_port()
    key, value = marker.split("=", 1)
    temp_dir = tempfile.mkdtemp(prefix="nbw2v-ray-", dir="/tmp")  # short: Ray's socket paths must fit
    env = {**os.environ, **LOOPBACK_ENV, "RAY_USAGE_STATS_ENABLED": "0", key: value}
    subprocess.run(
        [str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
         f"--ray-client-server-port={free_port()}"],  # its own: two local clusters never share 10001
        check=True, capture_output=True, timeout=180, cwd=cwd, env=env,
    )  # fmt: skip
    return f"127.0.0.1:{port}", temp_dir


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (inherited by every process a marked one spawns,
    daemons and renamed Ray workers included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone, or not ours to read
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()  # a zombie has exited
    except OSError:
        return False


def stop_processes(pids: list[int], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL what still runs after ``grace_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        if not any(_alive(p) for p in pids):
            return


def up(folder: Path, ray_cpus: int) -> dict:
    folder = folder.resolve()
    if (folder / "cluster.json").exists():
        raise SystemExit(f"local cluster: {folder} already holds one (python {sys.argv[0]} down --dir {folder})")
    folder.mkdir(parents=True, exist_ok=True)
    marker = f"{MARKER}={uuid.uuid4().hex}"
    # the database lives under /tmp: as root it runs as the postgres account, which may not enter
    # the folders above --dir (a home directory, pytest's tmp_path)
    pg_root = tempfile.mkdtemp(prefix="nbw2v-pg-", dir="/tmp")
    state = {"marker": marker, "pg_root": pg_root}
    (folder / "cluster.json").write_text(json.dumps(state))  # down works from here on, whatever fails next
    backend, _ = start_postgres(Path(pg_root))
    url, _ = start_mlflow(backend, folder / "artifacts", marker)
    address, temp_dir = start_ray(ray_cpus, marker, folder)
    state.update(backend=backend, mlflow=url, ray=address, ray_temp_dir=temp_dir)
    (folder / "cluster.json").write_text(json.dumps(state, indent=2))
    env = {"MLFLOW_TRACKING_URI": url, "RAY_ADDRESS": address, **LOOPBACK_ENV}
    (folder / "cluster.env").write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
    return state


def down(folder: Path) -> bool:
    """Stop exactly what ``up`` started in ``folder``; False when nothing runs there."""
    folder = folder.resolve()
    state_file = folder / "cluster.json"
    if not state_file.exists():  # stopped already, or never started: nothing to do is success
        (folder / "cluster.env").unlink(missing_ok=True)
        return False
    state = json.loads(state_file.read_text())
    stop_processes(processes_with(state["marker"]))
    stop_postgres(Path(state["pg_root"]))
    shutil.rmtree(state["pg_root"], ignore_errors=True)
    if state.get("ray_temp_dir"):
        shutil.rmtree(state["ray_temp_dir"], ignore_errors=True)
    (folder / "cluster.env").unlink(missing_ok=True)  # no stale addresses to source
    state_file.unlink()
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--dir", default=".cluster", help="where the cluster keeps its state (default .cluster)")
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs the Ray head offers (default 2)")
    args = parser.parse_args(argv)
    if args.action == "down":
        stopped = down(Path(args.dir))
        print(f"local cluster in {args.dir}: {'stopped' if stopped else 'nothing to stop (no cluster runs there)'}")
        return 0
    state = up(Path(args.dir), args.ray_cpus)
    print(
        f"local cluster up: MLflow {state['mlflow']} (PostgreSQL backend), Ray head {state['ray']}\n"
        f"  source {args.dir}/cluster.env\n"
        "  .venv/bin/nbw2v-train --multirun sweep=window_k_dim hydra/launcher=nbw2v_ray "
        "hydra.launcher.ray.remote.num_cpus=1\n"
        f"  python {sys.argv[0]} down --dir {args.dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
