#!/usr/bin/env python
"""Extract entities from raw report files: ``scripts/infer.py INPUT... --out DIR``.

INPUT: report files (any supported encoding), folders (``*.txt`` found
recursively) or globs. Writes ``entities.jsonl``, ``entities.csv``,
``html/<doc_id>.html`` and ``errors.jsonl`` under ``--out``; see
:mod:`pipeline.inference`. A re-run skips finished reports.

Exit status: 0 when every input was processed, 1 when any input failed (each
failure is printed with its file name and reason; the others are still
processed), 2 for bad arguments or a model folder that cannot be loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.encoders import ModelLoadError
from pipeline.inference import run

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "govreport-ner"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="report file, folder or glob")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--model", default=None,
                        help=f"trained model folder, or 'none' for the rule baseline "
                             f"(default: {DEFAULT_MODEL} if it exists, else the rule baseline)")
    parser.add_argument("--batch-size", type=int, default=8, help="reports per nlp.pipe batch")
    parser.add_argument("--force", action="store_true", help="redo reports already finished")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")

    if args.model is None:
        model = DEFAULT_MODEL if (DEFAULT_MODEL / "config.cfg").is_file() else None
        if model is None:
            print("no trained model found, using the rule baseline", file=sys.stderr)
    elif args.model.lower() == "none":
        model = None
    else:
        model = Path(args.model)
        if not model.is_dir():
            parser.error(f"--model {args.model}: no such folder")

    try:
        summary = run(args.inputs, args.out, model_dir=model, batch_size=args.batch_size,
                      force=args.force, progress=not args.no_progress)
    except ModelLoadError as err:
        print(f"error: cannot load the model: {err}", file=sys.stderr)
        return 2
    print(summary)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
