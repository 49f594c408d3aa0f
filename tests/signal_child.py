"""Run ``nbw2v-train`` in this process, with one function wrapped so that the process sends
itself a real signal at a chosen point (the fault tests of tests/test_reliability.py).

    python tests/signal_child.py PHASE SIGNAL [nbw2v-train overrides ...]

PHASE: corpus, gradcheck, evaluation, artifacts (the signal arrives when that phase starts),
or slow-checkpoint (every checkpoint write pauses 30 s after writing its data, printing
"CHECKPOINT WRITING" first, so a test can interrupt the write itself; SIGNAL is then unused).
"""

import os
import signal
import sys
import time


def _fire_before(module, name: str, sig: int) -> None:
    original = getattr(module, name)

    def hooked(*args, **kwargs):
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler runs here (raising for SIGTERM/SIGINT)
        return original(*args, **kwargs)

    setattr(module, name, hooked)


def main() -> None:
    phase, signame, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
    # a user at a terminal has Python's Ctrl-C handler; a shell that ran the test suite in the
    # background (no job control) starts us with SIGINT ignored, and Python then keeps it so
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["nbw2v-train", *overrides]
    import numpy as np

    import nbw2v.app.run as run
    import nbw2v.training.checkpoint as checkpoint

    sig = getattr(signal, signame)
    targets = {
        "corpus": (run, "build_vocab_and_corpus"),
        "gradcheck": (run, "check_training_tuples"),
        "evaluation": (run, "evaluate_results"),
        "artifacts": (run, "_log_artifacts"),
    }
    if phase in targets:
        _fire_before(*targets[phase], sig)
    elif phase == "slow-checkpoint":

        def slow_write(f, **arrays):
            np.savez(f, **arrays)
            f.flush()
            print("CHECKPOINT WRITING", file=sys.stderr, flush=True)
            time.sleep(30)

        checkpoint.write_npz = slow_write
    else:
        raise SystemExit(f"unknown phase {phase}")
    from nbw2v.app.hydra_app import main as app

    app()


if __name__ == "__main__":
    main()
