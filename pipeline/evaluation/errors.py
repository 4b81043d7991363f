"""Every false positive and false negative of a system, classified and with context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.annotation.schema import Record, Span
from pipeline.annotation.scores import pair_records

CONTEXT_CHARS = 30
"""Characters of context kept on each side of an error."""


def _overlapping(span: Span, others: Sequence[Span]) -> list[Span]:
    return [o for o in others if o.start < span.end and span.start < o.end]


def _kind(span: Span, overlapping: Sequence[Span], alone: str) -> str:
    """Why ``span`` has no exact counterpart on the other side.

    ``label``: a span with the same boundaries has another label;
    ``boundary``: an overlapping span has the same label but other boundaries;
    ``label_boundary``: only overlapping spans with another label and other
    boundaries; ``alone`` (``spurious``/``miss``): nothing overlaps.
    """
    if not overlapping:
        return alone
    if any((o.start, o.end) == (span.start, span.end) for o in overlapping):
        return "label"
    if any(o.label == span.label for o in overlapping):
        return "boundary"
    return "label_boundary"


def _error(record: Record, span: Span, error_type: str, kind: str,
           overlapping: Sequence[Span]) -> dict[str, Any]:
    text = record.text
    left = text[max(0, span.start - CONTEXT_CHARS):span.start]
    right = text[span.end:span.end + CONTEXT_CHARS]
    surface = text[span.start:span.end]
    return {
        "type": error_type,
        "kind": kind,
        "id": record.id,
        "doc_id": record.doc_id,
        "section": record.section,
        "label": span.label,
        "start": span.start,
        "end": span.end,
        "text": surface,
        "score": span.score,
        "left": left,
        "right": right,
        "context": f"{left}⟦{surface}⟧{right}",
        "overlaps": [{"start": o.start, "end": o.end, "label": o.label,
                      "text": text[o.start:o.end]} for o in overlapping],
    }


def errors(gold: Sequence[Record], pred: Sequence[Record]) -> list[dict[str, Any]]:
    """Every false positive (``type: "FP"``) and false negative (``"FN"``).

    Each error names the record, label, span text and offsets, ±
    :data:`CONTEXT_CHARS` characters of context (``context`` marks the span
    with ⟦⟧), the spans of the other side that overlap it, and its ``kind``:
    ``label``, ``boundary``, ``label_boundary``, or ``spurious`` (FP) /
    ``miss`` (FN) when nothing overlaps. Sorted by record, then offset.
    """
    found: list[dict[str, Any]] = []
    for g, p in pair_records(gold, pred):
        gold_keys = {(s.start, s.end, s.label) for s in g.spans}
        pred_keys = {(s.start, s.end, s.label) for s in p.spans}
        per_record = []
        for span in p.spans:
            if (span.start, span.end, span.label) not in gold_keys:
                over = _overlapping(span, g.spans)
                per_record.append(_error(g, span, "FP", _kind(span, over, "spurious"), over))
        for span in g.spans:
            if (span.start, span.end, span.label) not in pred_keys:
                over = _overlapping(span, p.spans)
                per_record.append(_error(g, span, "FN", _kind(span, over, "miss"), over))
        per_record.sort(key=lambda e: (e["start"], e["end"], e["type"]))
        found.extend(per_record)
    return found
