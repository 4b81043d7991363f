"""The validator: every problem of a list of records, as one-line reasons
located by file, line and record id (see ``annotations/README.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipeline.annotation.schema import (
    HEAD_LABELS,
    LABELS,
    TAIL_LABELS,
    Problem,
    Record,
    _is_int,
)
from pipeline.annotation.style import boundary_problem
from pipeline.text.structure import SECTIONS, SENTENCE_ENDS


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


def raise_first(problems: list[Problem]) -> None:
    """Raise the first problem as an :class:`AnnotationError` (noting how many more), if any."""
    if problems:
        err = problems[0].to_error()
        if len(problems) > 1:
            err.args = (f"{err.args[0]} (and {len(problems) - 1} more problem(s))",)
        raise err
