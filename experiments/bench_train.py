"""Training benchmark: nbw2v against gensim's Word2Vec on the same corpus, setting and threads.

    python experiments/bench_train.py [--corpus ../shared/corpora/refcorpus.txt.gz] [--quick] [--only ...]
        [--baseline REV]  (REV: an earlier commit, e.g. 6bcbcb9: its default row in the same run)
        [--peers DIR | --no-peers]

Setting (the standard one): skip-gram, negative sampling K=5, window 5, dim 100, min_count 5,
sample 1e-3, lr 0.025, 5 epochs, 2 threads. Runs, each in its own process (for its peak RSS):
nbw2v with shared negatives (default) and with word2vec.c's per-pair negatives, gensim 4.4 in
``corpus_file`` mode (its fastest), the C peers in the same run (Intel's pWord2Vec on OpenBLAS
twice, interleaved, as its speed varies between runs; word2vec.c once); then nbw2v with 1 thread
(scaling) and 1 epoch (both peers);
then the other classic settings against the same peer: skip-gram with hierarchical softmax
(gensim ``hs=1 negative=0``) and CBOW with negative sampling (lr 0.05).

Words/s = raw corpus words x epochs / training seconds (vocabulary building timed apart).
Quality: WordSim353 and SimLex-999 Spearman, Google analogies (3CosAdd, 30k most frequent
words), each with coverage. Writes ``bench_train.md`` and ``bench_train.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpora" / "refcorpus.txt.gz"
SETTING = {"K": 5, "window": 5, "dim": 100, "min_count": 5, "sample": 1e-3, "lr": 0.025}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: variant -> (model.arch, loss.name, shared window updates, lr); gensim takes the same names
VARIANTS = {
    "shared": ("skipgram", "negative", True, 0.025),
    "pair": ("skipgram", "negative", False, 0.025),
    "hs": ("skipgram", "hs", True, 0.025),
    "cbow": ("cbow", "negative", True, 0.05),
}
#: what a run is compared with: gensim in the same setting
SETTING_OF = {"shared": "sg-ns", "pair": "sg-ns", "-": "sg-ns", "hs": "sg-hs", "cbow": "cbow-ns"}


#: environment variable naming an extracted nbw2v tree (``--baseline``) the worker imports instead
BASELINE_ENV = "NBW2V_BENCH_CODE"


def _nbw2v_entry_points():
    """(Config, SilentProgress, build_vocab_and_corpus, train, evaluate_configured,
    results_to_metrics) from this tree, or from the ``--baseline`` tree, whose modules may still
    be in the flat layout of before 2026-11-30 09:33 (nbw2v/train.py, nbw2v/evaluate.py)."""
    if os.environ.get(BASELINE_ENV):
        sys.path.insert(0, os.environ[BASELINE_ENV])
    from nbw2v.config import Config
    from nbw2v.progress import SilentProgress

    try:
        from nbw2v.evaluation.evaluate import evaluate_configured, results_to_metrics
        from nbw2v.training.train import build_vocab_and_corpus, train
    except ImportError:  # the flat layout
        from nbw2v.evaluate import evaluate_configured, results_to_metrics
        from nbw2v.train import build_vocab_and_corpus, train
    return Config, SilentProgress, build_vocab_and_corpus, train, evaluate_configured, results_to_metrics


def worker_nbw2v(corpus: str, threads: int, epochs: int, variant: str) -> dict:
    Config, SilentProgress, build_vocab_and_corpus, train, evaluate_configured, results_to_metrics = (
        _nbw2v_entry_points()
    )

    cfg = Config()
    cfg.data.corpus = corpus
    cfg.data.min_count = SETTING["min_count"]
    cfg.data.sample = SETTING["sample"]
    cfg.model.dim, cfg.model.window = SETTING["dim"], SETTING["window"]
    cfg.loss.K = SETTING["K"]
    arch, loss, shared, lr = VARIANTS[variant]
    cfg.model.arch, cfg.loss.name = arch, loss
    cfg.train.lr, cfg.train.epochs, cfg.train.threads = lr, epochs, threads
    cfg.train.shared_negatives = shared
    cfg.train.report_every_s = 1e9
    # the default path, timed like gensim's read: the corpus store built into an empty cache, then
    # memory-mapped by training (an older tree given by --baseline reads it as it did then)
    cache = tempfile.mkdtemp(prefix="nbw2v-bench-cache-")
    cfg.data.cache_dir = cache
    prepared = build_vocab_and_corpus(cfg)
    emb = train(cfg, progress=SilentProgress(), prepared=prepared)
    shutil.rmtree(cache, ignore_errors=True)
    train_peak = _peak_rss_mb()
    s = emb.stats
    return {
        "peak_rss_mb": train_peak,
        "vocab_seconds": s["vocab_seconds"],
        "train_seconds": s["train_seconds"],
        "compile_seconds": s["compile_seconds"],
        "raw_words": s["raw_words"],
        "vocab_size": len(emb),
        "final_loss": s["epoch_losses"][-1],
        "memory_model_mb": (2 * len(emb) * cfg.model.dim * 4) / 2**20,  # the two matrices (the corpus is mapped)
        **results_to_metrics(evaluate_configured(emb)),
    }


def worker_gensim(corpus: str, threads: int, epochs: int, variant: str = "-") -> dict:
    import gensim
    import numpy as np
    from gensim.models import Word2Vec

    from nbw2v.embeddings import Embeddings
    from nbw2v.evaluation.evaluate import evaluate_configured, results_to_metrics
    from nbw2v.text.vocab import Vocab

    model = Word2Vec(
        sg=0 if variant == "cbow" else 1,
        hs=1 if variant == "hs" else 0,
        negative=0 if variant == "hs" else SETTING["K"],
        window=SETTING["window"],
        vector_size=SETTING["dim"],
        min_count=SETTING["min_count"],
        sample=SETTING["sample"],
        alpha=0.05 if variant == "cbow" else SETTING["lr"],
        epochs=epochs,
        workers=threads,
        seed=1,
    )
    start = time.perf_counter()
    model.build_vocab(corpus_file=corpus)
    vocab_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.train(
        corpus_file=corpus, total_examples=model.corpus_count, total_words=model.corpus_total_words, epochs=epochs
    )
    train_seconds = time.perf_counter() - start
    train_peak = _peak_rss_mb()
    kv = model.wv
    counts = np.array([kv.get_vecattr(w, "count") for w in kv.index_to_key])
    emb = Embeddings(Vocab(list(kv.index_to_key), counts), kv.vectors)
    return {
        "gensim_version": gensim.__version__,
        "peak_rss_mb": train_peak,
        "vocab_seconds": vocab_seconds,
        "train_seconds": train_seconds,
        "raw_words": float(model.corpus_total_words),
        "vocab_size": len(kv),
        **results_to_metrics(evaluate_configured(emb)),
    }


#: the C peers: binary name -> its flags for the standard setting (skip-gram, negatives)
PEER_FLAGS = {
    "word2vec": ["-cbow", "0", "-hs", "0", "-binary", "0"],
    "pWord2Vec": ["-binary", "0", "-batch-size", "11"],
}
PEER_NAMES = {"word2vec": "word2vec.c", "pWord2Vec": "pWord2Vec + OpenBLAS"}
ANCHORS = HERE.parent.parent / "shared" / "anchors"


def peer_binaries(where: str) -> tuple[Path | None, str]:
    """The folder of built peers (``word2vec``, ``pWord2Vec``): ``where`` if given, else built
    once from ``../shared/anchors/build.sh`` into ``~/.cache/nbw2v/peers``; (None, why) if not."""
    if where:
        path = Path(where)
        return (path, "") if path.is_dir() else (None, f"--peers {where}: no such folder")
    path = Path(os.environ.get("NBW2V_CACHE") or Path.home() / ".cache" / "nbw2v") / "peers"
    if all((path / name).exists() for name in PEER_FLAGS):
        return path, ""
    build = ANCHORS / "build.sh"
    if not build.exists():
        return None, f"no peer binaries and no {build} to build them"
    proc = subprocess.run(["bash", str(build), str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, f"{build} failed (needs gcc, g++ and libopenblas-dev): {proc.stderr.strip()[-300:]}"
    return path, ""


def worker_peer(binary: str, corpus: str, threads: int, epochs: int) -> dict:
    """A C peer's run: its own progress lines timed as they arrive (first to last), so its
    vocabulary pass is not counted; peak RSS of the child; the vectors evaluated like ours."""
    import re

    from nbw2v.embeddings import Embeddings
    from nbw2v.evaluation.evaluate import evaluate_configured, results_to_metrics

    name = Path(binary).name
    out = Path(tempfile.mkdtemp(prefix="nbw2v-peer-")) / "vectors.txt"
    cmd = [binary, "-train", corpus, "-output", str(out), "-negative", str(SETTING["K"])]
    cmd += ["-window", str(SETTING["window"]), "-size", str(SETTING["dim"]), "-min-count", str(SETTING["min_count"])]
    cmd += ["-sample", str(SETTING["sample"]), "-iter", str(epochs), "-alpha", str(SETTING["lr"])]
    cmd += ["-threads", str(threads), *PEER_FLAGS[name]]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # pWord2Vec's GEMMs inside its own threads
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    progress, pending = [], b""
    while chunk := proc.stdout.read1(4096):
        now = time.perf_counter()
        pending += chunk
        *done, pending = re.split(rb"[\r\n]", pending)
        for piece in done:
            found = re.search(rb"Progress: ([0-9.]+)%", piece)
            if found:
                progress.append((now, float(found.group(1))))
    if proc.wait() != 0 or len(progress) < 2:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}, {len(progress)} progress lines")
    (t0, p0), (t1, p1) = progress[0], progress[-1]
    raw_words = float(sum(len(line.split()) for line in open(corpus, encoding="utf-8", errors="replace")))
    emb = Embeddings.load(out)
    shutil.rmtree(out.parent, ignore_errors=True)
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        "vocab_seconds": t0 - start,  # until its first progress line: vocabulary, allocation, threads
        # progress-based: the share of all epochs' words between the first and the last line
        "train_seconds": (t1 - t0) * 100.0 / max(p1 - p0, 1e-9),
        "raw_words": raw_words,
        "vocab_size": len(emb),
        "progress_span": [p0, p1],
        **results_to_metrics(evaluate_configured(emb)),
    }


#: words of the corpus the kernels are first compiled on (not timed, not reported)
WARM_UP_WORDS = 200_000


def head_words(src: Path, dst: Path, n_words: int) -> int:
    """Copy whole lines of ``src`` to ``dst`` until at least ``n_words`` words (or the end);
    returns the words copied."""
    words = 0
    with open(src, encoding="utf-8", errors="replace") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if words >= n_words:
                break
            out.write(line)
            words += len(line.split())
    return words


def run_worker(args: list[str], code: str = "") -> dict:
    env = {**os.environ, BASELINE_ENV: code} if code else None
    cmd = [sys.executable, __file__, "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr[-4000:]}")
    from nbw2v.evaluation.metric_names import modernize

    return modernize(json.loads(proc.stdout.strip().splitlines()[-1]))  # a --baseline tree's names too


def markdown(report: dict) -> str:
    rows = report["runs"]
    lines = [
        "# Training benchmark",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        f"Machine: {report['machine']}  ",
        f"Corpus: {report['corpus']} ({rows[0]['raw_words']:,.0f} words); setting: skip-gram, negative sampling "
        f"K={SETTING['K']}, window {SETTING['window']}, dim {SETTING['dim']}, min_count {SETTING['min_count']}, "
        f"sample {SETTING['sample']}, lr {SETTING['lr']}.",
        "",
        "Words/s = raw corpus words x epochs / training seconds. Each run is a separate process; peak RSS is",
        "measured when training ends (the evaluation afterwards adds OpenBLAS buffers and score matrices).",
        "The C peers (built from ../shared/anchors with build.sh: -O3 -march=native) are timed by their own",
        "progress lines, first to last, scaled to all epochs (their vocabulary pass is not counted: `vocab s` is",
        "the time to their first progress line); their peak RSS is the child process's. "
        + (f"Peers: {report.get('peers', '')}." if report.get("peers") else ""),
        "",
        "| run | threads | epochs | words/s | vs gensim (same threads, epochs) | train s | vocab s | peak RSS MB "
        "| WS353 | SimLex | analogy (sem / syn) | coverage WS / SL / an |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer = next(
            (
                p
                for p in rows
                if p["impl"] == "gensim"
                and p["threads"] == r["threads"]
                and p["epochs"] == r["epochs"]
                and p.get("setting", "sg-ns") == r.get("setting", "sg-ns")
            ),
            None,
        )
        ratio = f"{r['words_per_sec'] / peer['words_per_sec']:.2f}x" if peer and r is not peer else "—"
        lines.append(
            f"| {r['name']} | {r['threads']} | {r['epochs']} | {r['words_per_sec']:,.0f} | {ratio} "
            f"| {r['train_seconds']:.1f} | {r['vocab_seconds']:.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['eval/ws353']:.3f} | {r['eval/simlex']:.3f} "
            f"| {100 * r['eval/analogy']:.1f}% ({100 * r['eval/analogy_sem']:.1f} / "
            f"{100 * r['eval/analogy_syn']:.1f}) | {r['eval/ws353_cov']:.3f} / "
            f"{r['eval/simlex_cov']:.3f} / {r['eval/analogy_cov']:.3f} |"
        )
    lines += ["", "## Targets", ""]
    for key, value in report["targets"].items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


def targets(runs: list[dict]) -> dict:
    def find(name):
        return next((r for r in runs if r["name"] == name), None)

    ours, peer = find("nbw2v shared negatives"), find("gensim corpus_file")
    pair, one = find("nbw2v per-pair negatives"), find("nbw2v shared negatives, 1 thread")
    out = {}
    if ours and peer:
        out["throughput vs gensim (>= 2x)"] = (
            f"{ours['words_per_sec']:,.0f} / {peer['words_per_sec']:,.0f} = "
            f"{ours['words_per_sec'] / peer['words_per_sec']:.2f}x"
        )
        out["WS353 vs gensim (within 0.02)"] = (
            f"{ours['eval/ws353']:.3f} vs {peer['eval/ws353']:.3f} ({ours['eval/ws353'] - peer['eval/ws353']:+.3f})"
        )
        out["analogy vs gensim (within 2 points)"] = (
            f"{100 * ours['eval/analogy']:.1f}% vs {100 * peer['eval/analogy']:.1f}% "
            f"({100 * (ours['eval/analogy'] - peer['eval/analogy']):+.1f} points)"
        )
        out["vocabulary building vs gensim (no slower)"] = (
            f"{ours['vocab_seconds']:.2f} s vs {peer['vocab_seconds']:.2f} s "
            "(ours also encodes the corpus to ids; gensim's only counts)"
        )
    pw = [r for r in runs if r["name"].startswith("pWord2Vec")]
    if ours:  # issue 30
        goal = f"{ours['words_per_sec']:,.0f} words/s"
        if peer:
            goal += f"; {ours['words_per_sec'] / peer['words_per_sec']:.2f}x gensim"
        if pw:
            best = max(pw, key=lambda r: r["words_per_sec"])
            each = ", ".join(f"{r['words_per_sec']:,.0f}" for r in pw)
            goal += f"; {ours['words_per_sec'] / best['words_per_sec']:.2f}x pWord2Vec's best run (runs: {each})"
        out["issue 30: skip-gram + negatives >= 3.0M words/s, >= 7x gensim, >= 1.5x pWord2Vec's best run"] = goal
    if ours and peer:
        out["issue 30: peak RSS <= gensim's + 100 MB"] = (
            f"{ours['peak_rss_mb']:.0f} MB vs {peer['peak_rss_mb']:.0f} MB "
            f"({ours['peak_rss_mb'] - peer['peak_rss_mb']:+.0f} MB)"
        )
    if pair and peer:
        out["word2vec.c-style per-pair option vs gensim"] = f"{pair['words_per_sec'] / peer['words_per_sec']:.2f}x"
    for label, mine, theirs, goal in (
        ("skip-gram + hierarchical softmax", "nbw2v hs", "gensim hs", 3.5),  # issue 30
        ("CBOW + negative sampling", "nbw2v cbow", "gensim cbow", 3.5),
    ):
        a, b = find(mine), find(theirs)
        if a and b:
            out[f"{label} vs gensim (>= {goal}x, WS353 within 0.02)"] = (
                f"{a['words_per_sec']:,.0f} / {b['words_per_sec']:,.0f} = "
                f"{a['words_per_sec'] / b['words_per_sec']:.2f}x; "
                f"WS353 {a['eval/ws353']:.3f} vs {b['eval/ws353']:.3f} "
                f"({a['eval/ws353'] - b['eval/ws353']:+.3f})"
            )
    before = next((r for r in runs if r["name"].startswith("nbw2v at ")), None)
    if ours and before:  # issue 19: >= 2x the trainer of 6bcbcb9, WS353 and SimLex within 0.01, analogies 1 point
        out[f"default vs {before['name']} (issue 19: >= 2.0x at equal quality)"] = (
            f"{ours['words_per_sec']:,.0f} / {before['words_per_sec']:,.0f} = "
            f"{ours['words_per_sec'] / before['words_per_sec']:.2f}x; WS353 "
            f"{ours['eval/ws353'] - before['eval/ws353']:+.3f}, SimLex "
            f"{ours['eval/simlex'] - before['eval/simlex']:+.3f}, analogies "
            f"{100 * (ours['eval/analogy'] - before['eval/analogy']):+.1f} points"
        )
    if ours and one:
        out["thread scaling 1 -> 2 (>= 1.8x)"] = (
            f"{one['words_per_sec']:,.0f} -> {ours['words_per_sec']:,.0f} = "
            f"{ours['words_per_sec'] / one['words_per_sec']:.2f}x"
        )
    return out


def _extract(rev: str, dest: str, parser) -> None:
    """``nbw2v/`` as of git revision ``rev`` into ``dest`` (its kernels compile into their own
    cache folder: the cache key hashes the kernel sources)."""
    repo = HERE.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "nbw2v"], capture_output=True)
    if archive.returncode != 0:
        parser.error(
            f"--baseline {rev}: git archive failed ({archive.stderr.decode().strip()}); give a commit of this clone"
        )
    os.makedirs(dest)
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="benchmark corpus (.txt or .txt.gz)")
    parser.add_argument("--out", default=str(HERE / "reports"), help="report directory")
    parser.add_argument("--quick", action="store_true", help="only the 2-thread runs, 1 epoch (smoke test)")
    parser.add_argument(
        "--only", help="comma-separated variants to run: shared (with gensim's default), pair, hs, cbow (default: all)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the default skip-gram row with nbw2v as of git revision REV (e.g. 6bcbcb9, the trainer "
        "before issue 19), in the same run: the before/after of a kernel change",
    )
    parser.add_argument(
        "--peers",
        default="",
        help="folder with the built C peers (word2vec, pWord2Vec; default: built once from "
        "../shared/anchors/build.sh into ~/.cache/nbw2v/peers; rows skipped with a line when impossible)",
    )
    parser.add_argument("--no-peers", action="store_true", help="no word2vec.c / pWord2Vec rows")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        impl, corpus, threads, epochs, *rest = args.worker
        if impl == "gensim":
            result = worker_gensim(corpus, int(threads), int(epochs), rest[0] if rest else "-")
        elif impl.startswith("peer:"):
            result = worker_peer(impl.removeprefix("peer:"), corpus, int(threads), int(epochs))
        else:
            result = worker_nbw2v(corpus, int(threads), int(epochs), rest[0])
        result["peak_rss_with_eval_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0

    source = Path(args.corpus)
    if not source.exists():
        parser.error(f"--corpus: {source} does not exist (the benchmark corpus is ../shared/corpora/refcorpus.txt.gz)")
    if os.cpu_count() and os.cpu_count() < 2:
        parser.error("needs 2 cores")
    if args.baseline and args.only and "shared" not in args.only.split(","):
        parser.error(f"--baseline {args.baseline} runs beside the default skip-gram row: add shared to --only")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = ""
        if args.baseline:
            baseline = str(Path(tmp) / "baseline")
            _extract(args.baseline, baseline, parser)
        corpus = Path(tmp) / "corpus.txt"  # both read the same uncompressed file (gensim's corpus_file needs it)
        with (
            gzip.open(source, "rb") if source.suffix == ".gz" else open(source, "rb") as src,
            open(corpus, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 22)
        # Each tree's kernels compiled (or loaded from the cache) on a small corpus first: the first
        # timed row after a kernel change otherwise ran its first epoch beside a cold cache (a run
        # of 2026-11-30: 14.8 s compile and 5.4 s more training than the next run's same row)
        small = Path(tmp) / "warm-up.txt"
        head_words(corpus, small, WARM_UP_WORDS)
        for code in ["", baseline] if baseline else [""]:
            print(f"warming the kernel cache{' of ' + args.baseline if code else ''} ...", file=sys.stderr, flush=True)
            run_worker(["nbw2v", str(small), "2", "1", "shared"], code)
        plan = [
            ("nbw2v shared negatives", "nbw2v", 2, 5, "shared"),
            ("nbw2v per-pair negatives", "nbw2v", 2, 5, "pair"),
            ("gensim corpus_file", "gensim", 2, 5, ""),
            ("nbw2v shared negatives, 1 thread", "nbw2v", 1, 5, "shared"),
            ("nbw2v shared negatives, 1 epoch", "nbw2v", 2, 1, "shared"),
            ("gensim corpus_file, 1 epoch", "gensim", 2, 1, ""),
            ("nbw2v hs", "nbw2v", 2, 5, "hs"),
            ("gensim hs", "gensim", 2, 5, "hs"),
            ("nbw2v cbow", "nbw2v", 2, 5, "cbow"),
            ("gensim cbow", "gensim", 2, 5, "cbow"),
        ]
        peers, why_not = (None, "--no-peers") if args.no_peers else peer_binaries(args.peers)
        if peers is not None:  # pWord2Vec's speed varies between runs: two runs, interleaved with ours and gensim
            pw, w2v = f"peer:{peers / 'pWord2Vec'}", f"peer:{peers / 'word2vec'}"
            plan.insert(1, ("pWord2Vec + OpenBLAS, run 1", pw, 2, 5, ""))
            plan.insert(4, ("pWord2Vec + OpenBLAS, run 2", pw, 2, 5, ""))
            plan.insert(5, ("word2vec.c", w2v, 2, 5, ""))
        if args.only:
            plan = [row for row in plan if row[4] in args.only.split(",") or (not row[4] and "shared" in args.only)]
        if args.quick:
            plan = [(n.replace(", 1 epoch", ""), i, t, 1, s) for n, i, t, e, s in plan if e == 1]
        if baseline:  # beside today's default, same threads and epochs
            plan.insert(1, (f"nbw2v at {args.baseline}, shared negatives", "nbw2v", 2, plan[0][3], "shared"))
        runs = []
        for name, impl, threads, epochs, variant in plan:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            code = baseline if name.startswith("nbw2v at ") else ""
            result = run_worker([impl, str(corpus), str(threads), str(epochs), variant or "-"], code)
            result.update(name=name, impl=impl, threads=threads, epochs=epochs, setting=SETTING_OF[variant or "-"])
            result["words_per_sec"] = result["raw_words"] * epochs / result["train_seconds"]
            runs.append(result)
            print(json.dumps(result), flush=True)
    from nbw2v.app.run import cpu_name

    cpu = cpu_name()
    report = {
        "peers": str(peers) if peers is not None else f"no C peer rows: {why_not}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "corpus": str(source.name),
        "setting": SETTING,
        "runs": runs,
        "targets": targets(runs),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_train_" + args.only.replace(",", "_") if args.only else "bench_train"
    name = "bench_train_quick" if args.quick else name
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(report))
    print(f"wrote {out / name}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
