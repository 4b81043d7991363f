"""``govreport-ner train``: fine-tune the govreport_ner component and write a spaCy pipeline.

Settings: ``pipeline/configs/train.toml`` (:class:`pipeline.model.training.TrainConfig`),
any key overridden with ``--set key=value`` (TOML syntax)::

    govreport-ner train --set scheme=char --set output_dir=models/ner-char
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence

from pipeline.model.training import DEFAULT_CONFIG, config_help, load_config, train


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
    cfg = load_config(args.config, args.overrides)
    if args.print_config:
        for k, v in dataclasses.asdict(cfg).items():
            print(f"{k} = {json.dumps(v, ensure_ascii=False)}")
        return 0
    summary = train(cfg)
    print(json.dumps(summary, indent=2))
    return 0
