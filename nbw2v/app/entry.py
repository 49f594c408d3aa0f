"""The console scripts' first instructions: ``nbw2v`` and ``nbw2v-train``.

Importing the command-line applications takes about a second (NumPy, Numba, Hydra, MLflow); a
Ctrl-C or SIGTERM in that second, or while Hydra composes the config, used to end in a 22- to
75-line traceback. Here SIGTERM raises as Ctrl-C does from the first instruction, and an
interruption that reaches this level (nothing was started yet, or what was started has closed
itself) is one line and exit 130 / 143. This module imports only the standard library.
"""

from __future__ import annotations

import signal
import sys


class _Terminated(KeyboardInterrupt):
    sigterm = True


def _raise_terminated(signum, frame):
    raise _Terminated()


def _run(name: str, module: str) -> None:
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        import importlib

        code = importlib.import_module(module).main()
    except KeyboardInterrupt as exc:
        sigterm = bool(getattr(exc, "sigterm", False))
        print(f"{name}: interrupted by {'SIGTERM' if sigterm else 'Ctrl-C'}", file=sys.stderr)
        code = 143 if sigterm else 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


def cli() -> None:
    """``nbw2v``: :func:`nbw2v.app.cli.main`."""
    _run("nbw2v", "nbw2v.app.cli")


def train() -> None:
    """``nbw2v-train``: :func:`nbw2v.app.hydra_app.main`."""
    _run("nbw2v-train", "nbw2v.app.hydra_app")
