import json

import pytest

from nbw2v.app.cli import main


def test_gradcheck_command_prints_json(capsys):
    assert main(["gradcheck", "--seeds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["max_rel_err"]) == 12  # 3 losses x (pair, window) x 2 gradients
    assert {k.split("/")[0] for k in report["max_rel_err"]} == {"negative", "hs", "softmax"}
    assert max(report["max_rel_err"].values()) < report["tolerance"]


def test_demo_runs_the_kernels(capsys):
    assert main(["demo", "--vocab", "500", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "naive softmax (batched)" in out and "pairs/s" in out and "FAILED" not in out


def test_bad_option_value_is_named_before_any_work(capsys):
    with pytest.raises(SystemExit) as info:
        main(["gradcheck", "--seeds", "0"])
    assert info.value.code == 2
    assert "--seeds: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_too_many_threads_is_a_clear_error(capsys):
    assert main(["demo", "--threads", "999"]) == 2
    assert "threads=999: expected an integer in [1, " in capsys.readouterr().err


def test_train_command_trains_saves_and_evaluates(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the king rules the land\nthe queen rules the land\n" * 200)
    out = tmp_path / "sub" / "vectors.bin"
    argv = ["train", "--corpus", str(corpus), "--min-count", "1", "--dim", "8", "--epochs", "1", "--out", str(out)]
    assert main([*argv, "--probe", "king"]) == 0
    captured = capsys.readouterr()
    assert out.exists() and "wordsim353" in captured.out and "king:" in captured.out
    assert "words/s" in captured.err


def test_train_command_names_bad_settings_before_training(tmp_path, capsys):
    assert main(["train", "--corpus", str(tmp_path / "missing.txt")]) == 2
    assert "data.corpus=" in capsys.readouterr().err
    assert main(["train", "--window", "0"]) == 2
    assert "model.window=0" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--out", str(blocker / "v.bin")]) == 2
    assert "--out" in capsys.readouterr().err


def test_eval_and_neighbors_commands(tmp_path, capsys):
    import numpy as np

    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "tiger", "cat"]
    emb = Embeddings(Vocab(words, np.arange(6, 0, -1)), rng.standard_normal((6, 4)).astype(np.float32))
    path = emb.save(tmp_path / "v.txt")
    assert main(["eval", str(path), "--json", "--analogies", "", "--similarity", "wordsim353"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["words"] == 6 and 0 < report["metrics"]["eval/ws353_cov"] < 0.05
    assert main(["neighbors", str(path), "king", "--topn", "2"]) == 0
    assert capsys.readouterr().out.startswith("king: ")
    assert main(["neighbors", str(path), "prince"]) == 1
    assert "prince: not in the vocabulary" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.bin")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_eval_reports_zero_coverage_and_exits_non_zero(tmp_path, capsys):
    import numpy as np

    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    emb = Embeddings(Vocab(["qqq", "zzz"], np.array([2, 1])), np.eye(2, dtype=np.float32))
    path = emb.save(tmp_path / "v.bin")
    assert main(["eval", str(path)]) == 1
    captured = capsys.readouterr()
    assert "wordsim353: 0 of 353 pairs covered (no score)" in captured.out
    assert "nan" not in captured.out.lower()
    assert "no evaluation word is in the vocabulary" in captured.err


def test_neighbors_suggests_close_spellings_and_answers_analogies(tmp_path, capsys):
    import numpy as np

    from nbw2v.embeddings import Embeddings
    from nbw2v.text.vocab import Vocab

    words = ["king", "queen", "man", "woman", "kingdom"]
    vectors = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    vectors[1] = vectors[0] - vectors[2] + vectors[3]
    path = Embeddings(Vocab(words, np.arange(5, 0, -1)), vectors).save(tmp_path / "v.txt")
    assert main(["neighbors", str(path), "king-man+woman", "--topn", "1"]) == 0
    assert capsys.readouterr().out.startswith("king-man+woman: queen")
    assert main(["neighbors", str(path), "kingg"]) == 1
    assert "did you mean king" in capsys.readouterr().err


@pytest.mark.parametrize("sigterm,code", [(True, 143), (False, 130)])
def test_an_interrupted_training_exits_with_its_signals_code(monkeypatch, capsys, sigterm, code):
    import nbw2v.app.cli as cli
    from nbw2v.training.train import TrainingInterrupted

    def interrupted(args):
        raise TrainingInterrupted(
            "training interrupted in epoch 2; the checkpoint c.npz keeps its state", None, sigterm
        )

    monkeypatch.setattr(cli, "_cmd_train", interrupted)
    assert cli.main(["train"]) == code
    assert "training interrupted in epoch 2" in capsys.readouterr().err
