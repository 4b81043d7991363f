"""From linked spans to a table of targets and values, and a page to look at.

:func:`rows_from_records` turns annotation records (spans, ``links``, and
``meta`` with ``section``, ``place``, ``year``, ``raw_spans``) into
:class:`TargetRow` s: one row per linked TARGET/VALUE, with the METRIC or
PROJECT it belongs to, its metric group (:func:`metric_group`) and the
normalized quantity (:mod:`pipeline.quantities`). :func:`write_csv`,
:func:`write_parquet` and :func:`render_summary` write them;
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

    python -m pipeline.targets rows annotations/gold/*.jsonl --out gold_targets.csv
    python -m pipeline.targets evaluate --split test     # end to end, rule baseline
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .annotations import Record, write_atomic
from .quantities import Quantity, parse_quantity

__all__ = [
    "METRIC_GROUPS",
    "TargetRow",
    "TARGET_COLUMNS",
    "metric_group",
    "rows_from_records",
    "csv_text",
    "write_csv",
    "write_parquet",
    "render_summary",
    "evaluate_rows",
    "unparsed_rows",
    "fully_linked_documents",
    "evaluate_end_to_end",
]

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


_LIST_JOIN = re.compile(r"、|和|及|与|以及")


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
        if not _LIST_JOIN.fullmatch(r.text[r.spans[a].end:r.spans[b].start]):
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TARGET_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in TARGET_COLUMNS])
    return "\ufeff" + buffer.getvalue()


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


# --------------------------------------------------------------------------- summary page

KIND_COLORS = {"target": "#e8743b", "value": "#4a7ebb"}


def format_number(x: float | None) -> str:
    """How the page shows a number: 130000000 -> 1.3亿, 47000 -> 4.7万, 6.5 -> 6.5."""
    if x is None:
        return ""
    for scale, word in ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")):
        if abs(x) >= scale:
            return f"{x / scale:.4g}{word}"
    return f"{x:.6g}"


def shown_value(row: TargetRow) -> str:
    """The value cell of a row on the page (and its chart label)."""
    if row.value is None:
        return ""
    text = format_number(row.value)
    if row.value_high is not None:
        text += "–" + format_number(row.value_high)
    return text


def _label(row: TargetRow) -> str:
    return f"{row.place or row.doc_id} {row.year or ''}".strip()


def _chart(rows: list[TargetRow], title: str) -> str:
    """A horizontal bar chart (inline SVG) of the numeric rows of one series."""
    width, label_w, row_h, pad = 720, 230, 22, 30
    top = max((r.value_high if r.value_high is not None else r.value) or 0.0 for r in rows)
    top = top if top > 0 else 1.0
    plot_w = width - label_w - 90
    height = pad + row_h * len(rows) + 10
    parts = [f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="0" y="18" class="chart-title">{html.escape(title)}</text>']
    for i, row in enumerate(rows):
        y = pad + i * row_h
        low = max(row.value or 0.0, 0.0)
        w = plot_w * low / top
        color = KIND_COLORS[row.kind]
        label = f"{_label(row)} · {'目标' if row.kind == 'target' else '实绩'}"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="bar-label">'
                     f'{html.escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.2f}" height="{row_h - 6}" '
                     f'fill="{color}" data-value="{_cell(row.value)}" data-kind="{row.kind}"/>')
        end = w
        if row.value_high is not None:
            w2 = plot_w * max(row.value_high - low, 0.0) / top
            parts.append(f'<rect class="bar-range" x="{label_w + w:.2f}" y="{y + 3}" width="{w2:.2f}" '
                         f'height="{row_h - 6}" fill="{color}" fill-opacity="0.4" '
                         f'data-value="{_cell(row.value_high)}"/>')
            end += w2
        qual = {"approximately": "约", "at least": "≥", "at most": "≤", "over": ">", "under": "<",
                "nearly": "近"}.get(row.qualifier or "", "")
        parts.append(f'<text x="{label_w + end + 4:.2f}" y="{y + 15}" class="bar-value" '
                     f'data-value="{_cell(row.value)}">{html.escape(qual + shown_value(row))}</text>')
    parts.append("</svg>")
    return "".join(parts)


_DIRECTION_ZH = {"increase": "增长", "decrease": "下降", "level": "水平", "limit": "限值",
                 "parity": "持平/同步", None: ""}

_PAGE_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:90%}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.target td:first-child{border-left:4px solid #e8743b} tr.value td:first-child{border-left:4px solid #4a7ebb}
section.metric{border-top:2px solid #ddd;margin-top:1.5em}
.chart-title{font-weight:bold;font-size:13px} .bar-label,.bar-value{font-size:12px}
.legend span{display:inline-block;padding:0 .5em;margin-right:.5em;color:#fff}
#toc{columns:3;font-size:90%} .muted{color:#777}
"""

_PAGE_JS = """
window.__errors = window.__errors || [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
document.addEventListener('DOMContentLoaded', function () {
  try {
    var box = document.getElementById('filter');
    var sections = Array.prototype.slice.call(document.querySelectorAll('section.metric'));
    box.addEventListener('input', function () {
      var q = box.value.trim();
      sections.forEach(function (s) {
        s.style.display = (!q || s.getAttribute('data-metric').indexOf(q) >= 0) ? '' : 'none';
      });
    });
    document.getElementById('shown-sections').textContent = String(sections.length);
  } catch (err) { window.__errors.push(String(err)); }
  document.getElementById('js-errors').textContent = window.__errors.join('\\n');
  document.body.setAttribute('data-ready', '1');
});
"""


def render_summary(rows: Sequence[TargetRow], title: str = "Targets and values") -> str:
    """``summary.html``: per metric group, a chart and a table of every target and
    value across the reports. Self-contained (inline CSS, SVG and script)."""
    groups: dict[str, list[TargetRow]] = defaultdict(list)
    for row in rows:
        groups[row.metric].append(row)
    order = sorted(groups, key=lambda m: (-len({r.doc_id for r in groups[m]}), -len(groups[m]), m))
    docs = sorted({(r.place or "", r.year or 0, r.doc_id) for r in rows})
    unparsed = unparsed_rows(rows)

    out = ['<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n',
           f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n",
           f"<script>{_PAGE_JS}</script>\n</head>\n<body>\n",
           f"<h1>{html.escape(title)}</h1>\n",
           f'<p><span id="row-count">{len(rows)}</span> rows (targets and values linked to a metric or '
           f'project) from <span id="doc-count">{len(docs)}</span> reports, '
           f'<span id="metric-count">{len(groups)}</span> metrics (<span id="shown-sections"></span> '
           f'sections on this page); <span id="unparsed-count">{len(unparsed)}</span> quantities '
           'could not be normalized (listed at the end).</p>\n',
           '<p class="legend"><span style="background:#e8743b">目标 target</span>'
           '<span style="background:#4a7ebb">实绩 value</span></p>\n',
           '<p><label>Filter metrics: <input id="filter" type="search" placeholder="e.g. 生产总值"></label></p>\n',
           '<pre id="js-errors" class="muted"></pre>\n',
           f"<details><summary>Reports ({len(docs)})</summary>\n"
           "<table><tr><th>place</th><th>year</th><th>document</th></tr>\n"]
    for place, year, doc_id in docs:
        out.append(f"<tr><td>{html.escape(place or '(not named)')}</td><td>{year or ''}</td>"
                   f"<td>{html.escape(doc_id)}</td></tr>\n")
    out.append("</table>\n</details>\n<h2>Metrics</h2>\n<ol id=\"toc\">\n")
    for i, metric in enumerate(order):
        out.append(f'<li><a href="#m{i}">{html.escape(metric)}</a> '
                   f'<span class="muted">({len(groups[metric])})</span></li>\n')
    out.append("</ol>\n")

    for i, metric in enumerate(order):
        items = sorted(groups[metric], key=lambda r: (r.place or "", r.year or 0, r.doc_id,
                                                      r.record_id, r.start))
        heads = sorted({r.head for r in items})
        out.append(f'<section class="metric" id="m{i}" data-metric="{html.escape(metric)}">\n'
                   f"<h3>{html.escape(metric)}</h3>\n")
        if heads != [metric]:
            out.append(f'<p class="muted">as written: {html.escape("、".join(heads))}</p>\n')
        series: dict[tuple, list[TargetRow]] = defaultdict(list)
        for row in items:
            if row.parsed and row.value is not None:
                series[(row.direction or "", row.unit or "")].append(row)
        for (direction, unit), srows in sorted(series.items()):
            name = f"{metric} — {_DIRECTION_ZH.get(direction, direction)}{f' ({unit})' if unit else ''}"
            out.append(_chart(srows, name) + "\n")
        out.append('<table class="rows"><tr><th>place</th><th>year</th><th>kind</th><th>as written</th>'
                   "<th>direction</th><th>value</th><th>unit</th><th>qualifier</th><th>baseline / level</th>"
                   "<th>section</th><th>record</th></tr>\n")
        for row in items:
            out.append(
                f'<tr class="{row.kind}" data-record="{html.escape(row.record_id)}" data-start="{row.start}">'
                f"<td>{html.escape(row.place or '')}</td><td>{row.year or ''}</td>"
                f"<td>{'目标' if row.kind == 'target' else '实绩'}</td>"
                f"<td>{html.escape(row.head)} <b>{html.escape(row.text)}</b></td>"
                f"<td>{html.escape(row.direction or '')}</td>"
                f'<td class="num" data-value="{_cell(row.value)}" data-value-high="{_cell(row.value_high)}">'
                f"{html.escape(shown_value(row))}</td>"
                f"<td>{html.escape(row.unit or '')}</td><td>{html.escape(row.qualifier or '')}</td>"
                f"<td>{html.escape(row.baseline or row.level or '')}</td>"
                f"<td>{html.escape(row.section or '')}</td><td>{html.escape(row.record_id)}</td></tr>\n")
        out.append("</table>\n</section>\n")

    out.append('<h2 id="unparsed">Quantities not normalized</h2>\n')
    if unparsed:
        out.append("<table><tr><th>record</th><th>metric</th><th>as written</th><th>problem</th></tr>\n")
        for row in unparsed:
            out.append(f"<tr><td>{html.escape(row.record_id)}</td><td>{html.escape(row.metric)}</td>"
                       f"<td>{html.escape(row.text)}</td><td>{html.escape(row.problem or '')}</td></tr>\n")
        out.append("</table>\n")
    else:
        out.append("<p>None.</p>\n")
    out.append("</body>\n</html>\n")
    return "".join(out)


# --------------------------------------------------------------------------- evaluation


def evaluate_rows(predicted: Iterable[TargetRow], gold: Iterable[TargetRow]) -> dict[str, Any]:
    """Precision / recall / F1 of rows matched on (doc, metric, kind, normalized
    value) as multisets (offsets are not compared)."""
    p = Counter(row.key() for row in predicted)
    g = Counter(row.key() for row in gold)
    tp = sum((p & g).values())
    n_p, n_g = sum(p.values()), sum(g.values())
    precision = tp / n_p if n_p else 0.0
    recall = tp / n_g if n_g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "predicted": n_p, "gold": n_g, "precision": precision, "recall": recall, "f1": f1}


def _with_metadata(records: list[Record], seeds: Path) -> list[Record]:
    """Gold records carry no place/year: read them from the seed report."""
    from .metadata import report_metadata
    from .normalize import normalize
    from .reading import read_report

    cache: dict[str, dict[str, Any]] = {}
    for r in records:
        if "place" not in r.meta and r.doc_id not in cache:
            path = seeds / f"{r.doc_id}.txt"
            meta = report_metadata(normalize(read_report(path)).text) if path.is_file() else None
            cache[r.doc_id] = {"place": meta.place, "year": meta.year} if meta else {}
        for key, value in cache.get(r.doc_id, {}).items():
            r.meta.setdefault(key, value)
    return records


def fully_linked_documents(records: Iterable[Record]) -> list[str]:
    """Documents whose every TARGET/VALUE has a gold link (a complete gold table)."""
    docs: dict[str, bool] = {}
    for r in records:
        linked = {link.tail for link in r.links}
        tails = {k for k, s in enumerate(r.spans) if s.label in ("TARGET", "VALUE")}
        docs[r.doc_id or ""] = docs.get(r.doc_id or "", True) and tails <= linked
    return sorted(d for d, ok in docs.items() if ok)


def evaluate_end_to_end(gold_records: list[Record], seeds: Path, model_dir: str | None = None,
                        ) -> dict[str, Any]:
    """Run the pipeline on the raw reports of the fully linked gold documents and
    compare its rows with the rows of their gold spans and links."""
    from .build import load_pipeline
    from .inference import records_for_report
    from .reading import read_report

    doc_ids = fully_linked_documents(gold_records)
    gold = [r for r in gold_records if r.doc_id in doc_ids]
    gold_rows = rows_from_records(_with_metadata(gold, seeds))
    nlp = load_pipeline(model_dir)
    predicted: list[TargetRow] = []
    for doc_id in doc_ids:
        path = seeds / f"{doc_id}.txt"
        predicted += rows_from_records(records_for_report(nlp, path, read_report(path), doc_id=doc_id))
    return {"documents": doc_ids, **evaluate_rows(predicted, gold_rows)}


def main(argv: list[str] | None = None) -> int:
    from .annotations import read_records, read_splits

    parser = argparse.ArgumentParser(prog="python -m pipeline.targets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rows_p = sub.add_parser("rows", help="write the target table of annotation files")
    rows_p.add_argument("files", nargs="+")
    rows_p.add_argument("--out", required=True, help="CSV file (.parquet for Parquet)")
    ev = sub.add_parser("evaluate", help="links and table against gold, end to end")
    ev.add_argument("--gold", default="annotations/gold")
    ev.add_argument("--splits", default="annotations/splits.json")
    ev.add_argument("--split", default="test")
    ev.add_argument("--seeds", default="seeds")
    ev.add_argument("--model", default=None, help="pipeline folder (default: rule baseline)")
    args = parser.parse_args(argv)

    if args.command == "rows":
        records = [r for f in args.files for r in read_records(f)]
        rows = rows_from_records(_with_metadata(records, Path("seeds")))
        (write_parquet if args.out.endswith(".parquet") else write_csv)(rows, args.out)
        print(f"{len(rows)} rows, {len(unparsed_rows(rows))} not normalized -> {args.out}")
        return 0

    from .linking import link_accuracy

    ids = read_splits(args.splits)[args.split]
    gold = [r for d in ids for r in read_records(Path(args.gold) / f"{d}.jsonl")]
    linked = [r for r in gold if r.links]
    full = [r for r in gold if r.doc_id in fully_linked_documents(gold)]
    result = {
        "split": args.split, "documents": ids,
        "gold_linked_records": len(linked),
        "links": link_accuracy(linked),
        "table_gold_spans_linker": evaluate_rows(
            rows_from_records(_with_metadata(_relinked(full), Path(args.seeds))),
            rows_from_records(_with_metadata(full, Path(args.seeds)))),
        "table_end_to_end": evaluate_end_to_end(gold, Path(args.seeds), args.model),
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def _relinked(records: list[Record]) -> list[Record]:
    """Copies of ``records`` with the linker's links instead of the gold ones."""
    from .linking import link_spans

    return [Record(id=r.id, text=r.text, spans=list(r.spans), doc_id=r.doc_id, meta=dict(r.meta),
                   links=link_spans(r.text, r.spans)) for r in records]


if __name__ == "__main__":
    sys.exit(main())
