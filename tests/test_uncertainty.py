"""Bootstrap intervals of the benchmark scores and the standard evaluation suite's real files."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from nbw2v.evaluation import metric_names
from nbw2v.evaluation.evaluate import (
    BUNDLED_ANALOGIES,
    BUNDLED_SIMILARITY,
    SUITE_ANALOGIES,
    SUITE_SIMILARITY,
    evaluate_configured,
    read_analogies,
    read_similarity_pairs,
    results_to_metrics,
)
from nbw2v.evaluation.uncertainty import (
    accuracy_interval,
    format_interval,
    resample_counts,
    resampled_spearman,
    spearman_interval,
)


def test_resampled_spearman_equals_scipy_on_the_expanded_sample():
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal(120), 1)  # many ties
    y = np.round(x + rng.standard_normal(120), 1)
    counts = resample_counts(120, 20, seed=3)
    assert (counts.sum(axis=1) == 120).all()
    got = resampled_spearman(x, y, counts)
    for b in range(20):
        reps = counts[b].astype(int)
        assert got[b] == pytest.approx(spearmanr(np.repeat(x, reps), np.repeat(y, reps))[0], abs=1e-12)


def test_spearman_intervals_cover_the_true_value_about_95_percent_of_the_time():
    """Bivariate normal with correlation r: the population Spearman is (6/pi) asin(r/2)."""
    rng = np.random.default_rng(0)
    r, n, trials = 0.6, 150, 200
    truth = 6 / math.pi * math.asin(r / 2)
    hits = 0
    for t in range(trials):
        x = rng.standard_normal(n)
        y = r * x + math.sqrt(1 - r * r) * rng.standard_normal(n)
        low, high = spearman_interval(x, y, samples=400, seed=t)
        hits += low <= truth <= high
    assert 0.88 <= hits / trials <= 0.99, hits / trials


def test_accuracy_intervals_cover_and_narrow_with_more_questions():
    rng = np.random.default_rng(5)
    hits = 0
    for t in range(200):
        correct = int(rng.binomial(400, 0.3))
        low, high = accuracy_interval(correct, 400, seed=t)
        hits += low <= 0.3 <= high
    assert 0.88 <= hits / 200 <= 0.99
    small, large = accuracy_interval(30, 100), accuracy_interval(3000, 10000)
    assert small[1] - small[0] > 5 * (large[1] - large[0])
    assert accuracy_interval(0, 0) is None and spearman_interval([1.0, 2.0], [2.0, 1.0]) is None
    assert format_interval(0.6264, (0.5711, 0.6759)) == "0.626 [0.571, 0.676]"
    assert format_interval(0.229, (0.22, 0.238), scale=100, digits=1, unit="%") == "22.9% [22.0, 23.8]"


def test_the_suite_files_read_as_upstream_ships_them():
    sizes = {"ws353_similarity": 203, "ws353_relatedness": 252, "men": 3000, "mturk287": 287, "rare_words": 2034}
    for name, n in sizes.items():
        pairs = read_similarity_pairs(BUNDLED_SIMILARITY[name])  # spaces (MEN), CRLF (MTurk, RW)
        assert len(pairs) == n, name
        assert all(not w.endswith("\r") and " " not in w for a, b, _ in pairs for w in (a, b)), name
    [(section, questions)] = read_analogies(BUNDLED_ANALOGIES["msr"])  # no sections, CRLF
    assert section == "msr_analogy" and len(questions) == 8000
    assert questions[0] == ("good", "better", "rough", "rougher")
    assert set(SUITE_SIMILARITY) == set(BUNDLED_SIMILARITY) and SUITE_ANALOGIES == ("google", "msr")


def _suite_words() -> list[str]:
    pairs = [p for name in SUITE_SIMILARITY for p in read_similarity_pairs(BUNDLED_SIMILARITY[name])]
    return sorted({w.lower() for a, b, _ in pairs for w in (a, b)})


def test_the_suite_scores_a_model_with_intervals_quickly():
    import time

    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    words = _suite_words()
    rng = np.random.default_rng(0)
    emb = Embeddings(Vocab(words, np.arange(len(words), 0, -1)), rng.standard_normal((len(words), 50)).astype("f4"))
    start = time.perf_counter()
    results = evaluate_configured(emb, SUITE_SIMILARITY, "google,msr")
    seconds = time.perf_counter() - start
    metrics = results_to_metrics(results)
    for name in SUITE_SIMILARITY:
        key = metric_names.score_key(name)
        low, high = (metrics[k] for k in metric_names.interval_keys(key))
        assert low <= metrics[key] <= high and high - low < 0.5, name
    assert "eval/msr_analogy_cov" in metrics and "eval/analogy_cov" in metrics
    assert seconds < 30  # generous: a loaded CI machine; the docs quote the idle figure


def test_nbw2v_eval_suite_prints_every_benchmark_with_its_interval(tmp_path, capsys):
    from nbw2v.app.cli import main
    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    words = _suite_words()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(words), 20)).astype("f4")
    Embeddings(Vocab(words, np.arange(len(words), 0, -1)), vectors).save(tmp_path / "v.txt", fmt="text")
    main(["eval", "--suite", str(tmp_path / "v.txt")])
    out = capsys.readouterr().out
    for name in SUITE_SIMILARITY:
        assert f"  {name}: Spearman " in out
    assert "men: Spearman" in out and " [" in out.split("men: Spearman", 1)[1].splitlines()[0]
    assert "msr analogies (3cosadd)" in out


def test_eval_suite_preset_and_checked_names():
    from hydra import compose, initialize_config_dir

    from nbw2v.app.hydra_app import CONF_DIR, to_config
    from nbw2v.config import ConfigError, validate

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = to_config(compose(config_name="config", overrides=["eval=suite"]))
    assert (
        tuple(cfg.eval.similarity)
        == SUITE_SIMILARITY[:1] + SUITE_SIMILARITY[2:4] + SUITE_SIMILARITY[1:2] + SUITE_SIMILARITY[4:]
    )
    assert cfg.eval.analogies == "google,msr"
    validate(cfg)
    cfg.eval.analogies = "google,msrr"
    with pytest.raises(ConfigError, match=r"eval.analogies: 'msrr' is neither a bundled set \(google, msr\)"):
        validate(cfg)


def _similarity(name, cosines, human):
    from nbw2v.evaluation.evaluate import SimilarityResult

    return SimilarityResult(name, None, None, len(human), len(human), cosines=cosines, human=human)


def test_the_paired_comparison_finds_a_planted_difference_and_none_against_itself():
    from nbw2v.evaluation.compare import compare_results, compare_table
    from nbw2v.evaluation.evaluate import AnalogyResult

    rng = np.random.default_rng(0)
    human = rng.standard_normal(400)
    good = human + 0.5 * rng.standard_normal(400)
    poor = human + 1.5 * rng.standard_normal(400)
    poor[:20] = np.nan  # B misses some pairs: only the shared ones are compared
    right_a = (rng.random(1000) < 0.6).astype(np.int8)
    right_b = (rng.random(1000) < 0.5).astype(np.int8)
    right_b[-100:] = -1
    a = [_similarity("ws", good, human), AnalogyResult("3cosadd", 0, 0, 1000, outcomes=right_a)]
    b = [_similarity("ws", poor, human), AnalogyResult("3cosadd", 0, 0, 1000, outcomes=right_b)]
    sim, ana = compare_results(a, b)
    assert sim.verdict == "A better" and sim.ci[0] > 0 and sim.shared == 380 and sim.total == 400
    assert ana.verdict == "A better" and (ana.shared, ana.total) == (900, 1000)
    assert compare_results(b, a)[0].verdict == "B better"
    same = compare_results(a, a)
    assert all(d.verdict == "no difference" and d.diff == 0 for d in same)
    table = compare_table(compare_results(a, b), "run-a", "run-b")
    assert "| ws | " in table and "A better" in table and "380 of 400" in table
    # paired: the interval of the difference is narrower than two independent intervals combined
    alike = good + 0.3 * rng.standard_normal(400)  # B shares most of A's errors
    d = compare_results([_similarity("ws", good, human)], [_similarity("ws", alike, human)])[0]
    (low_a, high_a), (low_b, high_b) = spearman_interval(good, human), spearman_interval(alike, human)
    assert d.ci[1] - d.ci[0] < 0.5 * math.hypot(high_a - low_a, high_b - low_b)
