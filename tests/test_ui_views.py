"""What the MLflow UI shows first: metric names that read whole in the runs table, older runs'
names read back, and the views (shared view states) the printed links open."""

import json

import pytest

from nbw2v.evaluation import metric_names as mn
from nbw2v.evaluation.evaluate import AnalogyResult, SimilarityResult, results_to_metrics
from nbw2v.tracking import ui_views


def _results():
    sim = SimilarityResult("wordsim353", 0.4567891, 0.4, 300, 400, ci=(0.38, 0.52))
    rel = SimilarityResult("mine", 0.2, 0.2, 10, 12, ci=(0.1, 0.3))
    google = AnalogyResult("3cosadd", 40, 80, 100, {"capital": (10, 20, 25), "gram1": (30, 60, 75)}, name="google")
    msr = AnalogyResult("3cosadd", 5, 10, 20, name="msr")
    return [sim, rel, google, msr]


def test_metric_names_are_short_and_sort_as_read():
    metrics = results_to_metrics(_results())
    assert metrics["eval/ws353"] == 0.4568  # 4 decimals
    assert (metrics["eval/ws353_lo"], metrics["eval/ws353_up"], metrics["eval/ws353_cov"]) == (0.38, 0.52, 0.75)
    assert metrics["eval/mine"] == 0.2 and metrics["eval/msr_analogy"] == 0.5 and metrics["eval/analogy_cov"] == 0.8
    assert (metrics["eval/analogy_sem"], metrics["eval/analogy_syn"]) == (0.5, 0.5) and "eval/analogy_lo" in metrics
    # MLflow's table shows ~14 characters of a header at its default width, metric columns sorted
    for name in (*mn.SHORT, "google"):
        for key in (mn.score_key(name), *mn.interval_keys(mn.score_key(name))):
            if name not in ("ws353_similarity", "ws353_relatedness", "msr", "mturk287", "google"):
                assert len(key) <= 14, key
    assert sorted(["eval/ws353_up", "eval/ws353_lo", "eval/ws353"]) == ["eval/ws353", "eval/ws353_lo", "eval/ws353_up"]
    assert [mn.label(k) for k in mn.scores(metrics)] == ["wordsim353", "mine", "analogies", "msr analogies"]
    assert mn.similarity_scores(metrics) == ["eval/ws353", "eval/mine"]


def test_runs_of_older_versions_are_read_under_the_current_names():
    old = {
        "eval/wordsim353_spearman": 0.5,
        "eval/wordsim353_spearman_ci_low": 0.4,
        "eval/wordsim353_spearman_ci_high": 0.6,
        "eval/wordsim353_coverage": 0.9,
        "eval/pairs_spearman": 0.1,
        "eval/analogy_accuracy": 0.3,
        "eval/analogy_accuracy_ci_low": 0.2,
        "eval/analogy_coverage": 0.5,
        "eval/analogy_semantic": 0.1,
        "eval/analogy_syntactic": 0.2,
        "eval/msr_analogy_accuracy": 0.05,
        "eval/msr_analogy_coverage": 0.7,
        "loss/epoch": 2.0,
    }
    new = mn.modernize(old)
    assert new == {
        "eval/ws353": 0.5,
        "eval/ws353_lo": 0.4,
        "eval/ws353_up": 0.6,
        "eval/ws353_cov": 0.9,
        "eval/pairs": 0.1,
        "eval/analogy": 0.3,
        "eval/analogy_lo": 0.2,
        "eval/analogy_cov": 0.5,
        "eval/analogy_sem": 0.1,
        "eval/analogy_syn": 0.2,
        "eval/msr_analogy": 0.05,
        "eval/msr_analogy_cov": 0.7,
        "loss/epoch": 2.0,
    }
    assert mn.modernize(new) == new  # current names stay as they are
    assert mn.modernize({"eval/ws353": 0.7, "eval/wordsim353_spearman": 0.1}) == {"eval/ws353": 0.7}


def test_the_sweep_report_reads_runs_of_older_versions(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    from nbw2v.app.report import load_sweep

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(store)
    exp = client.create_experiment("old")
    for window, score in (("2", 0.41), ("5", 0.52)):
        run = client.create_run(exp, tags={"nbw2v.sweep_id": "s1"})
        client.log_param(run.info.run_id, "model.window", window)
        for key, value in {"eval/wordsim353_spearman": score, "eval/wordsim353_coverage": 1.0}.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
    _, rows = load_sweep(store, "old", "s1")
    assert sorted(r["WS353"] for r in rows) == [0.41, 0.52]
    assert all("eval/ws353" in r["metrics"] for r in rows)


def test_views_fit_an_experiment_tag_and_open_on_the_study():
    scores = ui_views.scores_view()
    sweep = ui_views.scores_view(["model.window", "train.lr"], parent_run_id="p1")
    run = ui_views.run_view("r1", per_epoch=True, gradcheck_every=True)
    parent = ui_views.sweep_parent_view("p1")
    for state in (scores, sweep, run, parent):
        assert len(json.dumps(state, separators=(",", ":"))) <= ui_views.MAX_STATE_CHARS
        sections = [s["uuid"] for s in state["compareRunSections"]]
        assert {c["metricSectionId"] for c in state["compareRunCharts"]} <= set(sections)
        assert state["isAccordionReordered"] is True  # MLflow keeps the sections in this order
    # the first chart of the scores views: the sweep's axes against the headline scores
    first = scores["compareRunCharts"][0]
    assert first["type"] == "PARALLEL" and first["selectedMetrics"][-1] == "eval/ws353" and first["showAllRuns"]
    assert sweep["compareRunCharts"][0]["selectedParams"] == ["model.window", "train.lr"]
    assert sweep["searchFilter"] == "tags.`mlflow.parentRunId` = 'p1'" and "searchFilter" not in scores
    assert scores["orderByKey"] == "metrics.`eval/ws353`" and scores["orderByAsc"] is False
    # a run's charts: the loss curve against the epoch first; the scores per epoch when logged so
    assert run["searchFilter"] == "attributes.run_id = 'r1'"
    assert [c["metricKey"] for c in run["compareRunCharts"]][:3] == ["loss/train", "train/lr", "eval/ws353"]
    assert all(c["selectedXAxisMetricKey"] == "train/epoch" for c in run["compareRunCharts"])
    assert len(ui_views.run_view("r1")["compareRunCharts"]) == 2
    assert parent["compareRunCharts"][0]["xAxisKey"] == "step"  # the job index


def test_links_open_the_model_training_layout_on_the_views():
    links = ui_views.ui_links("http://h:5000", "3", run_id="abc", sweep_id="s9")
    assert (
        links["scores"]
        == "http://h:5000/#/experiments/3/runs?workflowType=machine_learning&viewStateShareKey=nbw2v-scores"
    )
    assert links["charts"].endswith(
        "runs?workflowType=machine_learning&compareRunsMode=CHART&viewStateShareKey=nbw2v-scores"
    )
    assert links["metrics"].endswith("compareRunsMode=CHART&viewStateShareKey=nbw2v-run-abc")
    assert links["compare"].endswith("compareRunsMode=CHART&viewStateShareKey=nbw2v-sweep-s9")
    assert links["run"] == "http://h:5000/#/experiments/3/runs/abc?workflowType=machine_learning"


def test_a_view_too_large_for_a_tag_is_not_written():
    class Client:
        def __init__(self):
            self.tags = {}

        def get_experiment(self, _):
            return type("E", (), {"tags": self.tags})()

        def set_experiment_tag(self, _, key, value):
            self.tags[key] = value

    client = Client()
    ui_views.ensure_view(client, "1", "small", {"a": 1})
    ui_views.ensure_view(client, "1", "big", {"a": "x" * ui_views.MAX_STATE_CHARS})
    assert list(client.tags) == ["mlflow.sharedViewState.small"] and json.loads(
        client.tags["mlflow.sharedViewState.small"]
    ) == {"a": 1}


def test_a_run_on_a_tracking_server_links_to_the_servers_ui():
    """Issue 28.11: the dashboard line of a run on a server was "(tracking server ...)", no link."""
    from nbw2v.tracking.tracker import MlflowTracker

    tracker = MlflowTracker("http://127.0.0.1:5999", experiment="x")
    tracker.experiment_id, tracker.run_id, tracker.run_name = "7", "abc", "sg-ns-w5-k5-d100-s1"
    text = tracker.describe()
    assert "open the dashboard: http://127.0.0.1:5999/#/experiments/7/runs?workflowType=machine_learning" in text
    assert "its charts: http://127.0.0.1:5999/#/experiments/7/runs?" in text
