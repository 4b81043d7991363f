"""The annotation record format: one JSON object per paragraph, one per line.

A record looks like::

    {"id": "保定市_2021_77b1b663#12", "doc_id": "保定市_2021_77b1b663",
     "text": "预计地区生产总值完成830亿元。",
     "spans": [{"start": 2, "end": 8, "label": "METRIC"},
               {"start": 10, "end": 16, "label": "VALUE"}],
     "links": [{"head": 0, "tail": 1}],
     "meta": {"source": "保定市_2021_77b1b663.txt", "raw_start": 1043,
              "raw_end": 1060, "section": "review"}}

``id``, ``text`` and ``spans`` are required. ``start``/``end`` are character
offsets into ``text``, ``end`` exclusive. ``doc_id`` defaults to the part of
``id`` before its last ``#`` (the whole id when it has no ``#``). ``meta`` is
open; ``meta["section"]``, when present, is one of :data:`SECTIONS`. Model
predictions carry a ``score`` on each span. ``links`` join a METRIC/PROJECT span
(``head``) to a TARGET/VALUE span (``tail``) by their indices in ``spans``.
See ``annotations/README.md`` for the full schema and the validator's rules.

Public API: :data:`LABELS`, :data:`SECTIONS`, :class:`Span`, :class:`Link`,
:class:`Record`, :class:`Problem`, :class:`AnnotationError`,
:func:`read_records`, :func:`write_records`, :func:`dumps_records`,
:func:`parse_records`, :func:`validate_records`,
:func:`validate_file`, :func:`load_dataset`.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LABELS",
    "SECTIONS",
    "HEAD_LABELS",
    "TAIL_LABELS",
    "ID_SEPARATOR",
    "Span",
    "Link",
    "Record",
    "Problem",
    "AnnotationError",
    "default_doc_id",
    "read_records",
    "write_records",
    "validate_records",
    "validate_file",
    "load_dataset",
    "read_splits",
    "boundary_problem",
    "dumps_records",
    "parse_records",
    "write_atomic",
]

LABELS: tuple[str, ...] = ("PROJECT", "METRIC", "TARGET", "VALUE")
"""Entity labels, see the annotation spec."""

SECTIONS: tuple[str, ...] = ("review", "plan", "other")
"""Allowed values of ``meta["section"]``."""

HEAD_LABELS: tuple[str, ...] = ("PROJECT", "METRIC")
"""Labels a link's ``head`` span may have."""

TAIL_LABELS: tuple[str, ...] = ("TARGET", "VALUE")
"""Labels a link's ``tail`` span may have."""

ID_SEPARATOR = "#"
"""``doc_id`` defaults to the part of a record id before the last separator."""

SENTENCE_ENDS = "。；！？;!?\n"  # full-width and ASCII forms (spec rule 6), and the newline
"""Characters that end a sentence; no span may contain one."""

# Quotation and title marks that may stay inside a name (spec rule 4), as
# opening -> closing pairs. ASCII quotes pair with themselves.
NAME_MARKS: dict[str, str] = {
    "“": "”", "‘": "’", "《": "》", "「": "」", "『": "』", "〈": "〉",
    '"': '"', "'": "'",
}
_CLOSING_MARKS: dict[str, str] = {close: open_ for open_, close in NAME_MARKS.items()}

# Symbols that are part of a quantity and may end a span (增长6%, 12℃, 5㎡).
# Characters of Unicode category N* (², ³, ½) are never punctuation anyway.
QUANTITY_END_SYMBOLS = "%％‰‱℃℉°′″"
# Symbols that may begin a span when a digit follows (¥100, -3.2%, +5%).
QUANTITY_START_SYMBOLS = "¥￥$＄€£+＋-－−±"

_TOP_FIELDS = ("id", "doc_id", "text", "spans", "links", "meta")
_SPAN_FIELDS = ("start", "end", "label", "score")
_LINK_FIELDS = ("head", "tail")


class AnnotationError(ValueError):
    """A record or annotation file is malformed or invalid.

    ``str(error)`` is one line: ``file:line: [record id] reason``.
    """

    def __init__(self, reason: str, file: str | None = None, line: int | None = None,
                 record_id: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.record_id = record_id
        super().__init__(_locate(file, line, record_id, reason))


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file, line (1-based) and record id."""

    file: str
    line: int | None
    record_id: str | None
    reason: str

    def __str__(self) -> str:
        return _locate(self.file, self.line, self.record_id, self.reason)

    def to_error(self) -> AnnotationError:
        """This problem as an exception."""
        return AnnotationError(self.reason, self.file, self.line, self.record_id)


def _locate(file: str | None, line: int | None, record_id: str | None, reason: str) -> str:
    where = file or "<records>"
    if line is not None:
        where += f":{line}"
    rid = f" [{record_id}]" if record_id is not None else ""
    return f"{where}:{rid} {reason}"


@dataclass(frozen=True)
class Span:
    """A labelled character span ``text[start:end]``; ``score`` only on predictions."""

    start: int
    end: int
    label: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        if self.score is not None:
            d["score"] = self.score
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Span:
        """Build a span from its JSON form; raises ``ValueError`` naming the problem."""
        _check_object(d, "span", ("start", "end", "label"), _SPAN_FIELDS)
        start, end, label = d["start"], d["end"], d["label"]
        for name, value in (("start", start), ("end", end)):
            if not _is_int(value):
                raise ValueError(f"span {name} must be an integer, got {value!r}")
        if not isinstance(label, str):
            raise ValueError(f"span label must be a string, got {label!r}")
        score = d.get("score")
        if score is not None and not _is_number(score):
            raise ValueError(f"span score must be a number, got {score!r}")
        return cls(start, end, label, score)


@dataclass(frozen=True)
class Link:
    """A relation from ``spans[head]`` (METRIC/PROJECT) to ``spans[tail]`` (TARGET/VALUE)."""

    head: int
    tail: int

    def to_dict(self) -> dict[str, int]:
        return {"head": self.head, "tail": self.tail}

    @classmethod
    def from_dict(cls, d: Any) -> Link:
        """Build a link from its JSON form; raises ``ValueError`` naming the problem."""
        _check_object(d, "link", _LINK_FIELDS, _LINK_FIELDS)
        for name in _LINK_FIELDS:
            if not _is_int(d[name]):
                raise ValueError(f"link {name} must be an integer, got {d[name]!r}")
        return cls(d["head"], d["tail"])


def default_doc_id(record_id: str) -> str:
    """The id's part before its last ``#``, or the whole id when it has none."""
    head, sep, _ = record_id.rpartition(ID_SEPARATOR)
    return head if sep and head else record_id


@dataclass
class Record:
    """One paragraph of normalized text with its spans, links and metadata."""

    id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    doc_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.doc_id is None:
            self.doc_id = default_doc_id(self.id)

    @property
    def section(self) -> str | None:
        """``meta["section"]`` or ``None``."""
        return self.meta.get("section")

    def span_text(self, span: Span) -> str:
        return self.text[span.start:span.end]

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``links`` and ``meta`` are left out when empty."""
        d: dict[str, Any] = {
            "id": self.id,
            "doc_id": self.doc_id,
            "text": self.text,
            "spans": [s.to_dict() for s in self.spans],
        }
        if self.links:
            d["links"] = [link.to_dict() for link in self.links]
        if self.meta:
            d["meta"] = dict(self.meta)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Record:
        """Build a record from its JSON form.

        Checks field presence and types only (raises ``ValueError`` naming the
        problem); offsets, labels and boundaries are checked by
        :func:`validate_records`.
        """
        _check_object(d, "record", ("id", "text", "spans"), _TOP_FIELDS)
        rid, text = d["id"], d["text"]
        if not isinstance(rid, str) or not rid.strip():
            raise ValueError(f"id must be a non-empty string, got {rid!r}")
        if rid != rid.strip() or any(c in rid for c in "\t\n\r"):
            raise ValueError(f"id must not start or end with whitespace or hold tabs/newlines, got {rid!r}")
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        doc_id = d.get("doc_id")
        if doc_id is not None and (not isinstance(doc_id, str) or not doc_id):
            raise ValueError(f"doc_id must be a non-empty string, got {doc_id!r}")
        spans, links = d["spans"], d.get("links", [])
        if not isinstance(spans, list):
            raise ValueError(f"spans must be a list, got {type(spans).__name__}")
        if not isinstance(links, list):
            raise ValueError(f"links must be a list, got {type(links).__name__}")
        meta = d.get("meta", {})
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise ValueError(f"meta must be an object, got {type(meta).__name__}")
        return cls(
            id=rid,
            text=text,
            spans=[Span.from_dict(s) for s in spans],
            doc_id=doc_id,
            meta=dict(meta),
            links=[Link.from_dict(link) for link in links],
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_object(d: Any, what: str, required: Sequence[str], allowed: Sequence[str]) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(d).__name__}")
    missing = [k for k in required if k not in d]
    if missing:
        raise ValueError(f"{what} is missing required field {', '.join(map(repr, missing))}")
    unknown = [k for k in d if k not in allowed]
    if unknown:
        hint = " (put extra data in meta)" if what == "record" else ""
        raise ValueError(f"{what} has unknown field {', '.join(map(repr, unknown))}{hint}")


# --------------------------------------------------------------------------- checks


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _partner_index(text: str, i: int) -> int | None:
    """Index of the closing mark matching the opening mark ``text[i]`` (nesting aware)."""
    open_, close = text[i], NAME_MARKS[text[i]]
    depth = 0
    for j in range(i + 1, len(text)):
        ch = text[j]
        if ch == close and depth == 0:
            return j
        if open_ != close:
            if ch == open_:
                depth += 1
            elif ch == close:
                depth -= 1
    return None


def _opener_index(text: str, j: int) -> int | None:
    """Index of the opening mark matching the closing mark ``text[j]`` (nesting aware)."""
    close = text[j]
    open_ = _CLOSING_MARKS[close]
    depth = 0
    for i in range(j - 1, -1, -1):
        ch = text[i]
        if ch == open_ and depth == 0:
            return i
        if open_ != close:
            if ch == close:
                depth += 1
            elif ch == open_:
                depth -= 1
    return None


# A bracketed part of a name at its end: 中南高科·清苑新经济产业园（二期）.
_NAME_BRACKETS = {"）": "（", ")": "("}


def _ends_with_name_bracket(surface: str) -> bool:
    """The span ends with a closing bracket whose opener is inside it, after the name's start."""
    close = surface[-1]
    if close not in _NAME_BRACKETS:
        return False
    opener = surface.rfind(_NAME_BRACKETS[close], 0, len(surface) - 1)
    return opener > 0 and close not in surface[opener + 1 : -1]


def _edge_fault(surface: str) -> tuple[str, str] | None:
    """Why a span with this text has a bad first or last character, or ``None``.

    Whitespace is never allowed at either end. Punctuation and symbols (Unicode
    P* and S*) are allowed only as: an opening quotation/title mark whose
    partner closes inside the span, or a closing mark whose partner opens
    inside it, when the span is not one name wrapped whole in those marks
    (“护旗”系列专项行动 is fine, “清河行动” is not); a closing bracket at the
    end whose opener follows the name's first character (产业园（二期）); a quantity symbol at the end
    (%, ‰, ℃, °, CJK unit squares such as ㎡); a currency or sign symbol at the
    start when a digit follows (¥100, -3.2%).
    """
    if not surface:
        return "both", "empty span"
    first, last = surface[0], surface[-1]
    if first.isspace():
        return "start", f"span begins with whitespace {first!r}"
    if last.isspace():
        return "end", f"span ends with whitespace {last!r}"
    wrapped = (
        first in NAME_MARKS and len(surface) > 1 and _partner_index(surface, 0) == len(surface) - 1
    )
    if wrapped:
        return "both", f"span is wrapped whole in {first}{last}: marks around a name stay outside"
    if _is_punct(first):
        ok = (
            (first in NAME_MARKS and _partner_index(surface, 0) is not None)
            or (first in QUANTITY_START_SYMBOLS and len(surface) > 1 and surface[1].isdigit())
        )
        if not ok:
            return "start", f"span begins with punctuation {first!r}"
    if _is_punct(last) and len(surface) > 1:
        ok = (
            (last in _CLOSING_MARKS and _opener_index(surface, len(surface) - 1) is not None)
            or _ends_with_name_bracket(surface)
            or last in QUANTITY_END_SYMBOLS
            or 0x3380 <= ord(last) <= 0x33FF  # CJK compatibility unit squares: ㎡ ㎞ ㎏ …
        )
        if not ok:
            return "end", f"span ends with punctuation {last!r}"
    return None


def boundary_problem(surface: str) -> str | None:
    """Why a span with this text has a bad first or last character, or ``None``
    (the rules are in :func:`_edge_fault`)."""
    fault = _edge_fault(surface)
    return None if fault is None else fault[1]


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``text[start:end]`` until its edges obey the boundary rules
    (whitespace, punctuation, marks wrapping a whole name); may return an
    empty span (``start == end``). Used to clean model predictions."""
    while start < end:
        fault = _edge_fault(text[start:end])
        if fault is None:
            break
        side = fault[0]
        if side in ("start", "both"):
            start += 1
        if side in ("end", "both") and end > start:
            end -= 1
    return start, max(start, end)


def _record_reasons(record: Record, labels: Sequence[str] = LABELS,
                    style_rules: bool = True) -> list[str]:
    """Every semantic problem of one record, as one-line reasons.

    ``labels``: the allowed span labels. ``style_rules=False`` skips the
    project's annotation-style rules (boundary characters, sentence ends),
    for corpora annotated by other conventions (benchmarks).
    """
    reasons: list[str] = []
    text, n = record.text, len(record.text)
    section = record.meta.get("section")
    if section is not None and section not in SECTIONS:
        reasons.append(f"unknown section {section!r} (expected one of {', '.join(SECTIONS)})")
    for key in ("raw_start", "raw_end"):
        if key in record.meta and not _is_int(record.meta[key]):
            reasons.append(f"meta {key} must be an integer, got {record.meta[key]!r}")
    if "source" in record.meta and not isinstance(record.meta["source"], str):
        reasons.append(f"meta source must be a string, got {record.meta['source']!r}")

    good: list[bool] = []
    for k, span in enumerate(record.spans):
        tag = f"span {k} ({span.start}, {span.end}, {span.label})"
        ok = True
        if span.label not in labels:
            reasons.append(f"{tag}: unknown label {span.label!r} (expected one of {', '.join(labels)})")
        if span.start < 0 or span.end > n:
            reasons.append(f"{tag}: offsets out of range for text of length {n}")
            ok = False
        elif span.start >= span.end:
            reasons.append(f"{tag}: start >= end")
            ok = False
        if span.score is not None and not 0.0 <= span.score <= 1.0:
            reasons.append(f"{tag}: score {span.score} is not in [0, 1]")
        if ok and style_rules:
            surface = text[span.start:span.end]
            problem = boundary_problem(surface)
            if problem:
                reasons.append(f"{tag} {surface!r}: {problem}")
            # A sentence end at either edge is already a boundary problem.
            crossing = next((ch for ch in surface[1:-1] if ch in SENTENCE_ENDS), None)
            if crossing is not None:
                reasons.append(f"{tag} {surface!r}: crosses a sentence end {crossing!r}")
                ok = False
        good.append(ok)

    ordered = sorted((s.start, s.end, k) for k, s in enumerate(record.spans) if good[k])
    for (s1, e1, k1), (s2, e2, k2) in zip(ordered, ordered[1:]):
        if s2 < e1:
            reasons.append(f"spans {k1} ({s1}, {e1}) and {k2} ({s2}, {e2}) overlap")

    seen: set[tuple[int, int]] = set()
    for k, link in enumerate(record.links):
        tag = f"link {k} ({link.head} -> {link.tail})"
        nspans = len(record.spans)
        if not (0 <= link.head < nspans and 0 <= link.tail < nspans):
            reasons.append(f"{tag}: span index out of range (record has {nspans} spans)")
            continue
        head, tail = record.spans[link.head], record.spans[link.tail]
        if head.label not in HEAD_LABELS:
            reasons.append(f"{tag}: head must be {'/'.join(HEAD_LABELS)}, got {head.label}")
        if tail.label not in TAIL_LABELS:
            reasons.append(f"{tag}: tail must be {'/'.join(TAIL_LABELS)}, got {tail.label}")
        if good[link.head] and good[link.tail]:
            lo, hi = sorted((head, tail), key=lambda s: s.start)
            between = text[lo.end:hi.start] if lo.end <= hi.start else ""
            if any(ch in SENTENCE_ENDS for ch in between):
                reasons.append(f"{tag}: head and tail are in different sentences")
        if (link.head, link.tail) in seen:
            reasons.append(f"{tag}: duplicate link")
        seen.add((link.head, link.tail))
    return reasons


def validate_records(records: Iterable[Record], file: str = "<records>",
                     lines: Sequence[int | None] | None = None, *,
                     labels: Sequence[str] | None = None,
                     style_rules: bool = True) -> list[Problem]:
    """Every problem of these records: offsets, labels, overlaps, boundaries,
    sentence ends, sections, links and duplicate ids.

    ``file`` and ``lines`` (1-based, one per record) only locate the problems.
    ``labels`` is the allowed label set (default :data:`LABELS`);
    ``style_rules=False`` skips the boundary-character and sentence-end rules,
    for corpora annotated by other conventions (e.g. benchmarks).
    """
    labels = LABELS if labels is None else tuple(labels)
    problems: list[Problem] = []
    first_seen: dict[str, int | None] = {}
    for i, record in enumerate(records):
        line = lines[i] if lines is not None else None
        if record.id in first_seen:
            where = first_seen[record.id]
            at = f" (first at line {where})" if where is not None else ""
            problems.append(Problem(file, line, record.id, f"duplicate id{at}"))
        else:
            first_seen[record.id] = line
        for reason in _record_reasons(record, labels, style_rules):
            problems.append(Problem(file, line, record.id, reason))
    return problems


# --------------------------------------------------------------------------- files


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
        _raise_first(validate_records(records, str(path), lines,
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


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        err = problems[0].to_error()
        if len(problems) > 1:
            err.args = (f"{err.args[0]} (and {len(problems) - 1} more problem(s))",)
        raise err


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so the file is either the old one or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
        _raise_first(validate_records(records, str(path), labels=labels, style_rules=style_rules))
    write_atomic(path, dumps_records(records))


# --------------------------------------------------------------------------- datasets


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
    _raise_first(validate_records(loose, labels=labels, style_rules=style_rules))
    all_records = records + loose
    seen: set[str] = set()
    for r in all_records:
        if r.id in seen:
            raise AnnotationError("duplicate id across inputs", record_id=r.id)
        seen.add(r.id)
    return all_records


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
