#!/usr/bin/env python
"""Fine-tune the govreport_ner component; see ``python scripts/train.py --help``.

Example::

    python scripts/train.py --config pipeline/configs/train.toml --set scheme=char --set output_dir=models/ner-char
"""

import sys

from pipeline.training import main

if __name__ == "__main__":
    sys.exit(main())
