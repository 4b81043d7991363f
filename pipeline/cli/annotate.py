"""Annotation tools: validate annotation files and convert between formats.

Usage (from the repository root; ``govreport-ner annotate`` is the same command)::

    python scripts/annotate.py validate annotations/gold.jsonl [more files...]
    python scripts/annotate.py validate --format inline annotations/batch1.txt
    python scripts/annotate.py convert --from inline --to jsonl batch1.txt batch1.jsonl
    python scripts/annotate.py convert --from jsonl --to docbin gold.jsonl gold.spacy

Exit status: 0 on success; 1 when an input file has problems: it cannot be read
(missing, a folder, not UTF-8), is malformed, holds no record, or its records break
the rules (``validate`` prints every problem, ``convert`` and ``stats`` the first,
each as one line ``file:line: [record id] reason`` or ``file: reason`` on stderr;
``preannotate`` prints ``error: file: reason`` for a report it cannot read or that
has no text, and goes on with the others); 2 on a usage or setup error (bad
options, a format the suffix does not tell, an output that cannot be written, a
model that cannot be loaded, a README without the statistics markers), one line
``annotate: file: reason`` (argparse's own errors: its usage line, then the error).
Output files are written atomically: a file that fails is not written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.annotation.convert import FORMATS, READABLE, read_as, write_as
from pipeline.annotation.jsonl import validate_file
from pipeline.annotation.schema import AnnotationError, Problem
from pipeline.annotation.validate import validate_records

# File suffix -> format, used when --format/--from is not given.
SUFFIX_FORMATS = {
    ".jsonl": "jsonl", ".inline": "inline", ".txt": "inline", ".conll": "conll",
    ".spacy": "docbin", ".docbin": "docbin", ".json": "labelstudio",
}


class UsageError(Exception):
    """A usage or setup error (exit status 2); ``str(error)`` is one line, ``file: reason``."""


def _os_reason(err: OSError) -> str:
    """An ``OSError``'s reason in a few words (``is a folder``, ``permission denied``...)."""
    if isinstance(err, IsADirectoryError):
        return "is a folder"
    return (err.strerror or str(err)).lower()


def _guess_format(path: str) -> str:
    fmt = SUFFIX_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: cannot tell the format from the suffix; pass --format")
    return fmt


def _problems_of(path: str, fmt: str) -> list[Problem]:
    """Problems of a non-JSONL file: its read or parse error, else its records' problems."""
    try:
        records = read_as(path, fmt, validate=False, require_records=True)
    except AnnotationError as e:
        return [Problem(e.file or path, e.line, e.record_id, e.reason)]
    return validate_records(records, path)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; print every problem; 1 when there is any."""
    formats = {f: args.format or _guess_format(f) for f in args.files}  # usage errors first
    for f, fmt in formats.items():
        if fmt not in READABLE:
            raise UsageError(f"{f}: cannot validate format {fmt!r} (readable: {', '.join(READABLE)})")
    problems: list[Problem] = []
    jsonl = [f for f, fmt in formats.items() if fmt == "jsonl"]
    if jsonl:  # together, so that duplicate ids across files are found
        problems += validate_file(*jsonl)
    for f, fmt in formats.items():
        if fmt != "jsonl":
            problems += _problems_of(f, fmt)
    for p in problems:
        print(p, file=sys.stderr)
    n = len(args.files)
    if problems:
        print(f"{len(problems)} problem(s) in {n} file(s)", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"OK: {n} file(s)")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """Read IN in one format, write OUT in another; 1 when IN has a problem."""
    try:
        records = read_as(args.input, args.src, validate=not args.no_validate, require_records=True)
        write_as(args.output, records, args.dst)
    except AnnotationError as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:  # reading IN is an AnnotationError: this is writing OUT
        raise UsageError(f"{args.output}: cannot write ({_os_reason(e)})") from e
    if not args.quiet:
        print(f"wrote {len(records)} record(s) to {args.output} ({args.dst})")
    return 0


def cmd_preannotate(args: argparse.Namespace) -> int:
    """Raw reports -> paragraph records pre-filled by the rule baseline (or a model);
    1 when a report cannot be read or has no text (the others go on)."""
    from pipeline.model.build import load_pipeline, model_path
    from pipeline.model.encoders.loading import ModelLoadError
    from pipeline.runner.records import records_from_doc
    from pipeline.text.reading import ReportReadError, read_report

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out must be a folder, this is a file")
    try:
        nlp = load_pipeline(model_path(args.model))
    except ModelLoadError as err:  # its message starts with the folder
        raise UsageError(str(err)) from err
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{out}: cannot create the folder ({_os_reason(err)})") from err
    suffix = {"inline": ".txt", "jsonl": ".jsonl"}[args.format]
    failed = 0
    for name in args.files:
        path = Path(name)
        try:
            doc = nlp(read_report(path))
        except ReportReadError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        if not len(doc):
            print(f"error: {path}: no text (nothing left after normalization)", file=sys.stderr)
            failed += 1
            continue
        records = records_from_doc(doc, path.stem, path.as_posix())
        for record in records:
            # Pre-annotations are to be corrected; raw offsets of spans would go stale.
            record.meta.pop("raw_spans", None)
            for i, span in enumerate(record.spans):
                record.spans[i] = type(span)(span.start, span.end, span.label)
        target = out / f"{path.stem}{suffix}"
        try:
            write_as(target, records, args.format)
        except OSError as err:
            raise UsageError(f"{target}: cannot write ({_os_reason(err)})") from err
        if not args.quiet:
            print(f"{path} -> {target} ({len(records)} paragraphs, {sum(len(r.spans) for r in records)} spans)")
    return 1 if failed else 0


DEFAULT_ROUNDS = [
    ("Round 1 (11 reports)", "annotations/agreement/first_pass.jsonl",
     "annotations/agreement/second_pass.jsonl"),
    ("Round 2 (new kinds of text)", "annotations/agreement/round2_first_pass.jsonl",
     "annotations/agreement/round2_second_pass.jsonl"),
    ("Round 3 (the other new reports)", "annotations/agreement/round3_first_pass.jsonl",
     "annotations/agreement/round3_second_pass.jsonl"),
    ("Round 4 (13 more reports)", "annotations/agreement/round4_first_pass.jsonl",
     "annotations/agreement/round4_second_pass.jsonl"),
    ("Round 5 (10 more reports)", "annotations/agreement/round5_first_pass.jsonl",
     "annotations/agreement/round5_second_pass.jsonl"),
    ("Round 6 (6 more reports)", "annotations/agreement/round6_first_pass.jsonl",
     "annotations/agreement/round6_second_pass.jsonl"),
    ("Round 7 (6 more reports)", "annotations/agreement/round7_first_pass.jsonl",
     "annotations/agreement/round7_second_pass.jsonl"),
    ("Round 8 (6 more reports)", "annotations/agreement/round8_first_pass.jsonl",
     "annotations/agreement/round8_second_pass.jsonl"),
    ("Round 9 (6 more reports)", "annotations/agreement/round9_first_pass.jsonl",
     "annotations/agreement/round9_second_pass.jsonl"),
    ("Round 10 (7 more reports)", "annotations/agreement/round10_first_pass.jsonl",
     "annotations/agreement/round10_second_pass.jsonl"),
    ("Round 11 (7 more reports)", "annotations/agreement/round11_first_pass.jsonl",
     "annotations/agreement/round11_second_pass.jsonl"),
    ("Round 12 (7 more reports)", "annotations/agreement/round12_first_pass.jsonl",
     "annotations/agreement/round12_second_pass.jsonl"),
    ("Round 13 (7 more reports)", "annotations/agreement/round13_first_pass.jsonl",
     "annotations/agreement/round13_second_pass.jsonl"),
]


def cmd_stats(args: argparse.Namespace) -> int:
    """Corpus statistics per split and the agreement table, into the README; 1 when
    a gold, splits or round file has a problem (the files of an explicit ``--round``
    must exist; the default rounds are left out when absent)."""
    from pipeline.annotation.stats import statistics_markdown, write_into_readme

    rounds = [(name, first, second) for name, first, second in (args.round or DEFAULT_ROUNDS)]
    try:
        markdown = statistics_markdown(args.gold, args.splits, rounds,
                                       skip_missing_rounds=not args.round)
    except AnnotationError as err:
        print(err, file=sys.stderr)
        return 1
    print(markdown)
    if args.readme and args.readme != "-":
        try:
            write_into_readme(args.readme, markdown)
        except OSError as err:
            raise UsageError(f"{args.readme}: cannot update ({_os_reason(err)})") from err
        except ValueError as err:  # names the README: not UTF-8, or no markers
            raise UsageError(str(err)) from err
        if not args.quiet:
            print(f"\nwritten into {args.readme}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; add further subcommands with ``sub.add_parser``."""
    parser = argparse.ArgumentParser(prog="govreport-ner annotate", description=__doc__.split("\n\n")[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check annotation files against the schema and span rules")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--format", choices=READABLE,
                   help="format of the files (default: from the suffix; .jsonl, .txt/.inline, .json)")
    v.set_defaults(func=cmd_validate)

    c = sub.add_parser("convert", help="convert between annotation formats")
    c.add_argument("--from", dest="src", choices=READABLE, required=True)
    c.add_argument("--to", dest="dst", choices=FORMATS, required=True)
    c.add_argument("--no-validate", action="store_true",
                   help="convert even when records break the span rules")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    c.set_defaults(func=cmd_convert)

    p = sub.add_parser("preannotate", help="raw reports -> paragraph records pre-filled for correction")
    p.add_argument("files", nargs="+", metavar="REPORT")
    p.add_argument("--out", required=True, help="folder for one file per report")
    p.add_argument("--format", choices=("inline", "jsonl"), default="inline")
    p.add_argument("--model", default=None, help="trained model folder (default: the rule baseline)")
    p.set_defaults(func=cmd_preannotate)

    st = sub.add_parser("stats", help="statistics per split and agreement table (into annotations/README.md)")
    st.add_argument("--gold", default="annotations/gold", help="folder of gold JSONL files")
    st.add_argument("--splits", default="annotations/splits.json")
    st.add_argument("--round", nargs=3, action="append", metavar=("NAME", "FIRST", "SECOND"),
                    help="an agreement study: its name, first-pass and blind second-pass JSONL "
                         "(repeatable; default: the project's rounds in annotations/agreement/)")
    st.add_argument("--readme", default="annotations/README.md", help="README to update, or - for none")
    st.set_defaults(func=cmd_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit status (module docstring). argparse's own
    usage errors exit 2 by ``SystemExit``, :class:`UsageError` returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        print(f"annotate: {err}", file=sys.stderr)
        return 2
