"""Reading finished runs back from an MLflow store: which runs are seeds of one configuration,
a sweep cell chosen by its axes, a run's logged per-item predictions, the seed spread of each
score in a store.

A *configuration* is a run's params without its seed and without the keys that never change
what is trained (where it is logged, threads, checkpoints): runs that differ only in the seed
are replicates of one configuration.
"""

from __future__ import annotations

import math

from nbw2v.evaluation.metric_names import modernize
from nbw2v.tracking.tracker import experiment_ids, open_store, with_retry

#: params that never define a configuration (where and how a run is logged, threads, checkpoints,
#: what it shows: probe and plot words, gradient checks)
NOT_CONFIG = (
    "logger.",
    "train.threads",
    "train.checkpoint",
    "train.resume",
    "train.report_every_s",
    "data.cache",
    "eval.probe_words",
    "eval.plot_words",
    "eval.gradcheck",
    "eval.per_epoch",
)
#: replicates, not configurations: runs differing only in these are seeds of one configuration
REPLICATE = ("seed",)
#: short names accepted in axis filters
SHORT_KEYS = {"window": "model.window", "K": "loss.K", "k": "loss.K", "dim": "model.dim", "loss": "loss.name"}
#: the artifact holding a run's per-item predictions
PREDICTIONS = "eval/predictions.json"


def defines_config(key: str) -> bool:
    return key not in REPLICATE and not key.startswith(NOT_CONFIG)


def config_of(params: dict) -> tuple:
    """A run's configuration as a hashable key: its params minus seed and logging keys."""
    return tuple(sorted((k, v) for k, v in params.items() if defines_config(k)))


def client_for(tracking_uri: str = ""):
    return open_store(tracking_uri)


def finished_runs(client, experiment: str = "", sweep_id: str = "") -> list:
    """FINISHED runs (not sweep parents) of one experiment (by name; every experiment when ''),
    optionally of one sweep."""
    ids = experiment_ids(client, experiment)
    clauses = ["attributes.status = 'FINISHED'"]
    if sweep_id:
        clauses.append(f"tags.`nbw2v.sweep_id` = '{sweep_id}'")
    runs = with_retry(client.search_runs, ids, filter_string=" and ".join(clauses), max_results=5000)
    return [r for r in runs if r.data.tags.get("nbw2v.role") != "sweep"]


def parse_filter(text: str) -> dict[str, str]:
    """``window=10,K=15`` (or ``model.window=10 loss.K=15``) -> {model.window: 10, loss.K: 15}."""
    out = {}
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{text!r}: expected key=value pairs separated by commas, e.g. window=5,K=5")
        out[SHORT_KEYS.get(key, key)] = value
    return out


def _same(a: str | None, b: str) -> bool:
    if a is None:
        return False
    try:
        return math.isclose(float(a), float(b))
    except ValueError:
        return a.lower() == b.lower()


def select_cell(runs: list, wanted: dict[str, str], text: str) -> list:
    """The runs matching every ``key=value`` of a filter; they must all be seeds of one
    configuration (a filter matching several is refused, naming what tells them apart)."""
    hits = [r for r in runs if all(_same(r.data.params.get(k), v) for k, v in wanted.items())]
    if not hits:
        keys = sorted({k for r in runs for k in r.data.params if defines_config(k)})
        unknown = [k for k in wanted if k not in keys]
        hint = f" (no run has the param {', '.join(unknown)})" if unknown else ""
        raise ValueError(f"{text}: no FINISHED run matches{hint}")
    configs: dict[tuple, list] = {}
    for r in hits:
        configs.setdefault(config_of(r.data.params), []).append(r)
    if len(configs) > 1:
        keys = sorted({k for c in configs for k, _ in c})
        differ = [k for k in keys if len({dict(c).get(k) for c in configs}) > 1]
        values = ", ".join(f"{k} in {{{', '.join(sorted({str(dict(c).get(k)) for c in configs}))}}}" for k in differ)
        raise ValueError(
            f"{text}: matches {len(configs)} configurations ({values}); add the keys that pick one, "
            f"e.g. {text},{differ[0]}=..."
        )
    return hits


def run_predictions(client, run_id: str) -> str | None:
    """The text of a run's ``eval/predictions.json``, or None when it logged none."""
    import tempfile
    from pathlib import Path

    from mlflow.exceptions import MlflowException

    try:
        names = {f.path for f in with_retry(client.list_artifacts, run_id, "eval")}
    except MlflowException:
        return None
    if PREDICTIONS not in names:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = with_retry(client.download_artifacts, run_id, PREDICTIONS, tmp)
        return Path(local).read_text(encoding="utf-8")


def has_vectors(client, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        return bool(with_retry(client.list_artifacts, run_id, "vectors"))
    except MlflowException:
        return False


def seed_spread(runs: list, metrics: list[str]) -> dict[str, tuple[float, int, int]]:
    """{metric: (sd, configurations, runs)}: the pooled within-configuration sd of each metric
    over the configurations that have two or more seeds among ``runs``."""
    groups: dict[tuple, list] = {}
    for r in runs:
        groups.setdefault(config_of(r.data.params), []).append(r)
    out = {}
    for metric in metrics:
        ss, df, configs, count = 0.0, 0, 0, 0
        for members in groups.values():
            values = [m[metric] for m in (modernize(r.data.metrics) for r in members) if metric in m]
            if len(values) < 2:
                continue
            mean = sum(values) / len(values)
            ss += sum((v - mean) ** 2 for v in values)
            df += len(values) - 1
            configs += 1
            count += len(values)
        if df:
            out[metric] = (math.sqrt(ss / df), configs, count)
    return out


def children_status(client, experiment_id: str, parent_run_id: str) -> dict[str, int]:
    """How many runs of a sweep (children of ``parent_run_id``) are in each status."""
    runs = with_retry(
        client.search_runs,
        [experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
        max_results=5000,
    )
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.info.status] = counts.get(run.info.status, 0) + 1
    return counts
