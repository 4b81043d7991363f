"""From linked spans to a table of targets and values, and a page to look at.

:func:`rows_from_records` turns annotation records (spans, ``links``, and
``meta`` with ``section``, ``place``, ``year``, ``raw_spans``) into
:class:`TargetRow` s: one row per linked TARGET/VALUE, with the METRIC or
PROJECT it belongs to, its metric group (:func:`metric_group`) and the
normalized quantity (:mod:`pipeline.tables.quantities`). :func:`write_csv`,
:func:`write_csv` and :func:`write_parquet` write them
(:mod:`pipeline.tables.summary` renders them as a page);
:func:`evaluate_rows` compares two tables.

Metric groups
-------------
Reports name the same indicator differently (地区生产总值, 生产总值, 国内生产总值,
GDP). :data:`METRIC_GROUPS` maps a few frequent spellings to one name; every
other METRIC keeps its own name, with spaces removed and 规上 written
规模以上. The map is deliberately small: it only joins names that mean the
same measurement, never related ones (城镇登记失业率 and 城镇调查失业率 stay
apart).

Command line::

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
from pipeline.tables.quantities import Quantity, parse_quantity
from pipeline.text.structure import is_list_join

METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "地区生产总值": ("地区生产总值", "生产总值", "国内生产总值", "县域生产总值", "GDP", "全区生产总值"),
    "一般公共预算收入": ("一般公共预算收入", "地方一般公共预算收入", "一般公共财政预算收入",
                 "公共财政预算收入", "公共预算收入", "一般预算收入"),
    "规模以上工业增加值": ("规模以上工业增加值", "规上工业增加值"),
    "固定资产投资": ("固定资产投资", "全社会固定资产投资"),
    "社会消费品零售总额": ("社会消费品零售总额", "社会消费品零售额"),
    "居民人均可支配收入": ("居民人均可支配收入", "全体居民人均可支配收入", "人均可支配收入"),
    "城镇新增就业": ("城镇新增就业", "新增就业", "新增城镇就业"),
    "城镇登记失业率": ("城镇登记失业率", "登记失业率"),
    "城镇调查失业率": ("城镇调查失业率", "调查失业率"),
    "居民消费价格涨幅": ("居民消费价格涨幅", "居民消费价格", "居民消费价格指数", "居民消费价格指数涨幅",
                 "CPI"),
    "单位GDP能耗": ("单位GDP能耗", "万元GDP能耗", "万元地区生产总值能耗", "单位地区生产总值能耗",
                "单位国内生产总值能耗", "万元生产总值能耗", "单位生产总值能耗"),
    "进出口总额": ("进出口总额", "进出口总值", "外贸进出口", "外贸进出口总额", "进出口"),
    "实际利用外资": ("实际利用外资", "实际使用外资", "利用外资"),
}
_ALIAS = {alias: group for group, aliases in METRIC_GROUPS.items() for alias in aliases}


def metric_group(name: str) -> str:
    """The group a METRIC/PROJECT name belongs to (see the module docstring)."""
    key = re.sub(r"\s+", "", name).replace("规上", "规模以上")
    return _ALIAS.get(key, _ALIAS.get(key.replace("规模以上", "规上"), key))


@dataclass(frozen=True)
class TargetRow:
    """One linked TARGET/VALUE: who, when, which metric, what quantity, where."""

    doc_id: str
    place: str | None
    year: int | None
    section: str | None
    metric: str            # metric group (or project name)
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


TARGET_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(TargetRow))


def rows_from_records(records: Iterable[Record]) -> list[TargetRow]:
    """One row per link (head -> TARGET/VALUE tail) of ``records``, in text order."""
    rows: list[TargetRow] = []
    for r in records:
        if not r.links:
            continue
        raw_spans = r.meta.get("raw_spans") or [[None, None]] * len(r.spans)
        quantities = {link.tail: parse_quantity(r.span_text(r.spans[link.tail])) for link in r.links}
        quantities = _borrow_units(r, quantities)
        for link in sorted(r.links, key=lambda lk: (r.spans[lk.tail].start, r.spans[lk.head].start)):
            head, tail = r.spans[link.head], r.spans[link.tail]
            q = quantities[link.tail]
            raw = raw_spans[link.tail] if link.tail < len(raw_spans) else [None, None]
            head_text = r.span_text(head)
            rows.append(TargetRow(
                doc_id=r.doc_id or "", place=r.meta.get("place"), year=r.meta.get("year"),
                section=r.section, metric=metric_group(head_text) if head.label == "METRIC" else head_text,
                head=head_text, head_label=head.label,
                kind="target" if tail.label == "TARGET" else "value", text=r.span_text(tail),
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
        ("section", pa.string()), ("metric", pa.string()), ("head", pa.string()),
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
