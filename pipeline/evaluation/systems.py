"""The NER model and the rule baseline on the same gold records, scored side by side.

Records are paragraphs; a record's ``meta["section"]`` is given to the systems,
and when it is missing the section is inferred from the text
(:func:`with_sections`). A model folder runs in float32 by default
(:data:`CANONICAL_DTYPE`), so published scores are the same on every CPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from spacy.language import Language

from pipeline.annotation.schema import LABELS, Record, Span
from pipeline.annotation.scores import score
from pipeline.evaluation.errors import errors
from pipeline.evaluation.report import BASELINE, write_errors
from pipeline.model import rules
from pipeline.model.build import load_pipeline, model_path
from pipeline.model.export import PlainTagger, is_plain_export
from pipeline.text import structure

CANONICAL_DTYPE = "float32"
"""The precision of published scores: float32 gives the same numbers on every CPU
(bfloat16 and int8, what ``dtype = "auto"`` picks, are scored beside it)."""

ModelArg = str | os.PathLike[str] | Language | None


def with_sections(records: Sequence[Record]) -> list[Record]:
    """Copies of ``records`` whose ``meta["section"]`` is set: kept when the
    record has one, else inferred from the text by ``structure.infer_section``."""
    out = []
    for record in records:
        if record.section is None:
            record = replace(record, meta={**record.meta, "section": structure.infer_section(record.text)})
        out.append(record)
    return out


def predict_baseline(records: Sequence[Record]) -> list[Record]:
    """The rule baseline's predictions on ``records`` (which must carry sections)."""
    baseline = rules.RuleBaseline()
    return [
        replace(r, spans=[Span(s, e, label) for s, e, label in baseline.predict(r.text, r.section)],
                links=[])
        for r in records
    ]


def load_model(model: ModelArg, dtype: str | None = None,
               decoding: str | None = None) -> Language | PlainTagger | None:
    """``None``/``"none"`` -> no model (:func:`pipeline.model.build.model_path`); a
    ``Language`` as is; a pipeline folder -> ``load_pipeline`` (in precision ``dtype``
    and with ``decoding``; ``None``: the saved setting); a plain transformers folder
    (``govreport-ner export-hf``) -> a :class:`~pipeline.model.export.PlainTagger`."""
    if model is None or isinstance(model, Language):
        return model
    path = model_path(model)
    if path is not None and is_plain_export(path):  # govreport-ner export-hf: run the plain way
        return PlainTagger(path)
    return None if path is None else load_pipeline(path, dtype=dtype, decoding=decoding)


def predict_model(nlp: Language | PlainTagger, records: Sequence[Record], batch_size: int = 32) -> list[Record]:
    """The model's predictions on ``records`` (which must carry sections)."""
    if isinstance(nlp, PlainTagger):
        return nlp.predict_records(list(records))
    from pipeline.model.ner import predict_records  # imports torch: only when a model runs

    return list(predict_records(nlp, list(records), batch_size))


def _ner_setting(nlp: Language | None, name: str) -> str | None:
    """A setting of the pipeline's NER component (``precision``: the one it runs
    in; ``decoding``), if it has one."""
    if not isinstance(nlp, Language) or "govreport_ner" not in nlp.pipe_names:
        return None
    return getattr(nlp.get_pipe("govreport_ner"), name)


def project_labels(records: Sequence[Record]) -> bool:
    """Whether every gold label of ``records`` is one of the project's :data:`LABELS`
    (the rule baseline predicts only those; on other data, e.g. a benchmark, it is n/a)."""
    return all(span.label in LABELS for record in records for span in record.spans)


def evaluate(model: ModelArg, records: Sequence[Record], *, batch_size: int = 32,
             errors_path: str | os.PathLike[str] | None = None,
             dtype: str | None = CANONICAL_DTYPE, decoding: str | None = None) -> dict[str, Any]:
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
    The precision used is in ``"dtype"`` (``None`` for the baseline). ``decoding``
    overrides the model's saved decoding (``None``: keep it); the one used is in
    ``"decoding"``.
    """
    gold = with_sections(records)
    nlp = load_model(model, dtype, decoding)
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
        if isinstance(nlp, PlainTagger):
            system += " (plain transformers pipeline)"
    result.update(system=system, records=len(gold), baseline=baseline, dtype=_ner_setting(nlp, "precision"),
                  decoding=_ner_setting(nlp, "decoding"))
    if errors_path is not None:
        found = []
        for name in ("model", "baseline"):
            if name in predictions:
                found += [{"system": name, **e} for e in errors(gold, predictions[name])]
        write_errors(errors_path, found)
    return result
