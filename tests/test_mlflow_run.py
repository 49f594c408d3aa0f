"""End-to-end: a tracked run on a tiny corpus, read back from a real MLflow SQLite store.

The store is created (and migrated) once per session; each test uses its own experiment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

from nbw2v.app.run import run_experiment  # noqa: E402
from nbw2v.config import Config  # noqa: E402
from nbw2v.progress import SilentProgress  # noqa: E402
from nbw2v.tracking.tracker import MlflowTracker, resolve_tracking_uri  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{path / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()  # creates and migrates the schema, once
    return uri


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    lines = ["the king and the queen rule the land", "water flows in the river to the sea"] * 300
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _cfg(store, corpus, experiment, **train):
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count, cfg.data.sample = corpus, 1, 0.0
    cfg.model.dim = 8
    cfg.train.epochs = train.get("epochs", 2)
    cfg.train.lr = train.get("lr", 0.025)
    cfg.train.report_every_s = 0.0
    cfg.eval.probe_words = ["king", "nonexistentword"]
    cfg.eval.gradcheck_every = 1
    cfg.logger.tracking_uri = store
    cfg.logger.experiment = experiment
    cfg.logger.flush_every_s = 0.0
    cfg.logger.log_model = False  # test_the_vectors_are_an_mlflow_model turns it on
    return cfg


def _only_run(store, experiment):
    client = MlflowClient(store)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def test_a_run_is_recorded_completely(store, tiny_corpus):
    cfg = _cfg(store, tiny_corpus, "complete")
    pairs = Path(tiny_corpus).parent / "complete_pairs.tsv"
    pairs.write_text("king\tqueen\t9\nriver\tsea\t7\nland\tking\t3\n")
    cfg.eval.similarity = ["wordsim353", str(pairs)]
    run_experiment(cfg, resolved_config="model:\n  dim: 8\n", overrides=["model.dim=8"], progress=SilentProgress())
    client, run = _only_run(store, "complete")
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["model.dim"] == "8" and params["loss.K"] == "5" and params["data.corpus"] == tiny_corpus
    tags = run.data.tags
    assert tags["nbw2v.version"] and tags["numba.version"] and tags["train.threads"]
    metrics = run.data.metrics
    for key in (
        "eval/complete_pairs",
        "eval/complete_pairs_cov",
        "eval/ws353_cov",
        "eval/analogy_cov",
        "perf/words_per_sec",
        "perf/train_seconds",
        "perf/peak_rss_mb",
    ):
        assert key in metrics, key
    assert "eval/ws353" not in metrics  # < 2 pairs covered: no score rather than a NaN
    assert metrics["gradcheck/max_rel_err"] < 1e-6
    gradchecks = client.get_metric_history(run.info.run_id, "gradcheck/max_rel_err")
    assert len(gradchecks) == 3  # before training and after each of the 2 epochs
    curve = client.get_metric_history(run.info.run_id, "loss/train")
    assert len(curve) >= 2 and len(curve) <= 102  # at most a point every 1% of training (+ epoch ends)
    epochs = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "train/epoch")}
    assert epochs[max(epochs)] == 2.0 and set(epochs) == {m.step for m in curve}  # the x-axis in epochs
    assert len(client.get_metric_history(run.info.run_id, "loss/epoch")) == 2
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "vectors", "loss_curve.png", "neighbours.md"} <= artifacts
    assert {a.path for a in client.list_artifacts(run.info.run_id, "config")} == {
        "config/config.yaml",
        "config/overrides.txt",
    }
    local = client.download_artifacts(run.info.run_id, "vectors")
    from nbw2v.embeddings import Embeddings

    assert "king" in Embeddings.load(Path(local) / "vectors.bin")
    table = Path(client.download_artifacts(run.info.run_id, "neighbours.md")).read_text()
    assert "| king |" in table and "not in the vocabulary" in table
    assert "centred" not in table and "nbw2v.eval_postprocess" not in tags  # off by default
    # named from its configuration; a description with the command and the scores; a source
    assert run.info.run_name == "sg-ns-w5-k5-d8-s1"
    assert tags["mlflow.source.name"] == "nbw2v-train model.dim=8" and tags["mlflow.source.type"] == "LOCAL"
    note = tags["mlflow.note.content"]
    assert note.startswith("`nbw2v-train model.dim=8`") and "- complete_pairs Spearman " in note
    assert all(line.count("[") == line.count("]") for line in note.splitlines())  # an interval is never cut
    assert all(round(v, 4) == v for k, v in metrics.items() if k.startswith("eval/"))  # 4 decimals
    assert metrics["perf/words_per_sec_total"] == int(metrics["perf/words_per_sec_total"])
    # per-item predictions: the scores rebuilt from them equal the logged ones
    from nbw2v.evaluation.predictions import from_json

    text = Path(client.download_artifacts(run.info.run_id, "eval/predictions.json")).read_text()
    results, options = from_json(text)
    assert options == {"restrict": 30000, "method": "3cosadd", "case_insensitive": True, "center": False} | {
        "remove_top": 0
    }
    by_name = {r.name: r for r in results}
    assert by_name["complete_pairs"].spearman == pytest.approx(metrics["eval/complete_pairs"], abs=5e-5)
    assert by_name["google"].used / by_name["google"].total == pytest.approx(metrics["eval/analogy_cov"])
    assert len(by_name["wordsim353"].cosines) == 353


def test_centring_is_applied_to_scores_neighbours_and_predictions(store, tiny_corpus):
    cfg = _cfg(store, tiny_corpus, "centred")
    cfg.eval.center, cfg.eval.remove_top = True, 1
    cfg.eval.gradcheck_every = 0
    emb, metrics = run_experiment(cfg, progress=SilentProgress())
    client, run = _only_run(store, "centred")
    assert run.data.tags["nbw2v.eval_postprocess"] == "centred, top 1 principal component removed"
    table = Path(client.download_artifacts(run.info.run_id, "neighbours.md")).read_text()
    assert table.startswith("Cosines of the vectors centred, top 1 principal component removed")
    view = emb.postprocessed(True, 1)
    first = view.most_similar("king", topn=1)[0]
    assert f"| king | {first[0]} {first[1]:.2f}" in table  # the table is of the changed vectors
    text = Path(client.download_artifacts(run.info.run_id, "eval/predictions.json")).read_text()
    assert '"center":true,"remove_top":1' in text


def test_a_diverging_run_is_marked_failed_with_the_reason(store, tiny_corpus):
    from nbw2v.training.train import TrainingDiverged

    cfg = _cfg(store, tiny_corpus, "diverged", lr=9.9)
    cfg.model.dim = 64
    with pytest.raises(TrainingDiverged):
        run_experiment(cfg, progress=SilentProgress())
    client, run = _only_run(store, "diverged")
    assert run.info.status == "FAILED"
    assert "TrainingDiverged" in run.data.tags["nbw2v.error"]
    assert "error.txt" in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_an_interrupted_run_is_marked_killed(store, tiny_corpus, monkeypatch):
    import nbw2v.app.run as run_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_cfg(store, tiny_corpus, "killed"), progress=SilentProgress())
    _, run = _only_run(store, "killed")
    assert run.info.status == "KILLED"


def test_local_store_paths_are_made_absolute(tmp_path):
    assert resolve_tracking_uri("sqlite:///mlflow.db", tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_tracking_uri("runs", tmp_path) == (tmp_path / "runs").resolve().as_uri()
    assert resolve_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_unusable_store_is_a_clear_error_before_training(tmp_path, tiny_corpus):
    cfg = _cfg(f"sqlite:///{tmp_path}/no/such/dir/mlflow.db", tiny_corpus, "x")
    with pytest.raises(ValueError, match="does not exist"):
        run_experiment(cfg, progress=SilentProgress())


def test_run_description_points_at_the_runs_table(store):
    tracker = MlflowTracker(store, experiment="links")
    tracker.start()
    tracker.end()
    text = tracker.describe()
    assert "ui --backend-store-uri" in text
    assert f"#/experiments/{tracker.experiment_id}/runs?workflowType=machine_learning" in text
    assert tracker.run_id in text


def test_the_printed_ui_command_works_when_pasted(tmp_path, monkeypatch):
    """Issue 29.20: shell-quoted (a store path with a space), and this environment's mlflow when
    the shell would not find it (after `make run` it is only in .venv/bin)."""
    import shlex
    import shutil
    import sys
    from pathlib import Path

    from nbw2v.tracking.tracker import ui_command

    store = f"sqlite:///{tmp_path / 'my runs' / 'mlflow.db'}"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    exe, *rest = shlex.split(ui_command(store))
    assert rest == ["ui", "--backend-store-uri", store]
    assert exe == str(Path(sys.executable).parent / "mlflow") and Path(exe).exists()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    assert shutil.which("mlflow") and shlex.split(ui_command(store))[0] == "mlflow"


@pytest.mark.slow
def test_hydra_app_single_and_multirun(store, tiny_corpus, tmp_path):
    """The installed entry point, as a user runs it: one run, then a 2-job multirun."""
    exe = Path(sys.executable).parent / "nbw2v-train"
    base = [
        f"data.corpus={tiny_corpus}",
        "data.min_count=1",
        "model.dim=8",
        "train.epochs=1",
        f"logger.tracking_uri={store}",
        "logger.experiment=hydra",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"hydra.run.dir={tmp_path}/run",
        f"hydra.sweep.dir={tmp_path}/multi",
    ]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    single = subprocess.run([str(exe), *base], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    # results on stdout (| tee, | grep), progress and diagnostics on stderr
    assert "runs table (scores, best first):" in single.stdout and "viewStateShareKey=nbw2v-scores" in single.stdout
    assert "nbw2v: wordsim353: no score" in single.stdout and "MLflow run sg-ns-w5-k5-d8-s1" in single.stdout
    assert "trained 1 epoch(s)" in single.stderr and "http://" not in single.stderr
    links = [w for w in single.stdout.split() if w.startswith("http://")]
    assert len(links) == 3 and all("workflowType=machine_learning" in link for link in links)  # Model training layout
    multi = subprocess.run(
        [str(exe), "--multirun", *base, "model.window=2,3"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert multi.returncode == 0, multi.stderr[-3000:]
    client = MlflowClient(store)
    everything = client.search_runs([client.get_experiment_by_name("hydra").experiment_id])
    runs = [r for r in everything if r.data.tags.get("nbw2v.role") != "sweep"]
    assert len(everything) == 4  # the single run, the multirun's parent and its 2 children
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in everything)
    assert sorted(r.data.params["model.window"] for r in runs) == ["2", "3", "5"]
    # the experiment carries the scores view the printed link opens (MLflow's shared view state)
    view = json.loads(client.get_experiment_by_name("hydra").tags["mlflow.sharedViewState.nbw2v-scores"])
    assert "metrics.`eval/ws353`" in view["selectedColumns"] and view["orderByAsc"] is False
    assert "metrics.`eval/ws353_lo`" in view["selectedColumns"]  # the score's uncertainty too
    assert "params.`train.epochs`" in view["selectedColumns"]  # 1-, 3- and 5-epoch runs side by side
    # every metric header reads whole and distinct at MLflow's default column width (~14 characters)
    metric_columns = [c[len("metrics.`") : -1] for c in view["selectedColumns"] if c.startswith("metrics.")]
    assert all(len(c) <= 14 for c in metric_columns) and len(set(metric_columns)) == len(metric_columns)
    assert sorted(metric_columns).index("eval/ws353_lo") < sorted(metric_columns).index("eval/ws353_up")
    # "its charts" opens the run's own view: its loss curve against the epoch, first
    single_id = next(r.info.run_id for r in runs if r.data.params["model.window"] == "5")
    charts_link = single.stdout.split("its charts: ", 1)[1].split()[0]
    assert charts_link.endswith(f"compareRunsMode=CHART&viewStateShareKey=nbw2v-run-{single_id}")
    own = json.loads(client.get_experiment_by_name("hydra").tags[f"mlflow.sharedViewState.nbw2v-run-{single_id}"])
    assert own["searchFilter"] == f"attributes.run_id = '{single_id}'"
    first = own["compareRunCharts"][0]
    assert first["metricKey"] == "loss/train" and first["selectedXAxisMetricKey"] == "train/epoch"
    bad = subprocess.run([str(exe), *base, "loss.K=0"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert bad.returncode == 2 and "loss.K=0: expected an integer in [1, 1000]" in bad.stderr


def test_eval_reads_a_runs_vectors_and_logs_back(store, tiny_corpus, capsys):
    from nbw2v.app.cli import main

    cfg = _cfg(store, tiny_corpus, "evalback")
    cfg.eval.similarity, cfg.eval.analogies = [], ""
    run_experiment(cfg, progress=SilentProgress())
    client, run = _only_run(store, "evalback")
    run_id = run.info.run_id
    pairs = Path(tiny_corpus).parent / "pairs.tsv"
    pairs.write_text("king\tqueen\t9\nriver\tsea\t7\nland\tking\t3\n")
    argv = ["eval", run_id, "--tracking-uri", store, "--similarity", str(pairs), "--analogies", "", "--log-to-run"]
    assert main(argv) == 0
    assert "pairs: Spearman" in capsys.readouterr().out
    assert "eval/pairs" in client.get_run(run_id).data.metrics
    assert main(["neighbors", f"runs:/{run_id}/vectors", "king", "--tracking-uri", store]) == 0
    assert main(["eval", "f" * 32, "--tracking-uri", store]) == 2
    assert "not found in the MLflow store" in capsys.readouterr().err


def test_the_vectors_are_an_mlflow_model(store, tiny_corpus):
    import mlflow
    import pandas as pd

    cfg = _cfg(store, tiny_corpus, "model")
    cfg.logger.log_model = True
    emb, _ = run_experiment(cfg, progress=SilentProgress())
    client, run = _only_run(store, "model")
    mlflow.set_tracking_uri(store)
    (logged,) = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    assert logged.source_run_id == run.info.run_id  # the run's Models column
    # named after its run, the scores with their intervals linked (the Models page ranks by them)
    assert logged.name == run.info.run_name == "sg-ns-w5-k5-d8-s1"
    linked = {m.key: m.value for m in logged.metrics or []}
    assert "eval/analogy_cov" in linked and "eval/ws353_cov" in linked
    assert linked["eval/analogy_cov"] == run.data.metrics["eval/analogy_cov"]
    assert not any(k.startswith("perf/") for k in linked)  # (MLflow itself links the gradient checks)
    model = mlflow.pyfunc.load_model(logged.model_uri)
    assert [i.name for i in model.metadata.signature.inputs.inputs] == ["word"]
    out = model.predict(pd.DataFrame({"word": ["king", "notaword"]}), params={"topn": 3})
    assert out["neighbours"][0] == [w for w, _ in emb.most_similar("king", topn=3)]
    assert out["vector"][0] == pytest.approx(emb["king"].tolist()) and list(out["neighbours"][1]) == []
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"vectors"}  # the plain file too

    cfg.logger.experiment, cfg.logger.log_model = "nomodel", False
    run_experiment(cfg, progress=SilentProgress())
    exp = client.get_experiment_by_name("nomodel").experiment_id
    assert mlflow.search_logged_models(experiment_ids=[exp], output_format="list") == []
