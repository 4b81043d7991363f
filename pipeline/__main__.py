"""``python -m pipeline COMMAND ...``: the same command line as ``govreport-ner``
(:mod:`pipeline.cli`)."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
