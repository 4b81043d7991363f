"""Reading and writing annotation files: JSONL records, the splits file."""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pipeline.annotation.schema import AnnotationError, Problem, Record
from pipeline.annotation.validate import raise_first, validate_records
from pipeline.files import write_atomic

NO_RECORDS = "no records"
"""The reason given for an annotation file without any record."""


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of an annotation file (a BOM is tolerated).

    Raises :class:`AnnotationError` naming the file and the reason when it cannot
    be read: ``file not found``, ``is a folder, not a file``, ``not UTF-8 (first
    bad byte at offset N, line L)`` (N counts bytes from the file's start, BOM
    included), or the system's reason.
    """
    data = read_bytes(path)
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = bom + e.start
        line = data.count(b"\n", 0, offset) + 1
        raise AnnotationError(f"not UTF-8 (first bad byte at offset {offset}, line {line})",
                              str(path)) from None


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an annotation file; :class:`AnnotationError` naming the file
    and the reason when it cannot be read (see :func:`read_text`)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        reason = "file not found"
    except IsADirectoryError:
        reason = "is a folder, not a file"
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
    raise AnnotationError(reason, str(path))


def _parse_lines(path: Path) -> Iterator[tuple[int, Record | Problem]]:
    """Yield ``(line number, Record or Problem)`` for each non-blank line of a JSONL
    file; a file that cannot be read is one Problem (line 0)."""
    try:
        content = read_text(path)
    except AnnotationError as e:
        yield 0, Problem(str(path), None, None, e.reason)
        return
    yield from _parse_text(content, str(path))


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
    """Every problem in one or more JSONL files; duplicate ids are checked across all of them.

    A file that cannot be read is one problem (see :func:`read_text`), and so is a
    readable file without any record (``no records``)."""
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
        if not records and not file_problems:
            file_problems.append(Problem(str(p), None, None, NO_RECORDS))
        file_problems.extend(validate_records(records, str(p), lines))
        for record, line in zip(records, lines):
            if record.id in seen and seen[record.id] != str(p):
                file_problems.append(Problem(str(p), line, record.id,
                                             f"duplicate id (also in {seen[record.id]})"))
            seen.setdefault(record.id, str(p))
        problems.extend(sorted(file_problems, key=lambda q: q.line or 0))  # stable
    return problems


def read_records(path: str | os.PathLike[str], *, validate: bool = True,
                 labels: Sequence[str] | None = None, style_rules: bool = True,
                 require_records: bool = False) -> list[Record]:
    """Read a JSONL annotation file.

    Raises :class:`AnnotationError` (file, line, record id, reason) when the file
    cannot be read (:func:`read_text`), for the first malformed line, with
    ``require_records=True`` when it holds no record (``no records``), or, with
    ``validate=True``, for the first problem that :func:`validate_records` finds
    (``labels`` and ``style_rules`` are passed to it).
    """
    path = Path(path)
    records: list[Record] = []
    lines: list[int | None] = []
    for lineno, item in _parse_lines(path):
        if isinstance(item, Problem):
            raise item.to_error()
        records.append(item)
        lines.append(lineno)
    if require_records and not records:
        raise AnnotationError(NO_RECORDS, str(path))
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
    """Read ``{"train": [doc_id...], "dev": [...], "test": [...]}``; a file that
    cannot be read (:func:`read_text`) or parsed, or a doc_id in two splits (or
    twice in one), is an :class:`AnnotationError`."""
    name = str(splits_file)
    try:
        splits = json.loads(read_text(splits_file))
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
