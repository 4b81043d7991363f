"""Reading and writing annotation files: JSONL records, the splits file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pipeline.annotation.schema import AnnotationError, Problem, Record
from pipeline.annotation.validate import raise_first, validate_records
from pipeline.files import write_atomic


def _parse_lines(path: Path) -> Iterator[tuple[int, Record | Problem]]:
    """Yield ``(line number, Record or Problem)`` for each non-blank line of a JSONL file."""
    name = str(path)
    try:
        content = path.read_text(encoding="utf-8-sig")  # tolerate a BOM
    except FileNotFoundError:
        yield 0, Problem(name, None, None, "file not found")
        return
    except UnicodeDecodeError as e:
        yield 0, Problem(name, None, None, f"not UTF-8: {e.reason} at byte {e.start}")
        return
    yield from _parse_text(content, name)


def _parse_text(content: str, name: str) -> Iterator[tuple[int, Record | Problem]]:
    for lineno, raw in enumerate(content.split("\n"), start=1):  # not splitlines: \x85, \u2028 are text
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            yield lineno, Problem(name, lineno, None, f"malformed JSON: {e.msg} at column {e.colno}")
            continue
        rid = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        try:
            yield lineno, Record.from_dict(obj)
        except ValueError as e:
            yield lineno, Problem(name, lineno, rid, str(e))


def validate_file(path: str | os.PathLike[str], *more: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in one or more JSONL files; duplicate ids are checked across all of them."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for p in (path, *more):
        p = Path(p)
        file_problems: list[Problem] = []
        records: list[Record] = []
        lines: list[int | None] = []
        for lineno, item in _parse_lines(p):
            if isinstance(item, Problem):
                file_problems.append(item)
            else:
                records.append(item)
                lines.append(lineno)
        file_problems.extend(validate_records(records, str(p), lines))
        for record, line in zip(records, lines):
            if record.id in seen and seen[record.id] != str(p):
                file_problems.append(Problem(str(p), line, record.id,
                                             f"duplicate id (also in {seen[record.id]})"))
            seen.setdefault(record.id, str(p))
        problems.extend(sorted(file_problems, key=lambda q: q.line or 0))  # stable
    return problems


def read_records(path: str | os.PathLike[str], *, validate: bool = True,
                 labels: Sequence[str] | None = None, style_rules: bool = True) -> list[Record]:
    """Read a JSONL annotation file.

    Raises :class:`AnnotationError` (file, line, record id, reason) for the
    first malformed line, or, with ``validate=True``, the first problem that
    :func:`validate_records` finds (``labels`` and ``style_rules`` are passed
    to it).
    """
    path = Path(path)
    records: list[Record] = []
    lines: list[int | None] = []
    for lineno, item in _parse_lines(path):
        if isinstance(item, Problem):
            raise item.to_error()
        records.append(item)
        lines.append(lineno)
    if validate:
        raise_first(validate_records(records, str(path), lines,
                                      labels=labels, style_rules=style_rules))
    return records


def parse_records(text: str) -> list[Record]:
    """Records from JSONL text, the inverse of :func:`dumps_records` (not validated;
    raises :class:`AnnotationError` for a malformed line)."""
    records = []
    for _, item in _parse_text(text, "<text>"):
        if isinstance(item, Problem):
            raise item.to_error()
        records.append(item)
    return records


def dumps_records(records: Iterable[Record]) -> str:
    """The JSONL text of these records (UTF-8 characters kept, one record a line)."""
    return "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)


def write_records(path: str | os.PathLike[str], records: Iterable[Record], *,
                  validate: bool = True, labels: Sequence[str] | None = None,
                  style_rules: bool = True) -> None:
    """Write records as JSONL, atomically.

    With ``validate=True`` nothing is written when any record is invalid
    (raises :class:`AnnotationError` for the first problem; ``labels`` and
    ``style_rules`` as in :func:`validate_records`).
    """
    records = list(records)
    if validate:
        raise_first(validate_records(records, str(path), labels=labels, style_rules=style_rules))
    write_atomic(path, dumps_records(records))


def read_splits(splits_file: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read ``{"train": [doc_id...], "dev": [...], "test": [...]}``; a doc_id in
    two splits (or twice in one) is an :class:`AnnotationError`."""
    name = str(splits_file)
    try:
        splits = json.loads(Path(splits_file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise AnnotationError(f"malformed JSON: {e.msg}", name, e.lineno) from e
    if not isinstance(splits, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in splits.values()
    ):
        raise AnnotationError("splits file must map split names to lists of doc ids", name)
    owner: dict[str, str] = {}
    for split_name, doc_ids in splits.items():
        for doc_id in doc_ids:
            if doc_id in owner:
                raise AnnotationError(
                    f"doc_id {doc_id!r} is in split {owner[doc_id]!r} and {split_name!r}", name)
            owner[doc_id] = split_name
    return splits
