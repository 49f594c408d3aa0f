"""Which axis of a sweep moves which score: an axis-importance table and a parallel-coordinates
figure (axes -> WordSim353), for the sweep report. MLflow's own parallel-coordinates view opens
on whatever metric sorts first; this figure always shows the sweep's axes against its score."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nbw2v.evaluation import metric_names as mn

#: the scores the importance table reads (label, metric key, the report's column, scale, unit)
SCORES = [
    ("WS353", mn.WS353, "WS353", 1.0, ""),
    ("SimLex", mn.score_key("simlex999"), "SimLex", 1.0, ""),
    ("MEN", mn.score_key("men"), None, 1.0, ""),
    ("analogies", mn.score_key("google"), "analogy", 100.0, " pts"),
]


def _score(row: dict, key: str, column: str | None):
    value = row.get("metrics", {}).get(key)
    return value if value is not None or column is None else row.get(column)


def _axis_values(rows: list[dict], axis: str) -> list:
    return [r[axis] if axis in r else r.get("params", {}).get(axis) for r in rows]


def sweep_axes(rows: list[dict]) -> list[str]:
    """The axes with two or more values among the rows: window, K, dim, then the others swept."""
    from nbw2v.app.report import _SHORT, varying_axes

    return [_SHORT.get(k, k) for k in varying_axes(rows)]


def axis_importance(rows: list[dict]) -> list[str]:
    """Markdown: per score, the spread of its mean over each axis's values (max - min of the
    marginal means, over the other axes and the seeds), the largest in bold. A large spread says
    the axis matters for that score on this grid; it is not a test (see the comparisons)."""
    done = [r for r in rows if r["status"] == "FINISHED"]
    axes = sweep_axes(done)
    if not axes:
        return []
    lines = [
        "## Which axis moves each score",
        "",
        "Spread of each score's mean over an axis's values (max - min of the marginal means, other axes and seeds "
        "averaged); the largest per score in bold. A screen for where to look, not a test: `nbw2v compare` tests "
        "two cells.",
        "",
        "| score | " + " | ".join(axes) + " |",
        "|---|" + "---|" * len(axes),
    ]
    from nbw2v.app.report import ranking_metric

    label, key = ranking_metric(done)
    scores = SCORES if key in (k for _, k, *_ in SCORES) else [(label, key, None, 1.0, ""), *SCORES]
    for label, key, column, scale, unit in scores:
        spreads = []
        for axis in axes:
            means: dict = {}
            for r, value in zip(done, _axis_values(done, axis), strict=True):
                score = _score(r, key, column)
                if score is not None and value is not None:
                    means.setdefault(str(value), []).append(score)
            marginal = [np.mean(v) for v in means.values()]
            spreads.append(scale * (max(marginal) - min(marginal)) if len(marginal) > 1 else None)
        if all(s is None for s in spreads):
            continue
        top = max(s for s in spreads if s is not None)
        digits = 1 if unit else 3
        text = ["-" if s is None else f"{s:.{digits}f}{unit}" for s in spreads]
        cells = [f"**{t}**" if s == top else t for s, t in zip(spreads, text, strict=True)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""] if len(lines) > 6 else []


def parallel_coordinates(rows: list[dict], path: Path, title: str, metric: str = "WS353") -> Path | None:
    """One line per configuration (the mean over its seeds) through the sweep's axes to its
    score, coloured by the score; None with fewer than two configurations or no axis."""
    from nbw2v.app.plotting import pyplot
    from nbw2v.app.report import _seed_means

    done = [r for r in rows if r["status"] == "FINISHED" and r.get(metric) is not None]
    axes = sweep_axes(done)
    configs = _seed_means(done, metric)
    if not axes or len(configs) < 2:
        return None
    import matplotlib

    plt = pyplot()
    columns = [*axes, metric]
    positions: list[list[float]] = []
    ticks: list[tuple[list[float], list[str]]] = []
    for col in columns:
        values = _axis_values(configs, col)
        if col == metric:
            lo, hi = min(values), max(values)
            span = hi - lo or 1.0
            positions.append([(v - lo) / span for v in values])
            ticks.append(([0.0, 0.5, 1.0], [f"{lo:.3f}", f"{(lo + hi) / 2:.3f}", f"{hi:.3f}"]))
            continue
        levels = sorted({v for v in values}, key=lambda v: (isinstance(v, str), v))
        where = {v: (i / (len(levels) - 1) if len(levels) > 1 else 0.5) for i, v in enumerate(levels)}
        positions.append([where[v] for v in values])
        ticks.append(([where[v] for v in levels], [f"{v:g}" if isinstance(v, float) else str(v) for v in levels]))
    scores = np.array(_axis_values(configs, metric), dtype=float)
    norm = matplotlib.colors.Normalize(vmin=scores.min(), vmax=scores.max() if scores.max() > scores.min() else 1)
    colours = matplotlib.colormaps["viridis"]
    fig, ax = plt.subplots(figsize=(1.8 * len(columns) + 2, 4), dpi=110)
    for i in np.argsort(scores):  # best drawn last, on top
        ax.plot(range(len(columns)), [p[i] for p in positions], color=colours(norm(scores[i])), lw=1.6, alpha=0.9)
    for x, (where, labels) in enumerate(ticks):
        ax.axvline(x, color="0.6", lw=0.8)
        for y, text in zip(where, labels, strict=True):
            ax.text(x + 0.04, y, text, fontsize=7, va="center")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(columns) - 0.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, label=f"{metric} (mean over seeds)")
    ax.set_title(f"{title}: each configuration from its axes to {metric}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
