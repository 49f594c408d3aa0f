"""``nbw2v``: everything that is not a tracked training run.

``nbw2v eval``, ``nbw2v neighbors``, ``nbw2v gradcheck``, ``nbw2v demo`` and ``nbw2v train``
(a plain, untracked training run writing a vectors file). Tracked runs and sweeps:
``nbw2v-train`` (Hydra + MLflow, :mod:`nbw2v.app.hydra_app`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from nbw2v.config import ANALOGY_RESTRICT, CBOW_LR, SKIPGRAM_LR, EvalConfig
from nbw2v.losses.registry import LOSSES


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from nbw2v.gradcheck import TOLERANCE, gradcheck_all

    start = time.perf_counter()
    results = {}
    for seed in range(args.seeds):
        for key, err in gradcheck_all(seed=seed, n_words=args.words, dim=args.dim, n_neg=args.k).items():
            results[key] = max(results.get(key, 0.0), err)
    elapsed = time.perf_counter() - start
    if args.json:
        print(json.dumps({"max_rel_err": results, "tolerance": TOLERANCE, "seconds": elapsed}, indent=2))
    else:
        print(
            f"Gradient check: float64, central differences h=1e-4, {args.seeds} random problem(s) "
            f"(V={args.words}, d={args.dim}, K={args.k}, window of 4 with repeats)"
        )
        for key, err in results.items():
            print(f"  {key:45s} max_rel_err = {err:.2e}  {'ok' if err <= TOLERANCE else 'FAILED'}")
        print(f"  ({elapsed:.2f} s, tolerance {TOLERANCE:g})")
    return 0 if all(err <= TOLERANCE for err in results.values()) else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from nbw2v import naive_softmax_loss_and_grad_batch, neg_sampling_loss_and_grad_batch
    from nbw2v._jit import set_threads

    threads = set_threads(args.threads)
    status = _cmd_gradcheck(argparse.Namespace(seeds=3, words=8, dim=5, k=4, json=False))
    rng = np.random.default_rng(0)
    n_words, dim, batch = args.vocab, 100, 256
    U = (rng.standard_normal((n_words, dim)) * 0.1).astype(np.float32)
    X = (rng.standard_normal((batch, dim)) * 0.1).astype(np.float32)
    o = rng.integers(0, n_words, batch)
    negs = rng.integers(0, n_words, (batch, 5))
    print(f"\nKernel demo: float32, V={n_words}, d={dim}, batch={batch}, {threads} Numba thread(s)")
    for name, fn, extra in (
        ("naive softmax (batched)", naive_softmax_loss_and_grad_batch, ()),
        ("negative sampling K=5 (batched)", neg_sampling_loss_and_grad_batch, (negs,)),
    ):
        t0 = time.perf_counter()
        losses, _, _ = fn(X, o, U, *extra)
        first = time.perf_counter() - t0
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.5:
            fn(X, o, U, *extra)
            reps += 1
        rate = reps * batch / (time.perf_counter() - t0)
        print(
            f"  {name:34s} mean loss {losses.mean():.4f}  first call {first:.2f} s "
            f"(compile or cache load)  {rate:,.0f} pairs/s"
        )
    print(f"  uniform-guess softmax loss would be log V = {np.log(n_words):.4f}")
    return status


def _cmd_train(args: argparse.Namespace) -> int:
    from nbw2v.app.run import evaluate_embeddings, summarize
    from nbw2v.config import Config, EvalConfig
    from nbw2v.training.train import train

    cfg = Config()
    for section, key, value in (
        ("data", "corpus", args.corpus),
        ("data", "min_count", args.min_count),
        ("data", "sample", args.sample),
        ("model", "arch", args.arch),
        ("model", "dim", args.dim),
        ("model", "window", args.window),
        ("loss", "name", args.loss),
        ("loss", "K", args.k),
        ("train", "epochs", args.epochs),
        ("train", "lr", args.lr),
        ("train", "threads", args.threads),
        ("train", "deterministic", args.deterministic),
        ("train", "shared_negatives", not args.per_pair_negatives),
        ("train", "device", args.device),
    ):
        if value is not None:
            setattr(getattr(cfg, section), key, value)
    if args.arch == "cbow" and args.lr is None:
        cfg.train.lr = CBOW_LR  # word2vec.c's CBOW default
    cfg.seed = args.seed
    if args.out:  # fail now, not after training
        out_dir = Path(args.out).expanduser().resolve().parent
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"--out {args.out}: cannot create {out_dir} ({exc.strerror})") from None
        if not os.access(out_dir, os.W_OK):
            raise ValueError(f"--out {args.out}: {out_dir} is not writable")
    emb = train(cfg)
    if args.out:
        path, error = emb.save_somewhere(args.out)
        if error is not None:  # the vectors are kept elsewhere; the command still fails
            print(
                f"nbw2v train: error: --out {args.out}: cannot write the vectors ({error.strerror or error}); saved "
                f"them to {path.resolve()} instead",
                file=sys.stderr,
            )
            return 1
        print(f"nbw2v: wrote {len(emb):,} vectors to {path}", file=sys.stderr)
    print(summarize(evaluate_embeddings(emb, EvalConfig())))
    for word in args.probe:
        if word in emb:
            print(f"  {word}: " + ", ".join(f"{w} {s:.2f}" for w, s in emb.most_similar(word, topn=6)))
    return 0


def _load_vectors(source: str, tracking_uri: str = ""):
    from nbw2v.tracking.tracker import load_vectors

    return load_vectors(source, tracking_uri)


def _cmd_eval(args: argparse.Namespace) -> int:
    from nbw2v.evaluation.evaluate import (
        SUITE_ANALOGIES,
        SUITE_SIMILARITY,
        SimilarityResult,
        evaluate_configured,
        results_to_metrics,
    )

    post = _check_benchmark_args(args)  # before the vectors are read
    emb, run_id = _load_vectors(args.vectors, args.tracking_uri)
    if args.suite:
        args.similarity, args.analogies = list(SUITE_SIMILARITY), ",".join(SUITE_ANALOGIES)
    if args.similarity is None:
        args.similarity = list(EvalConfig().similarity)
    if args.analogies is None:
        args.analogies = EvalConfig().analogies
    view = emb.postprocessed(args.center or args.remove_top > 0, args.remove_top)
    results = evaluate_configured(
        view, args.similarity, args.analogies, args.restrict or None, not args.case_sensitive, args.method
    )
    metrics = results_to_metrics(results)
    if args.json:
        report = {"vectors": args.vectors, "words": len(emb), "dim": emb.dim, "metrics": metrics, "results": []}
        for r in results:
            if isinstance(r, SimilarityResult):
                report["results"].append(
                    {
                        "set": r.name,
                        "spearman": r.spearman,
                        "spearman_ci95": r.ci,
                        "pearson": r.pearson,
                        "pairs_used": r.pairs_used,
                        "pairs_total": r.pairs_total,
                    }
                )
            else:
                report["results"].append(
                    {
                        "set": "analogies" if r.name == "google" else f"{r.name} analogies",
                        "method": r.method,
                        "accuracy": r.accuracy,
                        "accuracy_ci95": r.ci,
                        "used": r.used,
                        "total": r.total,
                        "sections": {
                            k: dict(zip(("correct", "used", "total"), v, strict=True)) for k, v in r.sections.items()
                        },
                    }
                )
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.vectors}: {len(emb):,} words, dimension {emb.dim}" + (f" ({post})" if post else ""))
        for r in results:
            print("  " + r.summary())
    if args.log_to_run:
        if run_id is None:
            raise ValueError("--log-to-run: VECTORS must be an MLflow run (run id or runs:/<id>/...)")
        from nbw2v.tracking.tracker import log_metrics_to_run

        log_metrics_to_run(run_id, metrics, args.tracking_uri)
        print(f"logged {len(metrics)} metrics to MLflow run {run_id}", file=sys.stderr)
    uncovered = [r for r in results if (r.spearman if isinstance(r, SimilarityResult) else r.accuracy) is None]
    for r in uncovered:
        print(f"nbw2v eval: {r.summary()}: no evaluation word is in the vocabulary", file=sys.stderr)
    return 1 if uncovered else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from nbw2v.app.compare import run_compare

    _check_benchmark_args(args)
    return run_compare(args)


def _parse_query(text: str) -> tuple[list[str], list[str]]:
    """'king' -> ([king], []); 'king-man+woman' -> ([king, woman], [man])."""
    positive, negative, sign, word = [], [], 1, ""
    for ch in text + "+":
        if ch in "+-" and word:
            (positive if sign > 0 else negative).append(word)
            word = ""
        if ch in "+-":
            sign = 1 if ch == "+" else -1
        else:
            word += ch
    return positive, negative


def _cmd_neighbors(args: argparse.Namespace) -> int:
    import difflib

    post = _postprocess(args)  # before the vectors are read
    emb, _ = _load_vectors(args.vectors, args.tracking_uri)
    emb = emb.postprocessed(args.center or args.remove_top > 0, args.remove_top)
    if post:
        print(f"(cosines of the vectors {post})", file=sys.stderr)
    status = 0
    for query in args.words:
        positive, negative = _parse_query(query)
        unknown = [w for w in positive + negative if w not in emb]
        if unknown or not positive:
            for word in unknown:
                close = difflib.get_close_matches(word, emb.words, n=5, cutoff=0.75)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                print(f"{word}: not in the vocabulary ({len(emb):,} words){hint}", file=sys.stderr)
            if not positive:
                print(f"{query}: expected a word or an expression like king-man+woman", file=sys.stderr)
            status = 1
            continue
        hits = emb.most_similar(positive, negative, topn=args.topn)
        if not hits:  # a zero query has no cosine with anything
            zero = [w for w in positive + negative if not emb.vectors[emb.vocab.index[w]].any()]
            why = f"the vector of {', '.join(zero)} is all zeros" if zero else "the query adds up to the zero vector"
            print(f"{query}: no neighbours: {why} (cosine similarity is undefined)", file=sys.stderr)
            status = 1
            continue
        print(f"{query}: " + ", ".join(f"{w} {s:.3f}" for w, s in hits))
    return status


VECTORS_HELP = (
    "word2vec text or binary file (auto-detected), nbw2v .npz, or an MLflow run: its id or runs:/<id>/vectors"
)


SIDE_HELP = (
    "run ids, runs:/<id>/vectors or vectors files, comma-separated (A1,A2,A3: seeds), or a filter on the axes "
    "(window=10,K=15)"
)


def _cmd_replay(args: argparse.Namespace) -> int:
    """One journal, or every journal under a folder (a whole sweep: children, then the parent,
    whose report and status are then made as the sweep's end would have made them)."""
    from nbw2v.tracking.journal import find_journals, journal_header, read_journal
    from nbw2v.tracking.replay import replay

    def warn(text: str) -> None:
        print(f"nbw2v replay: {text}", file=sys.stderr)

    path = Path(args.journal)
    single = not path.is_dir() or (path / "journal.jsonl").exists()
    journals = [path / "journal.jsonl" if path.is_dir() else path] if single else find_journals(path)
    if not journals:
        print(f"nbw2v replay: no journal left to send under {path} (each replayed one has a REPLAYED file)")
        return 0
    sweeps: dict[str, dict] = {}  # sweep id -> where to conclude it
    for file in journals:
        header = journal_header(file) if file.is_file() else {}  # (a missing file: replay names it)
        run_id, count = replay(file, args.tracking_uri, warn=warn)
        if count:
            print(f"replayed {count} tracking operation(s) into MLflow run {run_id}")
        if header.get("sweep_id"):
            sweep = sweeps.setdefault(header["sweep_id"], {"header": header, "end_ms": None, "dir": file.parent})
            if header.get("role") == "sweep":
                ops, _ = read_journal(file)
                sweep["end_ms"] = next((op.get("time") for op in ops if op.get("op") == "end"), None)
    if not single:  # a sweep whose runs were journaled: its end (report, status) made now
        from nbw2v.app.sweep import finish_replayed_sweep

        for sweep_id, sweep in sweeps.items():
            h = sweep["header"]
            status = finish_replayed_sweep(
                args.tracking_uri or h["tracking_uri"],
                h["experiment"],
                sweep_id,
                sweep["dir"] / "report",
                sweep["end_ms"],
            )
            print(f"sweep {sweep_id}: {status}, report logged to its parent run")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    """RUNNING runs and whether their process still lives; --close marks the stale ones KILLED."""
    from nbw2v.tracking.tracker import NoStore, close_runs, running_runs

    if args.max_age_min <= 0:
        raise ValueError(f"--max-age-min: expected a number > 0, got {args.max_age_min}")
    try:
        runs = running_runs(args.tracking_uri, args.experiment, args.max_age_min * 60)
    except NoStore as exc:  # a listing never creates a store
        print(f"no RUNNING runs: {exc}")
        return 0
    shown = [r for r in runs if r["stale"]] if args.stale or args.close else runs
    if not shown:
        print("no stale RUNNING runs" if args.stale or args.close else "no RUNNING runs")
        return 0
    for r in shown:
        state = f"stale: {r['stale']}" if r["stale"] else "alive"
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["start_time"]))
        print(f"{r['run_id']}  {r['run_name'] or '-':24s} started {started}  {state}")
    if args.close:
        close_runs([(r["run_id"], r["stale"]) for r in shown], args.tracking_uri)
        print(f"closed {len(shown)} stale run(s) as KILLED")
    elif any(r["stale"] for r in shown):
        print("close them with: nbw2v runs --stale --close", file=sys.stderr)
    return 0


def _check_benchmark_args(args: argparse.Namespace) -> str:
    """The options of ``eval`` and ``compare`` checked before anything is read; returns how the
    vectors are post-processed ('' or e.g. 'centred')."""
    if args.restrict < 0:
        raise ValueError(f"--restrict: expected an integer >= 0 (0: all words), got {args.restrict}")
    return _postprocess(args)


def _postprocess(args: argparse.Namespace) -> str:
    from nbw2v.embeddings import Embeddings

    if args.remove_top < 0:
        raise ValueError(f"--remove-top: expected an integer >= 0, got {args.remove_top}")
    return Embeddings.describe_postprocessing(args.center, args.remove_top)


def _add_benchmark_arguments(p: argparse.ArgumentParser, runs_default: bool = False) -> None:
    """Which benchmarks and how: shared by ``nbw2v eval`` and ``nbw2v compare``."""
    when_runs = "; runs: the benchmarks they were scored on" if runs_default else ""
    p.add_argument(
        "--similarity",
        nargs="*",
        default=None,
        help=f"wordsim353, simlex999 ... or files of word1<TAB>word2<TAB>score (default: those two{when_runs})",
    )
    p.add_argument(
        "--analogies",
        default=None,
        help=f"'google', 'msr' (bundled), a file, several with commas, or '' to skip (default: google{when_runs})",
    )
    p.add_argument(
        "--suite",
        action="store_true",
        help="the standard suite (Levy et al. 2015): every bundled similarity set and Google + MSR analogies",
    )
    p.add_argument(
        "--restrict",
        type=int,
        default=ANALOGY_RESTRICT,
        help=f"answer analogies among the N most frequent words (0: all; default {ANALOGY_RESTRICT:,})",
    )
    p.add_argument("--method", choices=["3cosadd", "3cosmul"], default="3cosadd", help="analogy method")
    p.add_argument("--case-sensitive", action="store_true", help="match words exactly (default: caseless)")
    _add_postprocess_arguments(p)


def _add_postprocess_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--center", action="store_true", help="subtract the mean vector first (as eval.center)")
    p.add_argument(
        "--remove-top",
        type=int,
        default=0,
        metavar="D",
        help="also remove the top D principal directions (all-but-the-top, Mu and Viswanath 2018; as eval.remove_top)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbw2v",
        description="nbw2v: word2vec experimentation toolkit (exact losses, gradient checks, fast training).",
        epilog=(
            "Tracked training runs and sweeps use the Hydra app: nbw2v-train [key=value ...] "
            "(nbw2v-train --help lists the config groups; --cfg job prints the config).\n"
            "examples:\n"
            "  nbw2v-train model.window=10 loss.K=15          train on the bundled corpus, logged to ./mlflow.db\n"
            "  nbw2v eval vectors.bin --json                   score any word2vec-format file\n"
            "  nbw2v neighbors vectors.bin king water          nearest neighbours\n"
            "  nbw2v gradcheck                                 check both losses' gradients\n"
            "  nbw2v report SWEEP_ID                           table and heatmaps of a sweep"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train word vectors (default: the bundled corpus) and evaluate them")
    p.add_argument("--corpus", help="text file (.gz/.bz2), directory, 'text8' or 'bundled' (default)")
    p.add_argument("--out", help="write the vectors here (.bin word2vec binary, .npz native, else text)")
    p.add_argument("--arch", choices=["skipgram", "cbow"], help="default skipgram")
    p.add_argument("--loss", choices=list(LOSSES), help="negative (default), hs (hierarchical softmax) or softmax")
    p.add_argument("--dim", type=int, help="dimension (default 100)")
    p.add_argument("--window", type=int, help="max window size (default 5)")
    p.add_argument("-k", type=int, help="negatives K (default 5)")
    p.add_argument("--min-count", type=int, help="default 5")
    p.add_argument("--sample", type=float, help="subsampling threshold (default 1e-3)")
    p.add_argument("--epochs", type=int, help="default 5")
    p.add_argument("--lr", type=float, help=f"initial learning rate (default {SKIPGRAM_LR}; CBOW {CBOW_LR})")
    p.add_argument("--threads", type=int, help="default: all cores")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--deterministic", action="store_true", default=None, help="bit-reproducible (no Hogwild)")
    p.add_argument("--per-pair-negatives", action="store_true", help="word2vec.c's per-pair negatives")
    p.add_argument("--device", choices=["cpu", "cuda"], help="cuda: the GPU trainer (pip install 'nbw2v[cuda]')")
    p.add_argument("--probe", nargs="*", default=EvalConfig().probe_words, help="words to show neighbours of")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="word similarity and analogy scores of a vectors file or MLflow run")
    p.add_argument("vectors", help=VECTORS_HELP)
    _add_benchmark_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--tracking-uri", default="", help="MLflow store of a run given as VECTORS (default ./mlflow.db)")
    p.add_argument("--log-to-run", action="store_true", help="log the metrics to the MLflow run given as VECTORS")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "compare",
        help="is A better than B? per benchmark, seeds and items as noise, Holm-adjusted verdicts",
        description=(
            "Each side is one run or a group (seeds of one configuration): comma-separated run ids, "
            "runs:/<id>/vectors or vectors files (A1,A2,A3), or a filter on the axes selecting a sweep "
            "cell's seeds (window=10,K=15 with --sweep ID). With 2+ runs on a side the intervals include "
            "seed noise; verdicts are Holm-adjusted over the benchmarks."
        ),
    )
    p.add_argument("a", help="side A: " + SIDE_HELP)
    p.add_argument("b", help="side B (same forms)")
    _add_benchmark_arguments(p, runs_default=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--tracking-uri", default="", help="MLflow store of runs given as A or B (default ./mlflow.db)")
    from nbw2v.app.compare import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser(
        "replay", help="send offline tracking journals (./mlflow-offline/...) to MLflow: one run's, or a whole sweep's"
    )
    p.add_argument("journal", help="journal.jsonl or its folder, or a folder of journals (e.g. a sweep's journal_dir)")
    p.add_argument("--tracking-uri", default="", help="send it here instead of the store it was meant for")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser(
        "runs",
        help="RUNNING MLflow runs and whether their process lives (--stale --close ends dead ones as KILLED)",
    )
    p.add_argument("--stale", action="store_true", help="only runs whose process is gone")
    p.add_argument("--close", action="store_true", help="mark the stale runs KILLED (implies --stale)")
    p.add_argument(
        "--max-age-min",
        type=float,
        default=60.0,
        help="runs of other hosts are stale after this long without a heartbeat (default 60)",
    )
    p.add_argument("--experiment", default="", help="one experiment (default: all)")
    p.add_argument("--tracking-uri", default="", help="MLflow store (default $MLFLOW_TRACKING_URI or ./mlflow.db)")
    p.set_defaults(func=_cmd_runs)

    sub.add_parser("report", help="sweep report: table + heatmaps of a sweep's runs (nbw2v report --help)")

    p = sub.add_parser("neighbors", help="nearest neighbours of words in a vectors file")
    p.add_argument("vectors", help=VECTORS_HELP)
    p.add_argument("words", nargs="+", help="words, or expressions like king-man+woman (a - b + c queries)")
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--tracking-uri", default="", help="MLflow store of a run given as VECTORS (default ./mlflow.db)")
    _add_postprocess_arguments(p)
    p.set_defaults(func=_cmd_neighbors)

    p = sub.add_parser("gradcheck", help="check both losses' gradients against central differences")
    p.add_argument("--seeds", type=int, default=5, help="random problems to check (default 5)")
    p.add_argument("--words", type=int, default=8, help="vocabulary size V of each problem (default 8)")
    p.add_argument("--dim", type=int, default=5, help="dimension d (default 5)")
    p.add_argument("-k", type=int, default=4, help="negatives K (default 4)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_gradcheck)

    p = sub.add_parser("demo", help="gradient checks plus a timed run of the batched kernels")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all cores)")
    p.add_argument("--vocab", type=int, default=10_000, help="vocabulary size of the demo (default 10000)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _positive(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name}: expected an integer >= 1, got {value}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:  # its own parser: nbw2v report SWEEP_ID [--filter ...]
        from nbw2v.app.report import main as report_main

        return report_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    # options that reach no config validation are checked here; train's go through validate()
    _positive(
        parser,
        args,
        *{
            "gradcheck": ("seeds", "words", "dim", "k"),
            "demo": ("threads", "vocab"),
            "neighbors": ("topn",),
        }.get(args.command, ()),
    )
    from nbw2v.tracking.liveness import is_sigterm, sigterm_raises

    try:
        with sigterm_raises():
            return args.func(args)
    except ValueError as exc:  # ConfigError, CorpusError, vectors/checkpoint errors, bad arguments
        print(f"nbw2v {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # TrainingDiverged
        print(f"nbw2v {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        sigterm = is_sigterm(exc)  # also a SIGTERM that stopped training (TrainingInterrupted)
        print(f"nbw2v {args.command}: {exc or 'interrupted (Ctrl-C)'}", file=sys.stderr)
        return 143 if sigterm else 130


if __name__ == "__main__":
    sys.exit(main())
