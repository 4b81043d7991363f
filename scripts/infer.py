#!/usr/bin/env python
"""Extract entities from raw report files: ``scripts/infer.py INPUT... --out DIR``.

A shim: the command is ``govreport-ner infer`` (:mod:`pipeline.cli.infer`), with the
same options; ``--help`` lists them.
"""

import sys
from pathlib import Path

try:
    import pipeline  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cli.infer import main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
