"""Import a public NER benchmark into the project's record format:
``scripts/import_benchmark.py cluener ../shared/ner-benchmarks/cluener2020 --out runs/cluener``
(``govreport-ner import-benchmark`` is the same command).

Writes ``train.jsonl``, ``dev.jsonl``, ``splits.json`` and ``import_stats.json``
under ``--out`` (see :mod:`pipeline.annotation.benchmarks`), and prints the ``--set``
options that train on them with ``scripts/train.py``. Keep the output out of
tracked folders (``runs/`` is ignored by git).

Exit status: 0 on success, 2 when the input is malformed or missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.annotation.benchmarks import CLUENER_LABELS, import_cluener
from pipeline.annotation.schema import AnnotationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner import-benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", choices=["cluener"], help="which benchmark")
    parser.add_argument("src", type=Path, help="folder with the benchmark's train.json and dev.json")
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. runs/cluener)")
    args = parser.parse_args(argv)
    try:
        report = import_cluener(args.src, args.out)
    except (OSError, ValueError, AnnotationError) as err:  # AnnotationError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    for split, stats in report.items():
        print(f"{split}: {stats['records']} records, {stats['spans']} spans, "
              f"{stats['dropped_overlapping']} nested span(s) dropped -> {args.out / (split + '.jsonl')}")
    print(f"splits: {args.out / 'splits.json'}")
    print("train with: scripts/train.py "
          f"--set data_files='[\"{args.out}/*.jsonl\"]' --set splits_file='\"{args.out}/splits.json\"' "
          f"--set labels='{json.dumps(list(CLUENER_LABELS))}' --set style_rules=false "
          "--set section_context=false")
    return 0
