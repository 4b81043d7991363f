"""``govreport-ner targets``: the targets table of annotation files, and its
end-to-end evaluation against gold (see :mod:`pipeline.tables.targets`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.annotation.jsonl import read_records, read_splits
from pipeline.evaluation.end_to_end import (
    evaluate_end_to_end,
    fully_linked_documents,
    relinked,
    with_metadata,
)
from pipeline.tables.linking import link_accuracy
from pipeline.tables.targets import evaluate_rows, rows_from_records, unparsed_rows, write_csv, write_parquet


def main(argv: list[str] | None = None) -> int:
    """``govreport-ner targets rows FILES --out CSV`` or ``govreport-ner targets evaluate``."""
    parser = argparse.ArgumentParser(prog="govreport-ner targets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rows_p = sub.add_parser("rows", help="write the target table of annotation files")
    rows_p.add_argument("files", nargs="+")
    rows_p.add_argument("--out", required=True, help="CSV file (.parquet for Parquet)")
    ev = sub.add_parser("evaluate", help="links and table against gold, end to end")
    ev.add_argument("--gold", default="annotations/gold")
    ev.add_argument("--splits", default="annotations/splits.json")
    ev.add_argument("--split", default="test")
    ev.add_argument("--seeds", default="seeds")
    ev.add_argument("--model", default=None, help="pipeline folder (default: rule baseline)")
    args = parser.parse_args(argv)

    if args.command == "rows":
        records = [r for f in args.files for r in read_records(f)]
        rows = rows_from_records(with_metadata(records, Path("seeds")))
        (write_parquet if args.out.endswith(".parquet") else write_csv)(rows, args.out)
        print(f"{len(rows)} rows, {len(unparsed_rows(rows))} not normalized -> {args.out}")
        return 0

    ids = read_splits(args.splits)[args.split]
    gold = [r for d in ids for r in read_records(Path(args.gold) / f"{d}.jsonl")]
    linked = [r for r in gold if r.links]
    full = [r for r in gold if r.doc_id in fully_linked_documents(gold)]
    result = {
        "split": args.split, "documents": ids,
        "gold_linked_records": len(linked),
        "links": link_accuracy(linked),
        "table_gold_spans_linker": evaluate_rows(
            rows_from_records(with_metadata(relinked(full), Path(args.seeds))),
            rows_from_records(with_metadata(full, Path(args.seeds)))),
        "table_end_to_end": evaluate_end_to_end(gold, Path(args.seeds), args.model),
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0
