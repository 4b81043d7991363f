"""``govreport-ner train``: fine-tune the govreport_ner component and write a spaCy pipeline.

Settings: ``pipeline/configs/train.toml`` (:class:`pipeline.model.training.TrainConfig`),
any key overridden with ``--set key=value`` (TOML syntax)::

    govreport-ner train --set scheme=char --set output_dir=models/ner-char

A run writes a checkpoint after each epoch; started again after being killed
(same settings and data) it continues after the last finished epoch.

Exit status: 0 when the model was written; 2 for a bad config (unknown key,
wrong type, a data file or base model that cannot be read, a checkpoint of
another run in ``output_dir``), with one line naming the problem.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from pipeline.annotation.schema import AnnotationError
from pipeline.model.encoders.loading import ModelLoadError
from pipeline.model.training import CheckpointMismatch, DEFAULT_CONFIG, config_help, load_config, train


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="govreport-ner train",
        description="Fine-tune the govreport_ner component and write a spaCy pipeline.",
        epilog=config_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(DEFAULT_CONFIG),
                        help="TOML config file (default: %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, value in TOML syntax (repeatable), "
                             "e.g. --set lr=3e-5 --set scheme=char --set 'data_files=[\"a.jsonl\"]'")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
    except (OSError, ValueError) as err:  # tomllib's decode error is a ValueError
        parser.error(f"config: {err}")
    if args.print_config:
        for k, v in dataclasses.asdict(cfg).items():
            print(f"{k} = {json.dumps(v, ensure_ascii=False)}")
        return 0
    try:
        summary = train(cfg)
    except ModelLoadError as err:
        print(f"error: cannot load the base model: {err}", file=sys.stderr)
        return 2
    except (CheckpointMismatch, AnnotationError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0
