"""``summary.html``: every metric's targets and values across the reports, as a
table and a bar chart per metric group (self-contained: inline CSS, SVG and
script; renders offline)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence

from pipeline.tables.targets import TargetRow, _cell, unparsed_rows

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
