"""CS224N's word2vec assignment interface over nbw2v's kernels: swap your module for this one.

The assignment's ``word2vec.py`` defines ``sigmoid``, ``naiveSoftmaxLossAndGradient``,
``negSamplingLossAndGradient`` (negatives drawn through ``dataset.sampleTokenIdx()``, redrawn
while equal to the outside word) and ``skipgram``; its ``word2vec_sgd_wrapper``, gradient
checks and ``sgd`` call them by these names and argument orders. The functions below keep
those names, argument orders and return values, and compute with nbw2v's Numba kernels::

    import nbw2v.cs224n as word2vec          # instead of: import word2vec
    loss, grad_c, grad_o = word2vec.skipgram("c", 3, ["a", "b"], word2Ind, C, O, dataset,
                                             word2vec.negSamplingLossAndGradient)

``dataset`` is anything with ``sampleTokenIdx()`` (the assignment's ``StanfordSentiment`` or
the small dummy dataset of its tests); only the negative-sampling loss uses it. Written from the
assignment's documented interface; the math is docs/math.md's.
"""

from __future__ import annotations

import numpy as np

from nbw2v import api
from nbw2v._alloc import zeros
from nbw2v.api import naive_softmax_loss_and_grad, neg_sampling_loss_and_grad

__all__ = [
    "getNegativeSamples",
    "naiveSoftmaxLossAndGradient",
    "negSamplingLossAndGradient",
    "sigmoid",
    "skipgram",
]


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))`` of a scalar or array (elementwise), computed
    without overflow for large ``|x|``."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out if out.ndim else float(out)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    """``(loss, gradCenterVec (d,), gradOutsideVecs (V, d))`` of ``-log softmax(U v_c)_o``.
    ``dataset`` is unused (the assignment passes it to every loss)."""
    return naive_softmax_loss_and_grad(centerWordVec, outsideWordIdx, outsideVectors)


def getNegativeSamples(outsideWordIdx, dataset, K):
    """K word indices from ``dataset.sampleTokenIdx()``, each redrawn while it equals the
    outside word (the assignment's rule; a negative may repeat)."""
    out = []
    for _ in range(K):
        idx = dataset.sampleTokenIdx()
        while idx == outsideWordIdx:
            idx = dataset.sampleTokenIdx()
        out.append(idx)
    return out


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    """``(loss, gradCenterVec, gradOutsideVecs)`` of ``-log sigma(u_o . v_c) - sum_k log
    sigma(-u_k . v_c)`` with K negatives from :func:`getNegativeSamples` (a negative drawn
    twice counts twice, as in the assignment)."""
    negatives = getNegativeSamples(outsideWordIdx, dataset, K)
    return neg_sampling_loss_and_grad(centerWordVec, outsideWordIdx, outsideVectors, negatives)


def skipgram(
    currentCenterWord,
    windowSize,  # (unused: the window is outsideWords, as in the assignment)
    outsideWords,
    word2Ind,
    centerWordVectors,
    outsideVectors,
    dataset,
    word2vecLossAndGradient=naiveSoftmaxLossAndGradient,
):
    """Skip-gram over one window, by word strings: the sum over ``outsideWords`` of
    ``word2vecLossAndGradient(v_c, o, outsideVectors, dataset)``. Returns ``(loss,
    gradCenterVecs (V, d), gradOutsideVectors (V, d))``; an empty window gives 0 and zeros."""
    center_vectors = np.asarray(centerWordVectors)
    outside_vectors = np.asarray(outsideVectors)
    missing = [w for w in [currentCenterWord, *outsideWords] if w not in word2Ind]
    if missing:
        raise KeyError(f"{missing[0]!r} is not in word2Ind ({len(word2Ind)} words): map every word of the window")
    c = word2Ind[currentCenterWord]
    fused = _fused_window(c, [word2Ind[w] for w in outsideWords], center_vectors, outside_vectors, dataset,
                          word2vecLossAndGradient)  # fmt: skip
    if fused is not None:
        return fused
    loss = 0.0
    grad_centers = zeros(center_vectors.shape, np.float64)  # one row written
    grad_outside = zeros(outside_vectors.shape, np.float64)
    for word in outsideWords:
        pair_loss, grad_c, grad_o = word2vecLossAndGradient(center_vectors[c], word2Ind[word], outside_vectors, dataset)
        loss += pair_loss
        grad_centers[c] += grad_c
        grad_outside += grad_o
    return loss, grad_centers, grad_outside


def _fused_window(c, outside, center_vectors, outside_vectors, dataset, loss_fn):
    """With this module's own losses (float64 arrays, a non-empty window), the whole window in one
    kernel call (:func:`nbw2v.api.skipgram`) instead of one dense (V, d) gradient per outside word:
    the same sums, and for negative sampling the same negatives, drawn in the same order."""
    if not outside or center_vectors.dtype != np.float64 or outside_vectors.dtype != np.float64:
        return None
    if loss_fn is naiveSoftmaxLossAndGradient:
        return api.skipgram(c, outside, center_vectors, outside_vectors, "softmax")
    if loss_fn is negSamplingLossAndGradient:
        negatives = np.array([getNegativeSamples(o, dataset, 10) for o in outside], np.int64)
        return api.skipgram(c, outside, center_vectors, outside_vectors, "negative", negatives)
    return None
