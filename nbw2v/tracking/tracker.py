"""Experiment tracking: the one adapter to MLflow, plus a null and an in-memory tracker.

``train`` and the experiment runner talk to a tracker only through ``Tracker``'s methods.
``MlflowTracker`` uses ``MlflowClient`` with an explicit run id (no global active run, so
nothing leaks between runs or processes), buffers step metrics and flushes them with one
``log_batch`` call at most every ``flush_every_s`` seconds (a ``log_metric`` per step costs
tens of ms on a SQL store), and always ends the run: FINISHED, FAILED or KILLED.
MLflow is imported when an MLflow tracker is made (and by the modules that read a store: the
sweep report, the offline journal's replay, the logged model).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from nbw2v.tracking import redact, ui_views
from nbw2v.tracking.redact import move_credentials_to_env

RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
#: environment set by the sweep callback for the jobs of a multirun (never MLFLOW_RUN_ID:
#: MLflow would then ignore the parent and log into that run)
ENV_PARENT, ENV_SWEEP = "NBW2V_PARENT_RUN_ID", "NBW2V_SWEEP_ID"
#: the Optuna study a trial belongs to (tag nbw2v.optuna_study on its run)
ENV_STUDY = "NBW2V_OPTUNA_STUDY"


#: how long MLflow calls keep retrying while a SQLite store is locked (env: NBW2V_LOCK_WAIT_S)
LOCK_WAIT_S = 60.0


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def with_retry(fn, *args, wait_s: float | None = None, **kwargs):
    """Call an MLflow client method, retrying while a SQLite store is locked by another process
    (backoff up to 5 s a step, ``LOCK_WAIT_S`` = about a minute in all, at start-up as mid-run);
    any other error is raised at once."""
    wait_s = float(os.environ.get("NBW2V_LOCK_WAIT_S", LOCK_WAIT_S)) if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (MlflowException wraps sqlalchemy's OperationalError)
            if not _is_locked(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def quiet_library_logging() -> None:
    """MLflow's and Alembic's INFO lines on store creation ("Creating initial MLflow database
    tables...", "Context impl SQLiteImpl") and matplotlib's font-cache line are noise at default
    verbosity, and so is the "Downloading artifacts" bar of logging the model; NBW2V_VERBOSE=1
    keeps them."""
    import logging

    if os.environ.get("NBW2V_VERBOSE", "0") not in ("", "0"):
        return
    for name in ("mlflow", "alembic", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def probe_server(uri: str, timeout: float = 5.0, key: str = "logger.tracking_uri", advice: str = "") -> None:
    """``GET <uri>/health`` with the credentials of MLflow's environment variables; a clear
    ValueError (naming ``key``) when the server does not answer."""
    import base64
    import urllib.request

    request = urllib.request.Request(uri.rstrip("/") + "/health")
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user is not None and password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}")
    try:
        urllib.request.urlopen(request, timeout=timeout).read()
    except OSError as exc:
        advice = advice or "start it, fix the URI, or set logger.on_error=warn to train and journal the tracking here"
        cause = f"cannot reach the MLflow server ({redact.redact(str(exc))})"
        raise StoreUnreachable(f"{key}={uri}: {cause}; {advice}", cause) from None


def check_sqlite_writable(db: Path, key: str) -> None:
    """A SQLite store this process cannot write (its folder missing or read-only, the file
    read-only) is a permanent fault: one line in seconds (SQLAlchemy would retry "unable to
    open database file" for two minutes)."""
    if not db.parent.is_dir():
        raise ValueError(f"{key}: the directory {db.parent} does not exist")
    target = db if db.exists() else db.parent
    if not os.access(target, os.W_OK) or (db.exists() and not os.access(db.parent, os.W_OK)):
        what = "the store file" if target == db else "its folder"
        raise ValueError(
            f"{key}: {what} {target} is read-only for this process (SQLite writes the file and a journal beside "
            "it): give a writable place (logger.tracking_uri=sqlite:////writable/path/mlflow.db)"
        )


@contextlib.contextmanager
def store_creation_lock(db: Path | None):
    """Held while a new SQLite store is created and migrated (a file lock in the temporary
    directory, keyed on the store's path; not beside the store): a second process waits, then
    opens the finished store. An existing store needs no lock."""
    if db is None or (db.exists() and db.stat().st_size > 0):
        yield
        return
    import hashlib
    import tempfile

    from filelock import FileLock

    key = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]
    with FileLock(str(Path(tempfile.gettempdir()) / f"nbw2v-store-{key}.lock"), timeout=300):
        yield


#: a store whose files did not change for this long is no longer being created by anyone
CREATION_SETTLE_S = 3.0


def _store_stamp(db: Path) -> tuple:
    """Size and time of the SQLite file and its journals: changes while anyone writes it."""
    stamp = []
    for path in (db, db.with_name(db.name + "-journal"), db.with_name(db.name + "-wal")):
        try:
            st = path.stat()
            stamp.append((st.st_size, st.st_mtime_ns))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def open_client(uri: str, wait_s: float | None = None):
    """An ``MlflowClient`` on ``uri`` whose store is open (created and migrated if new).

    Our processes take :func:`store_creation_lock` around this, but a process that is not ours
    (``mlflow ui``, a script's ``MlflowClient``) may create the same new SQLite store at the same
    moment, and MLflow's creation then fails in either, in many ways ("table metrics already
    exists", "No such index", "no such column: spans.dimension_attributes", Alembic's "expected
    to match one row"). A failure is retried while the store's files keep changing (someone is
    creating it; ``CREATION_SETTLE_S``): the finished store then opens. Once nobody writes it,
    a migration left half-done is cleared (:func:`_drop_migration_leftovers`) and tried again.
    A failure on files that did not change (a corrupt file, a foreign database) is raised at once."""
    from mlflow import MlflowClient

    db = sqlite_path(uri)
    wait_s = float(os.environ.get("NBW2V_LOCK_WAIT_S", LOCK_WAIT_S)) if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    stamp, changed_at = (_store_stamp(db) if db else None), -float("inf")
    while True:
        try:
            client = with_retry(MlflowClient, tracking_uri=uri)
            with_retry(client.search_experiments, max_results=1)  # opens (creates, migrates) the store
            return client
        except Exception:  # noqa: BLE001  (SQLAlchemy's and Alembic's errors, MlflowException, KeyError)
            now = time.monotonic()
            if db is None or now > deadline:
                raise
            new = _store_stamp(db)
            if new != stamp:
                stamp, changed_at = new, now
            if now - changed_at > CREATION_SETTLE_S:
                if not _drop_migration_leftovers(db):
                    raise
                stamp, changed_at = _store_stamp(db), time.monotonic()
            time.sleep(0.25)


def _drop_migration_leftovers(db: Path) -> bool:
    """Drop the scratch tables (``_alembic_tmp_<table>``) that an Alembic batch migration of
    SQLite leaves when it fails half-way (here: two processes creating one store at once); with
    them in place every later migration fails with "table _alembic_tmp_... already exists".
    Called only once nobody has written the store for ``CREATION_SETTLE_S``. True if any were."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_alembic\\_tmp\\_%' ESCAPE '\\'"
            )]  # fmt: skip
            for name in names:
                conn.execute(f'DROP TABLE "{name}"')
            conn.commit()
    except sqlite3.Error:
        return False
    return bool(names)


class StoreUnreachable(ValueError):
    """The tracking server does not answer; ``cause`` says why without the advice."""

    def __init__(self, message: str, cause: str):
        super().__init__(message)
        self.cause = cause


def fail_fast_on_http() -> None:
    """MLflow's HTTP client retries a dead server for minutes (7 retries, backoff): 2 retries and
    a 15-s timeout instead, unless the environment says otherwise."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")


class NoStore(ValueError):
    """A command that reads a store was pointed at one that does not exist (it is not created)."""


def open_store(tracking_uri: str = "", key: str = "--tracking-uri"):
    """An ``MlflowClient`` for a command that reads or amends an existing store (``nbw2v runs``,
    ``report``, ``eval``/``neighbors``/``compare`` of a run id, closing runs): a server is asked
    for ``/health`` first (5 s: one line, not MLflow's minutes of retries), and a SQLite file or
    store folder that is not there is refused (:class:`NoStore`) rather than created."""
    uri = resolve_tracking_uri(tracking_uri)
    fail_fast_on_http()
    if uri.startswith(("http://", "https://")):
        probe_server(uri, key=key, advice="start it or fix the URI (or MLFLOW_TRACKING_URI), then rerun")
    local = sqlite_path(uri) or (Path(uri[len("file://") :]) if uri.startswith("file://") else None)
    if local is not None and not local.exists():
        raise NoStore(
            f"no MLflow store at {local} (nothing was tracked there): run from the folder that holds it, or give "
            f"{key} (or MLFLOW_TRACKING_URI)"
        )
    quiet_library_logging()
    return open_client(uri)


class Tracker(Protocol):
    """All the experiment layer (:mod:`nbw2v.app.run`, :mod:`nbw2v.training.train`) asks of a tracker."""

    #: whether files (plots, the vectors, the model) are worth making for it
    keeps_artifacts: bool

    def connect(self) -> None: ...  # an unusable store fails here, before any work
    def find_finished(self, config_hash: str) -> str | None: ...  # a FINISHED run of this config
    def start(self, tags: dict[str, str] | None = None) -> None: ...
    def log_params(self, params: dict[str, Any]) -> None: ...
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...
    def set_tags(self, tags: dict[str, str]) -> None: ...
    def log_text(self, text: str, artifact_file: str) -> None: ...
    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None: ...
    def log_vectors_model(self, emb, probe_words: list[str], metrics: dict | None = None, step: int = 0) -> None: ...
    def flush(self) -> None: ...
    def tracking_stats(self) -> dict[str, float]: ...  # the tracker's own cost, as metrics
    def end(self, status: str = "FINISHED") -> None: ...
    def describe(self) -> str: ...  # where to look at the run
    def publish_view(self, key: str, state: dict) -> None: ...  # a view of the UI its links open


class NullTracker:
    """Logs nothing (``logger.name=none``)."""

    keeps_artifacts = False

    def connect(self) -> None:
        pass

    def find_finished(self, config_hash: str) -> str | None:
        return None

    def log_vectors_model(self, emb, probe_words, metrics=None, step=0) -> None:
        pass

    def flush(self) -> None:
        pass

    def tracking_stats(self) -> dict[str, float]:
        return {}

    def start(self, tags=None) -> None:
        pass

    def log_params(self, params) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def set_tags(self, tags) -> None:
        pass

    def log_text(self, text, artifact_file) -> None:
        pass

    def log_artifact(self, local_path, artifact_path=None) -> None:
        pass

    def end(self, status="FINISHED") -> None:
        pass

    def describe(self) -> str:
        return "nothing was logged (logger.name=none)"

    def publish_view(self, key, state) -> None:
        pass


class MemoryTracker(NullTracker):
    """Keeps everything in memory (tests, notebooks)."""

    keeps_artifacts = True

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[int | None, dict[str, float]]] = []
        self.tags: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.artifacts: list[tuple[str, str | None]] = []
        self.status: str | None = None

    def log_params(self, params) -> None:
        self.params.update(params)

    def log_metrics(self, metrics, step=None) -> None:
        self.metrics.append((step, dict(metrics)))

    def set_tags(self, tags) -> None:
        self.tags.update(tags)

    def log_text(self, text, artifact_file) -> None:
        self.texts[artifact_file] = text

    def log_artifact(self, local_path, artifact_path=None) -> None:
        self.artifacts.append((str(local_path), artifact_path))

    def end(self, status="FINISHED") -> None:
        self.status = status

    def series(self, name: str) -> list[float]:
        return [m[name] for _, m in self.metrics if name in m]


def resolve_tracking_uri(uri: str = "", base_dir: str | Path | None = None) -> str:
    """The tracking URI to use, with local stores made absolute (so every job of a multirun,
    whatever its working directory, writes to the same store).

    "" -> ``$MLFLOW_TRACKING_URI`` -> ``sqlite:///<base_dir>/mlflow.db`` (MLflow's own default
    file name). A plain path becomes ``file://`` (a directory store)."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI", "") or "sqlite:///mlflow.db"
    base = Path(base_dir or os.getcwd())
    if uri.startswith("sqlite:///"):
        db = uri[len("sqlite:///") :]
        if db not in ("", ":memory:") and not Path(db).is_absolute():
            return f"sqlite:///{(base / db).resolve()}"
        return uri
    if "://" not in uri:
        return (base / uri).resolve().as_uri()
    return uri


def sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


class MlflowTracker:
    keeps_artifacts = True

    def __init__(
        self,
        tracking_uri: str = "",
        experiment: str = "nbw2v",
        run_name: str = "",
        flush_every_s: float = 5.0,
        parent_run_id: str | None = None,
        on_error: str = "fail",
        journal_dir: str = "",
        role: str = "",
    ) -> None:
        fail_fast_on_http()  # then journal
        # credentials never travel with the URI (params, messages, journal): MLflow's env vars
        self.tracking_uri, moved = move_credentials_to_env(resolve_tracking_uri(tracking_uri))
        if moved:
            print(f"nbw2v: WARNING: {redact.HINT}; using them from the environment for this run", file=sys.stderr)
        self.on_error = on_error
        self.journal_dir = journal_dir
        self.role = role  # "sweep" for a sweep's parent run (its journal is replayed after its children's)
        self.journal = None  # an offline Journal once the store failed
        self._journal_failed = False
        self.experiment_name = experiment
        self.run_name = run_name or None
        self.flush_every_s = flush_every_s
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self._buffer: list = []
        self._last_flush = time.monotonic()
        self.reopened_tags: dict[str, str] = {}  # the tags of a run continued by reopen()
        self.flush_seconds = 0.0  # time spent in MLflow calls for step metrics (overhead report)
        self.flush_calls = 0
        self._client = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def connect(self):
        """Open the store and get (or create) the experiment; clear errors for bad stores."""
        if self._client is not None:
            return self._client
        from mlflow.exceptions import MlflowException

        db = sqlite_path(self.tracking_uri)
        if db is not None:
            check_sqlite_writable(db, f"logger.tracking_uri={self.tracking_uri}")
        if self.tracking_uri.startswith(("http://", "https://")):
            probe_server(self.tracking_uri)
        quiet_library_logging()
        try:
            with store_creation_lock(db):  # two processes creating one SQLite store race in its migration
                client = open_client(self.tracking_uri)
            experiment = with_retry(client.get_experiment_by_name, self.experiment_name)
            if experiment is None:
                location = (db.parent / "mlartifacts").as_uri() if db is not None else None
                try:
                    self.experiment_id = with_retry(
                        client.create_experiment, self.experiment_name, artifact_location=location
                    )
                except MlflowException:  # created meanwhile by a parallel job
                    self.experiment_id = with_retry(client.get_experiment_by_name, self.experiment_name).experiment_id
            else:
                self.experiment_id = experiment.experiment_id
            ui_views.ensure_view(
                client, self.experiment_id, ui_views.SCORES_VIEW, ui_views.scores_view(), experiment, with_retry
            )
        except Exception as exc:  # noqa: BLE001  (MlflowException, or SQLAlchemy's for a corrupt file)
            first = redact.redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            hint = "; another process holds a write lock on it" if _is_locked(exc) else ""
            raise ValueError(
                f"logger.tracking_uri={self.tracking_uri}: cannot use this MLflow store: {first}{hint}"
            ) from None
        self._client = client
        return client

    def find_finished(self, config_hash: str) -> str | None:
        """Id of a FINISHED run with this config hash (under the same parent, in a sweep)."""
        client = self.connect()
        query = f"tags.`nbw2v.config_hash` = '{config_hash}' and attributes.status = 'FINISHED'"
        if self.parent_run_id:
            query += f" and tags.`mlflow.parentRunId` = '{self.parent_run_id}'"
        runs = with_retry(client.search_runs, [self.experiment_id], filter_string=query, max_results=1)
        return runs[0].info.run_id if runs else None

    def reopen(self, tags: dict[str, str]) -> bool:
        """Continue the run of this experiment carrying all ``tags`` (the most recent), as
        RUNNING again; False if there is none."""
        client = self.connect()
        query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
        runs = with_retry(client.search_runs, [self.experiment_id], filter_string=query, max_results=1)
        if not runs:
            return False
        self.run_id, self.run_name = runs[0].info.run_id, runs[0].info.run_name
        self.reopened_tags = dict(runs[0].data.tags)
        self.reopened_end_time = runs[0].info.end_time  # (ms) when it had ended, or None
        with_retry(client.update_run, self.run_id, status="RUNNING")
        return True

    def start(self, tags: dict[str, str] | None = None) -> None:
        from nbw2v.tracking.liveness import TAG_HEARTBEAT, TAG_PROCESS, process_identity

        tags = {k: redact.redact(v) for k, v in (tags or {}).items()}
        tags[TAG_PROCESS] = process_identity()  # `nbw2v runs --stale` tells a dead run from a live one
        tags[TAG_HEARTBEAT] = str(int(time.time()))
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        try:
            client = self.connect()
            run = with_retry(client.create_run, self.experiment_id, run_name=self.run_name, tags=tags)
        except Exception as exc:  # noqa: BLE001
            if self.on_error != "warn":
                raise
            self._go_offline(exc)
            self.journal.append(
                {"op": "start", "run_name": self.run_name, "tags": tags, "time": int(time.time() * 1000)}
            )
            return
        self.run_id = run.info.run_id
        self.run_name = run.info.run_name

    def _go_offline(self, exc: BaseException) -> None:
        from nbw2v.tracking.journal import OFFLINE_DIR, Journal, LostJournal

        text = exc.cause if isinstance(exc, StoreUnreachable) else str(exc).splitlines()[0] if str(exc) else ""
        text = text or type(exc).__name__
        reason = redact.redact(text if len(text) <= 200 else text[:197] + "...")
        try:
            self.journal = Journal(
                self.tracking_uri,
                self.experiment_name,
                self.run_id,
                self.run_name,
                root=self.journal_dir or OFFLINE_DIR,
                sweep_id=os.environ.get(ENV_SWEEP, ""),
                role=self.role,
            )
        except OSError as err:  # a full disk under the store and the journal alike
            self.journal = LostJournal()
            self._journal_failed = True
            print(
                f"nbw2v: WARNING: MLflow store {self.tracking_uri} failed ({reason}) and no journal can be written "
                f"({err.strerror}); tracking of this run is lost from here on, training goes on",
                file=sys.stderr,
            )
            return
        print(
            f"nbw2v: WARNING: MLflow store {self.tracking_uri} failed ({reason}); training "
            f"goes on, tracking is journaled to {self.journal.path}; replay it later with: nbw2v replay "
            f"{self.journal.path}",
            file=sys.stderr,
        )

    def _send(self, op: dict, call) -> None:
        """Make an MLflow call; once the store has failed, journal it instead (nothing is lost)."""
        if self.journal is None:
            try:
                call()
                return
            except Exception as exc:  # noqa: BLE001
                self._go_offline(exc)
        try:
            if op.get("op") == "log_artifact":
                op = {**op, "path": self.journal.keep_file(op["path"])}
            self.journal.append(op)
        except OSError as exc:  # the journal's disk is full too: training still goes on
            if not self._journal_failed:
                print(
                    f"nbw2v: WARNING: cannot write the tracking journal {self.journal.path} ({exc.strerror}); "
                    "tracking of this run is lost from here on, training goes on",
                    file=sys.stderr,
                )
            self._journal_failed = True

    def end(self, status: str = "FINISHED") -> None:
        if self.run_id is None and self.journal is None:
            return
        if status not in RUN_STATUSES:
            raise ValueError(f"status={status!r}: expected one of {RUN_STATUSES}")
        try:
            self.flush()
        finally:
            self._send(
                {"op": "end", "status": status, "time": int(time.time() * 1000)},
                lambda: with_retry(self._client.set_terminated, self.run_id, status=status),
            )

    # ---- logging --------------------------------------------------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, redact.redact(str(v))[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            chunk = items[i : i + 100]
            self._send(
                {"op": "log_batch", "params": [[p.key, p.value] for p in chunk]},
                lambda chunk=chunk: with_retry(self._client.log_batch, self.run_id, params=chunk),
            )

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._buffer.extend(Metric(k, float(v), now, int(step or 0)) for k, v in metrics.items())
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        if not self._buffer or (self.run_id is None and self.journal is None):
            return
        from mlflow.entities import RunTag

        from nbw2v.tracking.liveness import TAG_HEARTBEAT

        start = time.perf_counter()
        buffer, self._buffer = self._buffer, []
        for i in range(0, len(buffer), 1000):
            chunk = buffer[i : i + 1000]
            beat = [RunTag(TAG_HEARTBEAT, str(int(time.time())))] if i == 0 and self.journal is None else []
            self._send(
                {"op": "log_batch", "metrics": [[m.key, m.value, m.timestamp, m.step] for m in chunk]},
                lambda chunk=chunk, beat=beat: with_retry(
                    self._client.log_batch, self.run_id, metrics=chunk, tags=beat
                ),
            )
        self._last_flush = time.monotonic()
        self.flush_seconds += time.perf_counter() - start
        self.flush_calls += 1

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, redact.redact(str(v))[:5000]) for k, v in tags.items()]
        self._send(
            {"op": "log_batch", "tags": [[t.key, t.value] for t in items]},
            lambda: with_retry(self._client.log_batch, self.run_id, tags=items),
        )

    def log_text(self, text: str, artifact_file: str) -> None:
        text = redact.redact(text)  # config dumps, overrides, error reports: never a credential
        self._send(
            {"op": "log_text", "text": text, "artifact_file": artifact_file},
            lambda: with_retry(self._client.log_text, self.run_id, text, artifact_file),
        )

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        self._send(
            {"op": "log_artifact", "path": str(local_path), "artifact_path": artifact_path},
            lambda: with_retry(self._client.log_artifact, self.run_id, str(local_path), artifact_path),
        )

    def log_vectors_model(self, emb, probe_words: list[str], metrics: dict | None = None, step: int = 0) -> None:
        """The vectors as an MLflow model (pyfunc ``WordVectorsModel``: a DataFrame column
        ``word`` in; neighbours, cosines and the vector out; param ``topn``) with a signature, so
        the run shows it in the Models column and it can be registered; the first probe word
        in the vocabulary is its input example. It is named after the run, and ``metrics`` (the
        scores with their intervals) are linked to it, so the Models page ranks models by them.
        Best effort: a failure is a warning (the plain vectors file is logged anyway)."""
        if self.journal is not None or self.run_id is None:
            return
        import tempfile

        try:
            with tempfile.TemporaryDirectory() as tmp:
                native = emb.save(Path(tmp) / "model-vectors.npz", fmt="npz")  # fast to load when serving
                example = next((w for w in probe_words if w in emb), emb.words[0])
                name = self.run_name or "model"
                model_id = _log_vectors_model(
                    self.tracking_uri, self.experiment_id, self.run_id, Path(native), example, name
                )
            if metrics and model_id:
                from mlflow.entities import Metric

                now = int(time.time() * 1000)
                linked = [Metric(k, float(v), now, step, model_id=model_id) for k, v in metrics.items()]
                with_retry(self._client.log_batch, self.run_id, metrics=linked)
        except Exception as exc:  # noqa: BLE001
            print(f"nbw2v: WARNING: the vectors were not logged as an MLflow model ({exc})", file=sys.stderr)

    def tracking_stats(self) -> dict[str, float]:
        return {"perf/tracking_seconds": self.flush_seconds, "perf/tracking_flushes": self.flush_calls}

    # ---- finding the run ------------------------------------------------------------------------

    def ui_base(self, ui_url: str = "http://127.0.0.1:5000") -> str:
        """Where the UI of this store is: ``mlflow ui``'s default for a local store, else the server."""
        return ui_url if self.tracking_uri.startswith(("sqlite:", "file:")) else self.tracking_uri.rstrip("/")

    def publish_view(self, key: str, state: dict) -> None:
        """Keep the MLflow UI view ``key`` (:mod:`nbw2v.tracking.ui_views`) on this run's
        experiment, for the links :meth:`describe` prints; best effort."""
        if self._client is not None and self.journal is None and self.experiment_id:
            ui_views.ensure_view(self._client, self.experiment_id, key, state, call=with_retry)

    def describe(self, ui_url: str = "http://127.0.0.1:5000") -> str:
        """How to open this run: the ``mlflow ui`` command and the links to the runs table
        ("Model training" view, not MLflow 3's default traces view) and to the run."""
        if self.journal is not None:
            return (
                f"MLflow store {self.tracking_uri} failed: tracking journaled to {self.journal.path}\n"
                f"  send it when the store is back: nbw2v replay {self.journal.path}"
            )
        links = ui_views.ui_links(self.ui_base(ui_url), self.experiment_id, self.run_id)
        ui = (
            ui_command(self.tracking_uri)
            if self.tracking_uri.startswith(("sqlite:", "file:"))
            else f"{links['runs']} (the server's UI)"
        )
        return (
            f"MLflow run {self.run_name} ({self.run_id})\n  open the dashboard: {ui}\n"
            f"  runs table (scores, best first): {links['scores']}\n"
            f"  this run:   {links['run']}\n  its charts: {links['metrics']}"
        )


def ui_command(tracking_uri: str) -> str:
    """``mlflow ui`` for a local store, as a command that works when pasted: this environment's
    ``mlflow`` (after ``make run`` it is only in .venv/bin) and every part shell-quoted."""
    import shlex
    import shutil

    here = Path(sys.executable).parent / "mlflow"
    exe = "mlflow" if shutil.which("mlflow") == str(here) or not here.exists() else str(here)
    return f"{shlex.quote(exe)} ui --backend-store-uri {shlex.quote(tracking_uri)}"


def _log_vectors_model(
    tracking_uri: str, experiment_id: str, run_id: str, vectors_path: Path, word: str, name: str = "model"
) -> str | None:
    """Log the model; returns its model id (MLflow 3's logged models)."""
    import mlflow
    import pandas as pd
    from mlflow.models import Model, infer_signature

    from nbw2v import __version__
    from nbw2v.embeddings import Embeddings
    from nbw2v.tracking import pyfunc_model

    example = pd.DataFrame({"word": [word]})
    output = pyfunc_model.WordVectorsModel(Embeddings.load(vectors_path)).predict(None, example, {"topn": 10})
    signature = infer_signature(example, output, params={"topn": 10})
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment_id=experiment_id)  # the logged model belongs with its run
    info = Model.log(
        None,  # artifact_path: deprecated for name, still positional
        name=_model_name(name),
        flavor=mlflow.pyfunc,
        python_model=pyfunc_model.__file__,
        artifacts={"vectors": str(vectors_path)},
        signature=signature,
        input_example=example,
        pip_requirements=[f"nbw2v=={__version__}", "numpy", "pandas"],
        run_id=run_id,
    )
    return getattr(info, "model_id", None)


def _model_name(run_name: str) -> str:
    """A logged model's name from its run's: letters, digits, '-', '_' and '.' kept."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", run_name).strip("-") or "model"


def download_run_vectors(source: str, tracking_uri: str = "") -> tuple[Path, str]:
    """Local path of a run's vectors: ``runs:/<id>/<artifact path>`` or a bare run id (its
    ``vectors/`` artifact, whichever format was logged). Returns (path, run id)."""
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    client = open_store(uri)  # also quiets the "Downloading artifacts" bar in eval/neighbors/compare
    if source.startswith("runs:/"):
        run_id, _, artifact = source[len("runs:/") :].partition("/")
    else:
        run_id, artifact = source, ""
    artifact = artifact or "vectors"
    try:
        client.get_run(run_id)
        local = Path(client.download_artifacts(run_id, artifact))
    except MlflowException as exc:
        raise ValueError(f"{source}: not found in the MLflow store {uri} ({str(exc).splitlines()[0]})") from None
    if local.is_dir():
        files = sorted(p for p in local.iterdir() if p.suffix in (".bin", ".txt", ".npz", ".vec"))
        if not files:
            raise ValueError(f"{source}: the run has no vectors artifact under {artifact}/ (logger.save_vectors=none?)")
        local = files[0]
    return local, run_id


def is_run_reference(source: str) -> bool:
    """``runs:/...`` or a bare 32-hex MLflow run id that is not also a local file name."""
    if source.startswith("runs:/"):
        return True
    return len(source) == 32 and all(c in "0123456789abcdef" for c in source) and not Path(source).exists()


def load_vectors(source: str, tracking_uri: str = ""):
    """Embeddings from a vectors file (word2vec text/binary, nbw2v .npz) or an MLflow run
    (``runs:/<id>/<path>`` or a bare run id). Returns (Embeddings, run id or None)."""
    from nbw2v.embeddings import Embeddings

    run_id = None
    if is_run_reference(source):
        path, run_id = download_run_vectors(source, tracking_uri)
    else:
        path = Path(source)
        if not path.exists():
            raise ValueError(
                f"VECTORS {source}: no such file (a word2vec text/binary file, an nbw2v .npz, an MLflow run id "
                "or runs:/<run id>/vectors)"
            )
        if path.is_dir():
            raise ValueError(f"VECTORS {source}: a directory, not a vectors file (.bin, .txt, .vec, .npz, or .gz)")
    return Embeddings.load(path), run_id


def log_metrics_to_run(run_id: str, metrics: dict[str, float], tracking_uri: str = "") -> None:
    """Add metrics to an existing (finished) run, e.g. an evaluation done later."""
    from mlflow.entities import Metric

    client = open_store(tracking_uri)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])


def experiment_ids(client, experiment: str = "", where: str = "the store") -> list[str]:
    """The id of the experiment named ``experiment`` (refused when missing), or of every one."""
    if experiment:
        found = with_retry(client.get_experiment_by_name, experiment)
        if found is None:
            raise ValueError(f"--experiment {experiment}: no such experiment in {where}")
        return [found.experiment_id]
    return [e.experiment_id for e in with_retry(client.search_experiments)]


def running_runs(tracking_uri: str = "", experiment: str = "", max_age_s: float = 3600.0) -> list[dict]:
    """RUNNING runs of a store (one experiment, or all) with a verdict each: ``stale`` is the
    reason the run's process is gone ('' when it looks alive). A sweep parent lives as long as
    any of its children shows signs of life."""
    from nbw2v.tracking.liveness import TAG_HEARTBEAT, verdict

    uri = resolve_tracking_uri(tracking_uri)
    client = open_store(uri)
    ids = experiment_ids(client, experiment, uri)
    runs = with_retry(client.search_runs, ids, filter_string="attributes.status = 'RUNNING'", max_results=5000)
    children: dict[str, float] = {}
    for run in runs:  # latest sign of life per parent, from its running children
        parent = run.data.tags.get("mlflow.parentRunId")
        if parent:
            beat = float(run.data.tags.get(TAG_HEARTBEAT, 0) or 0)
            children[parent] = max(children.get(parent, 0.0), beat, run.info.start_time / 1000)
    out = []
    for run in runs:
        started = max(run.info.start_time / 1000, children.get(run.info.run_id, 0.0))
        out.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "experiment_id": run.info.experiment_id,
                "start_time": run.info.start_time / 1000,
                "process": run.data.tags.get("nbw2v.process", ""),
                "parent": run.data.tags.get("mlflow.parentRunId", ""),
                "stale": verdict(run.data.tags, max_age_s, started),
            }
        )
    return out


def close_runs(runs: list[tuple], tracking_uri: str = "") -> None:
    """Mark runs KILLED with the reason in ``nbw2v.error``: ``(run id, reason)`` or ``(run id,
    reason, end time in ms)`` (when its process was last heard of; None: now)."""
    from mlflow.entities import RunTag

    client = open_store(tracking_uri)
    for run_id, reason, *end in runs:
        with_retry(client.log_batch, run_id, tags=[RunTag("nbw2v.error", f"closed as stale: {reason}")])
        with_retry(client.set_terminated, run_id, status="KILLED", end_time=(end[0] if end else None) or None)


def make_tracker(logger_cfg) -> NullTracker | MlflowTracker:
    """The configured tracker; inside a sweep (see :mod:`nbw2v.app.sweep`) a child of its parent run."""
    if logger_cfg.name == "none":
        return NullTracker()
    return MlflowTracker(
        tracking_uri=logger_cfg.tracking_uri,
        experiment=logger_cfg.experiment,
        run_name=logger_cfg.run_name,
        flush_every_s=logger_cfg.flush_every_s,
        parent_run_id=os.environ.get(ENV_PARENT) or None,
        on_error=logger_cfg.on_error,
        journal_dir=getattr(logger_cfg, "journal_dir", ""),
    )
