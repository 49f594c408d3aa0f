"""Team setup on loopback: a real PostgreSQL (Debian's binaries; initdb into a temp dir, run on
127.0.0.1 and a free port) behind a real ``mlflow server``, and a 2 x 2 sweep logging to it
(artifacts through the server) through submitit's local executor and through hydra-ray-launcher
against a Ray head started here. Everything is torn down, also when a test fails."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("psycopg2")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
from conftest import TINY_TEXT, experiment_script, sweep_runs, tiny_sweep_command  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

BIN = Path(sys.executable).parent
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
local_cluster = experiment_script("local_cluster")  # experiments/local_cluster.py: the same cluster, one command
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_BIN, reason="PostgreSQL server binaries not installed (Debian package postgresql)"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The whole loopback cluster, brought up once for the module by the same command a user
    runs (experiments/local_cluster.py up): PostgreSQL, an MLflow server on it, a Ray head with
    2 CPUs (in its own folder: jobs must run in the sweep's launch directory, not the head's).
    The last test brings it down and checks that; otherwise the teardown does."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    folder = tmp_path_factory.mktemp("local-cluster")
    assert local_cluster.main(["up", "--dir", str(folder), "--ray-cpus", "2"]) == 0
    state = json.loads((folder / "cluster.json").read_text())
    yield {**state, "dir": folder}
    if (folder / "cluster.json").exists():
        local_cluster.down(folder)


@pytest.fixture
def mlflow_server(cluster):
    return cluster["mlflow"]


@pytest.fixture
def ray_head(cluster):
    return cluster["ray"]


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
    entries = [p for p in (tmp_path / "cache" / "corpora").iterdir() if p.is_dir()]
    assert len(entries) == 1  # encoded once, shared by the jobs


def test_the_ray_teardown_stops_only_what_it_started():
    """A process outside the fixture (another user's Ray, say) survives the teardown."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    mine = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env={**os.environ, local_cluster.MARKER: "t0k3n"}
    )
    try:
        # Popen returns once exec is past its point of no return, before the kernel has laid out
        # the new environment: /proc/PID/environ can read empty for a moment (seen in a full run)
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{mine.pid}/environ").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert local_cluster.processes_with(f"{local_cluster.MARKER}=t0k3n") == [mine.pid]
        local_cluster.stop_processes([mine.pid])
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
    trained = [line for line in (proc.stdout + proc.stderr).splitlines() if "nbw2v: trained" in line]
    assert len(trained) == 4 and all(f"[job {i}]" in "".join(trained) for i in range(4))  # each once, not folded
    children = assert_team_sweep(MlflowClient(mlflow_server), "team-ray")
    assert {r.data.tags["train.threads"] for r in children} == {"1"}  # Numba threads = the task's num_cpus
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir() if p.name.isdigit()) == ["0", "1", "2", "3"]


def test_a_postgres_outage_during_a_ray_sweep_is_journaled_and_replays_as_incomplete(cluster, tmp_path):
    """Issue 28.2 through Ray: PostgreSQL stopped (pg_ctl -m fast stop) once the parent is open,
    with the default logger.on_error=fail. The driver says the store failed and where the
    journals are (exit 3, no traceback); once PostgreSQL is back and the journals replayed, no
    run is RUNNING and the parent is FAILED, naming the configurations that never ran."""
    from nbw2v.app.cli import main

    pg_root, port = Path(cluster["pg_root"]), int(cluster["backend"].rsplit(":", 1)[1].split("/")[0])
    journals = tmp_path / "journals"
    ray = ["hydra/launcher=nbw2v_ray", f"hydra.launcher.ray.init.address={cluster['ray']}"]
    extra = ["logger.experiment=pg-down", f"logger.journal_dir={journals}", *ray]
    args = tiny_sweep_command(tmp_path, cluster["mlflow"], *extra, "hydra.launcher.ray.remote.num_cpus=1")  # fmt: skip
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}  # forwarded to the jobs: fail fast
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=tmp_path, env=env)
    try:
        for line in proc.stderr:
            if "MLflow parent run" in line:
                local_cluster.postgres_ctl(pg_root, "stop", mode="fast")
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=600) == 3, rest[-3000:]
    finally:
        local_cluster.postgres_ctl(pg_root, "start", port)
    assert "failed during the sweep" in rest and f"nbw2v replay {journals}" in rest, rest[-3000:]
    assert "Traceback" not in rest
    assert main(["replay", str(journals)]) == 0
    client = MlflowClient(cluster["mlflow"])
    runs = client.search_runs([client.get_experiment_by_name("pg-down").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("nbw2v.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert not any(r.info.status == "RUNNING" for r in runs)
    assert parent.info.status == "FAILED" and int(parent.data.tags["nbw2v.sweep_missing"]) == 4 - len(children) > 0
    assert parent.data.tags["nbw2v.sweep_missing_jobs"].count("model.window=") == 4 - len(children)


def _long_ray_sweep(ray_head, tmp_path, experiment, epochs, *extra) -> tuple[list[str], str]:
    """(command, store) of a 2 x 2 Ray sweep on a 150,000-word corpus for ``epochs`` epochs."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"w{i % 97} w{(i * 7) % 97} w{(i * 3) % 89} w{i % 13} w{i % 31}" for i in range(30000)))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ray = ["hydra/launcher=nbw2v_ray", f"hydra.launcher.ray.init.address={ray_head}"]
    ray.append("hydra.launcher.ray.remote.num_cpus=1")
    args = tiny_sweep_command(tmp_path, store, f"logger.experiment={experiment}", *ray, *extra)
    args = [f"train.epochs={epochs}" if a == "train.epochs=1" else a for a in args]
    return [f"data.corpus={corpus}" if a.startswith("data.corpus=") else a for a in args], store


def _sweep_killing_one_worker(ray_head, tmp_path, experiment, *extra):
    """A 2 x 2 Ray sweep (8 epochs: long enough to catch) whose first job with an open MLflow run
    has its Ray worker killed with SIGKILL, as an OOM kill or a lost node would. Returns
    (returncode, stdout, stderr, store)."""
    args, store = _long_ray_sweep(ray_head, tmp_path, experiment, 8, *extra)
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    killed, deadline = None, time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:  # a job whose MLflow run is open: kill its worker
            client = MlflowClient(store)
            exp = client.get_experiment_by_name(experiment)
            running = exp and client.search_runs(
                [exp.experiment_id], "attributes.status = 'RUNNING' and tags.`mlflow.parentRunId` != ''"
            )
        except Exception:  # noqa: BLE001  (the store is being created)
            continue
        if running:  # the job's own process: the Ray worker running it (nbw2v.process = host:pid:start)
            killed = int(running[0].data.tags["nbw2v.process"].split(":")[1])
            os.kill(killed, 9)
    out, err = proc.communicate(timeout=600)
    assert killed, "no Ray job process was seen"
    return proc.returncode, out, err, store


def test_a_ray_worker_killed_mid_job_is_retried_and_its_run_closed(ray_head, tmp_path):
    """kill -9 of a job's Ray worker: the job runs again (the profile's max_retries 1), the lost
    attempt's run (left RUNNING) is closed KILLED and named, the sweep exits 0 and its parent is
    FINISHED because every configuration has a FINISHED run."""
    code, out, err, store = _sweep_killing_one_worker(ray_head, tmp_path, "lost")
    assert code == 0, err[-3000:]
    assert "closed KILLED; a retry of the same configuration FINISHED" in err, err[-3000:]
    parents, children = sweep_runs(MlflowClient(store), "lost")
    assert parents[0].info.status == "FINISHED"
    assert sorted(r.info.status for r in children) == ["FINISHED"] * 4 + ["KILLED"]
    lost = next(r for r in children if r.info.status == "KILLED")
    # closed as of its last heartbeat, not at the sweep's end (issue 28.12)
    assert lost.info.end_time <= int(float(lost.data.tags["nbw2v.heartbeat"]) * 1000) + 1
    assert lost.info.end_time < parents[0].info.end_time


def test_a_ray_worker_lost_without_retries_ends_its_job_not_the_sweep(ray_head, tmp_path):
    """Issue 28.6: max_retries=0 used to end the driver with a 24-line traceback, no report and
    no closing line: the other jobs run, the report is written, the lost job is named."""
    code, out, err, store = _sweep_killing_one_worker(
        ray_head, tmp_path, "noretry", "hydra.launcher.ray.remote.max_retries=0"
    )
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "lost its Ray worker" in err, err[-3000:]
    assert "closed KILLED; not retried (hydra.launcher.ray.remote.max_retries=1" in err
    parents, children = sweep_runs(MlflowClient(store), "noretry")
    assert sorted(r.info.status for r in children) == ["FINISHED"] * 3 + ["KILLED"]
    assert parents[0].info.status == "FAILED"
    summary = next(line for line in out.splitlines() if line.startswith("nbw2v sweep: 4 run(s)"))
    assert "3 FINISHED, 1 KILLED" in summary and "not finished:" in summary
    assert (tmp_path / "multirun" / "report" / "runs.md").exists()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143)])  # SIGINT takes the same path (test_launchers)
def test_ctrl_c_or_sigterm_of_the_ray_driver_stops_the_jobs_with_their_checkpoints(ray_head, tmp_path, sig, code):
    """Issue 28.3: the signal goes to the driver's process group, as from a terminal or a
    scheduler. Each running job gets it (ray.cancel), writes its checkpoint and ends KILLED; the
    parent ends KILLED; one line and exit 130 / 143 (was: a traceback and exit 1, or Ray's C++
    handler aborting with 134 and a FAILED parent)."""
    args, store = _long_ray_sweep(ray_head, tmp_path, "stop", 3000)
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                            start_new_session=True)  # fmt: skip
    deadline, sent = time.monotonic() + 120, False
    while not sent and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            client = MlflowClient(store)
            exp = client.get_experiment_by_name("stop")
            running = exp and client.search_runs(
                [exp.experiment_id],
                # training: its loss curve has reached the store (metrics are sent every 5 s)
                "attributes.status = 'RUNNING' and tags.`mlflow.parentRunId` != '' and metrics.`loss/train` > 0",
            )
        except Exception:  # noqa: BLE001
            continue
        if running:  # interrupt the driver as a terminal (or a scheduler) does
            os.killpg(proc.pid, sig)
            sent = True
    out, err = proc.communicate(timeout=300)
    assert sent, f"no job was seen training: {err[-3000:]}"
    assert proc.returncode == code, err[-3000:]
    assert "Traceback" not in err and "*** SIGTERM received" not in err, err[-3000:]
    assert f"interrupted by {sig.name}" in err
    parents, children = sweep_runs(MlflowClient(store), "stop")
    assert parents[0].info.status == "KILLED"
    assert not any(c.info.status == "RUNNING" for c in children)
    # every job stopped while training kept its checkpoint (the one seen training, at least); a
    # job the signal reached before its first epoch (its start-up gradient check) has none to keep
    killed = [c for c in children if c.info.status == "KILLED"]
    trained = [c for c in killed if "in epoch" in c.data.tags.get("nbw2v.error", "")]
    assert trained and all("nbw2v.training.checkpoint" in c.data.tags for c in trained), (
        [c.data.tags.get("nbw2v.error") for c in killed],
        err[-4000:],
    )
    assert all(Path(c.data.tags["nbw2v.training.checkpoint"]).exists() for c in trained)
    # the rerun the line advises picks up each interrupted job from its checkpoint (then stopped
    # again: finishing 3000 epochs is not the point)
    rerun = subprocess.Popen([*args, "train.resume=auto", "logger.skip_finished=true"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, cwd=tmp_path, start_new_session=True)  # fmt: skip
    resumed, seen = set(), []
    try:
        for line in rerun.stdout:
            seen.append(line)
            if "nbw2v: resuming from" in line:
                resumed.add(line.split("resuming from ", 1)[1].split()[0])
                if len(resumed) == len(trained):
                    break
    finally:
        os.killpg(rerun.pid, signal.SIGTERM)
        rerun.communicate(timeout=300)
    assert resumed == {c.data.tags["nbw2v.training.checkpoint"] for c in trained}, "".join(seen)[-3000:]


def test_one_bad_value_never_takes_a_ray_sweep_down(ray_head, tmp_path):
    """Issue 28.1: a bad sweep value is refused before the parent opens (exit 2, one line, no run,
    no Ray job); a job failing at run time is a FAILED child, not a crashed and retried worker,
    and the other jobs, the report and the driver's last line (naming the failed jobs) follow."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ray = [
        "hydra/launcher=nbw2v_ray",
        f"hydra.launcher.ray.init.address={ray_head}",
        "hydra.launcher.ray.remote.num_cpus=1",
    ]
    base = tiny_sweep_command(tmp_path, store, "logger.experiment=bad-value", *ray)
    refused = subprocess.run([*base, "train.lr=0.025,50"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "nbw2v-train: error: train.lr=50.0: expected a number > 0.0 and <= 10.0" in refused.stderr
    assert "Traceback" not in refused.stderr and "Ray cluster with" not in refused.stderr  # before Ray
    assert not (tmp_path / "mlflow.db").exists()
    drop = ("data.min_count=1", "loss.K=2,5", "model.window=2,3")  # 2 jobs: one good, one failing at run time
    args = [a for a in base if a not in drop] + ["data.min_count=1,100000", "loss.K=2", "model.window=2"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WorkerCrashedError" not in proc.stderr and "Traceback" not in proc.stderr
    parents, children = sweep_runs(MlflowClient(store), "bad-value")
    assert sorted(c.info.status for c in children) == ["FAILED", "FINISHED"]  # one run each: no retry
    assert parents[0].info.status == "FAILED" and parents[0].data.tags["nbw2v.sweep_failed"] == "1"
    summary = next(line for line in proc.stdout.splitlines() if line.startswith("nbw2v sweep: 2 run(s)"))
    assert "1 FINISHED, 1 FAILED" in summary and "data.min_count=100000" in summary
    assert (tmp_path / "multirun" / "report" / "runs.md").exists()


def test_a_lost_ray_head_ends_the_sweep_failed_naming_what_finished(tmp_path):
    """Issue 28.4: kill -9 of the head's GCS once a job finished used to leave the parent RUNNING
    and the driver to die after 60 s with Ray's "Failed to connect to GCS". Its own head (this
    one is destroyed), a SQLite store."""
    marker = f"{local_cluster.MARKER}=lost-head-{os.getpid()}"
    address, temp_dir = local_cluster.start_ray(2, marker, tmp_path)
    try:
        args, store = _long_ray_sweep(address, tmp_path, "headless", 40)
        env = {**os.environ, "NBW2V_RAY_HEAD_LOST_S": "6"}
        pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, **pipe)
        lines, killed_at = [], None
        for line in proc.stdout:
            lines.append(line)
            if "(1 finished" in line and killed_at is None:  # one configuration done, others running
                for pid in local_cluster.processes_with(marker):
                    if "gcs_server" in Path(f"/proc/{pid}/comm").read_text():
                        os.kill(pid, signal.SIGKILL)
                killed_at = time.monotonic()
        proc.wait(timeout=120)
        out = "".join(lines)
        assert killed_at is not None, out[-3000:]
        assert proc.returncode == 1 and time.monotonic() - killed_at < 45, out[-3000:]  # Ray's own end: 60 s
        assert f"the Ray head at {address} was lost" in out and "Traceback" not in out, out[-3000:]
        line = next(x for x in out.splitlines() if "was lost" in x)
        assert "configuration(s) finished: model.window=" in line and "logger.skip_finished=true" in line
        parents, children = sweep_runs(MlflowClient(store), "headless")
        assert parents[0].info.status == "FAILED" and "was lost" in parents[0].data.tags["nbw2v.sweep_error"]
        assert "FINISHED" in {c.info.status for c in children}
        assert not any(c.info.status == "RUNNING" for c in children)
    finally:
        local_cluster.stop_processes(local_cluster.processes_with(marker))
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_ray_job_no_node_can_run_is_refused_before_the_parent(ray_head, tmp_path):
    """Issue 28.5: num_cpus=4 on the 2-CPU cluster used to wait forever."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(
        tmp_path,
        store,
        "hydra/launcher=nbw2v_ray",
        f"hydra.launcher.ray.init.address={ray_head}",
        "hydra.launcher.ray.remote.num_cpus=4",
    )
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode != 0 and time.monotonic() - start < 120, proc.stderr[-3000:]
    assert "hydra.launcher.ray.remote.num_cpus=4: no node of the Ray cluster has that many CPUs" in proc.stderr
    assert "has 2" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()  # no parent run


def test_unreachable_ray_head_is_a_quick_clear_error(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    address = f"127.0.0.1:{local_cluster.free_port()}"
    args = tiny_sweep_command(tmp_path, "sqlite:///mlflow.db", "hydra/launcher=nbw2v_ray",
                              f"hydra.launcher.ray.init.address={address}")  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode != 0
    assert f"no Ray cluster answers at hydra.launcher.ray.init.address={address}" in proc.stderr
    assert "ray start --head" in proc.stderr and time.monotonic() - start < 60
    assert not (tmp_path / "mlflow.db").exists()  # failed before any run was opened


def listening_addresses(pids: list[int]) -> set[str]:
    """The local addresses of the TCP sockets the processes ``pids`` listen on (from /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*") if Path(f"/proc/{pid}/fd").exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                raw = fields[1].split(":")[0]
                if len(raw) == 8:  # IPv4, little-endian
                    found.add(".".join(str(int(raw[i : i + 2], 16)) for i in (6, 4, 2, 0)))
                else:  # IPv6: 4 little-endian words; ::ffff:a.b.c.d keeps the IPv4 in the last
                    last = raw[24:]
                    v4 = ".".join(str(int(last[i : i + 2], 16)) for i in (6, 4, 2, 0))
                    found.add(v4 if raw[:24] == "0000000000000000FFFF0000" else raw)
    return found


def test_local_cluster_up_and_down_in_one_command(cluster):
    """experiments/local_cluster.py (the module's cluster): up gave an env file for the sweep, a
    healthy MLflow server, a Ray GCS; down stops everything it started and removes its state.
    Last in this file: it brings the module's cluster down."""
    from nbw2v.app.launchers import check_ray_address

    folder = cluster["dir"]
    env = (folder / "cluster.env").read_text()
    assert f"MLFLOW_TRACKING_URI={cluster['mlflow']}" in env and f"RAY_ADDRESS={cluster['ray']}" in env
    urllib.request.urlopen(cluster["mlflow"] + "/health", timeout=5).read()
    check_ray_address(cluster["ray"])  # answers as a Ray GCS
    pids = local_cluster.processes_with(cluster["marker"])
    assert len(pids) >= 3  # the mlflow server and Ray's daemons
    # issue 28.10: loopback only (Ray used to listen on every interface and rewrite 127.0.0.1 as the
    # machine's external address); PostgreSQL too (listen_addresses)
    listening = listening_addresses(pids)
    assert listening and listening <= {"127.0.0.1"}, listening
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0" in env
    assert local_cluster.main(["down", "--dir", str(folder)]) == 0
    assert not any(Path(f"/proc/{p}/status").exists() and "State:\tZ" not in Path(f"/proc/{p}/status").read_text()
                   for p in pids)  # fmt: skip
    assert not (folder / "cluster.json").exists() and not Path(cluster["pg_root"]).exists()
    assert not (folder / "cluster.env").exists()  # no stale addresses to source (issue 28.11)
    with pytest.raises(OSError):
        urllib.request.urlopen(cluster["mlflow"] + "/health", timeout=2)
    assert local_cluster.main(["down", "--dir", str(folder)]) == 0  # a second down: nothing to stop is success
