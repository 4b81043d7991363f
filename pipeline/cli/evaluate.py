"""Score a model and the rule baseline on gold records: ``govreport-ner evaluate --data FILE.jsonl``
(or ``scripts/evaluate.py``).

Entity-level precision, recall and F1 per label, micro and macro, computed by
seqeval in strict IOB2 mode (see :mod:`pipeline.evaluation`). Any JSONL in the
project's record format works; a record without ``meta.section`` has its
section inferred from its text. Every false positive and false negative of
both systems goes to the error file.

Data whose labels are not the project's (a benchmark imported by
``scripts/import_benchmark.py``) is scored the same way; the rule baseline,
which predicts only the project's labels, is then shown as ``n/a``, and the
data is checked against its own label set without the project's style rules.

Exit status: 0 on success; 2, with one line ``error: file: reason``, when there is
nothing to score or the scores would mean nothing. Checked before any model is
loaded (:mod:`pipeline.evaluation.gold`):

- a data file that cannot be read (missing, a folder, not UTF-8), has a
  malformed line, or holds no record;
- a record id given twice, in one file or across files: with a different text
  the prediction's offsets would be compared with another paragraph's, with the
  same text its entities would be counted twice (there is no opt-in: pass each
  paragraph once);
- ``--split``: a splits file that cannot be read, a split it does not have or
  that lists no document, or none of whose documents is in the data (documents
  of the split that the data lacks are only warned about);
- ``--errors``/``--json`` naming a folder.

Then: a model folder that cannot be loaded; spans that cannot be scored
(overlapping or out of range); a predicted text that differs from its gold
record's text (the message names the record id; the systems predict on the gold
texts, so this means a broken system, and nothing is scored). Annotation-style
problems (e.g. punctuation at a span's edge) are only warned about.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.annotation.jsonl import read_splits
from pipeline.annotation.schema import AnnotationError
from pipeline.annotation.validate import validate_records
from pipeline.evaluation.gold import read_gold_files, split_records
from pipeline.evaluation.report import format_f1_comparison, format_table, write_json
from pipeline.evaluation.systems import CANONICAL_DTYPE, evaluate, project_labels
from pipeline.model.encoders.loading import ModelLoadError
from pipeline.model.decoding import DECODERS
from pipeline.model.precision import PRECISIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, nargs="+", help="gold records (JSONL files)")
    parser.add_argument("--split", help="keep only the documents of this split (e.g. test)")
    parser.add_argument("--splits", type=Path, default=Path("annotations/splits.json"),
                        help="splits file for --split (default: annotations/splits.json)")
    parser.add_argument("--model", default="none",
                        help="trained model folder, or 'none' to score only the rule baseline")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON (with --tune-min-score: "
                                                      "before and after the thresholds, and left one "
                                                      "document out)")
    parser.add_argument("--errors", type=Path,
                        help="error file (JSONL; default: outputs/evaluation/<data>.errors.jsonl)")
    parser.add_argument("--batch-size", type=int, default=32, help="paragraphs per batch")
    parser.add_argument("--dtype", choices=PRECISIONS, default=CANONICAL_DTYPE,
                        help="inference precision of the model (default %(default)s, the precision of "
                             "published scores, the same on every CPU; auto: what this CPU runs by default)")
    parser.add_argument("--decoding", choices=DECODERS, default=None,
                        help="how piece tags are chosen (default: the model's setting)")
    parser.add_argument("--ensemble", type=Path, nargs="+", default=[], metavar="MODEL",
                        help="more model folders whose probabilities are averaged with --model's "
                             "(same tokenizer and tags; --model's settings decode)")
    parser.add_argument("--compare-dtypes", metavar="LIST",
                        help="also score the model in these precisions (comma-separated, e.g. "
                             "bfloat16,int8) and print their F1 beside --dtype's")
    parser.add_argument("--tune-min-score", action="store_true",
                        help="choose per-label minimum span scores on this split (dev; never test) "
                             "from the model's predictions without thresholds, and print them")
    parser.add_argument("--write-min-score", action="store_true",
                        help="with --tune-min-score: store the chosen thresholds in the model's "
                             "config.cfg (min_score)")
    args = parser.parse_args(argv)
    if args.write_min_score and not args.tune_min_score:
        parser.error("--write-min-score needs --tune-min-score")
    if args.tune_min_score and (args.split in (None, "test") or args.model == "none"):
        parser.error("--tune-min-score needs a model and a --split other than test "
                     "(thresholds are chosen on dev, never on test)")
    if args.ensemble and (args.model == "none" or args.write_min_score or args.compare_dtypes):
        parser.error("--ensemble needs a --model to average with, and takes neither --write-min-score "
                     "(an ensemble is not saved) nor --compare-dtypes")
    compare = [d.strip() for d in (args.compare_dtypes or "").split(",") if d.strip()]
    if any(d not in PRECISIONS for d in compare):
        parser.error(f"--compare-dtypes: each must be one of {', '.join(PRECISIONS)}")

    source = ", ".join(str(p) for p in args.data) if len(args.data) < 4 else f"{len(args.data)} files"
    try:
        records = read_gold_files(args.data)
        if args.split:
            splits = read_splits(args.splits)
            records, missing = split_records(records, splits, args.split, args.splits, source)
            if missing:
                print(f"warning: {len(missing)} of the {len(splits[args.split])} documents of split "
                      f"{args.split!r} are not in {source}, e.g. {', '.join(map(repr, missing[:3]))}",
                      file=sys.stderr)
    except AnnotationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    name = args.split or args.data[0].stem
    if project_labels(records):
        problems = validate_records(records, source)
    else:
        labels = sorted({s.label for r in records for s in r.spans})
        print(f"note: {source} has its own labels ({', '.join(labels)}): the rule baseline "
              "(project labels only) is n/a, the project's style rules are not checked",
              file=sys.stderr)
        problems = validate_records(records, source, labels=labels, style_rules=False)
    if problems:
        print(f"warning: {len(problems)} annotation problem(s) in {source}, "
              f"first: {problems[0]}", file=sys.stderr)
    errors_path = args.errors or Path("outputs/evaluation") / f"{name}.errors.jsonl"
    folder = next((p for p in (errors_path, args.json) if p is not None and p.is_dir()), None)
    if folder is not None:
        print(f"error: {folder}: is a folder, not a file", file=sys.stderr)
        return 2

    if args.tune_min_score:
        return _tune(args, records)
    try:
        model = _model(args)
        result = evaluate(model, records, batch_size=args.batch_size,
                          errors_path=errors_path, dtype=args.dtype, decoding=args.decoding)
    except ModelLoadError as err:  # its message starts with the model folder
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # spans that cannot be scored, a predicted text that differs
        print(f"error: {source}: {err}", file=sys.stderr)
        return 2
    print(format_table(result))
    print(f"errors: {errors_path}")
    if compare and result.get("dtype"):
        runs = {args.dtype: result}
        for dtype in compare:
            runs[dtype] = evaluate(args.model, records, batch_size=args.batch_size, dtype=dtype,
                                   decoding=args.decoding)
        print()
        print(format_f1_comparison(runs, args.dtype))
    if args.json:
        write_json(args.json, result)
        print(f"scores: {args.json}")
    return 0


def _model(args: argparse.Namespace):
    """``--model`` as given, or with ``--ensemble`` the averaged pipeline (loaded here)."""
    if not args.ensemble:
        return args.model
    from pipeline.model.ensemble import load_ensemble

    return load_ensemble([args.model, *args.ensemble], dtype=args.dtype, decoding=args.decoding)


def _tune(args: argparse.Namespace, records) -> int:
    """``--tune-min-score``: the model's predictions without thresholds, the best
    threshold per label, written into the model with ``--write-min-score``."""
    from pipeline.evaluation.systems import load_model, predict_model, with_sections
    from pipeline.evaluation.thresholds import format_tuning, leave_one_document_out, tune_min_score
    from pipeline.model.build import save_ner_setting

    try:
        nlp = _model(args) if args.ensemble else load_model(args.model, args.dtype, args.decoding)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if "govreport_ner" not in getattr(nlp, "pipe_names", ()):
        print(f"error: {args.model}: not a pipeline with a govreport_ner component", file=sys.stderr)
        return 2
    ner = nlp.get_pipe("govreport_ner")
    saved, ner.min_score = ner.min_score, {}
    gold = with_sections(records)
    predicted = predict_model(nlp, gold, args.batch_size)
    result = tune_min_score(gold, predicted, ner.labels)
    print(f"min_score on {args.split} ({len(gold)} records; {args.model}, {ner.precision}; "
          f"saved thresholds: {saved or 'none'})")
    print(format_tuning(result))
    print(f"min_score = {result['min_score']}")
    held = None
    if len({r.doc_id for r in gold}) > 1:  # the honest estimate: thresholds chosen without the document
        held = leave_one_document_out(gold, predicted, ner.labels)["scores"]
        print(f"leave-one-document-out: micro F1 {result['before']['micro']['f1']:.3f} -> "
              f"{held['micro']['f1']:.3f} (" + ", ".join(
                  f"{k} {v['f1']:.3f}" for k, v in held["per_label"].items()) + ")")
    if args.json:
        write_json(args.json, {"model": nlp.meta["name"] if args.ensemble else str(args.model),
                               "split": args.split, "dtype": ner.precision,
                               "decoding": ner.decoding, "min_score": result["min_score"],
                               "before": result["before"], "after": result["after"], "left_out": held})
        print(f"scores: {args.json}")
    if args.write_min_score:
        save_ner_setting(args.model, "min_score", result["min_score"])
        print(f"written to {args.model}/config.cfg")
    return 0

