"""Converters between annotation records and other annotation formats.

Formats (see ``annotations/README.md``):

- ``inline``: ``id<TAB>text with [span text]{LABEL} markup``, one record a line,
  for writing and reviewing by hand. Both ways; lossless, links included.
- ``conll``: character-per-line IOB2 tags. Records -> CoNLL only; links,
  scores and metadata are dropped.
- ``doccano``: doccano's JSONL with ``entities`` and ``relations``. Both ways.
- ``labelstudio``: a Label Studio JSON task list with ``labels`` regions and
  ``relation`` results. Both ways.
- ``docbin``: a spaCy ``DocBin``, one token per character, spans as
  ``doc.ents``. Both ways; links and scores are dropped.

Each ``records_to_X`` returns text (bytes for ``docbin``) and each
``X_to_records`` takes it; :func:`read_as` and :func:`write_as` do the file I/O.
Readers raise :class:`~pipeline.annotation.schema.AnnotationError` with the file, line
(where there is one), record id and reason; they do not run the validator.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.annotation.jsonl import NO_RECORDS, dumps_records, read_bytes, read_records, read_text
from pipeline.annotation.schema import LABELS, AnnotationError, Link, Record, Span, default_doc_id
from pipeline.files import write_atomic

__all__ = [
    "FORMATS",
    "READABLE",
    "LINK_TYPE",
    "records_to_inline",
    "inline_to_records",
    "records_to_conll",
    "records_to_doccano",
    "doccano_to_records",
    "records_to_labelstudio",
    "labelstudio_to_records",
    "records_to_docbin",
    "docbin_to_records",
    "read_as",
    "write_as",
]

FORMATS: tuple[str, ...] = ("jsonl", "inline", "conll", "doccano", "labelstudio", "docbin")
"""Formats :func:`write_as` can write."""

READABLE: tuple[str, ...] = ("jsonl", "inline", "doccano", "labelstudio", "docbin")
"""Formats :func:`read_as` can read (CoNLL drops whitespace and cannot be read back)."""

LINK_TYPE = "LINK"
"""Relation type written for links in doccano and Label Studio."""

# --------------------------------------------------------------------------- inline

_ESCAPES = {"\\": "\\\\", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}",
            "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "[": "[", "]": "]", "{": "{", "}": "}", "n": "\n", "t": "\t", "r": "\r"}
META_PREFIX = "# meta:"


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _markup(record: Record) -> str:
    """The record's text with its spans as ``[text]{LABEL}`` (``{LABEL|score}`` with a score)."""
    out: list[str] = []
    pos = 0
    for span in sorted(record.spans, key=lambda s: s.start):
        if span.start < pos:
            raise AnnotationError("overlapping spans cannot be written inline", record_id=record.id)
        out.append(_escape(record.text[pos:span.start]))
        tag = span.label if span.score is None else f"{span.label}|{span.score!r}"
        out.append(f"[{_escape(record.text[span.start:span.end])}]{{{tag}}}")
        pos = span.end
    out.append(_escape(record.text[pos:]))
    return "".join(out)


def records_to_inline(records: Iterable[Record]) -> str:
    """Inline markup, one record a line, records separated by a blank line.

    Spans are written in text order. A ``# meta: {...}`` line before a record
    keeps its ``doc_id`` (when not the default), ``meta`` and ``links`` (as
    ``[head_start, head_end, tail_start, tail_end]`` offsets, so that editing
    the spans by hand cannot silently re-point a link).
    """
    blocks: list[str] = []
    for record in records:
        if not record.id or record.id.startswith("#") or any(c in record.id for c in "\t\n\r"):
            raise AnnotationError(
                "id cannot be written inline (empty, starts with '#' or has a tab/newline)",
                record_id=record.id)
        extra: dict[str, Any] = {}
        if record.doc_id != default_doc_id(record.id):
            extra["doc_id"] = record.doc_id
        if record.meta:
            extra["meta"] = record.meta
        if record.links:
            extra["links"] = [
                [record.spans[lk.head].start, record.spans[lk.head].end,
                 record.spans[lk.tail].start, record.spans[lk.tail].end]
                for lk in record.links
            ]
        lines = []
        if extra:
            lines.append(f"{META_PREFIX} {json.dumps(extra, ensure_ascii=False)}")
        lines.append(f"{record.id}\t{_markup(record)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


_SPACED_LINE_RE = re.compile(r"(\S+) +(\S.*)")


def _parse_markup(marked: str, base: int, err: Any) -> tuple[str, list[Span]]:
    """Plain text and spans of one marked-up line that starts at column ``base + 1``;
    ``err(reason)`` builds the exception to raise."""
    text: list[str] = []
    spans: list[Span] = []
    open_at: int | None = None  # index into text where the open '[' started
    open_col = 0
    i, n = 0, len(marked)
    while i < n:
        ch = marked[i]
        col = base + i + 1
        if ch == "\\":
            if i + 1 >= n or marked[i + 1] not in _UNESCAPES:
                nxt = marked[i + 1] if i + 1 < n else "end of line"
                raise err(f"column {col}: unknown escape '\\{nxt}' "
                          "(escape [ ] { } \\ with a backslash)")
            text.append(_UNESCAPES[marked[i + 1]])
            i += 2
            continue
        if ch == "[":
            if open_at is not None:
                raise err(f"column {col}: '[' inside the span opened at column {open_col} "
                          "(spans cannot nest)")
            open_at, open_col = len(text), col
        elif ch == "]":
            if open_at is None:
                raise err(f"column {col}: ']' without an opening '['")
            close = marked.find("}", i)
            if i + 1 >= n or marked[i + 1] != "{" or close < 0:
                raise err(f"column {col}: ']' must be followed by {{LABEL}}")
            tag = marked[i + 2:close]
            label, _, score_text = tag.partition("|")
            if label not in LABELS:
                raise err(f"column {col + 2}: unknown label {label!r} "
                          f"(expected one of {', '.join(LABELS)})")
            score: float | None = None
            if score_text:
                try:
                    score = float(score_text)
                except ValueError:
                    raise err(f"column {col + 2}: score {score_text!r} is not a number") from None
            if open_at == len(text):
                raise err(f"column {open_col}: empty span")
            spans.append(Span(open_at, len(text), label, score))
            open_at = None
            i = close + 1
            continue
        elif ch in "{}":
            raise err(f"column {col}: unescaped {ch!r} outside a label (write \\{ch})")
        else:
            text.append(ch)
        i += 1
    if open_at is not None:
        raise err(f"column {open_col}: '[' is never closed")
    return "".join(text), spans


def inline_to_records(content: str, file: str = "<inline>") -> list[Record]:
    """Parse inline markup (see :func:`records_to_inline`).

    Blank lines and ``#`` comment lines are skipped; a ``# meta: {...}`` line
    applies to the next record. ``id`` and text are separated by a tab (or, for
    hand-written files, by spaces when the text does not start with a space).
    """
    records: list[Record] = []
    pending: tuple[int, dict[str, Any]] | None = None
    for lineno, line in enumerate(content.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith(META_PREFIX):
                if pending is not None:
                    raise AnnotationError(f"second meta line (the one at line {pending[0]} "
                                          "has no record)", file, lineno)
                try:
                    extra = json.loads(line[len(META_PREFIX):])
                except json.JSONDecodeError as e:
                    raise AnnotationError(f"malformed meta JSON: {e.msg}", file, lineno) from e
                unknown = set(extra) - {"doc_id", "meta", "links"} if isinstance(extra, dict) else None
                if unknown is None or unknown:
                    raise AnnotationError("meta line must be an object with doc_id, meta, links",
                                          file, lineno)
                pending = (lineno, extra)
            continue
        if "\t" in line:
            rid, marked = line.split("\t", 1)
        elif m := _SPACED_LINE_RE.fullmatch(line):
            rid, marked = m.group(1), m.group(2)
        else:
            raise AnnotationError("expected 'id<TAB>marked-up text'", file, lineno)
        if not rid:
            raise AnnotationError("empty id before the tab", file, lineno)

        def err(reason: str, _l: int = lineno, _r: str = rid) -> AnnotationError:
            return AnnotationError(reason, file, _l, _r)

        text, spans = _parse_markup(marked, len(line) - len(marked), err)
        extra = pending[1] if pending else {}
        pending = None
        links: list[Link] = []
        index = {(s.start, s.end): k for k, s in enumerate(spans)}
        for item in extra.get("links", []):
            if not (isinstance(item, list) and len(item) == 4 and all(isinstance(x, int) for x in item)):
                raise AnnotationError(f"link {item!r} must be [head_start, head_end, tail_start, "
                                      "tail_end]", file, lineno, rid)
            head, tail = index.get((item[0], item[1])), index.get((item[2], item[3]))
            if head is None or tail is None:
                raise AnnotationError(f"link {item!r} refers to a span that is not marked",
                                      file, lineno, rid)
            links.append(Link(head, tail))
        meta = extra.get("meta", {})
        if not isinstance(meta, dict):
            raise AnnotationError("meta must be an object", file, lineno, rid)
        records.append(Record(rid, text, spans, doc_id=extra.get("doc_id"), meta=meta, links=links))
    if pending is not None:
        raise AnnotationError("meta line is not followed by a record", file, pending[0])
    return records


# --------------------------------------------------------------------------- CoNLL


def records_to_conll(records: Iterable[Record]) -> str:
    """Character IOB2: ``# id = ...``, then ``char<TAB>tag`` for every non-whitespace
    character, a blank line after each record."""
    blocks: list[str] = []
    for record in records:
        tags = ["O"] * len(record.text)
        for span in record.spans:
            # B- on the first character that is written (edge whitespace is not)
            inside = [k for k in range(span.start, span.end) if not record.text[k].isspace()]
            for k in inside:
                tags[k] = ("B-" if k == inside[0] else "I-") + span.label
        lines = [f"# id = {record.id}"]
        lines += [f"{ch}\t{tag}" for ch, tag in zip(record.text, tags) if not ch.isspace()]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


# --------------------------------------------------------------------------- doccano


def records_to_doccano(records: Iterable[Record]) -> str:
    """doccano JSONL (sequence labelling with relations).

    ``record_id``, ``doc_id`` and ``meta`` ride along as extra columns, which
    doccano keeps as example metadata and exports again.
    """
    lines = []
    for r in records:
        entities = []
        for k, s in enumerate(r.spans):
            ent: dict[str, Any] = {"id": k, "label": s.label, "start_offset": s.start,
                                   "end_offset": s.end}
            if s.score is not None:
                ent["score"] = s.score
            entities.append(ent)
        obj = {
            "text": r.text,
            "entities": entities,
            "relations": [{"id": k, "from_id": lk.head, "to_id": lk.tail, "type": LINK_TYPE}
                          for k, lk in enumerate(r.links)],
            "record_id": r.id,
            "doc_id": r.doc_id,
            "meta": r.meta,
        }
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    return "".join(lines)


def doccano_to_records(content: str, file: str = "<doccano>") -> list[Record]:
    """Parse doccano JSONL: ``entities``/``relations`` (relation projects) or
    ``label`` as ``[[start, end, label], ...]`` (sequence labelling projects).

    The record id is ``record_id`` when present, else doccano's ``id``.
    """
    records = []
    for lineno, line in enumerate(content.split("\n"), start=1):  # not splitlines: \x85, \u2028 are text
        if not line.strip():
            continue
        rid = None
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or "text" not in obj:
                raise ValueError("expected an object with 'text'")
            rid = obj.get("record_id", obj.get("id"))
            if rid is None:
                raise ValueError("no 'record_id' or 'id'")
            rid = str(rid)
            spans: list[Span] = []
            key_to_index: dict[Any, int] = {}
            if "entities" in obj:
                for ent in obj["entities"]:
                    key_to_index[ent.get("id", len(spans))] = len(spans)
                    spans.append(Span(ent["start_offset"], ent["end_offset"], ent["label"],
                                      ent.get("score")))
            else:
                for item in obj.get("label", []):
                    start, end, label = item
                    spans.append(Span(start, end, label))
            links = []
            for rel in obj.get("relations", []):
                if rel["from_id"] not in key_to_index or rel["to_id"] not in key_to_index:
                    raise ValueError(f"relation {rel.get('id')} refers to an unknown entity")
                links.append(Link(key_to_index[rel["from_id"]], key_to_index[rel["to_id"]]))
            records.append(Record(rid, obj["text"], spans, doc_id=obj.get("doc_id"),
                                  meta=dict(obj.get("meta") or {}), links=links))
        except json.JSONDecodeError as e:
            raise AnnotationError(f"malformed JSON: {e.msg} at column {e.colno}", file, lineno) from e
        except (ValueError, KeyError, TypeError) as e:
            reason = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            raise AnnotationError(reason, file, lineno, rid) from e
    return records


# --------------------------------------------------------------------------- Label Studio


def records_to_labelstudio(records: Iterable[Record], from_name: str = "label",
                           to_name: str = "text") -> str:
    """A Label Studio JSON task list.

    Gold records become ``annotations``; records with any scored span become
    ``predictions`` (pre-annotations) with a ``score`` on each region.
    ``record_id``, ``doc_id`` and ``meta`` go into the task's ``data``.
    ``from_name``/``to_name`` must match the project's ``<Labels>``/``<Text>`` names.
    """
    tasks = []
    for r in records:
        result: list[dict[str, Any]] = []
        for k, s in enumerate(r.spans):
            region: dict[str, Any] = {
                "id": f"s{k}", "from_name": from_name, "to_name": to_name, "type": "labels",
                "value": {"start": s.start, "end": s.end, "text": r.text[s.start:s.end],
                          "labels": [s.label]},
            }
            if s.score is not None:
                region["score"] = s.score
            result.append(region)
        for lk in r.links:
            result.append({"type": "relation", "from_id": f"s{lk.head}", "to_id": f"s{lk.tail}",
                           "direction": "right", "labels": [LINK_TYPE]})
        scored = any(s.score is not None for s in r.spans)
        task: dict[str, Any] = {
            "data": {"text": r.text, "record_id": r.id, "doc_id": r.doc_id, "meta": r.meta},
            "predictions" if scored else "annotations": [{"result": result}],
        }
        tasks.append(task)
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"


def _ls_result(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The first annotation that was not cancelled, else the first prediction."""
    for ann in task.get("annotations") or []:
        if not ann.get("was_cancelled"):
            return ann.get("result") or []
    for pred in task.get("predictions") or []:
        return pred.get("result") or []
    return []


def labelstudio_to_records(content: str, file: str = "<labelstudio>") -> list[Record]:
    """Parse a Label Studio JSON export (a list of tasks).

    Uses each task's first non-cancelled annotation, else its first prediction.
    The record id is ``data.record_id`` when present, else the task ``id``.
    A region whose ``text`` differs from the task text at its offsets is an error.
    """
    try:
        tasks = json.loads(content)
    except json.JSONDecodeError as e:
        raise AnnotationError(f"malformed JSON: {e.msg} at column {e.colno}", file, e.lineno) from e
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise AnnotationError("expected a list of tasks", file)
    records = []
    for n, task in enumerate(tasks):
        rid = None
        try:
            data = task["data"]
            text = data["text"]
            rid = data.get("record_id", task.get("id"))
            if rid is None:
                raise ValueError(f"task {n} has no data.record_id or id")
            rid = str(rid)
            spans: list[Span] = []
            region_index: dict[str, int] = {}
            relations = []
            for res in _ls_result(task):
                if res.get("type") == "relation":
                    relations.append(res)
                    continue
                if res.get("type") != "labels":
                    continue
                value = res["value"]
                labels = value["labels"]
                if len(labels) != 1:
                    raise ValueError(f"region {res.get('id')} has {len(labels)} labels, expected 1")
                start, end = value["start"], value["end"]
                if "text" in value and value["text"] != text[start:end]:
                    raise ValueError(f"region {res.get('id')} text {value['text']!r} does not "
                                     f"match text[{start}:{end}] {text[start:end]!r}")
                region_index[res.get("id", str(len(spans)))] = len(spans)
                spans.append(Span(start, end, labels[0], res.get("score")))
            links = []
            for rel in relations:
                if rel["from_id"] not in region_index or rel["to_id"] not in region_index:
                    raise ValueError("relation refers to an unknown region")
                head, tail = region_index[rel["from_id"]], region_index[rel["to_id"]]
                if rel.get("direction") == "left":
                    head, tail = tail, head
                links.append(Link(head, tail))
            records.append(Record(rid, text, spans, doc_id=data.get("doc_id"),
                                  meta=dict(data.get("meta") or {}), links=links))
        except (ValueError, KeyError, TypeError) as e:
            reason = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            raise AnnotationError(f"task {n}: {reason}", file, None, rid) from e
    return records


# --------------------------------------------------------------------------- spaCy DocBin


@functools.lru_cache(maxsize=1)
def _zh_vocab() -> Any:
    """The vocab of ``spacy.blank("zh")``, built once (it takes a moment)."""
    import spacy

    return spacy.blank("zh").vocab


def records_to_docbin(records: Iterable[Record]) -> bytes:
    """A serialized spaCy ``DocBin``: one ``Doc`` per record, one token per
    character, spans as ``doc.ents``; ``id``, ``doc_id`` and ``meta`` in
    ``doc.user_data``. Links and scores are dropped."""
    from spacy.tokens import Doc, DocBin

    vocab = _zh_vocab()
    docbin = DocBin(store_user_data=True)
    for r in records:
        doc = Doc(vocab, words=list(r.text), spaces=[False] * len(r.text))
        ents = []
        for s in r.spans:
            ent = doc.char_span(s.start, s.end, label=s.label)
            if ent is None:  # cannot happen with one token per character and valid offsets
                raise AnnotationError(f"span ({s.start}, {s.end}) is out of range", record_id=r.id)
            ents.append(ent)
        doc.ents = ents
        doc.user_data["id"] = r.id
        doc.user_data["doc_id"] = r.doc_id
        doc.user_data["meta"] = r.meta
        docbin.add(doc)
    return docbin.to_bytes()


def docbin_to_records(data: bytes) -> list[Record]:
    """Records from a serialized ``DocBin`` written by :func:`records_to_docbin`
    (or any DocBin: the id then defaults to ``doc<N>``)."""
    from spacy.tokens import DocBin

    vocab = _zh_vocab()
    records = []
    for n, doc in enumerate(DocBin().from_bytes(data).get_docs(vocab)):
        ud = doc.user_data
        rid = ud.get("id", f"doc{n}")
        spans = [Span(e.start_char, e.end_char, e.label_) for e in doc.ents]
        records.append(Record(rid, doc.text, spans, doc_id=ud.get("doc_id"),
                              meta=dict(ud.get("meta") or {})))
    return records


# --------------------------------------------------------------------------- files


def read_as(path: str | os.PathLike[str], fmt: str, *, validate: bool = True,
            require_records: bool = False) -> list[Record]:
    """Read records from a file in format ``fmt`` (one of :data:`READABLE`).

    Raises :class:`AnnotationError` naming the file and the reason when it cannot
    be read (:func:`~pipeline.annotation.jsonl.read_text`) or parsed, with
    ``require_records=True`` when it holds no record, and with ``validate=True``
    for the first problem
    :func:`~pipeline.annotation.validate.validate_records` finds.
    """
    from pipeline.annotation.validate import raise_first, validate_records

    if fmt not in READABLE:
        raise ValueError(f"cannot read format {fmt!r} (readable: {', '.join(READABLE)})")
    path = Path(path)
    if fmt == "jsonl":
        return read_records(path, validate=validate, require_records=require_records)
    if fmt == "docbin":
        data = read_bytes(path)
        try:
            records = docbin_to_records(data)
        except (ValueError, KeyError) as e:  # what spaCy raises for bytes that are not a DocBin
            raise AnnotationError("not a spaCy DocBin file", str(path)) from e
    else:
        parse = {"inline": inline_to_records, "doccano": doccano_to_records,
                 "labelstudio": labelstudio_to_records}[fmt]
        records = parse(read_text(path), str(path))
    if require_records and not records:
        raise AnnotationError(NO_RECORDS, str(path))
    if validate:
        raise_first(validate_records(records, str(path)))
    return records


def write_as(path: str | os.PathLike[str], records: Sequence[Record], fmt: str) -> None:
    """Write records to a file in format ``fmt`` (one of :data:`FORMATS`), atomically."""
    writers = {"jsonl": dumps_records, "inline": records_to_inline, "conll": records_to_conll,
               "doccano": records_to_doccano, "labelstudio": records_to_labelstudio,
               "docbin": records_to_docbin}
    if fmt not in writers:
        raise ValueError(f"cannot write format {fmt!r} (formats: {', '.join(FORMATS)})")
    write_atomic(path, writers[fmt](records))
