"""``govreport-ner targets``: the targets table of annotation files, its
end-to-end evaluation against gold (see :mod:`pipeline.tables.targets`), and the
indicator matcher scored on labelled METRIC mentions (``targets indicators``:
the embedding threshold is chosen on ``--tune`` and reported on ``--report``)."""

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
from pipeline.evaluation.indicators import (best_threshold, evaluate_matcher, markdown_table, read_mentions,
                                            sweep_thresholds)
from pipeline.files import write_atomic
from pipeline.tables.indicators import DEFAULT_ENCODER, EncoderEmbedder, IndicatorMatcher
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
    ind = sub.add_parser("indicators", help="score the indicator matcher on labelled METRIC mentions")
    ind.add_argument("--labels", default="annotations/indicators/metric_keys.jsonl")
    ind.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"embedding model (default: {DEFAULT_ENCODER})")
    ind.add_argument("--tune", default="dev", help="split the threshold is chosen on (default: dev)")
    ind.add_argument("--report", default="test", help="split it is reported on (default: test)")
    ind.add_argument("--min-precision", type=float, default=0.9,
                     help="the threshold is the lowest whose embedding matches reach this precision on --tune")
    ind.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    if args.command == "indicators":
        return _indicators(args)

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


THRESHOLDS = tuple(round(0.90 + 0.005 * k, 3) for k in range(20))


def _indicators(args: argparse.Namespace) -> int:
    try:
        mentions = read_mentions(args.labels)
    except (OSError, ValueError) as err:
        print(f"error: --labels {err}", file=sys.stderr)
        return 2
    tune = [m for m in mentions if m.split == args.tune]
    report = [m for m in mentions if m.split == args.report]
    if not tune or not report:
        print(f"error: --labels {args.labels}: no mentions of split {args.tune if not tune else args.report!r}",
              file=sys.stderr)
        return 2
    embed = EncoderEmbedder(args.encoder)
    sweep = sweep_thresholds(tune, IndicatorMatcher(embed=embed, threshold=1.0), THRESHOLDS)
    threshold = best_threshold(sweep, args.min_precision)
    names_only = IndicatorMatcher()
    results = {f"{args.tune}, names and aliases": evaluate_matcher(tune, names_only),
               f"{args.report}, names and aliases": evaluate_matcher(report, names_only)}
    if threshold is not None:
        matcher = IndicatorMatcher(embed=embed, threshold=threshold)
        results[f"{args.tune}, + embedding ≥ {threshold}"] = evaluate_matcher(tune, matcher)
        results[f"{args.report}, + embedding ≥ {threshold}"] = evaluate_matcher(report, matcher)
    print(f"embedding threshold chosen on {args.tune}: {threshold} (lowest with embedding precision "
          f"≥ {args.min_precision}; encoder {args.encoder})\n")
    print(markdown_table(results))
    print(f"threshold sweep on {args.tune}:\n\n| threshold | embedding matches | precision | overall F1 |\n"
          "|---|---|---|---|")
    for row in sweep:
        emb = row["by_how"].get("embedding", {"matched": 0, "precision": 0.0})
        print(f"| {row['threshold']} | {emb['matched']} | {emb['precision']:.3f} | {row['f1']:.3f} |")
    if args.out:
        write_atomic(args.out, json.dumps({"threshold": threshold, "min_precision": args.min_precision,
                                           "encoder": args.encoder, "results": results, "sweep": sweep},
                                          ensure_ascii=False, indent=1))
    return 0
