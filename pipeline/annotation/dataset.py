"""Annotation files (or records) as a ``datasets.Dataset`` for training and evaluation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pipeline.annotation.jsonl import read_records, read_splits
from pipeline.annotation.schema import AnnotationError, Record
from pipeline.annotation.validate import raise_first, validate_records


def _gather(paths_or_records: Any, labels: Sequence[str] | None = None,
            style_rules: bool = True) -> list[Record]:
    if isinstance(paths_or_records, (str, os.PathLike, Record)):
        items: list[Any] = [paths_or_records]
    else:
        items = list(paths_or_records)
    records: list[Record] = []
    loose: list[Record] = []
    for item in items:
        if isinstance(item, Record):
            loose.append(item)
        elif isinstance(item, (str, os.PathLike)):
            records.extend(read_records(item, labels=labels, style_rules=style_rules))
        else:
            raise TypeError(f"expected a path or a Record, got {type(item).__name__}")
    raise_first(validate_records(loose, labels=labels, style_rules=style_rules))
    all_records = records + loose
    seen: set[str] = set()
    for r in all_records:
        if r.id in seen:
            raise AnnotationError("duplicate id across inputs", record_id=r.id)
        seen.add(r.id)
    return all_records


def load_dataset(paths_or_records: Any, splits_file: str | os.PathLike[str] | None = None,
                 split: str | None = None, *, labels: Sequence[str] | None = None,
                 style_rules: bool = True):
    """Annotation JSONL files (or records) as a ``datasets.Dataset``.

    Columns: ``id``, ``doc_id``, ``text``, ``spans`` (list of
    ``{start, end, label}``; scores and links are dropped) and ``section``
    (``meta["section"]`` or ``None``). Records are validated; any problem raises
    :class:`AnnotationError`. With ``split``, only records whose ``doc_id`` is
    listed under that split of ``splits_file`` are kept. ``labels`` (default
    :data:`LABELS`) and ``style_rules`` are passed to :func:`validate_records`,
    so a corpus with its own label set and conventions (a benchmark) loads.
    """
    import datasets  # imported here: heavy, and only training/evaluation need it

    records = _gather(paths_or_records, labels, style_rules)
    if split is not None and splits_file is None:
        raise ValueError(f"split {split!r} needs a splits_file")
    if splits_file is not None:
        splits = read_splits(splits_file)
        if split is not None:
            if split not in splits:
                raise AnnotationError(
                    f"unknown split {split!r} (file has {', '.join(splits) or 'none'})",
                    str(splits_file))
            wanted = set(splits[split])
            records = [r for r in records if r.doc_id in wanted]
    features = datasets.Features({
        "id": datasets.Value("string"),
        "doc_id": datasets.Value("string"),
        "text": datasets.Value("string"),
        "spans": datasets.List({
            "start": datasets.Value("int32"),
            "end": datasets.Value("int32"),
            "label": datasets.Value("string"),
        }),
        "section": datasets.Value("string"),
    })
    columns: dict[str, list[Any]] = {
        "id": [r.id for r in records],
        "doc_id": [r.doc_id for r in records],
        "text": [r.text for r in records],
        "spans": [[{"start": s.start, "end": s.end, "label": s.label} for s in r.spans]
                  for r in records],
        "section": [r.section for r in records],
    }
    return datasets.Dataset.from_dict(columns, features=features)
