"""``govreport-ner pretrain``: domain-adaptive masked-LM training of a base encoder on raw reports.

Settings: :class:`pipeline.model.pretraining.PretrainConfig`, each key set with
``--set key=value`` (TOML syntax)::

    govreport-ner pretrain --set base_model=models/base/e5-small-gov2 \\
        --set 'corpus=["seeds", "../shared/reports", "../shared/corpus"]' \\
        --set output_dir=models/base/e5-small-gov2-dapt

The reports of the dev and test splits are not read (``exclude_splits``). The
output folder is a base encoder for ``govreport-ner train --set base_model=...``.
A killed run started again continues after its last finished epoch.

Exit status: 0 when the encoder was written; 2 for a bad setting, a corpus or
base model that cannot be read, or a checkpoint of another run in ``output_dir``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pipeline.model.encoders.loading import ModelLoadError
from pipeline.model.pretraining import PretrainConfig, pretrain
from pipeline.model.training import CheckpointMismatch, config_help, load_config
from pipeline.text.reading import ReportReadError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="govreport-ner pretrain", description=__doc__.split("\n\n")[0].strip("`: "),
        epilog=config_help(PretrainConfig, "keys with their defaults:"), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting, value in TOML syntax (repeatable)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(None, args.overrides, cls=PretrainConfig)
    except ValueError as err:
        parser.error(f"config: {err}")
    try:
        summary = pretrain(cfg)
    except ModelLoadError as err:
        print(f"error: cannot load the base model: {err}", file=sys.stderr)
        return 2
    except (CheckpointMismatch, FileNotFoundError, ReportReadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0
