"""One experiment: config -> tracked training run -> evaluation -> artifacts.

The layer between the command line (Hydra) and the pure ``train(cfg, tracker)``: it starts
and always ends the tracked run (FINISHED, FAILED with the error, KILLED on Ctrl-C), logs the
flattened config, environment tags, gradient checks on real tuples, evaluation metrics, and
artifacts (resolved config, vectors, loss curve, nearest-neighbour table).
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import tempfile
import traceback
from pathlib import Path

import numpy as np

from nbw2v import __version__
from nbw2v.config import validate
from nbw2v.embeddings import Embeddings
from nbw2v.evaluation import metric_names as mn
from nbw2v.evaluation import predictions
from nbw2v.evaluation.evaluate import evaluate_configured, results_to_metrics
from nbw2v.gradcheck import check_training_tuples
from nbw2v.losses import huffman_tree
from nbw2v.paths import PACKAGE_DIR
from nbw2v.progress import Progress
from nbw2v.tracking.liveness import Interrupted, Terminated, interrupts_deferred, is_sigterm, sigterm_raises
from nbw2v.tracking.tracker import ENV_STUDY, ENV_SWEEP, make_tracker, quiet_library_logging
from nbw2v.training.checkpoint import CheckpointSlot, training_config_hash
from nbw2v.training.train import (
    TrainingInterrupted,
    build_vocab_and_corpus,
    check_model,
    check_resume,
    flatten,
    require_device,
    threads_for,
    train,
)


def environment_tags(threads: int) -> dict[str, str]:
    import numba

    tags = {
        "nbw2v.version": __version__,
        "numba.version": numba.__version__,
        "numpy.version": np.__version__,
        "python.version": platform.python_version(),
        "host.cpu": cpu_name(),
        "host.cores": str(os.cpu_count()),
        "train.threads": str(threads),
    }
    commit = _git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def cpu_name() -> str:
    """The CPU model (for tags and benchmark reports)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def eval_options(eval_cfg) -> dict:
    """The options a run's scores were made with (recorded beside its per-item predictions)."""
    return predictions.make_options(eval_cfg.restrict, center=eval_cfg.center, remove_top=eval_cfg.remove_top)


def postprocessing(eval_cfg) -> str:
    """'' or how the vectors are changed before evaluation ('centred, top 1 principal ...')."""
    return Embeddings.describe_postprocessing(bool(eval_cfg.center), int(eval_cfg.remove_top))


def evaluate_results(emb: Embeddings, eval_cfg) -> list:
    """The configured evaluations (on the post-processed vectors when ``eval.center`` or
    ``eval.remove_top`` asks for it), per benchmark with per-item predictions."""
    view = emb.postprocessed(bool(eval_cfg.center), int(eval_cfg.remove_top))
    return evaluate_configured(view, eval_cfg.similarity, eval_cfg.analogies, eval_cfg.restrict)


def evaluate_embeddings(emb: Embeddings, eval_cfg, notes: list[str] | None = None) -> dict[str, float]:
    """The configured evaluations as flat metrics (``eval/ws353`` with interval and coverage);
    ``notes`` collects why a covered set has no score."""
    results = evaluate_results(emb, eval_cfg)
    if notes is not None:
        notes.extend(r.summary() for r in results if getattr(r, "note", ""))
    return results_to_metrics(results)


def objective(metrics: dict[str, float]) -> float:
    """The value optimising sweepers (Optuna) maximise: WordSim353 Spearman, else the first
    similarity score computed, else NaN (a trial Optuna records as failed, not a crash)."""
    if mn.WS353 in metrics:
        return float(metrics[mn.WS353])
    scores = [metrics[k] for k in mn.similarity_scores(metrics) if k in metrics]
    return float(scores[0]) if scores else float("nan")


def summarize(metrics: dict[str, float]) -> str:
    """One line: every score with its 95% interval and coverage (a set with nothing covered
    says so)."""
    return ", ".join(summary_parts(metrics))


def summary_parts(metrics: dict[str, float]) -> list[str]:
    """Each score with its 95% interval and coverage, one string per benchmark."""
    from nbw2v.evaluation.uncertainty import format_interval

    parts = []
    for key in mn.scores(metrics):
        coverage, score, label = metrics[mn.coverage_key(key)], metrics.get(key), mn.label(key)
        low, high = (metrics.get(k) for k in mn.interval_keys(key))
        interval = None if low is None or high is None else (low, high)
        if mn.is_analogy(key):
            parts.append(
                f"{label} {format_interval(score, interval, 100, 1, '%')} (coverage {coverage:.2f})"
                if score is not None
                else f"{label}: none covered"
            )
        else:
            parts.append(
                f"{label} Spearman {format_interval(score, interval)} (coverage {coverage:.2f})"
                if score is not None
                else f"{label}: no score (coverage {coverage:.2f}{'' if coverage else ': no pair covered'})"
            )
    return parts


def neighbours_table(emb: Embeddings, words: list[str], topn: int = 10, postprocess: str = "") -> str:
    """Markdown: each word's nearest neighbours; ``postprocess`` names how ``emb`` was changed
    (e.g. 'centred'), said above the table."""
    lines = [f"Cosines of the vectors {postprocess} (eval.center, eval.remove_top).", ""] if postprocess else []
    lines += ["| word | nearest neighbours (cosine) |", "|---|---|"]
    for word in words:
        if word in emb:
            cells = ", ".join(f"{w} {s:.2f}" for w, s in emb.most_similar(word, topn=topn))
        else:
            cells = "(not in the vocabulary)"
        lines.append(f"| {word} | {cells} |")
    return "\n".join(lines) + "\n"


LOSS_NOTE = (
    "Mean loss per pair before each update (negative sampling: K+1 logistic terms). In corpus order, a corpus\n"
    "grouped by source can show the last epoch's loss rising as the learning rate goes to zero: data.shuffle=true."
)


def loss_curve_png(
    history: list[tuple[int, float]], epoch_losses: list[float], words_per_epoch: int, path: Path, note: str = ""
):
    from nbw2v.app.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if history:
        x, y = zip(*history, strict=True)
        ax.plot(np.array(x) / words_per_epoch, y, label="loss per pair (interval mean)", color="tab:blue")
    ax.plot(
        np.arange(1, len(epoch_losses) + 1), epoch_losses, "o-", label="loss per pair (epoch mean)", color="tab:orange"
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if note:
        fig.text(0.01, 0.01, note, fontsize=6.5, color="0.35", va="bottom")
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    else:
        fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


class _Hooks:
    """Gradient checks and per-epoch evaluation during training."""

    def __init__(self, cfg, tracker, progress, phase=None):
        self.cfg, self.tracker, self.progress = cfg, tracker, progress
        self.phase = phase if phase is not None else [""]
        self.corpus = self.noise = self.tree = None

    def _gradcheck(self, input_vectors, output_vectors, step: int) -> None:
        c = self.cfg
        errs = check_training_tuples(
            self.corpus.ids,
            self.corpus.sentence_starts,
            input_vectors,
            output_vectors,
            self.noise,
            loss=c.loss.name,
            n_neg=c.loss.K,
            window=c.model.window,
            shared_negatives=c.train.shared_negatives,
            samples=c.eval.gradcheck_samples,
            seed=c.seed,
            tree=self.tree,
        )
        metrics = {f"gradcheck/{k}": v for k, v in errs.items()}
        # ~1e-10 reads as "0" on MLflow's chart axes: the exponent is what a person compares
        metrics.update({f"gradcheck/log10_{k}": math.log10(max(v, 1e-16)) for k, v in errs.items()})  # 0 -> -16
        self.tracker.log_metrics(metrics, step=step)
        when = "before training" if step == 0 else f"after epoch {step // max(self.words_per_epoch, 1)}"
        self.progress.message(
            f"nbw2v: gradient check {when} (float64, real tuples): max relative error {errs['max_rel_err']:.2e}"
        )

    def before_training(self, vocab, corpus, input_vectors, output_vectors, tables) -> None:
        self.corpus, self.vocab = corpus, vocab
        self.words_per_epoch = corpus.n_words
        self.noise = vocab.noise_distribution(self.cfg.loss.ns_exponent)
        self.tree = huffman_tree(vocab.counts) if self.cfg.loss.name == "hs" else None
        if self.cfg.eval.gradcheck:
            self.phase[0] = "checking gradients"
            self._gradcheck(input_vectors, output_vectors, step=0)
        self.phase[0] = "training"

    def after_epoch(self, epoch, input_vectors, output_vectors, step) -> None:
        every = self.cfg.eval.gradcheck_every
        if self.cfg.eval.gradcheck and every and epoch % every == 0:
            self._gradcheck(input_vectors, output_vectors, step)
        if self.cfg.eval.per_epoch:
            metrics = evaluate_embeddings(Embeddings(self.vocab, input_vectors), self.cfg.eval)
            self.tracker.log_metrics(metrics, step=step)
            self.progress.message(f"nbw2v: after epoch {epoch}: " + summarize(metrics))


#: overrides that name a run beyond arch, loss, window, K, dim and seed (short form, e.g. lr0.05)
_NAME_KEYS = {
    "train.lr": "lr",
    "train.epochs": "e",
    "data.min_count": "mc",
    "data.sample": "t",
    "loss.ns_exponent": "a",
    "train.shared_negatives": "shared",
    "train.device": "",
}


def config_run_name(cfg, overrides: list[str] | None = None) -> str:
    """A run's name from its configuration: ``sg-ns-w5-k5-d100-s1`` (architecture, loss, window,
    K for negative sampling, dimension, seed), then the other settings the command changed
    (``-lr0.05-e3``), so a sweep's children read by their axes."""
    from nbw2v.losses.registry import LOSSES

    arch = "sg" if cfg.model.arch == "skipgram" else cfg.model.arch
    loss = {"negative": "ns", "softmax": "sm"}.get(cfg.loss.name, cfg.loss.name)
    parts = [arch, loss, f"w{cfg.model.window}"]
    spec = LOSSES.get(cfg.loss.name)
    if spec is None or spec.extra == "neg_indices":
        parts.append(f"k{cfg.loss.K}")
    parts += [f"d{cfg.model.dim}", f"s{cfg.seed}"]
    for item in overrides or []:
        key, _, value = item.lstrip("+~").partition("=")
        if key in _NAME_KEYS and value:
            parts.append(f"{_NAME_KEYS[key]}{value}" if _NAME_KEYS[key] else value)
    return "-".join(parts)


def command_line(overrides: list[str] | None) -> str:
    """How this run was started, for its description and source: ``nbw2v-train k=v ...``."""
    import shlex
    import sys

    from nbw2v.tracking.redact import redact

    if overrides is not None:
        return redact(" ".join(["nbw2v-train", *(shlex.quote(o) for o in overrides)]))
    return redact(" ".join([Path(sys.argv[0]).name or "python", *(shlex.quote(a) for a in sys.argv[1:])]))


def description(command: str, metrics: dict[str, float], post: str = "") -> str:
    """The run's description (MLflow's ``mlflow.note.content``, Markdown): the command and the
    scores with their 95% intervals as the console printed them."""
    lines = [f"`{command}`", "", "Scores" + (f" (vectors {post})" if post else "") + ", 95% bootstrap intervals:", ""]
    return "\n".join(lines + [f"- {s}" for s in summary_parts(metrics)]) + "\n"


def config_hash(cfg) -> str:
    """The configuration's identity (``nbw2v.config_hash``, matched by ``logger.skip_finished``):
    the same hash a checkpoint must match (:func:`~nbw2v.training.checkpoint.training_config_hash`)."""
    return training_config_hash(flatten(cfg))


class RunInterrupted(Interrupted):
    """Ctrl-C or SIGTERM during a tracked run: the run is KILLED; the message says in which
    phase and where the trained model (if any) was kept."""


def run_experiment(
    cfg,
    tracker=None,
    resolved_config: str | None = None,
    overrides: list[str] | None = None,
    progress: Progress | None = None,
) -> tuple[Embeddings | None, dict[str, float]]:
    """Validate, check the checkpoint slot and the store, read the corpus, open the tracked run,
    train, evaluate, log artifacts, close the run. Every check that can fail runs before the
    run is opened; once open, the run always ends FINISHED, FAILED or KILLED (Ctrl-C and
    SIGTERM in any phase), and the trained model is kept as a checkpoint until its results
    are logged.

    Returns (None, {}) when ``logger.skip_finished`` finds this config already FINISHED."""
    validate(cfg)
    gpu = require_device(cfg)  # no GPU for train.device=cuda: fail before opening a run or reading
    progress = progress or Progress()
    tracker = tracker if tracker is not None else make_tracker(cfg.logger)
    if not cfg.logger.run_name and getattr(tracker, "run_name", "") is None:  # a name the user set wins
        tracker.run_name = config_run_name(cfg, overrides)
    quiet_library_logging()
    from nbw2v._jit import set_threads

    threads = set_threads(threads_for(cfg))
    digest = config_hash(cfg)
    phase = ["checking the checkpoint directory"]  # what the run was doing, for interruptions
    slot = CheckpointSlot(cfg.train.checkpoint_dir, training_config_hash(flatten(cfg)))
    with sigterm_raises():
        slot.prepare(str(cfg.train.resume), int(cfg.train.epochs))
        try:
            return _tracked_run(cfg, tracker, resolved_config, overrides, progress, threads, digest, gpu, slot, phase)
        except KeyboardInterrupt as exc:
            if isinstance(exc, RunInterrupted):
                raise
            raise _interrupted(exc, phase[0], slot) from None
        finally:
            slot.release()


def _interrupted(exc: KeyboardInterrupt, phase: str, slot: CheckpointSlot) -> RunInterrupted:
    """One message for an interruption in any phase, naming what survived."""
    how = "SIGTERM" if is_sigterm(exc) else "Ctrl-C"
    checkpoint = getattr(exc, "checkpoint", None)
    if checkpoint is None and slot.path.exists():
        checkpoint = slot.path
    if isinstance(exc, TrainingInterrupted) and str(exc):
        text = str(exc)
    else:
        text = f"interrupted by {how} while {phase}"
        if str(exc) and not isinstance(exc, Terminated):  # e.g. a second Ctrl-C cutting a checkpoint write
            text += f" ({exc})"
        if checkpoint is not None:
            text += f"; the model is kept in the checkpoint {checkpoint}"
    if checkpoint is not None:
        # a checkpoint saved elsewhere (the temporary directory, the disk being full) is named
        resume = "auto" if Path(checkpoint) in slot.candidates() else str(checkpoint)
        text += (
            f"; rerun the same command with train.resume={resume} to continue"
            + (" (training is done: it only evaluates and logs)" if phase in _AFTER_TRAINING else "")
            + f", or score it now: nbw2v eval {checkpoint}"
        )
    return RunInterrupted(text, checkpoint, sigterm=is_sigterm(exc))


_AFTER_TRAINING = ("evaluating the vectors", "logging the artifacts")


def _tracked_run(cfg, tracker, resolved_config, overrides, progress, threads, digest, gpu, slot, phase):
    phase[0] = "connecting to the tracking store"
    if cfg.logger.on_error != "warn":
        tracker.connect()  # an unusable store fails now, before the corpus is read
    if cfg.logger.skip_finished:
        done = tracker.find_finished(digest)
        if done:
            progress.message(f"nbw2v: skipped: this config already FINISHED as run {done} (logger.skip_finished)")
            return None, {}
    command = command_line(overrides)
    tags = {**environment_tags(threads), "nbw2v.config_hash": digest}
    tags.update({"mlflow.source.name": command, "mlflow.source.type": "LOCAL"})
    if gpu:
        tags["train.gpu"] = gpu
    if os.environ.get(ENV_SWEEP):
        tags["nbw2v.sweep_id"] = os.environ[ENV_SWEEP]
    if os.environ.get(ENV_STUDY):
        tags["nbw2v.optuna_study"] = os.environ[ENV_STUDY]
    phase[0] = "reading the corpus"
    try:
        prepared = build_vocab_and_corpus(cfg)  # bad corpora fail here, before any run is opened
        check_model(cfg, prepared[0], prepared[1])
        check_resume(cfg, slot, prepared[0], prepared[1])  # a checkpoint of another corpus, NaN in it
    except ValueError as exc:
        if os.environ.get(ENV_SWEEP):  # a sweep's job: a FAILED child says which config failed and why
            _safe(_failed_run, tracker, cfg, tags, str(exc))
            _sweep_progress(tracker)
        raise
    phase[0] = "opening the MLflow run"
    tracker.start(tags=tags)
    status, final = "FAILED", [""]
    try:
        tracker.log_params(flatten(cfg))
        if resolved_config is not None:
            tracker.log_text(resolved_config, "config/config.yaml")
        if overrides is not None:
            tracker.log_text("\n".join(overrides) + "\n", "config/overrides.txt")
        phase[0] = "training"
        hooks = _Hooks(cfg, tracker, progress, phase)
        emb = train(cfg, tracker, progress=progress, prepared=prepared, hooks=hooks, slot=slot, keep_checkpoint=True)
        final[0] = emb.stats.get("final_checkpoint", "")
        words = int(emb.stats["train_words"] * cfg.train.epochs)
        phase[0] = "evaluating the vectors"
        results = evaluate_results(emb, cfg.eval)
        notes = [r.summary() for r in results if getattr(r, "note", "")]
        metrics = results_to_metrics(results)
        tracker.log_metrics(metrics, step=words)
        tracker.log_text(predictions.to_json(results, eval_options(cfg.eval)), predictions.ARTIFACT)
        post = postprocessing(cfg.eval)
        tracker.set_tags({"mlflow.note.content": description(command, metrics, post)})
        if post:
            tracker.set_tags({"nbw2v.eval_postprocess": post})
        progress.result("nbw2v: " + (f"(vectors {post}) " if post else "") + summarize(metrics))
        for note in notes:
            progress.message(f"nbw2v: {note}")
        if notes:
            tracker.set_tags({"nbw2v.eval_note": "; ".join(notes)})
        tracker.log_metrics({"perf/vocab_seconds": emb.stats["vocab_seconds"]}, step=words)
        phase[0] = "logging the artifacts"
        _log_artifacts(cfg, tracker, emb, metrics)
        tracker.flush()
        if tracker.tracking_stats():
            tracker.log_metrics(tracker.tracking_stats(), step=words)
        status = "FINISHED"
        return emb, metrics
    except KeyboardInterrupt as exc:
        status = "KILLED"
        interrupted = _interrupted(exc, phase[0], slot)
        tags = {"nbw2v.error": str(interrupted)}
        if interrupted.checkpoint:
            tags["nbw2v.training.checkpoint"] = str(interrupted.checkpoint)
        _safe(tracker.set_tags, tags)
        raise interrupted from None
    except BaseException as exc:
        _safe(tracker.set_tags, {"nbw2v.error": f"{type(exc).__name__}: {exc}"[:4000]})
        _safe(tracker.log_text, traceback.format_exc(), "error.txt")
        raise
    finally:
        try:
            with interrupts_deferred():  # ending the run must not itself be cut short
                tracker.end(status)
        finally:
            if status == "FINISHED":  # results logged: the trained model's checkpoint is done with
                slot.path.unlink(missing_ok=True)
                if slot.done_with is not None:  # the fallback checkpoint it resumed, and its lock
                    slot.done_with.unlink(missing_ok=True)
                    slot.done_with.with_suffix(".lock").unlink(missing_ok=True)
                if final[0]:
                    Path(final[0]).unlink(missing_ok=True)
            # the run's id and links on stdout; a sweep's job says one line (the sweep prints the links)
            if not progress.label:
                _safe(_publish_run_view, tracker, cfg)
            described = tracker.describe()
            progress.result(described.splitlines()[0] if progress.label and described else described)
            _sweep_progress(tracker)


def _failed_run(tracker, cfg, tags: dict, error: str) -> None:
    """A run that failed before training, recorded FAILED with its params and the reason."""
    tracker.start(tags={**tags, "nbw2v.error": error[:4000]})
    try:
        tracker.log_params(flatten(cfg))
    finally:
        tracker.end("FAILED")


def _publish_run_view(tracker, cfg) -> None:
    """The view the printed "its charts" link opens: the loss curve against the epoch first."""
    from nbw2v.tracking import ui_views

    run_id = getattr(tracker, "run_id", None)
    if run_id:
        every = bool(cfg.eval.gradcheck and cfg.eval.gradcheck_every)
        tracker.publish_view(ui_views.run_view_key(run_id), ui_views.run_view(run_id, cfg.eval.per_epoch, every))


def _sweep_progress(tracker) -> None:
    """In a sweep's job: one line for the whole sweep (jobs done of the total, failures, ETA),
    counted in the store. Best effort: silent when the store cannot tell."""
    import sys
    import time

    from nbw2v.tracking.tracker import ENV_PARENT

    parent = os.environ.get(ENV_PARENT)
    client = getattr(tracker, "_client", None)
    if not parent or client is None or getattr(tracker, "journal", None) is not None:
        return
    from nbw2v.app.sweep import ENV_START, ENV_TOTAL, progress_line
    from nbw2v.tracking.run_store import children_status

    try:
        counts = children_status(client, tracker.experiment_id, parent)
    except Exception:  # noqa: BLE001
        return
    total = int(os.environ.get(ENV_TOTAL, "0") or 0) or None
    started = float(os.environ.get(ENV_START, "0") or 0) or None
    print(progress_line(counts, total, started, time.time()), file=sys.stderr, flush=True)


def _safe(fn, *args) -> None:
    """Best effort while reporting a failure: never mask the original error."""
    try:
        fn(*args)
    except Exception:  # noqa: BLE001
        pass


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _log_artifacts(cfg, tracker, emb: Embeddings, metrics: dict | None = None) -> None:
    from nbw2v.app.figures import cost_curve_png, word_vectors_png

    stats = emb.stats
    tracker.log_metrics(
        {"perf/train_seconds": stats["train_seconds"], "perf/peak_rss_mb": _peak_rss_mb()},
        step=int(stats["train_words"] * cfg.train.epochs),
    )
    if not tracker.keeps_artifacts:  # logger.name=none: skip the plot and the vectors file
        return
    view = emb.postprocessed(bool(cfg.eval.center), int(cfg.eval.remove_top))
    table = neighbours_table(view, list(cfg.eval.probe_words), postprocess=postprocessing(cfg.eval))
    tracker.log_text(table, "neighbours.md")
    with tempfile.TemporaryDirectory() as tmp:
        if "costs" in stats:  # train.sgd=minibatch: the assignment's cost against the iteration
            png = Path(tmp) / "cost_curve.png"
            cost_curve_png(stats["cost_iterations"], stats["costs"], png, int(cfg.train.anneal_every))
        else:
            png = Path(tmp) / "loss_curve.png"
            note = "" if cfg.data.shuffle else LOSS_NOTE
            loss_curve_png(stats.get("loss_history", []), stats["epoch_losses"], int(stats["train_words"]), png, note)
        tracker.log_artifact(png)
        if cfg.eval.plot_words:
            png = Path(tmp) / "word_vectors.png"
            try:
                missing = word_vectors_png(emb, list(cfg.eval.plot_words), png)
            except ValueError as exc:  # too few of the words in this vocabulary: say so, log the rest
                tracker.set_tags({"nbw2v.plot_note": str(exc)})
            else:
                tracker.log_artifact(png)
                if missing:
                    tracker.set_tags({"nbw2v.plot_note": "not in the vocabulary: " + ", ".join(missing)})
        fmt = cfg.logger.save_vectors
        if fmt != "none":
            name = {"binary": "vectors.bin", "text": "vectors.txt", "npz": "vectors.npz"}[fmt]
            emb.save(Path(tmp) / name, fmt=fmt)
            tracker.log_artifact(Path(tmp) / name, "vectors")
        if cfg.logger.log_model:
            linked = {k: v for k, v in (metrics or {}).items() if k.startswith("eval/")}
            step = int(stats["train_words"] * cfg.train.epochs)
            tracker.log_vectors_model(emb, list(cfg.eval.probe_words), linked, step)
