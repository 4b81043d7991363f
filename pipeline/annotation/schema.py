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

The boundary rules are in :mod:`pipeline.annotation.style`, the validator in
:mod:`pipeline.annotation.validate`, reading and writing JSONL in
:mod:`pipeline.annotation.jsonl` and the ``datasets`` loader in
:mod:`pipeline.annotation.dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.text.structure import SECTIONS  # noqa: F401  (the allowed meta["section"] values)


LABELS: tuple[str, ...] = ("PROJECT", "METRIC", "TARGET", "VALUE")
"""Entity labels, see the annotation spec."""

HEAD_LABELS: tuple[str, ...] = ("PROJECT", "METRIC")
"""Labels a link's ``head`` span may have."""

TAIL_LABELS: tuple[str, ...] = ("TARGET", "VALUE")
"""Labels a link's ``tail`` span may have."""

ID_SEPARATOR = "#"
"""``doc_id`` defaults to the part of a record id before the last separator."""

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
