"""Compare several vector sets side by side: nbw2v runs (MLflow run ids or runs:/ URIs) and
any word2vec-format files (gensim, word2vec.c, fastText .vec), on the same evaluations.

    python experiments/compare_vectors.py outputs/vectors.bin gensim.bin <run id> [--json] [--out table.md]

Every score is printed with its coverage: scores over different subsets are not comparable,
so also consider --restrict and a common vocabulary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nbw2v.evaluation.evaluate import SimilarityResult, evaluate_configured
from nbw2v.tracking.tracker import load_vectors


def compare(sources: list[str], restrict: int, tracking_uri: str = "") -> list[dict]:
    rows = []
    for source in sources:
        emb, run_id = load_vectors(source, tracking_uri)
        row = {"vectors": source, "words": len(emb), "dim": emb.dim}
        for r in evaluate_configured(emb, restrict=restrict):
            if isinstance(r, SimilarityResult):
                row[r.name] = r.spearman
                row[f"{r.name}_pairs"] = f"{r.pairs_used}/{r.pairs_total}"
            else:
                row["analogy"] = r.accuracy
                row["analogy_semantic"] = r.split(False)
                row["analogy_syntactic"] = r.split(True)
                row["analogy_questions"] = f"{r.used}/{r.total}"
        rows.append(row)
    return rows


def markdown(rows: list[dict], restrict: int) -> str:
    def f(x, pct=False):
        if x is None:
            return "—"
        return f"{100 * x:.1f}%" if pct else f"{x:.3f}"

    lines = [
        f"| vectors | words | dim | WS353 (pairs) | SimLex-999 (pairs) | analogies, top {restrict:,} (questions) "
        "| semantic | syntactic |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['vectors']} | {r['words']:,} | {r['dim']} | {f(r.get('wordsim353'))} ({r['wordsim353_pairs']}) "
            f"| {f(r.get('simlex999'))} ({r['simlex999_pairs']}) | {f(r.get('analogy'), True)} "
            f"({r['analogy_questions']}) | {f(r.get('analogy_semantic'), True)} "
            f"| {f(r.get('analogy_syntactic'), True)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vectors", nargs="+", help="vector files and/or MLflow run ids / runs:/ URIs")
    parser.add_argument("--restrict", type=int, default=30_000, help="analogy vocabulary (most frequent N)")
    parser.add_argument("--tracking-uri", default="", help="MLflow store for run ids (default ./mlflow.db)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", help="also write the Markdown table here")
    args = parser.parse_args(argv)
    try:
        rows = compare(args.vectors, args.restrict, args.tracking_uri)
    except (ValueError, FileNotFoundError) as exc:
        print(f"compare_vectors: error: {exc}", file=sys.stderr)
        return 2
    table = markdown(rows, args.restrict)
    print(json.dumps(rows, indent=2) if args.json else table)
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
