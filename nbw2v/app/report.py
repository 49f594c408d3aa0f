"""Sweep reports: every run of a sweep (or of an MLflow filter) in one table, plus heatmaps
of WordSim353 and final loss over window x K for each dimension, and scores vs dimension.

    nbw2v report SWEEP_ID            (or: python experiments/sweep_report.py SWEEP_ID)
    nbw2v report --filter "params.model.dim = '100'"
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nbw2v.evaluation import metric_names as mn
from nbw2v.tracking.liveness import heartbeat_s
from nbw2v.tracking.run_store import defines_config
from nbw2v.tracking.tracker import open_store, resolve_tracking_uri, with_retry

COLUMNS = [
    ("window", "params", "model.window"),
    ("K", "params", "loss.K"),
    ("dim", "params", "model.dim"),
    ("final loss", "metrics", "loss/epoch"),
    ("gradcheck log10 err", "metrics", "gradcheck/log10_max_rel_err"),
    ("WS353", "metrics", mn.WS353),
    ("SimLex", "metrics", mn.score_key("simlex999")),
    ("analogy", "metrics", mn.score_key("google")),
    ("words/s", "metrics", "perf/words_per_sec_total"),
    ("train s", "metrics", "perf/train_seconds"),
]


def load_sweep(tracking_uri: str, experiment: str, sweep_id: str = "", filter_string: str = ""):
    """(parent run id or None, rows): the child runs of a sweep, or the runs matching an MLflow
    filter string; each row has run id, name, status and the report's columns."""
    client = open_store(tracking_uri)
    exp = with_retry(client.get_experiment_by_name, experiment)
    if exp is None:
        raise ValueError(f"experiment {experiment!r} not found in {resolve_tracking_uri(tracking_uri)}")
    clauses = [filter_string] if filter_string else []
    if sweep_id:
        clauses.append(f"tags.`nbw2v.sweep_id` = '{sweep_id}'")
    if not clauses:
        raise ValueError("give a sweep id or an MLflow filter string")
    runs = with_retry(client.search_runs, [exp.experiment_id], filter_string=" and ".join(clauses), max_results=5000)
    parent = next((r.info.run_id for r in runs if r.data.tags.get("nbw2v.role") == "sweep"), None)
    rows = []
    for run in runs:
        if run.data.tags.get("nbw2v.role") == "sweep":
            continue
        row = {"run_id": run.info.run_id, "name": run.info.run_name, "status": run.info.status}
        row["config_hash"], row["start"] = run.data.tags.get("nbw2v.config_hash"), run.info.start_time
        row["error"] = run.data.tags.get("nbw2v.error", "")
        beat = heartbeat_s(run.data.tags)
        row["heartbeat_ms"] = int(beat * 1000) if beat else None
        row["params"], row["metrics"] = dict(run.data.params), mn.modernize(run.data.metrics)  # older runs' names
        for label, kind, key in COLUMNS:
            value = row[kind].get(key)
            row[label] = float(value) if value is not None else None
        if row["gradcheck log10 err"] is None and run.data.metrics.get("gradcheck/max_rel_err"):  # older runs
            row["gradcheck log10 err"] = float(np.log10(run.data.metrics["gradcheck/max_rel_err"]))
        rows.append(row)
    for row, axis in ((r, a) for a in swept_axes(rows) for r in rows):
        row[axis] = _number(row["params"].get(axis))
    rows.sort(key=lambda r: tuple(r[c] if r[c] is not None else -1 for c in ("dim", "window", "K")))
    return parent, rows


_SHORT = {"model.window": "window", "loss.K": "K", "model.dim": "dim"}


def swept_axes(rows: list[dict]) -> list[str]:
    """Params that differ between the runs (beyond window, K and dim, which always have a
    column): every axis of the sweep, e.g. ``train.lr`` in an Optuna study."""
    keys = sorted({k for r in rows for k in r.get("params", {})})
    return [
        k for k in keys if k not in _SHORT and defines_config(k) and len({r.get("params", {}).get(k) for r in rows}) > 1
    ]


def varying_axes(rows: list[dict]) -> list[str]:
    """Every axis whose value differs between the runs, as param keys: window, K, dim first (by
    the rows' columns), then :func:`swept_axes`."""
    fixed = [k for k, col in _SHORT.items() if len({r.get(col) for r in rows if r.get(col) is not None}) > 1]
    return fixed + swept_axes(rows)


def config_key(row: dict, axes: list[str]) -> tuple:
    """What a run is an instance of: window, K, dim and the other swept axes (not its seed)."""
    return (row["window"], row["K"], row["dim"], *(str(row["params"].get(a)) for a in axes))


def by_config(rows: list[dict], axes: list[str] | None = None) -> dict[tuple, list[dict]]:
    """The runs of each configuration (its seeds), keyed by :func:`config_key` over ``axes``
    (default: the axes these rows sweep)."""
    axes = swept_axes(rows) if axes is None else axes
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(config_key(r, axes), []).append(r)
    return groups


def ranking_metric(rows: list[dict]) -> tuple[str, str]:
    """(label, metric key) the configurations are ranked by: WordSim353, else the first
    similarity set the runs were scored on (the objective of :func:`nbw2v.app.run.objective`)."""
    keys = sorted({k for r in rows for k in mn.similarity_scores(r.get("metrics", {}))})
    if any(r.get("WS353") is not None for r in rows) or mn.WS353 in keys or not keys:
        return "WS353", mn.WS353
    return mn.label(keys[0]), keys[0]


def attach_predictions(rows: list[dict], tracking_uri: str = "") -> int:
    """Each FINISHED row's per-item results (``row["results"]``) from its logged predictions,
    for the seed- and item-aware comparison of the report; returns how many runs had them."""
    from nbw2v.evaluation.predictions import PredictionsError, from_json
    from nbw2v.tracking import run_store

    client = run_store.client_for(tracking_uri)
    found = 0
    for row in rows:
        if row["status"] != "FINISHED":
            continue
        text = run_store.run_predictions(client, row["run_id"])
        if text is None:
            continue
        try:
            row["results"], _ = from_json(text, row["run_id"])
        except PredictionsError:
            continue
        found += 1
    return found


def _benchmark_results(members: list[dict], name: str) -> list | None:
    """One configuration's per-run results on the benchmark ``name`` (None: a run lacks them)."""
    from nbw2v.evaluation.evaluate import SimilarityResult

    out = []
    for m in members:
        hit = next(
            (r for r in m.get("results") or () if isinstance(r, SimilarityResult) and r.name == name),
            None,
        )
        if hit is None:
            return None
        out.append(hit)
    return out


def pooled_configs(rows: list[dict]) -> list[dict]:
    """One entry per configuration over its FINISHED runs (seeds): n, mean, sd and a 95%
    interval of the mean (a t-interval across seeds for n >= 2, the run's own bootstrap interval
    over the benchmark's pairs for n = 1), then which configurations are tied with the best.

    Where the runs logged per-item predictions, each configuration is compared with the best by
    :func:`nbw2v.evaluation.compare.compare_benchmark` (seed noise pooled across the seeds of
    both, item noise by a paired bootstrap over the pairs), and the comparisons with the best are
    Holm-adjusted together (5% family-wise): "tied" means not shown worse. Without predictions
    (runs of older versions): Welch's t-test across seeds (n >= 2 both) or overlapping 95%
    intervals (a screen, weaker than a test). Best first."""
    from scipy import stats

    from nbw2v.evaluation.compare import ALPHA, compare_benchmark, holm

    label, ci_key = ranking_metric(rows)
    bench = mn.label(ci_key)

    def score(r):
        value = r.get("metrics", {}).get(ci_key)
        return value if value is not None else r.get(label)

    axes = swept_axes(rows)
    groups = by_config([r for r in rows if r["status"] == "FINISHED" and score(r) is not None], axes)
    out = []
    for key, members in groups.items():
        values = np.array([score(m) for m in members], dtype=np.float64)
        n, mean = len(values), float(values.mean())
        sd = float(values.std(ddof=1)) if n > 1 else 0.0
        if n > 1:
            half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n))
            ci = (max(-1.0, mean - half), min(1.0, mean + half))  # a correlation stays in [-1, 1]
        else:
            metrics = members[0].get("metrics", {})
            low, high = (metrics.get(k) for k in mn.interval_keys(ci_key))
            ci = (low, high) if low is not None and high is not None else None
        out.append(
            {
                "key": key,
                "axes": axes,
                "n": n,
                "mean": mean,
                "sd": sd,
                "ci": ci,
                "values": values,
                "metric": label,
                "results": _benchmark_results(members, bench),
            }
        )
    out.sort(key=lambda c: -c["mean"])
    if not out:
        return out
    best = out[0]
    paired = []  # compared through per-item predictions: Holm-adjusted together below
    for c in out:
        if c is best:
            c["tied"], c["test"] = True, "best"
        elif c["results"] is not None and best["results"] is not None:
            d = compare_benchmark(best["results"], c["results"])
            c["p"], c["seeds_included"] = d.p if d.p is not None else 1.0, d.seeds_included
            paired.append(c)
        elif c["n"] > 1 and best["n"] > 1:
            p = float(stats.ttest_ind(c["values"], best["values"], equal_var=False).pvalue)
            c["tied"], c["test"] = (not p < 0.05), f"Welch t across seeds, p={p:.3f}"
        elif c["ci"] is not None and best["ci"] is not None:
            c["tied"], c["test"] = (
                c["ci"][1] >= best["ci"][0],
                "95% intervals overlap" if c["ci"][1] >= best["ci"][0] else "95% intervals apart",
            )
        else:
            c["tied"], c["test"] = False, "no interval"
    for c, adjusted in zip(paired, holm([c["p"] for c in paired]), strict=True):
        what = "seeds + items" if c["seeds_included"] else "items only"
        c["tied"] = not adjusted < ALPHA
        c["test"] = f"{what}, p{_p(c['p'])}, Holm p{_p(adjusted)}"
    return out


def _p(value: float) -> str:
    """'<0.001' or '=0.123' (after a 'p')."""
    return "<0.001" if value < 0.001 else f"={value:.3f}"


def _tests_explained(configs: list[dict], metric: str) -> list[str]:
    """What "tied with the best" meant for these configurations, one paragraph per test used."""
    out = []
    tests = [c["test"] for c in configs]
    if any(t.startswith("seeds + items") for t in tests):
        out.append(
            "Each configuration is compared with the best on the runs' per-item predictions: the difference of "
            f"their mean {metric} over the seeds, with seed noise (the runs' spread, pooled) and item noise (a paired "
            f"bootstrap over the {metric} pairs) in its standard error; the comparisons with the best are "
            'Holm-adjusted together (5% family-wise). "Tied" means not shown worse: a difference that would '
            "hold for other seeds and other word pairs like these could still be smaller than the test can see."
        )
    if any(t.startswith("items only") for t in tests):
        out.append(
            "One seed per configuration: each configuration is compared with the best on the same "
            f"{metric} pairs (a paired bootstrap, Holm-adjusted over the comparisons), but seed noise is not "
            "included: cells closer than the typical seed spread (two runs of one configuration differ by up to "
            "about 2.8 times the sd of a score across seeds) cannot be told apart by one seed each, whatever the "
            "test says. Give every cell seeds (`seed=1,2,3` in the grid) to include it."
        )
    if any(t.startswith("Welch") for t in tests):
        out.append(
            "Across seeds (Welch's t-test, 5%; these runs logged no per-item predictions), the test sees training "
            f"noise only: it says whether a configuration reliably scores higher on these {metric} pairs, not "
            "whether the gap would hold on other word pairs."
        )
    if any(t.startswith("95% intervals") for t in tests):
        out.append(
            "Where a configuration has one seed (and no per-item predictions), its interval is the run's bootstrap "
            f"95% interval over the {metric} pairs, and it counts as tied with the best when the two intervals "
            "overlap: a screen, not a test (overlapping intervals can still differ under a paired test, and one "
            "seed says nothing of training noise). For a test, give every cell seeds (`seed=1,2,3` in the grid)."
        )
    return out


def config_label(c: dict) -> str:
    """``window 5, K 5, dim 100, <other axes>``; no K for a loss without negatives (hs, softmax)."""
    from nbw2v.losses.registry import LOSSES

    window, k, dim, *rest = c["key"]
    axes = dict(zip(c["axes"], rest, strict=True))
    spec = LOSSES.get(axes.get("loss.name", "negative"))
    parts = [
        f"window {window:g}",
        *([f"K {k:g}"] if spec is None or spec.extra == "neg_indices" else []),
        f"dim {dim:g}",
        *(f"{a}={v}" for a, v in axes.items()),
    ]
    return ", ".join(parts)


def configs_table(configs: list[dict]) -> str:
    """The pooled configurations as Markdown, and one line naming the best and the tied."""
    if not configs:
        return ""
    metric = configs[0]["metric"]
    lines = [
        f"## Configurations ({metric}, seeds pooled)",
        "",
        f"| configuration | seeds | {metric} mean | sd | 95% interval | vs the best | tied with the best |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in configs:
        ci = f"[{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]" if c["ci"] else "-"
        sd = f"{c['sd']:.3f}" if c["n"] > 1 else "-"  # no sd from one seed
        tied = "yes" if c["tied"] else "no"
        lines.append(f"| {config_label(c)} | {c['n']} | {c['mean']:.3f} | {sd} | {ci} | {c['test']} | {tied} |")
    tied = [config_label(c) for c in configs[1:] if c["tied"]]
    lines += ["", *_tests_explained(configs, metric), ""]
    lines += [
        f"Best: {config_label(configs[0])} ({metric} {configs[0]['mean']:.3f}). "
        + (
            f"Not distinguishable from it at 95%: {'; '.join(tied)}."
            if tied
            else "Every other configuration is worse at 95%."
        ),
        "",
    ]
    return "\n".join(lines)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _fmt(value, label: str) -> str:
    if value is None:
        return "—"
    if label in ("window", "K", "dim"):
        return f"{value:g}"
    if label == "gradcheck log10 err":
        return f"{value:.1f}"
    if not isinstance(value, float):
        return str(value)
    if label not in {c for c, _, _ in COLUMNS}:  # a swept axis
        return f"{value:g}"
    if label == "analogy":
        return f"{100 * value:.1f}%"
    if label == "words/s":
        return f"{value:,.0f}"
    if label == "train s":
        return f"{value:.1f}"
    return f"{value:.3f}"


def table(rows: list[dict]) -> str:
    seeds = len({r.get("params", {}).get("seed") for r in rows}) > 1
    labels = [label for label, _, _ in COLUMNS[:3]] + swept_axes(rows) + [label for label, _, _ in COLUMNS[3:]]
    head = ["seed", *labels] if seeds else labels
    lines = ["| run | status | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
    for r in rows:
        cells = ([str(r["params"].get("seed"))] if seeds else []) + [_fmt(r[c], c) for c in labels]
        lines.append(f"| {r['name']} | {r['status']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: more panels than this and the other swept axes are folded into each cell (its best value)
MAX_PANELS = 8


def _seed_means(rows: list[dict], metric: str) -> list[dict]:
    """One row per configuration, its ``metric`` the mean over its seeds (runs that differ only
    in the seed); rows without the metric are left out of the mean."""
    out = []
    for members in by_config(rows).values():
        values = [m[metric] for m in members if m.get(metric) is not None]
        out.append({**members[0], metric: float(np.mean(values)) if values else None})
    return out


def heatmap_panels(rows: list[dict]) -> tuple[list[tuple[float, tuple]], list[str], bool]:
    """The panels of a window x K heatmap: one per dimension and per combination of the other
    swept axes (``loss.name=hs``, a learning rate ...), so no two runs share a cell; with more
    than ``MAX_PANELS`` of them, one per dimension and each cell the best over the other axes.
    Returns (panels as (dim, values of the other axes), those axes, whether cells are folded)."""
    usable = [r for r in rows if None not in (r["window"], r["K"], r["dim"])]
    extra = swept_axes(usable)
    dims = sorted({r["dim"] for r in usable})
    combos = sorted({tuple(str(r["params"].get(a)) for a in extra) for r in usable})
    if len(dims) * len(combos) <= MAX_PANELS:
        return [(d, c) for c in combos for d in dims], extra, False
    return [(d, ()) for d in dims], extra, True


def _heatmaps(
    rows, metric: str, path: Path, title: str, cmap: str, label: str, per_term: bool = False, marks=None
) -> Path | None:
    """Window x K panels (see :func:`heatmap_panels`), one shared colour scale (labelled), each
    cell's value (the mean over its seeds) written in black or white by the cell's brightness.
    ``per_term``: a negative-sampling loss is divided by K + 1 (its logistic terms: raw losses
    favour small K). ``marks``: {configuration key: text} appended to a cell's value (the best
    configuration and those tied with it)."""
    import matplotlib

    from nbw2v.app.plotting import pyplot

    plt = pyplot()
    usable = _seed_means([r for r in rows if None not in (r["window"], r["K"], r["dim"])], metric)
    panels, extra, folded = heatmap_panels(usable)
    marks = marks or {}
    windows = sorted({r["window"] for r in usable})
    ks = sorted({r["K"] for r in usable})
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.8, 3.4), dpi=110, squeeze=False)

    def value(r):
        v = r[metric]
        negative = r.get("params", {}).get("loss.name", "negative") == "negative"
        return None if v is None else (v / (r["K"] + 1) if per_term and negative else v)

    values = [value(r) for r in usable if value(r) is not None]
    vmin, vmax = (min(values), max(values)) if values else (0, 1)
    norm = matplotlib.colors.Normalize(vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1e-12)
    colours = matplotlib.colormaps[cmap]
    better = min if per_term else max  # a loss: lower is better; a score: higher
    cell_marks: dict[tuple, str] = {}
    for ax, (dim, combo) in zip(axes[0], panels, strict=True):
        grid = np.full((len(windows), len(ks)), np.nan)
        for r in usable:
            if r["dim"] != dim or value(r) is None:
                continue
            if combo and tuple(str(r["params"].get(a)) for a in extra) != combo:
                continue
            i, j = windows.index(r["window"]), ks.index(r["K"])
            grid[i, j] = value(r) if np.isnan(grid[i, j]) else better(grid[i, j], value(r))
            if not folded:
                cell_marks[(dim, combo, i, j)] = marks.get(config_key(r, extra), "")
        image = ax.imshow(grid, cmap=cmap, norm=norm, origin="lower", aspect="auto")
        for i in range(len(windows)):
            for j in range(len(ks)):
                if np.isfinite(grid[i, j]):
                    red, green, blue, _ = colours(norm(grid[i, j]))
                    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.3f}{cell_marks.get((dim, combo, i, j), '')}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if dark else "black",
                    )
        ax.set_xticks(range(len(ks)), [f"{k:g}" for k in ks])
        ax.set_yticks(range(len(windows)), [f"{w:g}" for w in windows])
        ax.set_xlabel("K (negatives)")
        if ax is axes[0][0]:
            ax.set_ylabel("window")
        named = [f"{a}={v}" for a, v in zip(extra, combo, strict=True)] if combo else []
        ax.set_title("\n".join([f"dim {dim:g}", *named]), fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9, label=label)
    if folded:
        title += f" (each cell: the best over {', '.join(extra)})"
    fig.suptitle(title, y=1.02 + 0.04 * len(extra) * (not folded))
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def _dim_plot(rows, path: Path, title: str) -> Path | None:
    import matplotlib.ticker

    from nbw2v.app.plotting import pyplot

    plt = pyplot()

    dims = sorted({r["dim"] for r in rows if r["dim"] is not None})
    if len(dims) < 2:  # one dimension: a one-point plot says nothing
        return None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for metric, label in (("WS353", "WordSim353"), ("SimLex", "SimLex-999"), ("analogy", "analogy accuracy")):
        means, best = [], []
        for d in dims:
            vals = [r[metric] for r in rows if r["dim"] == d and r[metric] is not None]
            means.append(np.mean(vals) if vals else np.nan)
            best.append(np.max(vals) if vals else np.nan)
        line = ax.plot(dims, means, "o-", label=f"{label} (mean over window, K)")[0]
        ax.plot(dims, best, "--", color=line.get_color(), alpha=0.6, label=f"{label} (best)")
    ax.set_xlabel("dimension")
    ax.set_ylabel("score")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(dims, [f"{d:g}" for d in dims])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def build_report(rows: list[dict], out_dir: str | Path, title: str = "sweep") -> list[Path]:
    """Write ``runs.md`` and the PNGs into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "runs.md"]
    from nbw2v.app.report_axes import axis_importance, parallel_coordinates

    configs = pooled_configs(rows)
    importance = "\n".join(axis_importance(rows))
    paths[0].write_text(
        f"# {title}\n\n{len(rows)} run(s)\n\n" + configs_table(configs) + importance + "\n## Runs\n\n" + table(rows)
    )
    for made in (
        parallel_coordinates(rows, out / "parallel_ws353.png", title),
        _heatmaps(
            rows,
            "WS353",
            out / "heatmap_ws353.png",
            f"{title}: WordSim353 (* best, = not distinguishable from it at 95%)",
            "viridis",
            "Spearman rho (mean over seeds)",
            marks={c["key"]: ("*" if i == 0 else "=") for i, c in enumerate(configs) if c["tied"]},
        ),
        _heatmaps(
            rows,
            "final loss",
            out / "heatmap_loss.png",
            f"{title}: final training loss per logistic term",
            "magma_r",
            "loss / (K + 1) (negative sampling; hs, softmax: per pair)",
            per_term=True,
        ),
        _dim_plot(rows, out / "scores_vs_dim.png", f"{title}: scores vs dimension"),
    ):
        if made is not None:
            paths.append(made)
    return paths


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="nbw2v report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sweep_id", nargs="?", default="", help="the sweep's id (tag nbw2v.sweep_id)")
    parser.add_argument("--filter", default="", help="an MLflow filter string selecting runs")
    parser.add_argument("--tracking-uri", default="", help="MLflow store (default $MLFLOW_TRACKING_URI or ./mlflow.db)")
    parser.add_argument("--experiment", default="nbw2v")
    parser.add_argument(
        "--out", default="", help="output directory (default reports/<sweep id>, or reports/filter-<time> for --filter)"
    )
    parser.add_argument("--no-log", action="store_true", help="do not log the report to the sweep's parent run")
    args = parser.parse_args(argv)
    try:
        parent, rows = load_sweep(args.tracking_uri, args.experiment, args.sweep_id, args.filter)
    except ValueError as exc:
        print(f"nbw2v report: error: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("nbw2v report: error: no run matches", file=sys.stderr)
        return 1
    import time

    attach_predictions(rows, args.tracking_uri)
    default = args.sweep_id or time.strftime("filter-%Y%m%d-%H%M%S")  # a second --filter report never overwrites
    out = Path(args.out or Path("reports") / default)
    paths = build_report(rows, out, title=f"sweep {args.sweep_id}" if args.sweep_id else args.filter)
    print(table(rows))
    print(f"wrote {', '.join(str(p) for p in paths)}")
    if parent and not args.no_log:
        client = open_store(args.tracking_uri)
        for path in paths:
            with_retry(client.log_artifact, parent, str(path), "report")
        print(f"logged the report to the sweep's parent run {parent}")
    return 0
