"""From linked spans to a table of targets and values, and a page to look at.

:func:`rows_from_records` turns annotation records (spans, ``links``, and
``meta`` with ``section``, ``place``, ``year``, ``raw_spans``) into
:class:`TargetRow` s: one row per linked TARGET/VALUE, with the METRIC or
PROJECT it belongs to, its canonical indicator, measure and period, and the
normalized quantity (:mod:`pipeline.tables.quantities`). :func:`csv_text`,
:func:`write_csv` and :func:`write_parquet` write them
(:mod:`pipeline.tables.summary` renders them as a page);
:func:`evaluate_rows` compares two tables.

Indicators
----------
Reports name the same indicator differently (地区生产总值, 生产总值, 国内生产总值,
GDP). Each METRIC is matched to a canonical indicator of
``pipeline/data/indicators.toml`` (:mod:`pipeline.tables.indicators`: exact name,
alias, or the nearest name in the e5 embedding space); ``metric`` is the
indicator's name when it matched, else the METRIC as written (normalized), and
``indicator_match`` says how (``exact`` / ``alias`` / ``embedding`` / ``none``,
with ``indicator_score`` the cosine similarity). PROJECT heads are not matched.
``measure`` and ``period`` (:mod:`pipeline.tables.periods`) say what the number
measures and which year(s) it refers to.

Command line (:mod:`pipeline.cli.targets`)::

    govreport-ner targets rows annotations/gold/*.jsonl --out gold_targets.csv
    govreport-ner targets evaluate --split test     # end to end, rule baseline
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from pipeline.annotation.schema import Record
from pipeline.annotation.scores import prf
from pipeline.files import bom_csv, write_atomic
from pipeline.tables.indicators import IndicatorMatch, IndicatorMatcher
from pipeline.tables.periods import measure_of, period_of, period_text
from pipeline.tables.quantities import Quantity, parse_quantity
from pipeline.text.structure import is_list_join

@dataclass(frozen=True)
class TargetRow:
    """One linked TARGET/VALUE: who, when, which metric, what quantity, where."""

    doc_id: str
    place: str | None
    year: int | None
    section: str | None
    metric: str            # the indicator's name, else the METRIC (or PROJECT) as written
    indicator: str | None  # the indicator's key (pipeline/data/indicators.toml)
    indicator_name: str | None
    indicator_match: str   # exact / alias / embedding / none
    indicator_score: float | None  # cosine similarity of an embedding match
    measure: str | None    # growth_pct / change_pp / share_pct / count / level / parity
    period: str | None     # "2021" or "2021-2025"
    period_start: int | None
    period_end: int | None
    head: str              # the METRIC/PROJECT as written
    head_label: str        # METRIC or PROJECT
    kind: str              # target or value
    text: str              # the TARGET/VALUE as written
    direction: str | None
    value: float | None    # scaled (1.3亿元 -> 130000000.0)
    value_high: float | None  # upper end of a range, else None
    unit: str | None
    qualifier: str | None
    baseline: str | None
    level: str | None
    parsed: bool
    problem: str | None
    record_id: str
    start: int
    end: int
    raw_start: int | None
    raw_end: int | None

    def value_key(self) -> tuple:
        """The normalized value, as compared by :func:`evaluate_rows`."""
        nums = tuple(round(v, 6) for v in (self.value, self.value_high) if v is not None)
        if not self.parsed:
            return ("unparsed", re.sub(r"\s+", "", self.text))
        return (self.direction, nums, self.unit, self.qualifier, self.baseline, self.level)

    def key(self) -> tuple:
        return (self.doc_id, self.metric, self.kind, self.value_key())


NO_MATCH = IndicatorMatch(None, None, "none")
TARGET_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(TargetRow))


def rows_from_records(records: Iterable[Record], matcher: IndicatorMatcher | None = None) -> list[TargetRow]:
    """One row per link (head -> TARGET/VALUE tail) of ``records``, in text order.
    ``matcher`` maps METRICs to indicators (default: exact and alias matches only)."""
    records = [r for r in records if r.links]
    matcher = matcher or IndicatorMatcher()
    heads = [r.span_text(r.spans[lk.head]) for r in records for lk in r.links
             if r.spans[lk.head].label == "METRIC"]
    matches = dict(zip(heads, matcher.match(heads)))
    rows: list[TargetRow] = []
    for r in records:
        raw_spans = r.meta.get("raw_spans") or [[None, None]] * len(r.spans)
        quantities = {link.tail: parse_quantity(r.span_text(r.spans[link.tail])) for link in r.links}
        quantities = _borrow_units(r, quantities)
        year = r.meta.get("year")
        for link in sorted(r.links, key=lambda lk: (r.spans[lk.tail].start, r.spans[lk.head].start)):
            head, tail = r.spans[link.head], r.spans[link.tail]
            q = quantities[link.tail]
            raw = raw_spans[link.tail] if link.tail < len(raw_spans) else [None, None]
            head_text = r.span_text(head)
            m = matches.get(head_text, NO_MATCH) if head.label == "METRIC" else NO_MATCH
            kind = "target" if tail.label == "TARGET" else "value"
            period = period_of(r.text, tail.start, report_year=year if isinstance(year, int) else None,
                               section=r.section, kind=kind)
            rows.append(TargetRow(
                doc_id=r.doc_id or "", place=r.meta.get("place"), year=year,
                section=r.section, metric=m.name or (matcher.table.normalize(head_text)
                                                     if head.label == "METRIC" else head_text),
                indicator=m.key, indicator_name=m.name, indicator_match=m.how, indicator_score=m.score,
                measure=measure_of(q, m.name or head_text),
                period=period_text(period), period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                head=head_text, head_label=head.label,
                kind=kind, text=r.span_text(tail),
                direction=q.direction, value=q.low,
                value_high=q.high if len(q.scaled) > 1 else None, unit=q.unit,
                qualifier=q.qualifier, baseline=q.baseline, level=q.level, parsed=q.parsed,
                problem=q.problem, record_id=r.id, start=tail.start, end=tail.end,
                raw_start=raw[0], raw_end=raw[1]))
    return rows


def _borrow_units(r: Record, quantities: dict[int, Quantity]) -> dict[int, Quantity]:
    """Lists write the change word once and the unit once (D8): in
    ``分别[增长9%]和[9.5%]`` the second number is an increase too, and in
    ``高于全省[22.7]和[28.8个百分点]`` the first is in 百分点. Quantities next to
    each other (joined by 、/和/及/与, no span between) share them."""
    out = dict(quantities)
    inherited: set[int] = set()
    order = sorted(range(len(r.spans)), key=lambda k: r.spans[k].start)
    for a, b in zip(order, order[1:]):
        if a not in out or b not in out:
            continue
        if not is_list_join(r.text[r.spans[a].end:r.spans[b].start]):
            continue
        qa, qb = out[a], out[b]
        if qb.parsed and qb.scaled and qb.verb is None and qb.direction == "level" \
                and (qa.verb is not None or a in inherited) and qa.direction in ("increase", "decrease"):
            out[b] = replace(qb, direction=qa.direction)
            inherited.add(b)
        if qa.parsed and qa.scaled and qa.unit is None and qa.scale == 1.0 and qb.unit:
            factor = qb.scale * (10.0 if qb.unit_text == "成" else 1.0)
            out[a] = replace(qa, scale=qb.scale, unit=qb.unit, unit_text=qb.unit_text,
                             scaled=tuple(float(f"{v * factor:.10g}") for v in qa.values))
    return out


def unparsed_rows(rows: Iterable[TargetRow]) -> list[TargetRow]:
    return [row for row in rows if not row.parsed]


# --------------------------------------------------------------------------- writers


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")  # no exponent: 83000000000, 0.81
        return "0" if text in ("", "-0") else text
    return value


def csv_text(rows: Iterable[TargetRow]) -> str:
    """``targets.csv``: :data:`TARGET_COLUMNS`, UTF-8 with a BOM (spreadsheets)."""
    return bom_csv(TARGET_COLUMNS, ([_cell(getattr(row, c)) for c in TARGET_COLUMNS] for row in rows))


def write_csv(rows: Iterable[TargetRow], path: str | Path) -> None:
    write_atomic(path, csv_text(rows))


def write_parquet(rows: Sequence[TargetRow], path: str | Path) -> None:
    """``targets.parquet`` (needs ``pyarrow``): the same columns, typed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("doc_id", pa.string()), ("place", pa.string()), ("year", pa.int32()),
        ("section", pa.string()), ("metric", pa.string()), ("indicator", pa.string()),
        ("indicator_name", pa.string()), ("indicator_match", pa.string()),
        ("indicator_score", pa.float64()), ("measure", pa.string()), ("period", pa.string()),
        ("period_start", pa.int32()), ("period_end", pa.int32()), ("head", pa.string()),
        ("head_label", pa.string()), ("kind", pa.string()), ("text", pa.string()),
        ("direction", pa.string()), ("value", pa.float64()), ("value_high", pa.float64()),
        ("unit", pa.string()), ("qualifier", pa.string()), ("baseline", pa.string()),
        ("level", pa.string()), ("parsed", pa.bool_()), ("problem", pa.string()),
        ("record_id", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
        ("raw_start", pa.int64()), ("raw_end", pa.int64()),
    ])
    table = pa.Table.from_pylist([asdict(row) for row in rows], schema=schema)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    write_atomic(path, buffer.getvalue().to_pybytes())

# --------------------------------------------------------------------------- evaluation


def evaluate_rows(predicted: Iterable[TargetRow], gold: Iterable[TargetRow]) -> dict[str, Any]:

    """Precision / recall / F1 of rows matched on (doc, metric, kind, normalized
    value) as multisets (offsets are not compared)."""
    p = Counter(row.key() for row in predicted)
    g = Counter(row.key() for row in gold)
    tp = sum((p & g).values())
    n_p, n_g = sum(p.values()), sum(g.values())
    return {"tp": tp, "predicted": n_p, "gold": n_g, **prf(tp, n_p, n_g)}
