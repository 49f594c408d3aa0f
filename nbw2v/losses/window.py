"""A window of context rows against labelled target rows: the form both fast trainer paths
share (docs/math.md "Shared negatives over a window", "Hierarchical softmax").

Context words' input vectors ``X`` (n, d) are scored against target output vectors ``Y``
(m, d), ``S = X Y^T``, each target with a label ``t_k`` in {0, 1}::

    J = - sum_{i,k} [ t_k log sigma(S_ik) + (1 - t_k) log sigma(-S_ik) ]

Negatives shared by a window: targets = [center word, K negatives], labels [1, 0, ..., 0].
Hierarchical softmax: targets = the center word's path nodes, labels ``1 - code bits``.
"""

from __future__ import annotations

from nbw2v._jit import njit_serial
from nbw2v.losses._scalar import dot, logistic_terms

#: what a trainer's window step scores a center word against (a loss's ``targets`` in the
#: registry): its word and K negatives, or its Huffman path
TARGETS_NEGATIVE, TARGETS_PATH = 0, 1


@njit_serial
def labelled_window_loss_grad(
    context_words, target_words, labels, input_vectors, output_vectors, grad_inputs_out, grad_outputs_out
):
    """``J`` above for rows ``context_words`` (n,) of input_vectors and ``target_words`` (m,)
    of output_vectors with ``labels`` (m,). Writes grad_inputs_out (n, d) (row i: dJ/dx_i) and
    grad_outputs_out (m, d) (row k: dJ/dy_k); a repeated word gets one row per occurrence.
    Returns the loss (float64)."""
    n, m = context_words.shape[0], target_words.shape[0]
    grad_inputs_out[:] = 0.0
    grad_outputs_out[:] = 0.0
    loss = 0.0
    for i in range(n):
        x = input_vectors[context_words[i]]
        for k in range(m):
            y = output_vectors[target_words[k]]
            sig, log_pos, log_neg = logistic_terms(dot(x, y))
            label = labels[k]
            loss -= log_pos if label > 0.5 else log_neg
            coef = sig - label
            for j in range(x.shape[0]):
                grad_inputs_out[i, j] += coef * y[j]
                grad_outputs_out[k, j] += coef * x[j]
    return loss
