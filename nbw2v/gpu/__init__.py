"""GPU (CUDA) versions of the losses, their gradients and the skip-gram trainer, with Numba CUDA.

Optional: ``pip install 'nbw2v[cuda]'`` (numba-cuda; CuPy for cuBLAS matrix products if you
install it). Nothing here is imported by the CPU package; ``train.device=cuda`` imports it.

* :mod:`nbw2v.gpu.device` - is a GPU usable, and a clear error when not (never a silent CPU
  fallback). ``NUMBA_ENABLE_CUDASIM=1`` runs every kernel on Numba's CUDA simulator (slow,
  for tests on machines without a GPU).
* :mod:`nbw2v.gpu.kernels` - the CUDA kernels.
* :mod:`nbw2v.gpu.losses` - host wrappers with the CPU kernels' interface.
* :mod:`nbw2v.gpu.trainer` - the GPU runner of the training loop (chosen by name through
  :func:`nbw2v.losses.registry.runner_class`; this package imports nothing of ``nbw2v.training``).
"""
