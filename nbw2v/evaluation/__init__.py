"""Evaluation: similarity and analogy benchmarks, bootstrap intervals, paired model comparison."""
