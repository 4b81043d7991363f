"""From a processed report Doc to annotation records, and the per-batch function.

:func:`records_from_doc` turns a Doc into one record per paragraph: id
``<doc_id>#<paragraph index>``, the normalized paragraph text, predicted spans
with ``score``, ``links`` (:func:`pipeline.tables.linking.link_spans` over the
paragraph's spans) and ``meta`` with ``source``, ``paragraph``, ``section``,
``place`` and ``year`` (:mod:`pipeline.tables.metadata`, from the report's
opening lines) and, for a Doc made from a raw file, the paragraph's
``raw_start`` / ``raw_end`` and ``raw_spans`` (``[raw_start, raw_end]`` of each
span, in span order; span objects allow no extra fields).

:func:`predict_reports` is the unit of work of both engines (the local one in
:mod:`pipeline.runner.run`, the Ray one in :mod:`pipeline.runner.ray`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.annotation.schema import ID_SEPARATOR, Record, Span
from pipeline.tables.linking import link_spans
from pipeline.tables.metadata import report_metadata
from pipeline.text.docs import ENTITIES_KEY, paragraphs
from pipeline.text.reading import ReportReadError


@dataclass(frozen=True)
class Failure:
    """An input that produced no results, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class ReportWarning:
    """An input that was processed, with something its reader should know
    (invalid bytes read as U+FFFD, few Han characters)."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def _entities(doc: Doc) -> list:
    if ENTITIES_KEY in doc.spans:
        return sorted(doc.spans[ENTITIES_KEY], key=lambda s: (s.start_char, s.end_char))
    return list(doc.ents)


def records_from_doc(doc: Doc, doc_id: str, source: str) -> list[Record]:
    """The records of a processed report Doc, one per paragraph, in order, with
    ``links`` and the report's ``place`` and ``year`` in ``meta``."""
    ents = _entities(doc)
    info = report_metadata(doc.text)
    records = []
    for index, para in enumerate(paragraphs(doc)):
        p0, p1 = para.start_char, para.end_char
        spans: list[Span] = []
        raw_spans: list[list[int]] = []
        for ent in ents:
            if p0 <= ent.start_char and ent.end_char <= p1:
                spans.append(Span(ent.start_char - p0, ent.end_char - p0, ent.label_, ent._.score))
                raw_spans.append([ent._.raw_start, ent._.raw_end])
        links = link_spans(para.text, spans)
        meta: dict[str, Any] = {"source": source, "paragraph": index, "section": para.label_,
                                "place": info.place, "year": info.year}
        if para._.raw_start is not None:  # the Doc came from a raw file
            meta.update(raw_start=para._.raw_start, raw_end=para._.raw_end, raw_spans=raw_spans)
        records.append(Record(id=f"{doc_id}{ID_SEPARATOR}{index}", doc_id=doc_id,
                              text=para.text, spans=spans, meta=meta, links=links))
    return records


def records_for_report(nlp: Language, path: str | os.PathLike[str], raw_text: str, *,
                       doc_id: str | None = None, source: str | None = None) -> list[Record]:
    """Run ``nlp`` on one report's raw text; its records (see :func:`records_from_doc`).

    ``doc_id`` defaults to the file's stem and ``source`` to the path.
    """
    path = Path(path)
    return records_from_doc(nlp(raw_text), doc_id or path.stem, source or path.as_posix())


@dataclass(frozen=True)
class ReportText:
    """One report's decoded raw text, as the per-batch function takes it."""

    doc_id: str
    source: str
    text: str


def predict_reports(nlp: Language, reports: Sequence[ReportText]) -> list[list[Record] | Failure]:
    """The per-batch function of every engine: each report's records, or a
    :class:`Failure` with the reason when the pipeline fails on it.

    Pure: each report is one ``nlp`` call (the NER batches the windows of that
    report only), so a report's records depend on its text and the pipeline,
    never on which other reports share the batch. The local runner and the Ray
    engine (:mod:`pipeline.runner.ray`) therefore write the same bytes
    however they group the reports.
    """
    results: list[list[Record] | Failure] = []
    for report in reports:
        try:
            results.append(records_from_doc(nlp(report.text), report.doc_id, report.source))
        except Exception as err:  # noqa: BLE001 - reported per file, the batch goes on
            results.append(Failure(report.source, reason(err)))
    return results


def reason(err: Exception) -> str:
    if isinstance(err, ReportReadError):
        return err.reason
    return f"pipeline failed: {type(err).__name__}: {err}"
