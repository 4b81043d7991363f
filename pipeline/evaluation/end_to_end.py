"""The targets table against gold, end to end: gold spans and links -> rows, vs
the pipeline's rows on the same raw reports (``govreport-ner targets evaluate``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.annotation.schema import Record
from pipeline.model.build import load_pipeline
from pipeline.runner.records import records_for_report
from pipeline.tables.linking import link_spans
from pipeline.tables.metadata import report_metadata
from pipeline.tables.targets import TargetRow, evaluate_rows, rows_from_records
from pipeline.text.normalize import normalize
from pipeline.text.reading import read_report


def with_metadata(records: list[Record], seeds: Path) -> list[Record]:
    """Gold records carry no place/year: read them from the seed report."""
    cache: dict[str, dict[str, Any]] = {}
    for r in records:
        if "place" not in r.meta and r.doc_id not in cache:
            path = seeds / f"{r.doc_id}.txt"
            meta = report_metadata(normalize(read_report(path)).text) if path.is_file() else None
            cache[r.doc_id] = {"place": meta.place, "year": meta.year} if meta else {}
        for key, value in cache.get(r.doc_id, {}).items():
            r.meta.setdefault(key, value)
    return records


def fully_linked_documents(records: Iterable[Record]) -> list[str]:
    """Documents whose every TARGET/VALUE has a gold link (a complete gold table)."""
    docs: dict[str, bool] = {}
    for r in records:
        linked = {link.tail for link in r.links}
        tails = {k for k, s in enumerate(r.spans) if s.label in ("TARGET", "VALUE")}
        docs[r.doc_id or ""] = docs.get(r.doc_id or "", True) and tails <= linked
    return sorted(d for d, ok in docs.items() if ok)


def evaluate_end_to_end(gold_records: list[Record], seeds: Path, model_dir: str | None = None,
                        ) -> dict[str, Any]:
    """Run the pipeline on the raw reports of the fully linked gold documents and
    compare its rows with the rows of their gold spans and links."""
    doc_ids = fully_linked_documents(gold_records)
    gold = [r for r in gold_records if r.doc_id in doc_ids]
    gold_rows = rows_from_records(with_metadata(gold, seeds))
    nlp = load_pipeline(model_dir)
    predicted: list[TargetRow] = []
    for doc_id in doc_ids:
        path = seeds / f"{doc_id}.txt"
        predicted += rows_from_records(records_for_report(nlp, path, read_report(path), doc_id=doc_id))
    return {"documents": doc_ids, **evaluate_rows(predicted, gold_rows)}


def relinked(records: list[Record]) -> list[Record]:
    """Copies of ``records`` with the linker's links instead of the gold ones."""
    return [Record(id=r.id, text=r.text, spans=list(r.spans), doc_id=r.doc_id, meta=dict(r.meta),
                   links=link_spans(r.text, r.spans)) for r in records]
