#!/usr/bin/env python
"""Build pipeline/data/report_chars.txt: ``scripts/build_char_table.py seeds/*.txt``.

A shim: the command is ``govreport-ner char-table`` (:mod:`pipeline.cli.char_table`), with the
same options; ``--help`` lists them.
"""

import sys
from pathlib import Path

try:
    import pipeline  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cli.char_table import main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
