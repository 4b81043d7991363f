"""``govreport-ner package [--model DIR] [--out dist/]``: the shipped pipeline as a wheel.

Writes ``xx_govreport_ner-<version>-py3-none-any.whl`` (spaCy's packaging; version
from the model card) and the ``govreport_ner`` wheel it requires into ``--out``;
``pip install dist/*.whl`` then ``spacy.load("xx_govreport_ner")`` works from any
folder, offline (:mod:`pipeline.model.packaging`).

Exit status: 0 when both wheels were written; 2 when the model folder cannot be
packaged (no model card version, no ``eval/test.json``) or a build step fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "govreport-ner",
                        help="pipeline folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="where the wheels go (default: dist/)")
    parser.add_argument("--version", default=None, help="package version (default: the model card's)")
    parser.add_argument("--no-project-wheel", action="store_true", help="build only the model's wheel")
    args = parser.parse_args(argv)
    from pipeline.model.packaging import PackagingError, build_project_wheel, package_model

    try:
        wheels = [package_model(args.model, args.out, args.version)]
        if not args.no_project_wheel:
            wheels.append(build_project_wheel(ROOT, args.out))
    except PackagingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for wheel in wheels:
        print(wheel)
    return 0
