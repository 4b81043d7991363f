"""The output folder: its layout, atomic writes, and the combined files.

Each report's results go first to ``parts/<doc_id>.jsonl`` and
``html/<doc_id>.html``, then its manifest ``parts/<doc_id>.manifest.json``
(source, input path, size, mtime, sha256 of the input bytes, model identity).
Every file is written to a temporary file and renamed into place, and the
manifest comes last, so a report is finished iff its manifest matches the input
and model of the current run. The combined files (``entities.jsonl``,
``entities.csv``, ``targets.csv``, ``targets.parquet``, ``summary.html``,
``errors.jsonl``) are rebuilt from the parts, sorted by ``doc_id``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.annotation.jsonl import read_records, write_records
from pipeline.annotation.schema import Record
from pipeline.files import bom_csv, write_atomic
from pipeline.runner.inputs import Report
from pipeline.runner.pages import render_html
from pipeline.runner.records import Failure
from pipeline.tables import targets
from pipeline.tables.summary import render_summary

ENTITIES_JSONL = "entities.jsonl"
ENTITIES_CSV = "entities.csv"
TARGETS_CSV = "targets.csv"
TARGETS_PARQUET = "targets.parquet"
SUMMARY_HTML = "summary.html"
ERRORS_JSONL = "errors.jsonl"
PARTS_DIR = "parts"
HTML_DIR = "html"
MANIFEST_SUFFIX = ".manifest.json"

CSV_COLUMNS: tuple[str, ...] = (
    "doc_id", "id", "section", "label", "text", "score", "start", "end", "raw_start", "raw_end",
)


class OutputFolder:
    """The layout of an output folder and its atomic writes."""

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

    def remove_stray_temp_files(self) -> None:
        """Temporary files a killed run left behind (``write_atomic``'s ``.<name>.*.tmp``)."""
        for folder in (self.root, self.parts, self.html):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

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

    def discard(self, report: Report) -> None:
        """Remove a report's results (its input now fails)."""
        for path in (self.manifest(report.doc_id), self.part(report.doc_id),
                     self.page(report.doc_id)):
            path.unlink(missing_ok=True)

    def combine(self, reports: Sequence[Report], failures: Sequence[Failure]) -> int:
        """Rebuild ``entities.jsonl``, ``entities.csv``, ``targets.csv``,
        ``targets.parquet``, ``summary.html`` and ``errors.jsonl``; returns the
        number of entities."""
        records: list[Record] = []
        for report in sorted(reports, key=lambda r: r.doc_id):
            records.extend(read_records(self.part(report.doc_id), validate=False))
        write_records(self.root / ENTITIES_JSONL, records, validate=False)
        write_atomic(self.root / ENTITIES_CSV, csv_text(records))
        rows = targets.rows_from_records(records)
        targets.write_csv(rows, self.root / TARGETS_CSV)
        try:
            targets.write_parquet(rows, self.root / TARGETS_PARQUET)
        except ImportError as err:  # pyarrow missing: the CSV has the same rows
            warnings.warn(f"{TARGETS_PARQUET} not written: {err}", stacklevel=2)
        write_atomic(self.root / SUMMARY_HTML, render_summary(rows))
        write_atomic(self.root / ERRORS_JSONL, "".join(
            json.dumps({"source": f.source, "reason": f.reason}, ensure_ascii=False) + "\n"
            for f in failures))
        return sum(len(r.spans) for r in records)


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
    """What a run did. ``ok`` is false when any input failed."""

    out: Path
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    entities: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [f"{len(self.processed)} report(s) processed, {len(self.skipped)} already done, "
                 f"{len(self.failures)} failed; {self.entities} entities in "
                 f"{self.out / ENTITIES_JSONL}"]
        lines += [f"  FAILED {f}" for f in self.failures]
        return "\n".join(lines)
