#!/usr/bin/env python
"""Experiment log: one row per training run, from the files each run wrote.

A shim: the command is ``govreport-ner experiments`` (:mod:`pipeline.cli.experiments`), with the
same options; ``--help`` lists them.
"""

import sys
from pathlib import Path

try:
    import pipeline  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cli.experiments import BEGIN, END, main, run_row, table  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
