"""``govreport-ner export-hf OUT [--model DIR]``: the NER model as a plain Hugging Face
token-classification folder that ``transformers.pipeline`` opens offline
(:mod:`pipeline.model.export`; its ``README.md`` says what plain use loses).

Exit status: 0 when written; 2 for a model folder that cannot be loaded or an
``OUT`` that is a file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.model.encoders.loading import ModelLoadError

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "govreport-ner"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner export-hf", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="pipeline folder (default: %(default)s)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                        help="weights of the export (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"{args.out}: is a file, not a folder")
    from pipeline.model.export import export_hf

    try:
        out = export_hf(args.model, args.out, dtype=args.dtype)
    except (ModelLoadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} (transformers.pipeline('token-classification', model='{out}'))")
    return 0
