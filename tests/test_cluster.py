"""Team setup on loopback: a real PostgreSQL (Debian's binaries; initdb into a temp dir, run on
127.0.0.1 and a free port) behind a real ``mlflow server``, and a 2 x 2 sweep logging to it
(artifacts through the server) through submitit's local executor and through hydra-ray-launcher
against a Ray head started here. Everything is torn down, also when a test fails."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("psycopg2")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
from conftest import TINY_TEXT, sweep_runs, tiny_sweep_command  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

BIN = Path(sys.executable).parent
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_BIN, reason="PostgreSQL server binaries not installed (Debian package postgresql)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb/postgres refuse to run as root: use the postgres account then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres():
    pg = Path(PG_BIN[-1])
    root = Path(tempfile.mkdtemp(prefix="nbw2v-pg-", dir="/tmp"))
    data, port = root / "data", _free_port()
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    started = False
    try:
        subprocess.run(
            _as_postgres([str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
        subprocess.run(
            _as_postgres(
                [str(pg / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-t", "60", "-l", str(root / "log"), "start"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        started = True
        subprocess.run(
            [str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"  # SQLAlchemy 2.1 defaults to psycopg 3
    finally:
        if started:
            subprocess.run(
                _as_postgres([str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            postgres,
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(uri + "/health", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        yield uri
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
        proc.wait(timeout=30)


def assert_team_sweep(client, experiment):
    """One FINISHED parent with its report, 4 FINISHED children with metrics and artifacts."""
    parents, children = sweep_runs(client, experiment)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 4 and all(r.info.status == "FINISHED" for r in children)
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert "loss/epoch" in child.data.metrics and "gradcheck/max_rel_err" in child.data.metrics
        assert {"vectors", "loss_curve.png"} <= {a.path for a in client.list_artifacts(child.info.run_id)}
    assert "report/heatmap_ws353.png" in {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    return children


def test_sweep_through_submitit_to_a_postgres_backed_server(mlflow_server, tmp_path):
    args = tiny_sweep_command(
        tmp_path,
        mlflow_server,
        "logger.experiment=team",
        f"data.cache_dir={tmp_path / 'cache'}",
        "hydra/launcher=submitit_local",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.timeout_min=10",
    )
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_team_sweep(MlflowClient(mlflow_server), "team")
    assert len(list((tmp_path / "cache" / "corpora").glob("*.npz"))) == 1  # encoded once, shared by the jobs


def _processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (inherited by every process `ray start` spawns,
    daemons and renamed workers included)."""
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


def _stop_processes(pids: list[int], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL what is still running after ``grace_s``."""
    import signal

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


@pytest.fixture
def ray_head(tmp_path):
    """A Ray head on this machine (2 CPUs, no dashboard), started in its own directory so the
    test sees jobs run in the sweep's launch directory, not the head's. Torn down by stopping
    exactly the processes it started (marked in their environment), never `ray stop`, which
    would stop every Ray on the machine (a user's too)."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    import uuid

    port, head_dir = _free_port(), tmp_path / "ray-head"
    head_dir.mkdir()
    marker = f"NBW2V_TEST_RAY={uuid.uuid4().hex}"
    key, value = marker.split("=")
    temp_dir = tempfile.mkdtemp(prefix="nbw2v-ray-", dir="/tmp")  # short: Ray's socket paths must fit
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", key: value}
    try:
        subprocess.run(
            [str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
            check=True, capture_output=True, timeout=180, cwd=head_dir, env=env,
        )  # fmt: skip
        yield f"127.0.0.1:{port}"
    finally:
        _stop_processes(_processes_with(marker))
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_the_ray_teardown_stops_only_what_it_started(tmp_path):
    """A process outside the fixture (another user's Ray, say) survives the teardown."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    mine = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env={**os.environ, "NBW2V_TEST_RAY": "t0k3n"}
    )
    try:
        assert _processes_with("NBW2V_TEST_RAY=t0k3n") == [mine.pid]
        _stop_processes([mine.pid])
        assert mine.wait(timeout=10) != 0 and other.poll() is None
    finally:
        other.kill()
        mine.kill()


def test_sweep_through_ray_to_a_postgres_backed_server(ray_head, mlflow_server, tmp_path):
    (tmp_path / "tiny.txt").write_text(TINY_TEXT)
    args = [
        "data.corpus=tiny.txt" if a.startswith("data.corpus=") else a  # relative: read in the launch dir
        for a in tiny_sweep_command(
            tmp_path,
            mlflow_server,
            "logger.experiment=team-ray",
            "hydra/launcher=nbw2v_ray",
            f"hydra.launcher.ray.init.address={ray_head}",
            "hydra.launcher.ray.remote.num_cpus=1",
        )
    ]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ray cluster with 2 CPU(s)" in proc.stderr
    children = assert_team_sweep(MlflowClient(mlflow_server), "team-ray")
    assert {r.data.tags["train.threads"] for r in children} == {"1"}  # Numba threads = the task's num_cpus
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir() if p.name.isdigit()) == ["0", "1", "2", "3"]


def test_unreachable_ray_head_is_a_quick_clear_error(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    address = f"127.0.0.1:{_free_port()}"
    args = tiny_sweep_command(tmp_path, "sqlite:///mlflow.db", "hydra/launcher=nbw2v_ray",
                              f"hydra.launcher.ray.init.address={address}")  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode != 0
    assert f"no Ray cluster answers at hydra.launcher.ray.init.address={address}" in proc.stderr
    assert "ray start --head" in proc.stderr and time.monotonic() - start < 60
    assert not (tmp_path / "mlflow.db").exists()  # failed before any run was opened
