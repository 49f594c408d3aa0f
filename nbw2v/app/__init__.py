"""Applications: the command line, the Hydra app and sweeps, reports and plots, progress lines."""
