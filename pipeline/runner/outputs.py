"""The output folder: its layout, its lock, atomic writes, and the combined files.

The folder is a store that only grows. Each report's results go first to
``parts/<doc_id>.jsonl`` and ``html/<doc_id>.html``, then its manifest
``parts/<doc_id>.manifest.json`` (source, input path, size, mtime, sha256 of the
input bytes, encoding, invalid bytes, warnings, model identity). Every file is
written to a temporary file and renamed into place (mode ``0o666`` less the
umask), and the manifest comes last, so a report is finished iff its manifest,
part and page are there; it is up to date iff its manifest matches the input
and model of the current run. The combined files (``entities.jsonl``,
``entities.csv``, ``targets.csv``, ``targets.parquet``, ``attainment.csv``,
``attainment.parquet``, ``summary.html``) are
rebuilt from every finished report in the folder, sorted by ``doc_id``, not
only from the current run's inputs; ``errors.jsonl`` holds the failures and
warnings of the run that wrote them. A run that finishes none of its inputs
changes nothing, and a report whose input now fails keeps its earlier results.

One run writes into a folder at a time: :meth:`OutputFolder.locked` holds an
exclusive ``flock`` on ``.lock`` in it (with the holder's PID) for the whole
run. The kernel releases it when the process ends, however it ends, so the
lock of a killed run is never stale: the next run simply takes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.annotation.jsonl import read_records, write_records
from pipeline.annotation.schema import Record
from pipeline.files import bom_csv, write_atomic
from pipeline.runner.inputs import Report
from pipeline.runner.pages import render_html
from pipeline.runner.records import Failure, ReportWarning
from pipeline.tables import attainment, targets
from pipeline.tables.indicators import IndicatorMatcher
from pipeline.tables.summary import render_summary

ENTITIES_JSONL = "entities.jsonl"
ENTITIES_CSV = "entities.csv"
TARGETS_CSV = "targets.csv"
TARGETS_PARQUET = "targets.parquet"
ATTAINMENT_CSV = "attainment.csv"
ATTAINMENT_PARQUET = "attainment.parquet"
SUMMARY_HTML = "summary.html"
ERRORS_JSONL = "errors.jsonl"
PARTS_DIR = "parts"
HTML_DIR = "html"
MANIFEST_SUFFIX = ".manifest.json"
LOCK_FILE = ".lock"

CSV_COLUMNS: tuple[str, ...] = (
    "doc_id", "id", "section", "label", "text", "score", "start", "end", "raw_start", "raw_end",
)


class OutputFolderError(Exception):
    """The output folder cannot be used: not a folder, not writable, or in use."""

    def __init__(self, folder: str | os.PathLike[str], reason: str) -> None:
        self.folder = str(folder)
        self.reason = reason
        super().__init__(f"{self.folder}: {reason}")


class FolderInUseError(OutputFolderError):
    """Another run holds the output folder's lock (``pid``: its process, when known)."""

    def __init__(self, folder: str | os.PathLike[str], pid: int | None) -> None:
        self.pid = pid
        holder = f"PID {pid}" if pid is not None else "PID unknown"
        super().__init__(folder, f"in use by another run ({holder}); one run writes into a folder "
                                 f"at a time: wait for it, or use another --out")


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError):
        return None


class OutputFolder:
    """The layout of an output folder, its lock and its atomic writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.parts = self.root / PARTS_DIR
        self.html = self.root / HTML_DIR

    def part(self, doc_id: str) -> Path:
        return self.parts / f"{doc_id}.jsonl"

    def manifest(self, doc_id: str) -> Path:
        return self.parts / f"{doc_id}{MANIFEST_SUFFIX}"

    def page(self, doc_id: str) -> Path:
        return self.html / f"{doc_id}.html"

    def _create_subfolders(self) -> None:
        """``parts/`` and ``html/``, all three folders writable, or :class:`OutputFolderError`."""
        for folder in (self.parts, self.html):
            try:
                folder.mkdir(exist_ok=True)
            except FileExistsError:
                raise OutputFolderError(folder, "is a file, not a folder") from None
            except OSError as err:
                raise OutputFolderError(folder, f"cannot be created ({err.strerror})") from None
        for folder in (self.root, self.parts, self.html):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise OutputFolderError(folder, "cannot be written (permission denied)")

    @contextmanager
    def locked(self) -> Iterator[OutputFolder]:
        """Create the folder and hold its lock while the block runs: an exclusive
        ``flock`` on ``.lock`` with this process's PID in it. Raises
        :class:`OutputFolderError` when the folder cannot be created or written,
        :class:`FolderInUseError` (naming the holder's PID) when another process
        holds it. A killed holder's lock is released by the kernel."""
        if self.root.exists() and not self.root.is_dir():
            raise OutputFolderError(self.root, "is a file, not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputFolderError(self.root, f"cannot be created ({err.strerror})") from None
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as err:
            raise OutputFolderError(self.root, f"cannot be written (creating {LOCK_FILE} in it: "
                                               f"{err.strerror})") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FolderInUseError(self.root, _read_pid(fd)) from None
            except OSError as err:
                raise OutputFolderError(self.root, f"cannot be locked ({err.strerror})") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            try:
                self._create_subfolders()
                yield self
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # releases the lock

    def remove_stray_temp_files(self) -> None:
        """Temporary files a killed run left behind (``write_atomic``'s ``.<name>.*.tmp``).
        Only while holding the lock: another run's are not stray."""
        for folder in (self.root, self.parts, self.html):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def finished(self) -> dict[str, dict[str, Any]]:
        """Every finished report in the folder: doc_id -> its manifest (readable,
        with its part and page), sorted by doc_id."""
        done = {}
        for path in sorted(self.parts.glob(f"*{MANIFEST_SUFFIX}")):
            doc_id = path.name[:-len(MANIFEST_SUFFIX)]
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(manifest, dict) and self.part(doc_id).is_file() and self.page(doc_id).is_file():
                done[doc_id] = manifest
        return done

    def is_done(self, report: Report, manifest: dict[str, Any]) -> bool:
        """Whether ``report`` has complete results for this input and model: its
        manifest has the input's sha256 and the model identity of this run, and its
        part and page exist. The key holds nothing that depends on the working
        directory (``source`` does), so a run from another folder skips them too."""
        try:
            stored = json.loads(self.manifest(report.doc_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        keys = ("sha256", "model")
        return all(stored.get(k) == manifest[k] for k in keys) \
            and self.part(report.doc_id).is_file() and self.page(report.doc_id).is_file()

    def save(self, report: Report, records: Sequence[Record], manifest: dict[str, Any]) -> None:
        """Write one report's page, part and (last, as the commit) manifest."""
        write_atomic(self.page(report.doc_id), render_html(records, report.doc_id))
        write_records(self.part(report.doc_id), records, validate=False)
        done = {**manifest, "records": len(records),
                "entities": sum(len(r.spans) for r in records)}
        write_atomic(self.manifest(report.doc_id), json.dumps(done, ensure_ascii=False, indent=1))

    def combine(self, failures: Sequence[Failure], notes: Sequence[ReportWarning], *,
                matcher: IndicatorMatcher | None = None) -> tuple[int, int]:
        """Rebuild ``entities.jsonl``, ``entities.csv``, ``targets.csv``,
        ``targets.parquet``, ``attainment.csv``, ``attainment.parquet`` and
        ``summary.html`` from every finished report in the folder, and
        ``errors.jsonl`` from ``failures`` and ``notes``; returns the number of
        entities and of reports. ``matcher`` maps METRICs to indicators
        (default: exact and alias matches only)."""
        records: list[Record] = []
        finished = self.finished()
        for doc_id in finished:
            records.extend(read_records(self.part(doc_id), validate=False))
        write_records(self.root / ENTITIES_JSONL, records, validate=False)
        write_atomic(self.root / ENTITIES_CSV, csv_text(records))
        rows = targets.rows_from_records(records, matcher)
        met = attainment.attainment_rows(rows)
        targets.write_csv(rows, self.root / TARGETS_CSV)
        attainment.write_attainment_csv(met, self.root / ATTAINMENT_CSV)
        try:
            targets.write_parquet(rows, self.root / TARGETS_PARQUET)
            attainment.write_attainment_parquet(met, self.root / ATTAINMENT_PARQUET)
        except ImportError as err:  # pyarrow missing: the CSVs have the same rows
            warnings.warn(f"{TARGETS_PARQUET} and {ATTAINMENT_PARQUET} not written: {err}", stacklevel=2)
        write_atomic(self.root / SUMMARY_HTML, render_summary(rows, met))
        write_atomic(self.root / ERRORS_JSONL, errors_text(failures, notes))
        return sum(len(r.spans) for r in records), len(finished)


def stored_inputs(finished: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """doc_id -> the input path its manifest records (for :func:`pipeline.runner.inputs.assign_doc_ids`)."""
    return {doc_id: m["input"] for doc_id, m in finished.items() if isinstance(m.get("input"), str)}


def errors_text(failures: Iterable[Failure], notes: Iterable[ReportWarning]) -> str:
    """``errors.jsonl``: one ``{"source", "reason", "kind"}`` line per failure
    (``kind`` ``"error"``: no results) then per warning (``"warning"``: processed)."""
    lines = [{"source": f.source, "reason": f.reason, "kind": "error"} for f in failures]
    lines += [{"source": w.source, "reason": w.reason, "kind": "warning"} for w in notes]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def csv_text(records: Iterable[Record]) -> str:
    """One CSV row per entity (:data:`CSV_COLUMNS`), with a UTF-8 BOM."""
    return bom_csv(CSV_COLUMNS, _csv_rows(records))


def _csv_rows(records: Iterable[Record]) -> Iterable[list[Any]]:
    for r in records:
        raw_spans = r.meta.get("raw_spans") or [[None, None]] * len(r.spans)
        for span, (raw_start, raw_end) in zip(r.spans, raw_spans):
            yield [r.doc_id, r.id, r.section, span.label, r.span_text(span),
                   "" if span.score is None else f"{span.score:.4f}",
                   span.start, span.end,
                   "" if raw_start is None else raw_start,
                   "" if raw_end is None else raw_end]


@dataclass
class RunSummary:
    """What a run did. ``ok`` is false when any input failed (warnings do not
    count). ``entities`` and ``reports`` describe the whole folder once the
    combined files are ``written``; ``seconds`` is processing time only (not
    loading the model) over ``chars`` characters."""

    out: Path
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[ReportWarning] = field(default_factory=list)
    entities: int = 0
    reports: int = 0
    written: bool = False
    chars: int = 0
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def chars_s(self) -> float | None:
        """Characters per second of processing (``None`` when not measured)."""
        if not self.seconds or not self.chars:
            return None
        return self.chars / self.seconds

    def __str__(self) -> str:
        head = (f"{len(self.processed)} report(s) processed, {len(self.skipped)} already done, "
                f"{len(self.failures)} failed")
        if self.warnings:
            head += f", {len(self.warnings)} warning(s)"
        if self.written:
            head += (f"; {self.entities} entities of {self.reports} report(s) in "
                     f"{self.out / ENTITIES_JSONL}")
        else:
            head += f"; nothing written to {self.out} (no input finished)"
        if self.chars_s is not None:
            head += f" ({self.chars_s:,.0f} chars/s)"
        lines = [head]
        lines += [f"  FAILED {f}" for f in self.failures]
        lines += [f"  WARNING {w}" for w in self.warnings]
        return "\n".join(lines)
