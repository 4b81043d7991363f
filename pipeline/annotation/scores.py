"""Entity-level precision, recall and F1 of one set of records against another.

Scores are computed by ``seqeval`` in strict IOB2 mode on character-level tags:
each record's character spans become one IOB2 tag per character
(:func:`char_tags`), so a predicted entity counts only when its label *and*
both boundaries equal a gold entity's (:data:`SCHEME`). The same numbers serve
model evaluation (:mod:`pipeline.evaluation`), the training loop's dev score
(:mod:`pipeline.model.training`) and annotator agreement
(:mod:`pipeline.annotation.stats`). :func:`prf` is the one precision / recall /
F1 formula for counted matches (links, table rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from pipeline.annotation.schema import LABELS, Record

SCHEME = "seqeval strict IOB2, entity level"
"""How every number here is computed; printed with every table."""


def char_tags(record: Record) -> list[str]:
    """One IOB2 tag per character of ``record.text`` from its spans.

    Raises ``ValueError`` naming the record for a span that is empty, out of
    range, or overlaps another span (IOB2 cannot represent overlaps).
    """
    tags = ["O"] * len(record.text)
    for span in sorted(record.spans, key=lambda s: (s.start, s.end)):
        where = f"record {record.id!r}: span ({span.start}, {span.end}, {span.label})"
        if not 0 <= span.start < span.end <= len(record.text):
            raise ValueError(f"{where} is empty or out of range for text of length "
                             f"{len(record.text)}")
        if any(tag != "O" for tag in tags[span.start:span.end]):
            raise ValueError(f"{where} overlaps another span; IOB2 cannot represent overlaps")
        tags[span.start] = f"B-{span.label}"
        tags[span.start + 1:span.end] = [f"I-{span.label}"] * (span.end - span.start - 1)
    return tags


def pair_records(gold: Sequence[Record], pred: Sequence[Record]) -> list[tuple[Record, Record]]:
    """Match each gold record with its prediction.

    By position when the ids line up (duplicate ids allowed), else by id (ids
    must then be unique). The texts of a pair must be equal: offsets into
    different texts cannot be compared.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold records but {len(pred)} predicted records")
    if [g.id for g in gold] == [p.id for p in pred]:
        pairs = list(zip(gold, pred))
    else:
        by_id = {p.id: p for p in pred}
        if len(by_id) != len(pred) or len({g.id for g in gold}) != len(gold):
            raise ValueError("record ids differ in order and are not unique; cannot pair records")
        missing = [g.id for g in gold if g.id not in by_id]
        if missing:
            raise ValueError(f"no prediction for record(s) {', '.join(map(repr, missing[:5]))}")
        pairs = [(g, by_id[g.id]) for g in gold]
    for g, p in pairs:
        if g.text != p.text:
            raise ValueError(f"record {g.id!r}: predicted text differs from the gold text")
    return pairs


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    def num(x: Any) -> float:
        x = float(x)
        return 0.0 if math.isnan(x) else x

    return {
        "precision": num(row["precision"]),
        "recall": num(row["recall"]),
        "f1": num(row["f1-score"]),
        "support": int(row["support"]),
    }


def _label_order(labels: Sequence[str]) -> list[str]:
    known = [label for label in LABELS if label in labels]
    return known + sorted(set(labels) - set(LABELS))


def score(gold: Sequence[Record], pred: Sequence[Record]) -> dict[str, Any]:
    """Entity-level precision, recall and F1 (:data:`SCHEME`).

    Returns ``{"scheme", "micro", "macro", "per_label"}``; each score is
    ``{"precision", "recall", "f1", "support"}`` where ``support`` is the
    number of gold entities. ``per_label`` has every label that occurs in the
    gold or the predictions; ``macro`` is the unweighted mean over those labels
    (seqeval's definition). A division by zero counts as 0.
    """
    pairs = pair_records(gold, pred)
    y_true = [char_tags(g) for g, _ in pairs]
    y_pred = [char_tags(p) for _, p in pairs]
    zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    has_entities = any(t != "O" for seq in (*y_true, *y_pred) for t in seq)
    if not has_entities:  # seqeval's macro average would be NaN
        return {"scheme": SCHEME, "micro": dict(zero), "macro": dict(zero), "per_label": {}}
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0)
    labels = [k for k in report if not k.endswith(" avg")]
    return {
        "scheme": SCHEME,
        "micro": _metrics(report["micro avg"]),
        "macro": _metrics(report["macro avg"]),
        "per_label": {label: _metrics(report[label]) for label in _label_order(labels)},
    }


def prf(tp: int, predicted: int, gold: int) -> dict[str, float]:
    """``{"precision", "recall", "f1"}`` of ``tp`` matches among ``predicted``
    predictions and ``gold`` gold items; a division by zero counts as 0."""
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
