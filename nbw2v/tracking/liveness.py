"""Is the process behind a RUNNING MLflow run still alive?

SIGKILL, an OOM kill or a lost node cannot be caught: the run stays RUNNING in MLflow. Every
nbw2v run carries the tag ``nbw2v.process`` = ``host:pid:start-ticks`` (the start time tells a
reused pid apart) and a ``nbw2v.heartbeat`` tag (unix seconds) refreshed with every metrics
flush. :func:`verdict` decides from them; ``nbw2v runs --stale [--close]`` lists and closes.
Also: SIGTERM, which by default kills Python without cleanup, becomes an exception here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

TAG_PROCESS, TAG_HEARTBEAT = "nbw2v.process", "nbw2v.heartbeat"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised like Ctrl-C so every ``finally`` runs; says which signal
    (``sigterm``: exit code 143, else 130) and the checkpoint that kept the work, if any."""

    def __init__(self, message: str = "", checkpoint=None, sigterm: bool = False):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.sigterm = sigterm


class Terminated(Interrupted):
    """SIGTERM (a scheduler's stop, ``kill``)."""

    def __init__(self, message: str = "terminated (SIGTERM)"):
        super().__init__(message, sigterm=True)


def is_sigterm(exc: BaseException) -> bool:
    return bool(getattr(exc, "sigterm", False))


#: set once this process was interrupted (Ctrl-C or SIGTERM): exit handlers (a sweep's parent
#: run) then end KILLED rather than FAILED
INTERRUPTED = {"signal": ""}


def mark_interrupted(how: str) -> None:
    INTERRUPTED["signal"] = how


def _raise_terminated(signum, frame):
    mark_interrupted("SIGTERM")
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises():
    """While inside: SIGTERM raises ``Terminated`` in the main thread (elsewhere: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_HELD: list[int] = []


def _hold(signum, frame):
    _HELD.append(signum)


def hold_interrupts() -> None:
    """Until :func:`release_interrupts`: Ctrl-C / SIGTERM are recorded, not raised. For Hydra
    composing the config: omegaconf turns an exception raised inside it into an error and a
    traceback of its own (exit 1 instead of one line and 130 / 143)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _hold)


def release_interrupts(deliver: bool = True) -> None:
    """nbw2v's code runs again (the task function, a sweep's start): Ctrl-C and SIGTERM raise
    again, and one that came while held is raised now (``deliver``). Nothing to do where none
    were held."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not _hold:
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)
    if _HELD and deliver:
        first = _HELD[0]
        _HELD.clear()
        if first == signal.SIGTERM:
            _raise_terminated(first, None)
        raise KeyboardInterrupt()


class interrupts_deferred:
    """Hold Ctrl-C / SIGTERM during a critical section (closing a run, compiling kernels) and
    deliver them when it ends; ``notice``: said once when one arrives (a section that may last)."""

    def __init__(self, notice: str = ""):
        self.notice = notice

    def _hold(self, signum, frame):
        if self.notice and not self.pending:
            print(self.notice, file=sys.stderr, flush=True)
        self.pending.append(signum)

    def __enter__(self):
        self.pending, self.previous = [], {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._hold)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if self.pending and exc[0] is None:
            raise Terminated() if self.pending[0] == signal.SIGTERM else KeyboardInterrupt()
        return False


def _start_ticks(pid: int) -> str:
    """The process start time in clock ticks since boot (Linux); '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def process_alive(identity: str) -> bool | None:
    """True/False for a process of this host; None for another host (unknowable from here)."""
    parts = identity.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    host, pid, ticks = parts[0], int(parts[1]), parts[2]
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    return not ticks or _start_ticks(pid) in ("", ticks)


def heartbeat_s(tags: dict[str, str]) -> float | None:
    """When the run's process was last heard of (unix seconds; None: no readable heartbeat)."""
    try:
        return float(tags[TAG_HEARTBEAT])
    except (KeyError, ValueError):
        return None


def verdict(tags: dict[str, str], max_age_s: float, started_s: float, now: float | None = None) -> str:
    """'' if the run's process looks alive, else why the run is stale: its process (on this
    host) is gone, or (elsewhere) no heartbeat, nor a start, for ``max_age_s``."""
    now = time.time() if now is None else now
    identity = tags.get(TAG_PROCESS, "")
    alive = process_alive(identity) if identity else None
    if alive is False:
        return f"its process ({identity.rsplit(':', 1)[0]}) is gone"
    if alive:
        return ""
    last = max(heartbeat_s(tags) or 0.0, started_s)
    age = now - last
    if age > max_age_s:
        where = f" (process {identity.rsplit(':', 1)[0]})" if identity else ""
        return f"no sign of life for {age / 60:.0f} min{where}"
    return ""
