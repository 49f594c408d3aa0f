"""The seed study: how window, K and dimension move the standard suite on a 7M-word corpus, and
which of those moves survive another seed. Two Hydra sweeps, 3 seeds each, every run scored on
the whole suite with its per-item predictions logged:

* window {2, 5, 10} x dim {50, 100, 300} at K = 5 (27 runs);
* window {2, 5, 10} x K {2, 15} at dim 100 (18 runs; K = 5 at dim 100 is the first sweep's).

Then the reports (``nbw2v report`` over each grid), a figure of the scores against the
dimension per window with the seed spread, and ``results.md``: per benchmark the mean of each
axis value, and the seed-aware comparisons of neighbouring settings (``nbw2v compare`` of the
cells' seeds, Holm-adjusted over the suite). From the repository root, with the corpus:

    .venv/bin/python experiments/seed_study.py --corpus ../shared/corpora/refcorpus.txt.gz

(about 35 minutes on 2 cores; ``--report-only`` rebuilds the outputs from the store in
``--work``). Any large text corpus works the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXPERIMENT = "seed-study"
SEEDS = "1,2,3"
GRIDS = {
    "window_dim": ["model.window=2,5,10", "model.dim=50,100,300", "loss.K=5"],
    "window_k": ["model.window=2,5,10", "loss.K=2,15", "model.dim=100"],
}
#: the report of each grid: which runs (an MLflow filter over the experiment) and its title
REPORTS = {
    "window_k": ("params.`model.dim` = '100'", "window x K at dim 100, 3 seeds"),
    "window_dim": ("params.`loss.K` = '5'", "window x dim at K 5, 3 seeds"),
}
#: neighbouring settings compared with seeds (A, B, what it asks)
CONTRASTS = [
    ("window=10,K=5,dim=100", "window=5,K=5,dim=100", "window 10 vs 5"),
    ("window=5,K=5,dim=100", "window=2,K=5,dim=100", "window 5 vs 2"),
    ("window=10,K=15,dim=100", "window=10,K=5,dim=100", "K 15 vs 5 (window 10)"),
    ("window=10,K=5,dim=100", "window=10,K=2,dim=100", "K 5 vs 2 (window 10)"),
    ("window=2,K=15,dim=100", "window=2,K=5,dim=100", "K 15 vs 5 (window 2)"),
    ("window=10,K=5,dim=300", "window=10,K=5,dim=100", "dim 300 vs 100 (window 10)"),
    ("window=10,K=5,dim=100", "window=10,K=5,dim=50", "dim 100 vs 50 (window 10)"),
    ("window=2,K=5,dim=300", "window=2,K=5,dim=100", "dim 300 vs 100 (window 2)"),
]
SHOWN = ("WS353", "SimLex", "MEN", "Google")
BENCH_LABEL = {
    "wordsim353": "WS353",
    "ws353_similarity": "WS353-sim",
    "ws353_relatedness": "WS353-rel",
    "simlex999": "SimLex",
    "men": "MEN",
    "mturk287": "MTurk",
    "rare_words": "RW",
    "analogies": "Google",
    "msr analogies": "MSR",
}


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def run_sweeps(corpus: Path, work: Path, jobs: int, seeds: str = SEEDS, extra: list[str] = ()) -> dict:
    """Both sweeps into ``work``/mlflow.db (``extra``: more overrides); returns their wall times."""
    train = str(Path(sys.executable).parent / "nbw2v-train")
    common = [
        "data=refcorpus",
        f"data.corpus={corpus}",
        f"seed={seeds}",
        "eval=suite",
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={jobs}",
        f"logger.experiment={EXPERIMENT}",
        "logger.log_model=false",
        "logger.save_vectors=none",
        f"logger.tracking_uri=sqlite:///{work / 'mlflow.db'}",
        *extra,
    ]
    walls = {}
    for name, grid in GRIDS.items():
        cmd = [train, "--multirun", *grid, *common, f"hydra.sweep.dir={work / 'multirun' / name}"]
        print("seed study:", " ".join(cmd), file=sys.stderr)
        start = time.time()
        subprocess.run(cmd, cwd=work, check=True)
        walls[name] = time.time() - start
    return walls


def _load(uri: str, filter_string: str) -> list[dict]:
    from nbw2v.app.report import attach_predictions, load_sweep

    _, rows = load_sweep(uri, EXPERIMENT, filter_string=filter_string)
    attach_predictions(rows, uri)
    return rows


def _cells(rows: list[dict], metric: str, axis: str) -> dict[float, list[float]]:
    out: dict[float, list[float]] = {}
    for r in rows:
        value = r["metrics"].get(metric)
        if r["status"] == "FINISHED" and value is not None:
            out.setdefault(r[axis], []).append(value)
    return out


def dim_figure(rows: list[dict], path: Path) -> None:
    """Scores against the dimension, one line per window, mean over the seeds with +-1 sd bars."""
    from nbw2v.app.plotting import pyplot
    from nbw2v.evaluation.predictions import metric_key

    plt = pyplot()
    panels = [("wordsim353", "WordSim353"), ("simlex999", "SimLex-999"), ("men", "MEN"), ("analogies", "Google")]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), dpi=110)
    for ax, (bench, title) in zip(axes, panels, strict=True):
        metric = metric_key(bench)
        for window in sorted({r["window"] for r in rows}):
            cells = _cells([r for r in rows if r["window"] == window], metric, "dim")
            dims = sorted(cells)
            scale = 100.0 if bench == "analogies" else 1.0
            means = [scale * np.mean(cells[d]) for d in dims]
            sds = [scale * np.std(cells[d], ddof=1) if len(cells[d]) > 1 else 0.0 for d in dims]
            ax.errorbar(dims, means, yerr=sds, marker="o", capsize=3, label=f"window {window:g}")
        ax.set_xscale("log")
        ax.set_xticks([50, 100, 300], ["50", "100", "300"])
        ax.minorticks_off()
        ax.set_xlabel("dimension")
        ax.set_title(title + (" (accuracy %)" if bench == "analogies" else " (Spearman)"), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Scores vs dimension at K = 5: mean over the seeds, bars +-1 sd across seeds", y=1.02)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def axis_table(rows: list[dict], axis: str, fixed: str) -> list[str]:
    """Per benchmark: the mean of each value of ``axis`` (over the other axis and the seeds)."""
    from nbw2v.evaluation.predictions import metric_key

    values = sorted({r[axis] for r in rows})
    head = " | ".join(f"{axis} {v:g}" for v in values)
    lines = [f"| benchmark ({fixed}) | {head} | seed sd (pooled) |", "|---|" + "---|" * (len(values) + 1)]
    for bench, label in BENCH_LABEL.items():
        metric = metric_key(bench)
        scale, unit = (100.0, "%") if "analogies" in bench else (1.0, "")
        means = []
        for v in values:
            got = [r["metrics"][metric] for r in rows if r[axis] == v and metric in r["metrics"]]
            means.append(f"{scale * np.mean(got):.{1 if unit else 3}f}{unit}" if got else "-")
        groups: dict[tuple, list[float]] = {}
        for r in rows:
            if metric in r["metrics"]:
                groups.setdefault((r["window"], r["K"], r["dim"]), []).append(r["metrics"][metric])
        ss = sum(float(np.sum((np.array(g) - np.mean(g)) ** 2)) for g in groups.values())
        df = sum(len(g) - 1 for g in groups.values())
        sd = scale * np.sqrt(ss / df) if df else float("nan")
        lines.append(f"| {label} | " + " | ".join(means) + f" | {sd:.{1 if unit else 3}f} |")
    return lines


def contrast_tables(uri: str) -> list[str]:
    from nbw2v.app.compare import Request, compare_sides
    from nbw2v.evaluation.predictions import make_options

    out = []
    for a, b, what in CONTRASTS:
        result = compare_sides(a, b, Request(None, None, make_options()), uri, experiment=EXPERIMENT)
        out += [
            f"### {what}",
            "",
            f"`nbw2v compare {a} {b} --experiment {EXPERIMENT}` ({len(result.sides[0])} and "
            f"{len(result.sides[1])} seeds; Holm over "
            f"{result.differences[0].family} benchmarks)",
            "",
            "| benchmark | A | B | A - B [95% interval] | p (Holm) | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for d in result.differences:
            if d.diff is None:
                out.append(f"| {BENCH_LABEL.get(d.name, d.name)} | - | - | - | - | {d.verdict} |")
                continue
            scale, digits, unit = (100.0, 1, "%") if d.metric == "accuracy" else (1.0, 3, "")
            ci = f"[{scale * d.ci[0]:+.{digits}f}, {scale * d.ci[1]:+.{digits}f}]" if d.ci else ""
            p = "<0.001" if d.p_holm is not None and d.p_holm < 0.001 else f"{d.p_holm:.3f}"
            out.append(
                f"| {BENCH_LABEL.get(d.name, d.name)} | {scale * d.a:.{digits}f}{unit} | {scale * d.b:.{digits}f}{unit}"
                f" | {scale * d.diff:+.{digits}f} {ci} | {p} | {d.verdict} |"
            )
        out.append("")
    return out


def build_outputs(work: Path, out: Path, meta: dict) -> None:
    from nbw2v.app.report import build_report

    uri = f"sqlite:///{work / 'mlflow.db'}"
    out.mkdir(parents=True, exist_ok=True)
    grids = {}
    for name, (filter_string, title) in REPORTS.items():
        rows = _load(uri, filter_string)
        grids[name] = rows
        build_report(rows, out / name, title=title)
    dim_figure(grids["window_dim"], out / "scores_vs_dim.png")
    finished = sum(r["status"] == "FINISHED" for rows in grids.values() for r in rows)
    lines = [
        "# Seed study: results (generated by experiments/seed_study.py)",
        "",
        f"Commit {meta['commit']}, {meta['date']}, {meta['machine']}, Python {meta['python']}.",
        f"Command: `{meta['command']}`.",
        "Wall time: "
        + ", ".join(f"{k} {v / 60:.1f} min" for k, v in meta.get("walls", {}).items())
        + f" ({meta.get('jobs', 2)} jobs x 1 thread).",
        f"Runs: {finished} FINISHED (window x dim: {len(grids['window_dim'])}, window x K: {len(grids['window_k'])};"
        " the K 5, dim 100 cells belong to both grids).",
        "",
        "## Mean per axis value",
        "",
        f"Each cell: the mean over the other axis and the seeds ({meta.get('seeds', SEEDS)}); the last column "
        "is the sd of one run's score across seeds, pooled over the grid's configurations (training noise; "
        "the pair-sampling noise of a benchmark is larger, see the comparisons).",
        "",
        *axis_table(grids["window_k"], "window", "dim 100, over K"),
        "",
        *axis_table(grids["window_k"], "K", "dim 100, over window"),
        "",
        *axis_table(grids["window_dim"], "dim", "K 5, over window"),
        "",
        "## Neighbouring settings compared, seeds as noise",
        "",
        "Each table: one cell's seeds against another's on the items every run covers; the interval includes seed "
        "noise (the runs' spread) and item noise (a paired bootstrap over the pairs and questions); verdicts are "
        "Holm-adjusted over the 9 benchmarks.",
        "",
        *contrast_tables(uri),
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"seed study: wrote {out / 'results.md'}, {out / 'scores_vs_dim.png'}, reports in {out}/window_*")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="the corpus (refcorpus.txt.gz, or any large text file)")
    parser.add_argument("--work", default="seed-study-runs", help="where the MLflow store and sweep folders go")
    parser.add_argument("--out", default=str(HERE / "reports" / "seed_study"), help="where the outputs go")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs (1 thread each)")
    parser.add_argument("--report-only", action="store_true", help="rebuild the outputs from the store in --work")
    parser.add_argument("--seeds", default=SEEDS, help=f"seeds of every cell (default {SEEDS})")
    parser.add_argument(
        "overrides", nargs="*", help="more Hydra overrides for every run (a smoke test: train.epochs=1)"
    )
    args = parser.parse_args(argv)
    corpus = Path(args.corpus).expanduser().resolve()
    if not corpus.is_file():
        parser.error(f"--corpus {args.corpus}: no such file")
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out).resolve()
    meta_file = work / "meta.json"
    if args.report_only:
        if not meta_file.exists():
            parser.error(f"--report-only: no study in {work} (run without it first)")
        meta = json.loads(meta_file.read_text())
    else:
        from nbw2v.app.run import cpu_name

        meta = {
            "commit": git_commit(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{cpu_name()}, {os.cpu_count()} cores",
            "python": platform.python_version(),
            "jobs": args.jobs,
            "seeds": args.seeds,
            "command": ".venv/bin/python experiments/seed_study.py --corpus " + args.corpus,
        }
        if args.seeds != SEEDS or args.overrides:
            meta["command"] += f" --seeds {args.seeds} " + " ".join(args.overrides)
        meta["walls"] = run_sweeps(corpus, work, args.jobs, args.seeds, args.overrides)
        meta_file.write_text(json.dumps(meta, indent=2))
    build_outputs(work, out, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
