"""Training: the Hogwild and batched trainers, their Numba chunk kernels, the epoch loop and checkpoints."""
