"""Per-label minimum span scores, chosen on a development split.

The model over-predicts some labels (on dev, v0.3's spurious PROJECTs outnumber its
missed ones); dropping predicted spans whose score (the mean of their pieces' top
probabilities) is below a per-label threshold trades recall for precision.
:func:`tune_min_score` picks, for each label on its own, the threshold of a grid that
maximizes the label's F1 on the given gold records (a label's F1 depends only on its
own threshold); the component applies them (``min_score`` setting). Choose them on
dev, never on test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pipeline.annotation.schema import Record
from pipeline.annotation.scores import score

GRID = tuple(round(0.5 + 0.02 * i, 2) for i in range(25))  # 0.50, 0.52, …, 0.98
"""The thresholds tried (below 0.5 hardly any span is dropped)."""


def drop_below(records: Sequence[Record], min_score: dict[str, float]) -> list[Record]:
    """Copies of predicted ``records`` without the spans scoring below their label's
    threshold (a span without a score is kept)."""
    return [replace(r, spans=[s for s in r.spans
                              if s.score is None or s.score >= min_score.get(s.label, 0.0)])
            for r in records]


def tune_min_score(gold: Sequence[Record], predicted: Sequence[Record], labels: Sequence[str],
                   grid: Sequence[float] = GRID) -> dict[str, Any]:
    """The best threshold per label on ``gold`` and the F1 curve behind it:
    ``{"min_score": {label: t}, "curve": {label: [(t, P, R, F1), …]}, "before": scores,
    "after": scores}``. A label keeps no threshold (absent from ``min_score``) unless one
    raises its F1; ties go to the lowest threshold."""
    before = score(gold, predicted)
    chosen: dict[str, float] = {}
    curve: dict[str, list[tuple[float, float, float, float]]] = {}
    for label in labels:
        base = before["per_label"].get(label, {}).get("f1", 0.0)
        best_t, best_f1 = None, base
        curve[label] = []
        for t in grid:
            row = score(gold, drop_below(predicted, {label: t}))["per_label"].get(
                label, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
            curve[label].append((t, row["precision"], row["recall"], row["f1"]))
            if row["f1"] > best_f1 + 1e-9:
                best_t, best_f1 = t, row["f1"]
        if best_t is not None:
            chosen[label] = best_t
    after = score(gold, drop_below(predicted, chosen))
    return {"min_score": chosen, "curve": curve, "before": before, "after": after}


def leave_one_document_out(gold: Sequence[Record], predicted: Sequence[Record],
                           labels: Sequence[str], grid: Sequence[float] = GRID) -> dict[str, Any]:
    """An honest estimate of what the thresholds buy: each document's predictions
    filtered with the thresholds tuned on the other documents, then scored together
    (the in-sample gain of :func:`tune_min_score` is optimistic). ``{"per_document":
    {doc: min_score}, "scores": scores}``; needs two documents or more."""
    docs = sorted({r.doc_id for r in gold})
    if len(docs) < 2:
        raise ValueError("leave-one-document-out needs records of two documents or more")
    pairs = list(zip(gold, predicted))
    chosen, kept_gold, filtered = {}, [], []
    for doc in docs:
        rest = [(g, p) for g, p in pairs if g.doc_id != doc]
        chosen[doc] = tune_min_score([g for g, _ in rest], [p for _, p in rest], labels, grid)["min_score"]
        mine = [(g, p) for g, p in pairs if g.doc_id == doc]
        kept_gold += [g for g, _ in mine]
        filtered += drop_below([p for _, p in mine], chosen[doc])
    return {"per_document": chosen, "scores": score(kept_gold, filtered)}


def format_tuning(result: dict[str, Any]) -> str:
    """The tuning as text: per label, F1 without and with its threshold."""
    lines = ["label      threshold   F1 before   F1 after"]
    for label, rows in result["curve"].items():
        t = result["min_score"].get(label)
        b = result["before"]["per_label"].get(label, {}).get("f1", 0.0)
        a = result["after"]["per_label"].get(label, {}).get("f1", 0.0)
        lines.append(f"{label:10s} {('%.2f' % t) if t is not None else 'none':>9s}   {b:9.3f}   {a:8.3f}")
    lines.append(f"{'micro':10s} {'':9s}   {result['before']['micro']['f1']:9.3f}   "
                 f"{result['after']['micro']['f1']:8.3f}")
    return "\n".join(lines)
