"""Entity-level evaluation of the NER model against gold records, next to the rule baseline.

Scores are computed by ``seqeval`` in strict IOB2 mode on character-level tags:
each record's character spans become one IOB2 tag per character, so a
predicted entity counts only when its label *and* both boundaries equal a gold
entity's (:data:`SCHEME`). Records are paragraphs; a record's
``meta["section"]`` is given to the systems, and when it is missing the section
is inferred from the text (:func:`with_sections`).

Public API
    :func:`score`        gold and predicted records -> ``{"micro", "macro", "per_label"}``
    :func:`errors`       every false positive and false negative, classified and with context
    :func:`evaluate`     run the model and the rule baseline on records and score both
    :func:`format_table` the scores as a plain-text table, model and baseline side by side
    :func:`write_json`, :func:`write_errors`  atomic writers for the two output files
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from spacy.language import Language

from pipeline.annotations import LABELS, Record, Span, write_atomic

CANONICAL_DTYPE = "float32"
"""The precision of published scores: float32 gives the same numbers on every CPU
(bfloat16 and int8, what ``dtype = "auto"`` picks, are scored beside it)."""

SCHEME = "seqeval strict IOB2, entity level"
"""How every number here is computed; printed with every table."""

BASELINE = "rule baseline"
"""The ``"system"`` of a result that scores only the rule baseline."""

CONTEXT_CHARS = 30
"""Characters of context kept on each side of an error."""

METRICS: tuple[str, ...] = ("precision", "recall", "f1")

ModelArg = str | os.PathLike[str] | Language | None


# --------------------------------------------------------------------------- scoring


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


# --------------------------------------------------------------------------- errors


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


# --------------------------------------------------------------------------- systems


def with_sections(records: Sequence[Record]) -> list[Record]:
    """Copies of ``records`` whose ``meta["section"]`` is set: kept when the
    record has one, else inferred from the text by ``structure.infer_section``."""
    from pipeline.structure import infer_section

    out = []
    for record in records:
        if record.section is None:
            record = replace(record, meta={**record.meta, "section": infer_section(record.text)})
        out.append(record)
    return out


def predict_baseline(records: Sequence[Record]) -> list[Record]:
    """The rule baseline's predictions on ``records`` (which must carry sections)."""
    from pipeline.rules import RuleBaseline

    rules = RuleBaseline()
    return [
        replace(r, spans=[Span(s, e, label) for s, e, label in rules.predict(r.text, r.section)],
                links=[])
        for r in records
    ]


def load_model(model: ModelArg, dtype: str | None = None) -> Language | None:
    """``None``/``"none"`` -> no model; a ``Language`` as is; a folder -> ``build.load_pipeline``
    (in precision ``dtype``, ``None``: the saved setting)."""
    if model is None or isinstance(model, Language):
        return model
    if str(model).lower() == "none":
        return None
    from pipeline.build import load_pipeline

    return load_pipeline(Path(model), dtype=dtype)


def predict_model(nlp: Language, records: Sequence[Record], batch_size: int = 32) -> list[Record]:
    """The model's predictions on ``records`` (which must carry sections)."""
    from pipeline.ner import predict_records  # imports torch: only when a model runs

    return list(predict_records(nlp, list(records), batch_size))


def _precision_of(nlp: Language | None) -> str | None:
    """The precision the pipeline's NER component runs in, if it has one."""
    if nlp is None or "govreport_ner" not in nlp.pipe_names:
        return None
    return nlp.get_pipe("govreport_ner").precision


def project_labels(records: Sequence[Record]) -> bool:
    """Whether every gold label of ``records`` is one of the project's :data:`LABELS`
    (the rule baseline predicts only those; on other data, e.g. a benchmark, it is n/a)."""
    return all(span.label in LABELS for record in records for span in record.spans)


def evaluate(model: ModelArg, records: Sequence[Record], *, batch_size: int = 32,
             errors_path: str | os.PathLike[str] | None = None,
             dtype: str | None = CANONICAL_DTYPE) -> dict[str, Any]:
    """Score the model and the rule baseline on the same gold ``records``.

    Returns :func:`score`'s dict for the model, plus ``"system"`` (the model
    path, or ``"rule baseline"``), ``"records"`` (how many) and ``"baseline"``
    (the baseline's scores; ``None`` when a model is scored on data whose
    labels are not the project's, see :func:`project_labels`). Without a model
    (``None`` or ``"none"``) the top-level scores are the baseline's. With
    ``errors_path``, the errors of both systems (:func:`errors`, each with a
    ``"system"`` field) are written there as JSONL. A model folder is run in
    precision ``dtype``: by default float32 (:data:`CANONICAL_DTYPE`), so that
    scores are the same on every CPU; ``None`` keeps the model's saved setting.
    The precision used is in ``"dtype"`` (``None`` for the baseline).
    """
    gold = with_sections(records)
    nlp = load_model(model, dtype)
    predictions: dict[str, list[Record]] = {}
    baseline = None
    if nlp is None or project_labels(gold):
        predictions["baseline"] = predict_baseline(gold)
        baseline = score(gold, predictions["baseline"])
    if nlp is None:
        result = dict(baseline)
        system = BASELINE
    else:
        predictions["model"] = predict_model(nlp, gold, batch_size)
        result = score(gold, predictions["model"])
        system = str(model) if not isinstance(model, Language) else nlp.meta.get("name", "model")
    result.update(system=system, records=len(gold), baseline=baseline, dtype=_precision_of(nlp))
    if errors_path is not None:
        found = []
        for name in ("model", "baseline"):
            if name in predictions:
                found += [{"system": name, **e} for e in errors(gold, predictions[name])]
        write_errors(errors_path, found)
    return result


# --------------------------------------------------------------------------- output


_NA = "n/a"
"""A system column that was not scored (the baseline on a benchmark's labels)."""


def _row(label: str, columns: Sequence[dict[str, Any] | str | None], support: int) -> str:
    cells = []
    for scores in columns:
        if scores is None or isinstance(scores, str):
            cells += [scores or "-"] * len(METRICS)
        else:
            cells += [f"{scores[m]:.3f}" for m in METRICS]
    return f"{label:<10}" + "".join(f"{c:>8}" for c in cells) + f"{support:>10}"


def format_table(result: dict[str, Any]) -> str:
    """The scores as a table: label, P, R, F1 for the system and (when it is a
    model) the rule baseline side by side (``n/a`` when it was not scored), and
    the gold support."""
    baseline = result.get("baseline")
    has_model = result.get("system") != BASELINE
    systems = [result] + ([baseline] if has_model and baseline is not None else [])
    names = ["model", BASELINE] if has_model else [BASELINE]
    na: list[str] = [_NA] if has_model and baseline is None else []
    width = 8 * len(METRICS)
    lines = [
        f"Scores: {SCHEME} ({result.get('records', '?')} records; "
        f"system: {result.get('system', '?')}"
        + (f", {result['dtype']}" if result.get("dtype") else "") + ")",
        " " * 10 + "".join(f"{n:>{width}}" for n in names),
        f"{'label':<10}" + "".join(f"{h:>8}" for _ in names for h in ("P", "R", "F1"))
        + f"{'support':>10}",
    ]
    labels = _label_order({label for s in systems for label in s["per_label"]})
    for label in labels:
        support = next(s["per_label"][label]["support"] for s in systems if label in s["per_label"])
        lines.append(_row(label, [s["per_label"].get(label) for s in systems] + na, support))
    for avg in ("micro", "macro"):
        lines.append(_row(avg, [s[avg] for s in systems] + na, result[avg]["support"]))
    return "\n".join(lines)


def format_f1_comparison(results: dict[str, dict[str, Any]], reference: str) -> str:
    """Per-label and micro/macro F1 of several runs of one model side by side
    (e.g. one per precision), each with its difference to ``reference`` in points."""
    ref = results[reference]
    names = list(results)
    labels = _label_order({label for r in results.values() for label in r["per_label"]})
    width = max(14, *(len(n) + 2 for n in names))
    lines = [f"F1, {SCHEME} ({ref.get('records', '?')} records; system: {ref.get('system', '?')}; "
             f"difference to {reference} in points)",
             f"{'label':<10}" + "".join(f"{n:>{width}}" for n in names) + f"{'support':>10}"]

    def cell(r: dict[str, Any], key: str) -> str:
        f1 = (r[key] if key in ("micro", "macro") else r["per_label"].get(key, {})).get("f1", 0.0)
        base = (ref[key] if key in ("micro", "macro") else ref["per_label"].get(key, {})).get("f1", 0.0)
        return f"{f1:.3f}" if r is ref else f"{f1:.3f} ({100 * (f1 - base):+.1f})"

    for key in labels + ["micro", "macro"]:
        support = ref[key]["support"] if key in ("micro", "macro") else ref["per_label"][key]["support"]
        lines.append(f"{key:<10}" + "".join(f"{cell(results[n], key):>{width}}" for n in names)
                     + f"{support:>10}")
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], result: dict[str, Any]) -> None:
    """Write the scores as indented JSON, atomically."""
    write_atomic(path, json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def write_errors(path: str | os.PathLike[str], found: Sequence[dict[str, Any]]) -> None:
    """Write errors as JSONL (one error a line), atomically."""
    write_atomic(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in found))
