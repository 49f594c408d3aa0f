"""Cluster launchers checked before a sweep opens any run: a missing SLURM, a Ray address that
answers but is not Ray, an HTTP address, "auto" with no cluster; each one line, in seconds."""

import socket
import threading
import time

import pytest
from conftest import tiny_sweep_command

from nbw2v.app.launchers import (
    ENV_AUTOSCALING,
    ENV_RAY_LOOPBACK,
    LauncherError,
    _external_ip,
    check_ray_address,
    check_ray_fit,
    check_slurm,
)


@pytest.fixture(autouse=True)
def _ray_mode_restored(monkeypatch):
    """check_ray_address may put this process in Ray's single-machine mode: undone after each test."""
    monkeypatch.setenv(ENV_RAY_LOOPBACK, "")
    monkeypatch.delenv(ENV_RAY_LOOPBACK)


def _server(reply: bytes):
    """A listener on 127.0.0.1 that answers every connection with ``reply`` (b"": says nothing)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(64)
                if reply:
                    conn.sendall(reply)
                else:
                    stop.wait(10)  # holds the connection open, silent

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def listener(request):
    sock, stop = _server(request.param)
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    sock.close()


@pytest.mark.parametrize("listener", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b""], indirect=True, ids=["http1", "silent"])
def test_a_port_that_answers_but_is_not_ray_fails_in_seconds(listener):
    start = time.monotonic()
    with pytest.raises(LauncherError, match=f"address={listener} answers, but not as a Ray head"):
        check_ray_address(listener, timeout=1.0)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("listener", [b"\x00\x00\x06\x04\x00\x00\x00\x00\x00"], indirect=True, ids=["h2"])
def test_a_port_that_answers_http2_settings_passes(listener):
    import os

    check_ray_address(listener, timeout=1.0)  # what Ray's GCS (gRPC) answers first
    # issue 28.10: it listens on 127.0.0.1 only, so the driver stays on loopback (Ray would otherwise
    # rewrite 127.0.0.1 as the external address and wait 60 s for a GCS there)
    external = _external_ip()
    if external and not external.startswith("127."):
        assert os.environ.get(ENV_RAY_LOOPBACK) == "0"


def test_http_and_auto_addresses(tmp_path, monkeypatch):
    with pytest.raises(LauncherError, match="is an HTTP address .* host:6379"):
        check_ray_address("http://127.0.0.1:8265")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(LauncherError, match="auto but no Ray cluster runs on this machine"):
        check_ray_address("auto", cluster_file=tmp_path / "none")
    (tmp_path / "ray_current_cluster").write_text("127.0.0.1:6379")
    check_ray_address("auto", cluster_file=tmp_path / "ray_current_cluster")
    # RAY_ADDRESS is checked as an address given (was: accepted unseen, then Ray's 60-s wait)
    monkeypatch.setenv("RAY_ADDRESS", dead := f"127.0.0.1:{_free_port()}")
    with pytest.raises(LauncherError, match=f"no Ray cluster answers at RAY_ADDRESS={dead}"):
        check_ray_address("auto", cluster_file=tmp_path / "none")
    with pytest.raises(LauncherError, match="Ray Client addresses are not supported .* host:6379"):
        check_ray_address("ray://127.0.0.1:10001")
    # RAY_ADDRESS=auto names no cluster: refused at once, as when unset (issue 28.7: was 11 s and a FAILED parent)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(LauncherError, match="auto but no Ray cluster runs on this machine"):
        check_ray_address("auto", cluster_file=tmp_path / "none")


def test_a_job_no_node_can_run_is_refused(monkeypatch):
    """Issue 28.5: num_cpus above every node's CPUs would wait forever; refused naming the key
    and the largest node (dead nodes do not count), unless the cluster autoscales."""
    nodes = [{"Alive": True, "Resources": {"CPU": 2.0}}, {"Alive": False, "Resources": {"CPU": 64.0}}]
    monkeypatch.delenv(ENV_AUTOSCALING, raising=False)
    check_ray_fit(2, nodes)
    with pytest.raises(LauncherError, match=r"num_cpus=4: no node .*the largest of its 1 node\(s\) has 2\b"):
        check_ray_fit(4, nodes)
    monkeypatch.setenv(ENV_AUTOSCALING, "1")
    check_ray_fit(4, nodes)


def test_missing_slurm_is_one_line_naming_the_tools():
    with pytest.raises(LauncherError, match="sbatch and srun not found on the PATH"):
        check_slurm(which=lambda tool: None)
    check_slurm(which=lambda tool: f"/usr/bin/{tool}")


def test_the_slurm_message_names_the_launcher_chosen():
    """Issue 28.8: hydra/launcher=submitit_slurm was told about nbw2v_slurm."""
    with pytest.raises(LauncherError, match="hydra/launcher=submitit_slurm: sbatch and srun not found"):
        check_slurm(which=lambda tool: None, launcher="submitit_slurm")


def test_a_sweep_without_slurm_stops_before_any_run(tmp_path, monkeypatch):
    """End to end: hydra/launcher=nbw2v_slurm on a machine without SLURM: exit 1 with the line,
    no MLflow store created, no parent run."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    import os
    import subprocess

    bin_dir = tmp_path / "bin"  # a PATH with python's folder but no srun/sbatch
    args = tiny_sweep_command(tmp_path, "sqlite:///mlflow.db", "hydra/launcher=nbw2v_slurm")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.path.dirname(args[0])}"}
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert proc.returncode != 0
    assert "nbw2v sweep: hydra/launcher=nbw2v_slurm: sbatch and srun not found on the PATH" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "mlflow.db").exists()


def test_a_refused_sbatch_is_one_line_and_a_failed_parent(tmp_path):
    """Issue 28.8: sbatch refusing the array ("Invalid partition") used to end in submitit's
    FailedJobError traceback with an empty FAILED parent. A fake sbatch on the PATH."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    import os
    import subprocess

    from mlflow import MlflowClient

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(
        "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n"
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).chmod(0o755)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(tmp_path, store, "hydra/launcher=submitit_slurm", "hydra.launcher.partition=nope")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "FailedJobError" not in proc.stderr
    line = next(x for x in proc.stderr.splitlines() if "sbatch refused the sweep's jobs" in x)
    assert "Invalid partition name specified" in line and "hydra.launcher.partition" in line
    assert "4 did not: model.window=2 loss.K=2" in line
    client = MlflowClient(store)
    (parent,) = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    assert parent.info.status == "FAILED" and "Invalid partition" in parent.data.tags["nbw2v.sweep_error"]


@pytest.mark.slow
def test_a_killed_submitit_job_ends_its_job_not_the_sweep(tmp_path):
    """Issue 28.8: a submitit_local job killed with SIGKILL used to end the sweep with
    UncompletedJobError and no report: the other job finishes, the lost one's run is closed
    KILLED with the reason, the report is written and the last line names it."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    import os
    import subprocess

    from conftest import sweep_runs
    from mlflow import MlflowClient

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"w{i % 97} w{(i * 7) % 97} w{(i * 3) % 89} w{i % 13}" for i in range(30000)))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(tmp_path, store, "hydra/launcher=submitit_local", "loss.K=2", "train.epochs=300")
    args = [f"data.corpus={corpus}" if a.startswith("data.corpus=") else a for a in args if a != "train.epochs=1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    killed, deadline = None, time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            client = MlflowClient(store)
            exp = client.get_experiment_by_name("nbw2v")
            running = exp and client.search_runs(
                [exp.experiment_id], "attributes.status = 'RUNNING' and tags.`mlflow.parentRunId` != ''"
            )
        except Exception:  # noqa: BLE001  (the store is being created)
            continue
        if running and "nbw2v.process" in running[0].data.tags:
            killed = int(running[0].data.tags["nbw2v.process"].split(":")[1])
            os.kill(killed, 9)
    out, err = proc.communicate(timeout=600)
    assert killed, err[-3000:]
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "the job ended without a result" in err and "UncompletedJobError" in err
    parents, children = sweep_runs(MlflowClient(store), "nbw2v")
    assert sorted(c.info.status for c in children) == ["FINISHED", "KILLED"]
    assert parents[0].info.status == "FAILED"
    summary = next(x for x in out.splitlines() if x.startswith("nbw2v sweep: 2 run(s)"))
    assert "1 FINISHED, 1 KILLED" in summary and "ended without closing the run" in summary
    assert list((tmp_path / "multirun").glob("**/report/runs.md"))


def test_an_interrupted_ray_driver_stops_every_job_and_exits_130_or_143(capsys, monkeypatch):
    """Issue 28.3 (the Ray run is in test_cluster.py): each job is cancelled (a running one
    then writes its checkpoint and ends KILLED), the driver waits for them and exits 130 for
    Ctrl-C, 143 for SIGTERM, with one line saying how to continue."""
    from nbw2v.app.ray_launcher import stop_jobs
    from nbw2v.tracking.liveness import INTERRUPTED, Terminated

    class FakeRay:
        def __init__(self):
            self.cancelled, self.waited = [], None

        def cancel(self, ref):
            self.cancelled.append(ref)

        def wait(self, refs, num_returns, timeout):
            self.waited = (list(refs), num_returns)

    for exc, code in ((KeyboardInterrupt(), 130), (Terminated(), 143)):
        monkeypatch.setitem(INTERRUPTED, "signal", "")  # restored after the test
        ray = FakeRay()
        with pytest.raises(SystemExit) as stopped:
            stop_jobs(["a", "b"], exc, ray)
        assert stopped.value.code == code and ray.cancelled == ["a", "b"] and ray.waited == (["a", "b"], 2)
        assert INTERRUPTED["signal"] == ("SIGTERM" if code == 143 else "SIGINT")
        assert "train.resume=auto logger.skip_finished=true" in capsys.readouterr().err
