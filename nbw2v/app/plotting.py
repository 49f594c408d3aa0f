"""Matplotlib for files, never a window: every figure nbw2v draws (sweep report, loss curve)
gets pyplot from here, with the non-interactive Agg backend set once."""

from __future__ import annotations


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
