"""The runner's inputs: files, folders and globs -> reports (regular files only)
with their ``doc_id`` (:func:`natural_doc_id`, :class:`DocIds`), each report's
text, manifest and warnings, and the identity of the model that decides whether
earlier results are still valid."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any

from pipeline import __version__
from pipeline.runner.records import Failure
from pipeline.text.reading import (ReportReadError, decode_report, not_regular_reason, read_regular_file,
                                   report_warnings)

REPORT_SUFFIXES: tuple[str, ...] = (".txt",)
"""Files taken from folders and globs; a file named on its own is always taken."""


@dataclass(frozen=True)
class Report:
    """One input file: where it is, its ``doc_id`` and its ``source`` as recorded."""

    path: Path
    doc_id: str
    source: str


def _is_candidate(path: Path) -> bool:
    """A name a folder or a glob offers as a report: ``*.txt``, not hidden."""
    return path.suffix.lower() in REPORT_SUFFIXES and not path.name.startswith(".")


def _source(path: Path) -> str:
    """How a report is named in the outputs (``meta.source``): relative to the
    working directory when inside it. Not part of the resume key (see
    :meth:`pipeline.runner.outputs.OutputFolder.is_done`)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _offered(paths: Iterable[Path], root: Path) -> tuple[list[tuple[Path, Path]], list[Failure]]:
    """The report files among the candidates ``paths`` (each with ``root``), and a
    failure for each candidate that is not a regular file (FIFO, socket, device,
    dangling symbolic link); folders are not candidates."""
    found, failures = [], []
    for p in paths:
        if not _is_candidate(p) or p.is_dir():
            continue
        reason = not_regular_reason(p)
        if reason is None:
            found.append((p, root))
        else:  # named as the entry itself, not what a symbolic link points to
            failures.append(Failure((Path(_source(p.parent)) / p.name).as_posix(), reason))
    return found, failures


def _folder_reports(folder: Path, root: Path) -> tuple[list[tuple[Path, Path]], list[Failure]]:
    """``*.txt`` under ``folder``, recursively, none in a hidden folder."""
    return _offered(sorted(p for p in folder.rglob("*")
                           if not any(part.startswith(".") for part in p.relative_to(folder).parts)), root)


def _glob_root(pattern: str) -> Path:
    """The fixed folder a glob starts from: its parts before the first wildcard."""
    fixed = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _glob_reports(pattern: str) -> tuple[list[tuple[Path, Path]], list[Failure], bool]:
    """What a glob matches (folders searched like a folder), and whether it matched anything."""
    root = _glob_root(pattern)
    matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
    found, failures = [], []
    for m in matches:
        more, bad = _folder_reports(m, root) if m.is_dir() else _offered([m], root)
        found += more
        failures += bad
    return found, failures, bool(matches)


def _relative(path: Path, root: Path) -> PurePath:
    try:
        return path.relative_to(root)
    except ValueError:
        return PurePath(path.name)


def natural_doc_id(relative: str | os.PathLike[str]) -> str:
    """The ``doc_id`` a file gets from its path relative to its input root alone:
    the stem for a file at the top of the root (a file named on its own, or at
    the top of a folder or of a glob's fixed folder), ``<stem>-<8 hex of the
    SHA-1 of the relative path>`` for one in a subfolder (so that ``a.txt`` and
    ``sub/a.txt`` are told apart, whatever else is in the batch)."""
    relative = PurePath(relative)
    if len(relative.parts) <= 1:
        return relative.stem
    return f"{relative.stem}-{_short_hash(relative.as_posix())}"


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def find_reports(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[Report], list[Failure]]:
    """Resolve files, folders (``*.txt`` found recursively, hidden ones skipped) and
    globs (matching ``*.txt`` files and folders) into reports, each once.

    Only regular files are reports: a FIFO, socket, device or dangling symbolic
    link is a :class:`Failure` "not a regular file (FIFO)" etc., named on its
    own or found in a folder or by a glob. An input that matches nothing is a
    :class:`Failure` too.

    ``doc_id`` is :func:`natural_doc_id` of the file's path relative to the root
    it was found under: its own folder for a file named on its own, the folder
    named, or the fixed part of the glob. It never depends on the other inputs;
    :func:`assign_doc_ids` tells apart files that still share one.
    """
    found: list[tuple[Path, Path]] = []
    failures: list[Failure] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths, bad = _folder_reports(path, path)
            failures += bad
            if not paths and not bad:
                failures.append(Failure(str(item), "folder holds no report files (*.txt)"))
        elif os.path.lexists(path):
            reason = not_regular_reason(path)
            paths = [(path, path.parent)] if reason is None else []
            if reason is not None:
                failures.append(Failure(str(item), reason))
        else:
            paths, bad, matched = _glob_reports(str(item))
            failures += bad
            if not paths and not bad:
                reason = "no report files match this pattern" if matched or glob.has_magic(str(item)) \
                    else "no such file or folder"
                failures.append(Failure(str(item), reason))
        found.extend(paths)

    unique: dict[Path, tuple[Path, Path]] = {}
    for p, root in found:
        unique.setdefault(p.resolve(), (p, root))
    reports = [Report(p, natural_doc_id(_relative(p, root)), _source(p)) for p, root in unique.values()]
    return reports, failures


class DocIds:
    """Gives each report a ``doc_id`` no other file holds, in this run or in
    the output folder (``stored``: doc_id -> resolved input path of its manifest).

    A file already in the folder keeps the id it has there. Otherwise it gets
    its natural id (:func:`natural_doc_id`) unless another file holds it, one
    given earlier in this run or one in the folder whose input file still exists
    (an input folder that was moved keeps its ids); then it gets
    ``<natural id>-<8 hex of the SHA-1 of its absolute path>``.
    """

    def __init__(self, stored: Mapping[str, str]) -> None:
        self.stored = dict(stored)
        self.by_input = {path: doc_id for doc_id, path in self.stored.items()}
        self.taken: dict[str, str] = {}

    def assign(self, natural: str, input_path: str) -> str:
        doc_id = self.by_input.get(input_path)
        if doc_id is None or self.taken.get(doc_id, input_path) != input_path:
            if natural in self.taken:
                free = self.taken[natural] == input_path
            else:
                owner = self.stored.get(natural)
                free = owner is None or owner == input_path or not os.path.lexists(owner)
            doc_id = natural if free else f"{natural}-{_short_hash(input_path)}"
        self.taken[doc_id] = input_path
        return doc_id


def assign_doc_ids(reports: Sequence[Report], stored: Mapping[str, str]) -> list[Report]:
    """``reports`` with the ids :class:`DocIds` gives them (files already in the
    folder first, so that theirs stay theirs), in the same order."""
    ids = DocIds(stored)
    inputs = [r.path.resolve().as_posix() for r in reports]
    order = sorted(range(len(reports)), key=lambda i: inputs[i] not in ids.by_input)
    assigned = list(reports)
    for i in order:
        assigned[i] = replace(reports[i], doc_id=ids.assign(reports[i].doc_id, inputs[i]))
    return assigned


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


def read_input(report: Report, model: str) -> tuple[str, dict[str, Any], list[str]]:
    """A report's text, its manifest and its warnings (:func:`pipeline.text.reading.report_warnings`:
    invalid bytes read as U+FFFD, few Han characters); raises :class:`ReportReadError`."""
    data, stat = read_regular_file(report.path, report.source)
    decoded = decode_report(data, report.source)
    if not decoded.text.strip():
        raise ReportReadError(report.source, "is empty (no text)")
    warnings = report_warnings(decoded)
    manifest = {"source": report.source, "input": report.path.resolve().as_posix(),
                "size": len(data), "mtime_ns": stat.st_mtime_ns,
                "sha256": hashlib.sha256(data).hexdigest(), "encoding": decoded.encoding, "model": model,
                "invalid_bytes": list(decoded.invalid), "warnings": warnings}
    return decoded.text, manifest, warnings


@dataclass
class Pending:
    """A report to process: its manifest, its length, and (local engine) its text."""

    report: Report
    manifest: dict[str, Any]
    chars: int
    text: str | None = None
