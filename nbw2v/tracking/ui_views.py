"""The MLflow UI views nbw2v's printed links open, and the links themselves.

MLflow's experiment page reads a *shared view state* from an experiment tag
``mlflow.sharedViewState.<key>`` when its URL says ``?viewStateShareKey=<key>``: the runs table's
columns and order, a search filter, and the chart sections and cards of its chart mode
(``compareRunsMode=CHART``). Without one, the table shows no param or metric until columns are
picked, the chart mode lists one chart per metric alphabetically (single-dot eval charts first,
the loss curve below the fold) and the parallel-coordinates plot opens on whatever sorts first.
The views (field names as MLflow 3.17's UI reads them):

- ``nbw2v-scores`` (every experiment): the sweep axes and the headline scores with WordSim353's
  bootstrap interval as columns, best WordSim353 first; charts: axes -> scores as parallel
  coordinates, WordSim353 per run, the loss curves against the epoch.
- ``nbw2v-sweep-<sweep id>``: the same for one sweep's runs, on that sweep's own axes.
- ``nbw2v-run-<run id>``: one run's charts: the loss curve and learning rate against the epoch
  (integer ticks are the epoch boundaries), the scores after each epoch when logged per epoch,
  the gradient check; for a sweep's parent, the sweep's progress (each job's WordSim353 and the
  best so far, against the job index).
"""

from __future__ import annotations

import json

from nbw2v.evaluation import metric_names as mn

SCORES_VIEW = "nbw2v-scores"
TAG_PREFIX = "mlflow.sharedViewState."
#: MLflow's limit on an experiment tag's value
MAX_STATE_CHARS = 5000
#: the axes the default views show (those a sweep varies, when known, replace them)
AXES = ("model.window", "loss.K", "model.dim", "train.lr", "train.epochs")
#: the headline scores: WordSim353 with its interval, SimLex-999, Google analogies
HEADLINE = (mn.WS353, *mn.interval_keys(mn.WS353), mn.score_key("simlex999"), mn.score_key("google"))
EPOCH = "train/epoch"


def run_view_key(run_id: str) -> str:
    return f"nbw2v-run-{run_id}"


def sweep_view_key(sweep_id: str) -> str:
    return f"nbw2v-sweep-{sweep_id}"


def _section(uuid: str, name: str, columns: int = 3, height: int = 360) -> dict:
    return {
        "uuid": uuid,
        "name": name,
        "display": True,
        "isReordered": True,  # kept where it is: MLflow would otherwise sort the sections by name
        "deleted": False,
        "isGenerated": False,
        "columns": columns,
        "cardHeight": height,
    }


def _card(uuid: str, section: str, kind: str, **fields) -> dict:
    # showAllRuns: a parallel-coordinates chart draws every run, not the first 10
    return {
        "uuid": uuid,
        "type": kind,
        "metricSectionId": section,
        "deleted": False,
        "isGenerated": False,
        "runsCountToCompare": 10,
        **({"showAllRuns": True} if kind == "PARALLEL" else {}),
        **fields,
    }


def _line(uuid: str, section: str, keys: list[str], x_metric: str = EPOCH) -> dict:
    """A line chart of ``keys`` against another metric logged at the same steps (the epoch)."""
    x = {"xAxisKey": "metric", "selectedXAxisMetricKey": x_metric} if x_metric else {"xAxisKey": "step"}
    return _card(
        uuid,
        section,
        "LINE",
        metricKey=keys[0],
        selectedMetricKeys=list(keys),
        useGlobalXaxisKey=False,
        lineSmoothness=0,
        scaleType="linear",
        xAxisScaleType="linear",
        displayPoints=True,
        **x,
    )


def _state(sections: list[dict], charts: list[dict], **fields) -> dict:
    return {
        "compareRunSections": sections,
        "compareRunCharts": charts,
        "isAccordionReordered": True,
        "hideEmptyCharts": False,  # hidden until loaded, MLflow's chart mode would open empty
        **fields,
    }


def scores_view(axes: tuple[str, ...] | list[str] = AXES, parent_run_id: str = "") -> dict:
    """The runs table of scores (axes and headline scores, best WordSim353 first) and its charts;
    with ``parent_run_id``, one sweep's runs (its parent's children) on the axes it varies."""
    # no loss column: its scale changes with K (a sum over the negatives), so it ranks nothing
    columns = [f"params.`{a}`" for a in axes] + [f"metrics.`{m}`" for m in HEADLINE]
    # WordSim353 last: MLflow colours the lines by the last axis
    scores = [mn.score_key("google"), mn.score_key("simlex999"), mn.WS353]
    charts = [
        _card("nbw2v-axes", "nbw2v-study", "PARALLEL", selectedParams=list(axes)[:5], selectedMetrics=scores),
        _card("nbw2v-ws353", "nbw2v-runs", "BAR", metricKey=mn.WS353),
        _line("nbw2v-loss", "nbw2v-runs", ["loss/train"]),
        _card("nbw2v-gradcheck", "nbw2v-runs", "BAR", metricKey="gradcheck/log10_max_rel_err"),
    ]
    sections = [
        _section("nbw2v-study", "axes -> scores (every run)", columns=1, height=420),
        _section("nbw2v-runs", "the first 10 runs: WS353, loss by epoch, gradient check"),
    ]
    state = _state(sections, charts, selectedColumns=columns, orderByKey=f"metrics.`{mn.WS353}`", orderByAsc=False)
    if parent_run_id:
        state["searchFilter"] = f"tags.`mlflow.parentRunId` = '{parent_run_id}'"
    return state


def run_view(run_id: str, per_epoch: bool = False, gradcheck_every: bool = False) -> dict:
    """One training run's charts: the loss curve and learning rate against the epoch, then the
    scores after each epoch (``per_epoch``) and the gradient check per epoch (``gradcheck_every``)."""
    sections = [_section("nbw2v-training", "training, x = epoch (integer ticks: epoch ends)", 2, 300)]
    charts = [_line("nbw2v-loss", "nbw2v-training", ["loss/train"]), _line("nbw2v-lr", "nbw2v-training", ["train/lr"])]
    if per_epoch:
        sections.append(_section("nbw2v-epochs", "scores after each epoch", 2, 300))
        charts += [
            _line("nbw2v-ws353", "nbw2v-epochs", [mn.WS353, mn.score_key("simlex999")]),
            _line("nbw2v-analogy", "nbw2v-epochs", [mn.score_key("google")]),
        ]
    if gradcheck_every:
        sections.append(_section("nbw2v-checks", "gradient check (log10 max relative error)", columns=2))
        charts.append(_line("nbw2v-gradcheck", "nbw2v-checks", ["gradcheck/log10_max_rel_err"]))
    return _state(
        sections,
        charts,
        searchFilter=f"attributes.run_id = '{run_id}'",
        # ordered by a metric: MLflow then lists the run itself, not folded under its sweep's parent
        orderByKey="metrics.`loss/epoch`",
        orderByAsc=True,
        runListHidden=True,
    )


def sweep_parent_view(run_id: str) -> dict:
    """A sweep parent's charts: each finished job's WordSim353 and the best so far, against the
    job's index (the way Optuna's optimisation history reads)."""
    sections = [_section("nbw2v-progress", "sweep progress (x: job index in start order)", columns=1, height=420)]
    charts = [_line("nbw2v-progress", "nbw2v-progress", ["sweep/job_objective", "sweep/best_so_far"], x_metric="")]
    return _state(
        sections,
        charts,
        searchFilter=f"attributes.run_id = '{run_id}'",
        orderByKey="metrics.`sweep/best_so_far`",
        orderByAsc=False,
        runListHidden=True,
    )


def ensure_view(client, experiment_id: str, key: str, state: dict, experiment=None, call=None) -> None:
    """Create or update the view ``key`` on the experiment; best effort (a read-only store or an
    old server: the plain links still work). ``call(fn, *args)`` makes the store's calls (the
    tracker's retry while a SQLite store is locked)."""
    call = call or (lambda fn, *args: fn(*args))
    value = json.dumps(state, separators=(",", ":"))
    if len(value) > MAX_STATE_CHARS:
        return
    try:
        experiment = experiment or call(client.get_experiment, experiment_id)
        if experiment.tags.get(TAG_PREFIX + key) != value:
            call(client.set_experiment_tag, experiment_id, TAG_PREFIX + key, value)
    except Exception:  # noqa: BLE001
        pass


def ui_links(base: str, experiment_id: str, run_id: str | None = None, sweep_id: str = "") -> dict[str, str]:
    """Links that open the "Model training" layout (MLflow 3 otherwise opens GenAI traces):
    the runs table in the scores view and its charts, a run's overview, its charts and
    artifacts, and a sweep's runs in charts (``compare``)."""
    layout = "workflowType=machine_learning"
    exp = f"{base}/#/experiments/{experiment_id}"
    table, charts = f"{exp}/runs?{layout}", f"{exp}/runs?{layout}&compareRunsMode=CHART"
    links = {
        "runs": table,
        "scores": f"{table}&viewStateShareKey={SCORES_VIEW}",
        "charts": f"{charts}&viewStateShareKey={SCORES_VIEW}",
    }
    if sweep_id:
        links["compare"] = f"{charts}&viewStateShareKey={sweep_view_key(sweep_id)}"
    if run_id:
        links.update(
            run=f"{exp}/runs/{run_id}?{layout}",
            metrics=f"{charts}&viewStateShareKey={run_view_key(run_id)}",
            artifacts=f"{exp}/runs/{run_id}/artifacts?{layout}",
        )
    return links
