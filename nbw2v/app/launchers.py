"""Checks of a cluster launcher before a sweep opens any run: each wrong setting is one line
naming what was tried and the fix, within seconds (Ray's own connect waits minutes, or forever
on a port that answers but is not Ray; submitit fails with a traceback after the parent run
is open).

* SLURM (``hydra/launcher=nbw2v_slurm``): ``sbatch`` and ``srun`` must be on the PATH.
* Ray, ``address: auto``: a cluster of this machine (``ray start`` writes its address to
  ``<tmp>/ray/ray_current_cluster``; a head started with ``--temp-dir`` elsewhere needs its
  address given) or ``$RAY_ADDRESS``.
* Ray, ``host:port``: the port must answer, and answer as Ray's GCS does (gRPC: HTTP/2, whose
  server answers a client's connection preface with a SETTINGS frame); the dashboard (8265)
  and other services answer HTTP/1 or nothing.
* Ray, ``http(s)://``: the dashboard / job-submission address, which ``ray.init`` cannot use.
* Ray on loopback: Ray rewrites a node address of 127.0.0.1 as the machine's external one, and a
  driver connecting to a head bound to the loopback interface only (``make cluster-up``) waits
  60 s for an address nothing listens on. When the head answers on 127.0.0.1 but not on the
  external address, the driver runs in Ray's single-machine mode
  (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), which keeps it on 127.0.0.1 as well.
* Ray, ``ray://host:port`` (Ray Client): refused. Tried against a local head's client server,
  the connection ends in "Initialization failure from server" (the sweep hands every job a
  runtime environment with a worker set-up hook, which the client path does not take); run the
  sweep from a machine of the cluster with the GCS address instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

#: an HTTP/2 client's connection preface and an empty SETTINGS frame
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS = 0x4


class LauncherError(SystemExit):
    """A launcher setting that cannot work; its message is the one line to print."""

    def __init__(self, message: str):
        super().__init__(f"nbw2v sweep: {message}")


def check_slurm(which=shutil.which, launcher: str = "nbw2v_slurm") -> None:
    """``sbatch`` and ``srun`` on the PATH (submitit's SLURM executor calls them); ``launcher``:
    the ``hydra/launcher`` the user chose, named in the message."""
    missing = [tool for tool in ("sbatch", "srun") if which(tool) is None]
    if missing:
        raise LauncherError(
            f"hydra/launcher={launcher}: {' and '.join(missing)} not found on the PATH: run the sweep on a SLURM "
            "login node, or use hydra/launcher=submitit_local (this machine) or nbw2v_ray"
        )


def ray_cluster_file() -> Path:
    """Where ``ray start`` records the address of this machine's cluster ($RAY_TMPDIR or the
    system's temporary folder, then ray/)."""
    return Path(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()) / "ray" / "ray_current_cluster"


def _speaks_grpc(host: str, port: int, timeout: float) -> bool:
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.settimeout(timeout)
        conn.sendall(_H2_PREFACE)
        header = b""
        try:
            while len(header) < 9:
                chunk = conn.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
        except OSError:  # no answer in time
            return False
    return len(header) == 9 and header[3] == _SETTINGS


def check_ray_address(
    address: str, timeout: float = 5.0, cluster_file: Path | None = None, key: str = "hydra.launcher.ray.init.address"
) -> None:
    """Fail in seconds, naming the address, unless it can be a Ray cluster (module docstring)."""
    if address in ("", "auto"):
        # RAY_ADDRESS=auto names no address: the same as unset
        from_env = os.environ.get("RAY_ADDRESS", "auto")
        if from_env not in ("", "auto"):
            check_ray_address(from_env, timeout, cluster_file, key="RAY_ADDRESS")
        elif not (cluster_file or ray_cluster_file()).exists():
            raise LauncherError(
                f"{key}=auto but no Ray cluster runs on this machine and RAY_ADDRESS is not set: start one with "
                "`ray start --head`, or give the head's GCS address: RAY_ADDRESS=host:6379"
            )
        return
    if address.startswith(("http://", "https://")):
        raise LauncherError(
            f"{key}={address} is an HTTP address (the dashboard or job submission); the launcher connects to the "
            "head's GCS: host:6379 (ray start --head --port)"
        )
    if address.startswith("ray://"):
        raise LauncherError(
            f"{key}={address}: Ray Client addresses are not supported by nbw2v sweeps (the jobs' runtime "
            "environment needs a driver inside the cluster); run the sweep on a machine of the cluster with the "
            "head's GCS address, host:6379"
        )
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # a form Ray itself will judge
    try:
        grpc = _speaks_grpc(host, int(port), timeout)
    except OSError as exc:
        raise LauncherError(
            f"no Ray cluster answers at {key}={address} ({exc}); start one with `ray start --head` there, or fix "
            "RAY_ADDRESS / the address"
        ) from None
    if not grpc:
        raise LauncherError(
            f"{key}={address} answers, but not as a Ray head (its GCS speaks gRPC; this port does not: the "
            "dashboard's 8265 or another service?); give the GCS port, 6379 unless `ray start --head --port` "
            "said otherwise"
        )
    keep_on_loopback(host, int(port), timeout)


#: Ray's switch for its single-machine mode (every address on 127.0.0.1): read when Ray is imported
ENV_RAY_LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _external_ip() -> str | None:
    """The address of this machine's default route, as Ray finds its node address (no packet sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only
            return probe.getsockname()[0]
        except OSError:
            return None


def keep_on_loopback(host: str, port: int, timeout: float = 2.0) -> bool:
    """A head at 127.0.0.1:port that does not answer on the machine's external address is bound
    to the loopback interface: put this process (before it imports Ray) in Ray's single-machine
    mode, or Ray would connect through the external address and wait 60 s. Returns True if set."""
    if host not in ("127.0.0.1", "localhost", "::1") or ENV_RAY_LOOPBACK in os.environ:
        return False
    external = _external_ip()
    if not external or external.startswith("127."):
        return False
    try:
        socket.create_connection((external, port), timeout=timeout).close()
        return False  # reachable there too: Ray's own rewriting works
    except OSError:
        os.environ[ENV_RAY_LOOPBACK] = "0"
        return True


#: set (to 1) for a Ray cluster whose autoscaler adds nodes larger than any running now
ENV_AUTOSCALING = "NBW2V_RAY_AUTOSCALING"


def check_ray_fit(num_cpus: float | None, nodes: list[dict]) -> None:
    """A job asking more CPUs than any node has would wait forever (Ray's autoscaler repeats "No
    available node types can fulfill resource request" every 35 s): refuse it, naming the
    setting and the largest node. ``nodes``: ``ray.nodes()``."""
    if not num_cpus or os.environ.get(ENV_AUTOSCALING, "0") not in ("", "0"):
        return
    alive = [n.get("Resources", {}).get("CPU", 0.0) for n in nodes if n.get("Alive")]
    largest = max(alive, default=0.0)
    if num_cpus > largest:
        raise LauncherError(
            f"hydra.launcher.ray.remote.num_cpus={num_cpus:g}: no node of the Ray cluster has that many CPUs (the "
            f"largest of its {len(alive)} node(s) has {largest:g}), so no job could ever start; ask for at most "
            f"{largest:g}, or set {ENV_AUTOSCALING}=1 if the cluster's autoscaler adds larger nodes"
        )
