"""The runner's inputs: files, folders and globs -> reports, each report's text
and manifest, and the identity of the model that decides whether earlier
results are still valid."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.runner.records import Failure
from pipeline.text.reading import ReportReadError, decode_bytes

REPORT_SUFFIXES: tuple[str, ...] = (".txt",)
"""Files taken from folders and globs; a file named on its own is always taken."""


@dataclass(frozen=True)
class Report:
    """One input file: where it is, its ``doc_id`` and its ``source`` as recorded."""

    path: Path
    doc_id: str
    source: str


def _is_report_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in REPORT_SUFFIXES \
        and not path.name.startswith(".")


def _folder_reports(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if _is_report_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _source(path: Path) -> str:
    """How a report is named in the outputs (``meta.source``): relative to the
    working directory when inside it. Not part of the resume key (see
    :meth:`pipeline.runner.outputs.OutputFolder.is_done`)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def find_reports(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[Report], list[Failure]]:
    """Resolve files, folders (``*.txt`` found recursively, hidden ones skipped) and
    globs (matching ``*.txt`` files and folders) into reports, each once.

    ``doc_id`` is the file stem; stems shared by several files get a short hash
    of the path appended. An input that matches nothing is a :class:`Failure`.
    """
    found: list[Path] = []
    failures: list[Failure] = []
    for item in inputs:
        path = Path(item)
        if path.is_file():
            paths = [path]
        elif path.is_dir():
            paths = _folder_reports(path)
            if not paths:
                failures.append(Failure(str(item), "folder holds no report files (*.txt)"))
        else:
            matches = [Path(m) for m in sorted(glob.glob(str(item), recursive=True))]
            paths = [p for m in matches
                     for p in (_folder_reports(m) if m.is_dir() else [m] if _is_report_file(m) else [])]
            if not paths:
                reason = "no report files match this pattern" if matches or glob.has_magic(str(item)) \
                    else "no such file or folder"
                failures.append(Failure(str(item), reason))
        found.extend(paths)

    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    stems: dict[str, int] = {}
    for p in unique.values():
        stems[p.stem] = stems.get(p.stem, 0) + 1
    reports = []
    for resolved, p in unique.items():
        doc_id = p.stem
        if stems[doc_id] > 1:
            doc_id += "-" + hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
        reports.append(Report(p, doc_id, _source(p)))
    return reports, failures


def _files_digest(root: Path) -> str:
    """Hash of the files under ``root``: names, sizes and mtimes (model weights are
    big; a changed file changes its size or mtime)."""
    digest = hashlib.sha256()
    files = (q for q in root.rglob("*") if q.is_file() and "__pycache__" not in q.parts)
    for p in sorted(files):
        st = p.stat()
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        digest.update(f"{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def model_identity(model_dir: str | os.PathLike[str] | None,
                   settings: Mapping[str, Any] | None = None) -> str:
    """What decides whether earlier results are still valid: what changes the
    outputs. The model folder (file names, sizes, mtimes) or the rule baseline,
    the settings the run applies on top of the saved model (``settings``, e.g. the
    precision ``dtype = "auto"`` resolves to on this CPU) and the package version;
    not the package's source files, so editing a docstring keeps finished reports."""
    package = f"govreport-ner-{__version__}"
    parts = [f"rule-baseline/{package}"] if model_dir is None else [
        f"model:{Path(model_dir).name}:{_files_digest(Path(model_dir))}", package]
    if settings:
        parts.append("settings:" + json.dumps(dict(settings), sort_keys=True, ensure_ascii=False))
    return "+".join(parts)


def read_input(report: Report, model: str) -> tuple[str, dict[str, Any]]:
    """A report's text and its manifest (raises :class:`ReportReadError`)."""
    try:
        data = report.path.read_bytes()
        stat = report.path.stat()
    except OSError as err:
        raise ReportReadError(report.source, f"cannot be read: {err.strerror}") from None
    text, encoding = decode_bytes(data, report.source)
    if not text.strip():
        raise ReportReadError(report.source, "is empty (no text)")
    manifest = {"source": report.source, "input": report.path.resolve().as_posix(),
                "size": len(data), "mtime_ns": stat.st_mtime_ns,
                "sha256": hashlib.sha256(data).hexdigest(), "encoding": encoding, "model": model}
    return text, manifest


@dataclass
class Pending:
    """A report to process: its manifest, its length, and (local engine) its text."""

    report: Report
    manifest: dict[str, Any]
    chars: int
    text: str | None = None
