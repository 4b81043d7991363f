"""``govreport-ner normalize FILE [--json]``: the normalized text of a report (or, with
``--json``, text, alignment, changes and paragraphs).

Only a regular file is read (a FIFO, device or dangling symbolic link is
refused at once, exit status 1, like an unreadable file). Warnings about the
file (invalid bytes read as U+FFFD, few Han characters) go to stderr."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.text.normalize import normalize
from pipeline.text.reading import ReportReadError, read_report_decoded, report_warnings
from pipeline.text.structure import split_paragraphs


def _normalize(args: argparse.Namespace) -> int:
    try:
        decoded = read_report_decoded(args.file)
    except ReportReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for warning in report_warnings(decoded):
        print(f"warning: {args.file}: {warning}", file=sys.stderr)
    result = normalize(decoded.text)
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
    parser = argparse.ArgumentParser(prog="govreport-ner normalize", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="raw report file (UTF-8, GBK/GB18030, Big5 or UTF-16)")
    parser.add_argument("--json", action="store_true", help="print JSON: text, alignment, changes, paragraphs")
    return _normalize(parser.parse_args(argv))
