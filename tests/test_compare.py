"""Comparing groups of runs: seed noise in the interval, Holm across benchmarks, per-item
predictions as a run's comparable record, centring for vectors with one dominant direction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nbw2v.evaluation.compare import compare_benchmark, compare_groups, compare_table, holm
from nbw2v.evaluation.evaluate import AnalogyResult, SimilarityResult, spearman


def _sim(name, cosines, human, digest=""):
    return SimilarityResult(name, None, None, len(human), len(human), cosines=cosines, human=human, digest=digest)


def test_holm_adjusts_step_down_and_keeps_the_order():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5]
    assert holm([0.9, 0.4]) == pytest.approx([0.9, 0.8])  # 2 x 0.4, then at least that
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1, monotone
    assert holm([0.6, 0.7, 0.9]) == pytest.approx([1.0, 1.0, 1.0])


def _runs(rng, human, config_error, seeds, seed_sd, words=None):
    """One configuration's runs: its own fixed per-item error plus, per seed, an error carried by
    each pair's words (retraining moves a word's vector, and with it every pair the word is in:
    the pairs' errors are correlated, which resampling pairs cannot see)."""
    n = human.size
    words = words if words is not None else np.random.default_rng(7).integers(0, n // 50, (n, 2))
    out = []
    for _ in range(seeds):
        moved = rng.standard_normal(n // 50)
        seed_error = seed_sd * (moved[words[:, 0]] + moved[words[:, 1]]) / np.sqrt(2)
        out.append(_sim("men", human + config_error + seed_error, human))
    return out


def test_seeds_of_one_configuration_are_not_called_different_but_single_runs_are():
    """The failure of the old comparison: with only pair resampling, two seeds of one
    configuration differ "significantly" on a large set; with seed groups they do not."""
    rng = np.random.default_rng(3)
    human = rng.standard_normal(1500)
    config_error = 0.5 * rng.standard_normal(1500)
    single, grouped = 0, 0
    for _ in range(12):
        runs = _runs(rng, human, config_error, 4, 0.3)
        single += compare_benchmark(runs[:1], runs[1:2], samples=300).significant
        d = compare_benchmark(runs[:2], runs[2:], samples=300)
        assert d.seeds_included and d.seed_sd > 0 and (d.n_a, d.n_b) == (2, 2)
        grouped += d.significant
    assert grouped <= 1  # ~5% expected
    assert single >= 3  # pairs only: seed-to-seed noise looks like a real difference
    # a real difference (another configuration: a larger error) is still found with 2 seeds each
    good = _runs(rng, human, config_error, 2, 0.3)
    poor = _runs(rng, human, config_error + 0.8 * rng.standard_normal(1500), 2, 0.3)
    d = compare_benchmark(good, poor, samples=300)
    assert d.significant and d.diff > 0 and d.verdict == "A better" and d.ci[0] > 0


def test_groups_compare_every_benchmark_holm_adjusted_and_refuse_other_items():
    rng = np.random.default_rng(0)
    human = rng.standard_normal(400)
    right = [(rng.random(2000) < p).astype(np.int8) for p in (0.5, 0.52, 0.3, 0.31)]
    sims = [_sim("ws", human + rng.standard_normal(400), human) for _ in range(4)]
    ana = [AnalogyResult("3cosadd", 0, 0, 2000, outcomes=r) for r in right]
    groups_a = [[sims[0], ana[0]], [sims[1], ana[1]]]
    groups_b = [[sims[2], ana[2]], [sims[3], ana[3]]]
    sim_d, ana_d = compare_groups(groups_a, groups_b, samples=300)
    assert sim_d.family == ana_d.family == 2
    assert ana_d.verdict == "A better" and ana_d.diff == pytest.approx(0.205, abs=0.02)
    assert sorted([sim_d.p_holm, ana_d.p_holm]) == pytest.approx(holm(sorted([sim_d.p, ana_d.p])))
    table = compare_table([sim_d, ana_d], "a1,a2", "b1,b2")
    assert "p (Holm)" in table and "Holm-adjusted over the 2 benchmark(s)" in table
    assert "include seed noise" in table and "NOT included" not in table
    other = _sim("ws", sims[2].cosines, human, digest="f00d")
    with pytest.raises(ValueError, match="different versions of the benchmark's items"):
        compare_groups([[_sim("ws", sims[0].cosines, human, digest="beef")]], [[other]])


def test_one_run_per_side_says_seed_noise_is_not_included_and_shows_the_store_spread():
    rng = np.random.default_rng(1)
    human = rng.standard_normal(3000)
    a, b = _runs(rng, human, rng.standard_normal(3000), 2, 0.3)
    (d,) = compare_groups([[a]], [[b]], samples=300)
    assert not d.seeds_included and d.seed_sd is None
    table = compare_table([d], "a.bin", "b.bin", {"men": (0.02, "experiment 'x': 3 configuration(s) with 2+ seeds")})
    assert "Seed noise is NOT included" in table and "seed sd (store)" in table and "| 0.020 |" in table
    assert "seed noise alone could explain it" in table  # |diff| < 2.8 sd of one run across seeds
    if d.significant:
        assert "(items only)" in table


def test_predictions_round_trip_rebuilds_the_scores(tmp_path):
    from nbw2v.embeddings import Embeddings
    from nbw2v.evaluation import predictions
    from nbw2v.evaluation.evaluate import evaluate_configured
    from nbw2v.text.vocab import Vocab

    words = ["king", "queen", "man", "woman", "water", "sea", "tiger", "cat", "car", "train", "paris", "france"]
    rng = np.random.default_rng(0)
    emb = Embeddings(Vocab(words, np.arange(len(words), 0, -1)), rng.standard_normal((len(words), 6)))
    results = evaluate_configured(emb, ["wordsim353"], "google", restrict=None)
    text = predictions.to_json(results, {"restrict": 0, "method": "3cosadd"})
    assert len(text) < 400_000
    back, options = predictions.from_json(text)
    assert options == {"restrict": 0, "method": "3cosadd"}
    (sim, ana), (sim2, ana2) = results, back
    assert sim2.spearman == pytest.approx(sim.spearman) and sim2.pairs_used == sim.pairs_used
    np.testing.assert_array_equal(np.isnan(sim2.cosines), np.isnan(sim.cosines))
    assert (ana2.correct, ana2.used, ana2.total) == (ana.correct, ana.used, ana.total)
    assert sim2.digest == sim.digest and len(sim.digest) == 16 and ana2.digest == ana.digest
    with pytest.raises(predictions.PredictionsError, match="not an nbw2v predictions file"):
        predictions.from_json(json.dumps({"format": "other"}))
    with pytest.raises(predictions.PredictionsError, match="damaged"):
        predictions.from_json(text[:100])
    assert predictions.metric_key("analogies") == "eval/analogy"
    assert predictions.metric_key("msr analogies") == "eval/msr_analogy"
    assert predictions.metric_key(sim) == "eval/ws353"


def test_centring_and_all_but_the_top_remove_the_common_direction():
    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    rng = np.random.default_rng(0)
    n, d = 500, 10
    common = np.ones(d) * 3.0
    x = common + 0.3 * rng.standard_normal((n, d))
    emb = Embeddings(Vocab([f"w{i}" for i in range(n)], np.arange(n, 0, -1)), x)
    i, j = rng.integers(0, n, (2, 2000))

    def mean_cos(e):
        u = e.unit_vectors
        return float((u[i] * u[j]).sum(axis=1).mean())

    assert mean_cos(emb) > 0.95
    assert emb.postprocessed() is emb  # off: the same vectors
    centred = emb.postprocessed(center=True)
    assert abs(mean_cos(centred)) < 0.05
    np.testing.assert_allclose(centred.vectors.mean(axis=0), 0, atol=1e-5)
    top = emb.postprocessed(remove_top=2)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(top.vectors @ vt[:2].T, 0, atol=1e-4)  # the top 2 directions are gone
    assert Embeddings.describe_postprocessing(True, 0) == "centred"
    assert Embeddings.describe_postprocessing(True, 1) == "centred, top 1 principal component removed"
    with pytest.raises(ValueError, match="remove_top=10: must be below the dimension 10"):
        emb.postprocessed(remove_top=10)


@pytest.mark.slow
def test_compare_cli_on_trained_vectors_seed_groups_and_a_real_difference(tmp_path, capsys):
    """Real vectors, deterministic training: seeds 1,2 vs 3,4 of one configuration show no
    difference on any benchmark of the suite; dim 10 for 1 epoch vs dim 50 for 2 epochs does."""
    from nbw2v.app.cli import main

    def train(name, seed, dim, epochs):
        out = tmp_path / f"{name}.bin"
        args = ["train", "--epochs", str(epochs), "--dim", str(dim), "--seed", str(seed), "--deterministic"]
        assert main([*args, "--threads", "2", "--out", str(out), "--probe"]) == 0
        return str(out)

    same = [train(f"a{s}", s, 50, 2) for s in (1, 2, 3, 4)]
    small = [train(f"b{s}", s, 10, 1) for s in (1, 2)]
    capsys.readouterr()

    def compare(a, b):
        assert main(["compare", "--suite", "--json", a, b]) == 0
        return json.loads(capsys.readouterr().out)

    null = compare(",".join(same[:2]), ",".join(same[2:]))
    rows = null["differences"]
    assert len(rows) == 9 and null["adjustment"] == "holm"
    assert all(r["verdict"] == "no difference" and r["seeds_included"] and r["n_a"] == 2 for r in rows), rows
    real = compare(",".join(small), ",".join(same[:2]))
    found = [r["name"] for r in real["differences"] if r["verdict"] == "B better"]
    assert {"men", "simlex999", "analogies"} <= set(found), real["differences"]
    assert not any(r["verdict"] == "A better" for r in real["differences"])
    # one run per side: the text says plainly that seed noise is not included
    assert main(["compare", same[0], same[1]]) == 0
    text = capsys.readouterr().out
    assert "Seed noise is NOT included" in text and "| wordsim353 |" in text and "p (Holm)" in text
    assert main(["compare", f"{same[0]},{same[0]}", same[1]]) == 2
    assert "given twice on one side" in capsys.readouterr().err


def test_the_sweep_report_ranks_cells_with_the_seed_aware_comparison(tmp_path):
    from nbw2v.app.report import build_report, pooled_configs

    rng = np.random.default_rng(5)
    human = rng.standard_normal(600)
    errors = {5: 0.5, 3: 0.52, 2: 1.5}  # window 5 best, window 3 close to it, window 2 far below

    def rows(seeds):
        out = []
        for window, size in errors.items():
            error = size * np.random.default_rng(100 + window).standard_normal(600)
            for seed, run in enumerate(_runs(rng, human, error, seeds, 0.2), 1):
                run.name = "wordsim353"
                score = spearman(run.cosines, human)
                out.append(
                    {
                        "run_id": f"{window}-{seed}", "name": f"r{window}-{seed}", "status": "FINISHED",
                        "window": window, "K": 5, "dim": 50, "final loss": 2.0, "gradcheck log10 err": -10.0,
                        "WS353": score, "SimLex": None, "analogy": None, "words/s": 1e6, "train s": 1.0,
                        "metrics": {"eval/ws353": score},
                        "params": {"model.window": str(window), "seed": str(seed)}, "results": [run],
                    }
                )  # fmt: skip
        return out

    configs = pooled_configs(rows(3))
    assert {c["key"][0] for c in configs[:2]} == {5, 3} and configs[2]["key"][0] == 2  # 5 and 3: near-equal
    assert configs[1]["tied"] and configs[1]["test"].startswith("seeds + items, p=")
    assert not configs[2]["tied"] and "Holm" in configs[2]["test"]
    text = build_report(rows(3), tmp_path / "seeds")[0].read_text()
    assert "Holm-adjusted together" in text and "Welch" not in text
    table = text.split("## Configurations")[1].split("\n\n")[1].splitlines()[2:]
    assert [row.rsplit("|", 2)[1].strip() for row in table] == ["yes", "yes", "no"]  # the tied column is filled
    single = pooled_configs(rows(1))
    assert single[1]["test"].startswith("items only") and not single[2]["tied"]
    text = build_report(rows(1), tmp_path / "single")[0].read_text()
    assert "seed noise is not included" in text and "cannot be told apart by one seed each" in text


def test_eval_remove_top_is_validated_against_the_dimension():
    from nbw2v.config import Config, ConfigError, validate

    cfg = Config()
    cfg.model.dim, cfg.eval.remove_top = 10, 10
    with pytest.raises(ConfigError, match=r"eval.remove_top=10: expected an integer in \[0, 9\]"):
        validate(cfg)
    cfg.eval.remove_top, cfg.eval.center = 1, "yes"
    with pytest.raises(ConfigError, match="eval.center='yes': expected true or false"):
        validate(cfg)


def test_eval_and_neighbors_take_centring_and_say_so(tmp_path, capsys):
    from nbw2v.app.cli import main
    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    rng = np.random.default_rng(0)
    words = ["king", "queen", "water", "sea", "man", "woman"] + [f"w{i}" for i in range(200)]
    x = 4.0 + 0.3 * rng.standard_normal((len(words), 8))  # one dominant direction
    x[1] = x[0] + 0.05 * rng.standard_normal(8)  # queen next to king beyond it
    path = Embeddings(Vocab(words, np.arange(len(words), 0, -1)), x).save(tmp_path / "v.txt")
    assert main(["neighbors", str(path), "king", "--topn", "3"]) == 0
    plain = capsys.readouterr()
    assert "centred" not in plain.err and float(plain.out.split()[2].rstrip(",")) > 0.99
    assert main(["neighbors", str(path), "king", "--topn", "3", "--center"]) == 0
    centred = capsys.readouterr()
    assert "(cosines of the vectors centred)" in centred.err and centred.out.startswith("king: queen ")
    assert float(centred.out.split()[4].rstrip(",")) < 0.9  # the others are no longer at cosine ~1
    assert main(["eval", str(path), "--remove-top", "1", "--similarity", "wordsim353", "--analogies", ""]) == 0
    assert "(centred, top 1 principal component removed)" in capsys.readouterr().out
    assert main(["neighbors", str(path), "king", "--remove-top", "8"]) == 2
    assert "remove_top=8: must be below the dimension 8 (--remove-top" in capsys.readouterr().err
