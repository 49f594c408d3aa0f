"""The trainer's matrices padded to whole cache lines: layout, packing, and training that is
bit-identical to training on packed rows."""

import numpy as np
import pytest

from nbw2v.config import Config
from nbw2v.progress import SilentProgress
from nbw2v.training import runners
from nbw2v.training.matrices import compact, padded_dim, row_storage
from nbw2v.training.train import train


@pytest.mark.parametrize(("dim", "dtype", "expected"), [(100, np.float32, 112), (16, np.float32, 16),
                                                        (1, np.float32, 16), (17, np.float32, 32),
                                                        (100, np.float64, 104)])  # fmt: skip
def test_padded_dim_is_whole_cache_lines(dim, dtype, expected):
    assert padded_dim(dim, dtype) == expected


def test_every_padded_row_starts_a_cache_line():
    storage, view = row_storage(37, 100)
    assert storage.shape == (37, 112) and storage.flags.c_contiguous and storage.dtype == np.float32
    assert view.shape == (37, 100) and np.shares_memory(view, storage)
    assert all(storage[r].ctypes.data % 64 == 0 for r in range(37))
    assert not storage.any()
    view[3, 99] = 5.0
    assert storage[3, 99] == 5.0 and storage[3, 100] == 0.0
    unpadded, same = row_storage(5, 100, pad=False)
    assert unpadded.shape == same.shape == (5, 100) and same.flags.c_contiguous


@pytest.mark.parametrize("n_rows", [0, 1, 5, 9])
def test_compact_packs_rows_in_place(n_rows):
    storage, view = row_storage(n_rows, 20)
    view[:] = np.arange(n_rows * 20, dtype=np.float32).reshape(n_rows, 20)
    expected = view.copy()
    packed = compact(storage, 20, block=2)  # several blocks, overlapping source and destination
    assert packed.shape == (n_rows, 20) and packed.flags.c_contiguous
    np.testing.assert_array_equal(packed, expected)
    if n_rows:
        assert np.shares_memory(packed, storage)  # no second matrix
    unpadded, _ = row_storage(3, 16)
    assert compact(unpadded, 16) is unpadded


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(60)]
    lines = [" ".join(rng.choice(words, size=int(rng.integers(3, 20)), p=None)) for _ in range(800)]
    path = tmp_path_factory.mktemp("matrices") / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize(
    ("arch", "loss", "shared"),
    [("skipgram", "negative", True), ("skipgram", "negative", False), ("cbow", "negative", True),
     ("skipgram", "hs", True), ("skipgram", "hs", False), ("cbow", "hs", True)],
)  # fmt: skip
def test_padded_rows_train_bit_identically(corpus, monkeypatch, arch, loss, shared):
    """The padding columns start at zero and every update adds a product with another row's
    zero padding: the padded kernels (d = 20 -> rows of 32) give the unpadded results exactly."""
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count, cfg.data.sample = corpus, 1, 1e-2
    cfg.model.arch, cfg.model.dim, cfg.model.window = arch, 20, 3
    cfg.loss.name, cfg.train.shared_negatives = loss, shared
    cfg.train.epochs, cfg.train.deterministic, cfg.train.threads, cfg.train.chunk_words = 2, True, 1, 700
    padded = train(cfg, progress=SilentProgress())
    monkeypatch.setattr(runners.HogwildRunner, "padded_rows", False)
    packed = train(cfg, progress=SilentProgress())
    assert padded.vectors.shape == packed.vectors.shape == (len(padded.vocab), 20)
    assert padded.vectors.flags.c_contiguous and padded.output_vectors.flags.c_contiguous
    np.testing.assert_array_equal(padded.vectors, packed.vectors)
    np.testing.assert_array_equal(padded.output_vectors, packed.output_vectors)
    assert padded.stats["epoch_losses"] == packed.stats["epoch_losses"]
    assert np.abs(padded.vectors).max() > 0.01  # trained


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [1, 3, 10])
def test_kernel_scratch_rows_start_a_cache_line(dtype, n_rows):
    from nbw2v.training.kernels import _aligned_rows

    scratch = _aligned_rows(n_rows, 112, np.dtype(dtype))
    assert scratch.shape == (n_rows, 112) and scratch.dtype == dtype and scratch.flags.c_contiguous
    assert scratch.ctypes.data % 64 == 0
