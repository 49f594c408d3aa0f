"""``nbw2v compare A B``: each side one run or a group of runs (seeds), by run id, vectors file
or a sweep cell chosen by its axes, scored on the same items and compared with
:func:`nbw2v.evaluation.compare.compare_groups`.

A side is comma-separated: ``RUN_ID``, ``runs:/<id>/vectors``, a vectors file, several of
them (``A1,A2,A3``: seeds of one configuration), or a filter on the axes
(``window=10,K=15``; with ``--sweep ID`` within one sweep) selecting the FINISHED seeds of
one configuration. A run is scored from its logged per-item predictions
(``eval/predictions.json``) when they cover what is asked, else from its vectors; a run with
neither is refused, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbw2v.config import EvalConfig

#: what a bare ``nbw2v compare`` scores files on, as a run's default ``eval`` (runs with
#: predictions: what they were scored on)
DEFAULT_SIMILARITY = tuple(EvalConfig().similarity)
DEFAULT_ANALOGIES = tuple(a for a in EvalConfig().analogies.split(",") if a)


@dataclass
class Source:
    label: str
    run_id: str | None = None
    path: Path | None = None
    results: list = field(default_factory=list)


@dataclass
class Request:
    """What to score: benchmark names (None: automatic) and the evaluation options."""

    similarity: list[str] | None
    analogies: list[str] | None
    options: dict

    def names(self) -> tuple[list[str], list[str]]:
        return list(self.similarity or DEFAULT_SIMILARITY), list(self.analogies or DEFAULT_ANALOGIES)


def _stem(item: str, bundled) -> str:
    return item if item in bundled else Path(item).stem


def _kind_name(result) -> tuple[str, str]:
    """('sim' or 'ana', the set's name): what a result answers."""
    from nbw2v.evaluation.evaluate import SimilarityResult

    return ("sim" if isinstance(result, SimilarityResult) else "ana", result.name)


def parse_side(text: str, client_factory, sweep_id: str = "", experiment: str = "") -> list[Source]:
    """The sources of one side (see the module's docstring)."""
    from nbw2v.tracking.tracker import is_run_reference

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"{text!r}: expected run ids, vectors files or a filter like window=5,K=5")
    if any("=" in t for t in items):
        from nbw2v.tracking import run_store

        wanted = run_store.parse_filter(text)
        runs = run_store.finished_runs(client_factory(), experiment, sweep_id)
        where = f" in sweep {sweep_id}" if sweep_id else ""
        hits = run_store.select_cell(runs, wanted, text + where)
        return [Source(f"{r.info.run_name or r.info.run_id}", run_id=r.info.run_id) for r in hits]
    out = []
    for item in items:
        if is_run_reference(item):
            run_id = item[len("runs:/") :].split("/")[0] if item.startswith("runs:/") else item
            out.append(Source(item, run_id=run_id))
        else:
            path = Path(item).expanduser()
            if not path.exists():
                raise ValueError(
                    f"{item}: no such file (a side is run ids, vectors files or a filter like window=5,K=5, "
                    "comma-separated)"
                )
            out.append(Source(item, path=path))
    seen = [s.run_id or str(s.path.resolve()) for s in out]
    twice = sorted({s for s in seen if seen.count(s) > 1})
    if twice:
        raise ValueError(f"{text}: {twice[0]} is given twice on one side (each run counts once)")
    return out


def _wanted(request: Request, available: list) -> list | None:
    """The results of ``available`` that answer ``request`` (None: something asked is missing)."""
    from nbw2v.evaluation.evaluate import BUNDLED_ANALOGIES, BUNDLED_SIMILARITY

    if request.similarity is None and request.analogies is None:
        return available
    sim, ana = request.names()
    names = {("sim", _stem(s, BUNDLED_SIMILARITY)) for s in sim} | {("ana", _stem(a, BUNDLED_ANALOGIES)) for a in ana}
    have = {_kind_name(r): r for r in available}
    if not names <= set(have):
        return None
    return [have[n] for n in have if n in names]


def _from_vectors(emb, request: Request) -> list:
    from nbw2v.evaluation.evaluate import evaluate_configured

    o = request.options
    sim, ana = request.names()
    view = emb.postprocessed(o["center"], o["remove_top"])
    return evaluate_configured(view, sim, ",".join(ana), o["restrict"] or None, o["case_insensitive"], o["method"])


def load_results(source: Source, request: Request, client_factory, tracking_uri: str = "") -> None:
    """Fill ``source.results``: from the run's predictions when they answer the request with
    the same options, else from its vectors (a file's, or the run's artifact)."""
    from nbw2v.embeddings import Embeddings

    if source.path is not None:
        source.results = _from_vectors(Embeddings.load(source.path), request)
        return
    from nbw2v.evaluation.predictions import from_json
    from nbw2v.tracking import run_store
    from nbw2v.tracking.tracker import load_vectors

    client = client_factory()
    text = run_store.run_predictions(client, source.run_id)
    why = "it logged no per-item predictions (eval/predictions.json)"
    if text is not None:
        results, options = from_json(text, f"run {source.run_id}: {run_store.PREDICTIONS}")
        differ = [f"{k}={options.get(k)!r} (asked {v!r})" for k, v in request.options.items() if options.get(k) != v]
        chosen = None if differ else _wanted(request, results)
        if chosen is not None:
            source.results = chosen
            return
        why = "its predictions lack a benchmark asked"
        if differ:
            why = f"its predictions were made with {', '.join(differ)}"
    if run_store.has_vectors(client, source.run_id):
        emb, _ = load_vectors(source.run_id, tracking_uri)
        source.results = _from_vectors(emb, request)
        return
    raise ValueError(
        f"run {source.label}: cannot be scored: {why}, and it saved no vectors (logger.save_vectors=none); "
        + (
            "compare on what it was scored with (drop --similarity/--analogies/--suite and matching options)"
            if text is not None
            else "rerun it with a current nbw2v, or with logger.save_vectors=binary"
        )
    )


def automatic_request(sources: list[Source], request: Request) -> None:
    """Without --similarity/--analogies: the benchmarks every run's predictions have (when all
    sources are runs that logged them)."""
    if request.similarity is not None or request.analogies is not None:
        return
    if not sources or any(s.run_id is None or not s.results for s in sources):
        return
    common = set.intersection(*({_kind_name(r) for r in s.results} for s in sources))
    for s in sources:
        s.results = [r for r in s.results if _kind_name(r) in common]


def store_seed_spread(client, sources: list[Source], differences) -> dict[str, tuple[float, str]]:
    """{benchmark: (sd, where)}: the seed spread of each benchmark's score over the
    configurations with 2+ seeds in the experiment of the first run given."""
    from nbw2v.evaluation.predictions import metric_key
    from nbw2v.tracking import run_store
    from nbw2v.tracking.tracker import with_retry

    first = next((s for s in sources if s.run_id), None)
    if first is None:
        return {}
    run = with_retry(client.get_run, first.run_id)
    exp = with_retry(client.get_experiment, run.info.experiment_id)
    runs = run_store.finished_runs(client, exp.name)
    keys = {d.name: metric_key(d.name) for d in differences}
    spread = run_store.seed_spread(runs, list(keys.values()))
    out = {}
    for name, key in keys.items():
        if key in spread:
            sd, configs, count = spread[key]
            out[name] = (sd, f"experiment {exp.name!r}: {configs} configuration(s) with 2+ seeds, {count} runs")
    return out


@dataclass
class Comparison:
    differences: list
    labels: list[str]
    sides: list[list[Source]]
    #: {benchmark: (sd, where)} from the store, when the comparison itself has no seeds
    spread: dict


def compare_sides(
    a: str, b: str, request: Request, tracking_uri: str = "", sweep: str = "", experiment: str = "", log=None
) -> Comparison:
    """Resolve both sides, score every run on the same benchmarks, compare (Holm-adjusted)."""
    from nbw2v.evaluation.compare import compare_groups
    from nbw2v.tracking import run_store

    clients: list = []

    def client():
        if not clients:
            clients.append(run_store.client_for(tracking_uri))
        return clients[0]

    sides = [parse_side(t, client, sweep, experiment) for t in (a, b)]
    every = sides[0] + sides[1]
    for i, source in enumerate(every, 1):
        if log:
            log(f"scoring {i}/{len(every)}: {source.label}")
        load_results(source, request, client, tracking_uri)
    automatic_request(every, request)
    differences = compare_groups(*([s.results for s in side] for side in sides))
    if not differences:
        raise ValueError("no benchmark is common to both sides: name one with --similarity/--analogies")
    seeds = any(d.seeds_included for d in differences)
    spread = {} if seeds or not any(s.run_id for s in every) else store_seed_spread(client(), every, differences)
    labels = [_side_label(t, side) for t, side in zip((a, b), sides, strict=True)]
    return Comparison(differences, labels, sides, spread)


def run_compare(args) -> int:
    import json
    import sys

    from nbw2v.evaluation.compare import compare_table
    from nbw2v.evaluation.evaluate import SUITE_ANALOGIES, SUITE_SIMILARITY
    from nbw2v.evaluation.predictions import make_options

    similarity, analogies = args.similarity, args.analogies
    if args.suite:
        similarity, analogies = list(SUITE_SIMILARITY), ",".join(SUITE_ANALOGIES)
    options = make_options(args.restrict, args.method, not args.case_sensitive, args.center, args.remove_top)
    request = Request(
        similarity, None if analogies is None else [a.strip() for a in analogies.split(",") if a.strip()], options
    )
    if (request.similarity is None) != (request.analogies is None):  # one named: the other's default, as eval
        request.similarity = list(DEFAULT_SIMILARITY) if request.similarity is None else request.similarity
        request.analogies = list(DEFAULT_ANALOGIES) if request.analogies is None else request.analogies

    def log(text: str) -> None:
        print(f"nbw2v compare: {text}", file=sys.stderr)

    result = compare_sides(args.a, args.b, request, args.tracking_uri, args.sweep, args.experiment, log)
    differences, labels, spread = result.differences, result.labels, result.spread
    if args.json:
        fields = ("name", "metric", "a", "b", "diff", "ci", "shared", "total", "n_a", "n_b", "se_items")
        fields += ("seed_sd", "p", "p_holm", "family", "seeds_included")
        rows = []
        for d in differences:
            row = {f: getattr(d, f) for f in fields}
            row["verdict"] = d.verdict
            if d.name in spread:
                row["store_seed_sd"] = spread[d.name][0]
            rows.append(row)
        out = {"a": labels[0], "b": labels[1], "runs_a": [s.label for s in result.sides[0]]}
        out["runs_b"] = [s.label for s in result.sides[1]]
        print(json.dumps({**out, "adjustment": "holm", "differences": rows}, indent=2))
    else:
        print(compare_table(differences, labels[0], labels[1], spread), end="")
    return 0


def _side_label(text: str, side: list[Source]) -> str:
    """A side as given, with the runs a filter chose (or how many were given)."""
    if len(side) == 1 and side[0].label == text:
        return text
    if "=" in text:
        return f"{text} ({len(side)} run(s): {', '.join(s.label for s in side)})"
    return f"{', '.join(s.label for s in side)} ({len(side)} runs)"


def add_arguments(p) -> None:
    """compare's own options (beside the benchmark options shared with ``nbw2v eval``)."""
    p.add_argument("--sweep", default="", help="with a filter side (window=5,K=5): only runs of this sweep id")
    p.add_argument("--experiment", default="", help="with a filter side: only this experiment (default: every one)")
