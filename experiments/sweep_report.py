"""Sweep report (same as ``nbw2v report``): a table of every run of a sweep, heatmaps of
WordSim353 and final loss over window x K per dimension, scores vs dimension; logged to the
sweep's parent run.

    python experiments/sweep_report.py SWEEP_ID [--out DIR]
    python experiments/sweep_report.py --filter "params.`model.dim` = '100'"
"""

import sys

from nbw2v.app.report import main

if __name__ == "__main__":
    sys.exit(main())
