"""Importers of public NER benchmarks into the project's record format.

Used to check the training and evaluation code on data with published scores
(``scripts/import_benchmark.py``). Benchmarks keep their own labels and their
own annotation conventions (CLUENER's book and movie titles include the
``《》`` marks, for example), so their records are validated with
``labels=<the benchmark's labels>`` and ``style_rules=False`` (see
:func:`pipeline.annotation.validate.validate_records`); the gold spans are never
edited, or the scores would not be comparable with the published ones.

CLUENER2020 (https://github.com/CLUEbenchmark/CLUENER2020): JSON lines
``{"text": ..., "label": {type: {entity_text: [[start, end_inclusive], ...]}}}``,
one sentence a line. Each line becomes one record ``cluener-<split>#<N>``
(``N`` = 0-based line index among the non-blank lines) with ``doc_id``
``cluener-<split>``: every sentence of a split is one pseudo-document, so a
splits file is just ``{"train": ["cluener-train"], "dev": ["cluener-dev"]}``.
Span ends become exclusive. Nested spans (one in the train file: a company
inside a book title) cannot be represented in IOB2: the longest span is kept
and the spans inside it are dropped (counted in :class:`ImportStats`).

Public API: :data:`CLUENER_LABELS`, :class:`ImportStats`, :func:`read_cluener`,
:func:`import_cluener`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.annotation.jsonl import dumps_records
from pipeline.annotation.schema import Record, Span
from pipeline.annotation.validate import validate_records, raise_first
from pipeline.files import write_atomic

__all__ = ["CLUENER_LABELS", "ImportStats", "read_cluener", "import_cluener"]

CLUENER_LABELS: tuple[str, ...] = (
    "address", "book", "company", "game", "government",
    "movie", "name", "organization", "position", "scene",
)
"""The 10 CLUENER2020 entity types (the official macro-F1 averages over them)."""


@dataclass
class ImportStats:
    """What an import found: records, spans kept, and spans dropped as nested/overlapping."""

    records: int = 0
    spans: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)  # {id, kept, dropped}

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "spans": self.spans,
                "dropped_overlapping": len(self.dropped), "dropped": self.dropped}


def _split_name(path: Path) -> str:
    return path.stem.split("_")[0]  # train.json -> train, dev.json -> dev


def _flatten(spans: list[Span]) -> tuple[list[Span], list[tuple[Span, Span]]]:
    """Non-overlapping spans: longest first, a span overlapping a kept one is dropped."""
    kept: list[Span] = []
    dropped: list[tuple[Span, Span]] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.label)):
        clash = next((k for k in kept if k.start < s.end and s.start < k.end), None)
        if clash is None:
            kept.append(s)
        else:
            dropped.append((clash, s))
    return sorted(kept, key=lambda s: (s.start, s.end)), dropped


def read_cluener(path: str | os.PathLike[str], split: str | None = None,
                 stats: ImportStats | None = None) -> list[Record]:
    """CLUENER2020 JSON lines as records (see the module docstring).

    ``split`` names the ids and doc_id (default: the file name's stem, e.g.
    ``train``). Raises ``ValueError`` (file:line: reason) for a malformed line,
    an unknown label, or an entity whose offsets do not give its text.
    """
    path = Path(path)
    split = split or _split_name(path)
    doc_id = f"cluener-{split}"
    stats = stats if stats is not None else ImportStats()
    records: list[Record] = []
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: malformed JSON: {e.msg}") from e
        text = obj.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: no text")
        spans: list[Span] = []
        for label, entities in (obj.get("label") or {}).items():
            if label not in CLUENER_LABELS:
                raise ValueError(f"{where}: unknown CLUENER label {label!r}")
            for surface, offsets in entities.items():
                for start, end_inclusive in offsets:
                    end = end_inclusive + 1
                    if text[start:end] != surface:
                        raise ValueError(f"{where}: {label} [{start}, {end_inclusive}] is "
                                         f"{text[start:end]!r}, not {surface!r}")
                    spans.append(Span(start, end, label))
        rid = f"{doc_id}#{len(records)}"
        spans, dropped = _flatten(sorted(set(spans), key=lambda s: (s.start, s.end, s.label)))
        for kept, lost in dropped:
            stats.dropped.append({"id": rid, "kept": [kept.start, kept.end, kept.label, text[kept.start:kept.end]],
                                  "dropped": [lost.start, lost.end, lost.label, text[lost.start:lost.end]]})
        records.append(Record(id=rid, text=text, spans=spans, doc_id=doc_id,
                              meta={"source": f"cluener2020/{path.name}", "line": lineno}))
        stats.records += 1
        stats.spans += len(spans)
    return records


def import_cluener(src: str | os.PathLike[str], out: str | os.PathLike[str],
                   splits: tuple[str, ...] = ("train", "dev")) -> dict[str, Any]:
    """Convert ``src/<split>.json`` to ``out/<split>.jsonl`` and write
    ``out/splits.json``; every record is validated (CLUENER labels, no style
    rules). Returns per-split :class:`ImportStats` as dicts, also written to
    ``out/import_stats.json``."""
    src, out = Path(src), Path(out)
    report: dict[str, Any] = {}
    for split in splits:
        stats = ImportStats()
        records = read_cluener(src / f"{split}.json", split, stats)
        raise_first(validate_records(records, str(src / f"{split}.json"),
                                      labels=CLUENER_LABELS, style_rules=False))
        write_atomic(out / f"{split}.jsonl", dumps_records(records))
        report[split] = stats.to_dict()
    write_atomic(out / "splits.json",
                 json.dumps({s: [f"cluener-{s}"] for s in splits}, indent=2) + "\n")
    write_atomic(out / "import_stats.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return report
