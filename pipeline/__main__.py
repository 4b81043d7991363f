"""Command line: ``python -m pipeline normalize FILE [--json]``."""

from __future__ import annotations

import argparse
import json
import sys

from .normalize import normalize
from .reading import ReportReadError, read_report
from .structure import split_paragraphs


def _normalize(args: argparse.Namespace) -> int:
    try:
        raw = read_report(args.file)
    except ReportReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    result = normalize(raw)
    if args.json:
        data = result.to_json()
        data["paragraphs"] = [
            {"start": p.start, "end": p.end, "section": p.section} for p in split_paragraphs(result.text)
        ]
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(result.text)
        if not result.text.endswith("\n"):
            sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    norm = sub.add_parser("normalize", help="print the normalized text of a report")
    norm.add_argument("file", help="raw report file (UTF-8, GBK/GB18030, Big5 or UTF-16)")
    norm.add_argument("--json", action="store_true", help="print JSON: text, alignment, changes, paragraphs")
    norm.set_defaults(func=_normalize)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
