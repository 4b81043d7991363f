"""``summary.html``: the answer first, then every metric.

The page opens with what analysts ask: (1) a **headline matrix**, canonical
indicator × report, each cell the report's target for its year and the value it
reports for the year before; (2) **attainment**: per place and indicator the
share of targets met (yes / (yes + no)), a target-vs-actual chart over the
years for each place, and the joined rows of ``attainment.csv``. Behind a
search box follow (3) all metrics, each with a chart and a table of its rows,
and (4) the quantities that could not be normalized. Self-contained (inline
CSS, SVG and script); renders offline."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence

from pipeline.tables.attainment import AttainmentRow
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
td.cell{min-width:7em;font-size:85%} .t{color:#b4501c} .v{color:#2d5f9e}
td.met-yes{background:#e3f4e1} td.met-no{background:#fbe3e0} td.met-unclear{background:#f3f3f3}
svg.trend{margin:0 1em 1em 0;border:1px solid #eee}
"""

_PAGE_JS = """
window.__errors = window.__errors || [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
document.addEventListener('DOMContentLoaded', function () {
  try {
    var box = document.getElementById('filter');
    var sections = Array.prototype.slice.call(document.querySelectorAll('section.metric'));
    var shown = document.getElementById('shown-sections');
    function filter() {
      var q = box.value.trim(), n = 0;
      sections.forEach(function (s) {
        var on = q ? s.getAttribute('data-metric').indexOf(q) >= 0 : s.hasAttribute('data-headline');
        s.style.display = on ? '' : 'none';
        if (on) { n += 1; }
      });
      shown.textContent = String(n);
    }
    box.addEventListener('input', filter);
    filter();
  } catch (err) { window.__errors.push(String(err)); }
  document.getElementById('js-errors').textContent = window.__errors.join('\\n');
  document.body.setAttribute('data-ready', '1');
});
"""


def _item(row: TargetRow) -> str:
    """One target or value in a matrix cell, carrying its number for checks."""
    cls = "t" if row.kind == "target" else "v"
    word = "目标" if row.kind == "target" else "实绩"
    return (f'<div class="{cls}" data-record="{html.escape(row.record_id)}" data-start="{row.start}" '
            f'data-value="{_cell(row.value)}">{word} {html.escape(row.text)}</div>')


def _matrix(rows: Sequence[TargetRow], docs: list[tuple[str, int, str]]) -> list[str]:
    """Headline indicator × report: the report's first target for its own year
    and its first value for the year before."""
    cells: dict[tuple[str, str], dict[str, TargetRow]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in rows:
        if not row.indicator or not isinstance(row.year, int) or row.period_start != row.period_end:
            continue
        wanted = ("target", row.year) if row.kind == "target" else ("value", row.year - 1)
        if (row.kind, row.period_start) == wanted:
            cells[(row.indicator, row.doc_id)].setdefault(row.kind, row)
            names[row.indicator] = row.indicator_name or row.indicator
    if not cells:
        return ["<p>No target or value matched a headline indicator.</p>\n"]
    used = sorted(names, key=lambda k: (-sum(1 for (i, _d) in cells if i == k), k))
    cols = [d for d in docs if any((k, d[2]) in cells for k in used)]
    out = ['<table id="matrix"><tr><th>indicator</th>'
           + "".join(f"<th>{html.escape(place or doc_id)} {year or ''}</th>" for place, year, doc_id in cols)
           + "</tr>\n"]
    for key in used:
        out.append(f'<tr data-indicator="{html.escape(key)}"><th>{html.escape(names[key])}</th>')
        for _place, _year, doc_id in cols:
            got = cells.get((key, doc_id), {})
            out.append('<td class="cell">' + "".join(_item(got[k]) for k in ("target", "value") if k in got)
                       + "</td>")
        out.append("</tr>\n")
    out.append("</table>\n")
    return out


def _trend(place: str, name: str, items: Sequence[AttainmentRow]) -> str:
    """Target (orange) vs actual (blue) over the years of one place and indicator (inline SVG)."""
    items = sorted(items, key=lambda a: a.year)
    values = [v for a in items for v in (a.target_low, a.target_high, a.actual_value) if v is not None]
    top, bottom = max(values + [0.0]), min(values + [0.0])
    span = (top - bottom) or 1.0
    group, bar, h, base_y = 56, 20, 120, 150
    width = 40 + group * len(items)
    parts = [f'<svg class="trend" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="190" '
             f'viewBox="0 0 {width} 190"><title>{html.escape(place + " " + name)}</title>'
             f'<text x="4" y="14" class="chart-title">{html.escape(name)}</text>']
    zero = base_y - h * (0 - bottom) / span
    for i, a in enumerate(items):
        x = 30 + group * i
        target = a.target_low if a.target_low is not None else a.target_high
        for k, (v, color, what) in enumerate(((target, KIND_COLORS["target"], "target"),
                                              (a.actual_value, KIND_COLORS["value"], "actual"))):
            if v is None:
                continue
            y = base_y - h * (v - bottom) / span
            top_y, height = min(y, zero), abs(zero - y)
            parts.append(f'<rect x="{x + k * bar}" y="{top_y:.1f}" width="{bar - 2}" height="{max(height, 1):.1f}" '
                         f'fill="{color}" data-{what}="{_cell(v)}" data-year="{a.year}"/>')
            parts.append(f'<text x="{x + k * bar + bar / 2 - 1:.1f}" y="{top_y - 3:.1f}" text-anchor="middle" '
                         f'class="bar-value">{html.escape(format_number(v))}</text>')
        mark = {"yes": "✓", "no": "✗"}.get(a.met, "?")
        parts.append(f'<text x="{x + bar}" y="{base_y + 18}" text-anchor="middle" class="bar-label">'
                     f'{a.year} {mark}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _attainment(met: Sequence[AttainmentRow]) -> list[str]:
    if not met:
        return ["<p>No target could be joined with a later report's value: attainment needs at least two "
                "consecutive reports of one place.</p>\n"]
    rates: dict[tuple[str, str], list[AttainmentRow]] = defaultdict(list)
    for a in met:
        rates[(a.place, a.indicator_name)].append(a)
    out = ['<table id="rates"><tr><th>place</th><th>indicator</th><th>met</th><th>not met</th>'
           "<th>unclear</th><th>rate</th></tr>\n"]
    for (place, name), items in sorted(rates.items()):
        yes, no = sum(a.met == "yes" for a in items), sum(a.met == "no" for a in items)
        unclear = len(items) - yes - no
        rate = f"{yes / (yes + no):.0%}" if yes + no else "–"
        out.append(f'<tr><td>{html.escape(place)}</td><td>{html.escape(name)}</td><td class="num">{yes}</td>'
                   f'<td class="num">{no}</td><td class="num">{unclear}</td><td class="num">{rate}</td></tr>\n')
    out.append("</table>\n")
    for place in sorted({a.place for a in met}):
        out.append(f"<h3>{html.escape(place)}</h3>\n<div>")
        for (p, name), items in sorted(rates.items()):
            if p == place:
                out.append(_trend(place, name, items))
        out.append("</div>\n")
    out.append('<table id="attainment"><tr><th>place</th><th>indicator</th><th>year</th><th>target</th>'
               "<th>low</th><th>high</th><th>actual</th><th>value</th><th>unit</th><th>met</th>"
               "<th>target report</th><th>actual report</th></tr>\n")
    for a in met:
        out.append(f'<tr data-met="{a.met}"><td>{html.escape(a.place)}</td><td>{html.escape(a.indicator_name)}</td>'
                   f"<td>{a.year}</td><td>{html.escape(a.target_text)}</td>"
                   f'<td class="num">{_cell(a.target_low)}</td><td class="num">{_cell(a.target_high)}</td>'
                   f'<td>{html.escape(a.actual_text)}</td><td class="num">{_cell(a.actual_value)}</td>'
                   f"<td>{html.escape(a.unit or '')}</td><td class=\"met-{a.met}\">{a.met}</td>"
                   f"<td>{html.escape(a.target_report)}</td><td>{html.escape(a.actual_report)}</td></tr>\n")
    out.append("</table>\n")
    return out


def render_summary(rows: Sequence[TargetRow], met: Sequence[AttainmentRow] = (),
                   title: str = "Targets and values") -> str:
    """``summary.html`` (see the module docstring) from the rows of ``targets.csv``
    and of ``attainment.csv``."""
    groups: dict[str, list[TargetRow]] = defaultdict(list)
    for row in rows:
        groups[row.metric].append(row)
    headline = {m for m, items in groups.items() if any(r.indicator for r in items)}
    order = sorted(groups, key=lambda m: (m not in headline, -len({r.doc_id for r in groups[m]}),
                                          -len(groups[m]), m))
    docs = sorted({(r.place or "", r.year or 0, r.doc_id) for r in rows})
    unparsed = unparsed_rows(rows)

    out = ['<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n',
           f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n",
           f"<script>{_PAGE_JS}</script>\n</head>\n<body>\n",
           f"<h1>{html.escape(title)}</h1>\n",
           f'<p><span id="row-count">{len(rows)}</span> rows (targets and values linked to a metric or '
           f'project) from <span id="doc-count">{len(docs)}</span> reports; '
           f'<span id="headline-count">{len(headline)}</span> headline indicators, '
           f'<span id="metric-count">{len(groups)}</span> metrics in all; '
           f'<span id="attainment-count">{len(met)}</span> targets joined with a later actual; '
           f'<span id="unparsed-count">{len(unparsed)}</span> quantities '
           'could not be normalized (listed at the end).</p>\n',
           '<p class="legend"><span style="background:#e8743b">目标 target</span>'
           '<span style="background:#4a7ebb">实绩 value</span></p>\n',
           '<pre id="js-errors" class="muted"></pre>\n',
           "<h2>Headline indicators by report</h2>\n"]
    out += _matrix(rows, docs)
    out.append("<h2>Targets met</h2>\n")
    out += _attainment(met)
    out.append(f"<details><summary>Reports ({len(docs)})</summary>\n"
               "<table><tr><th>place</th><th>year</th><th>document</th></tr>\n")
    for place, year, doc_id in docs:
        out.append(f"<tr><td>{html.escape(place or '(not named)')}</td><td>{year or ''}</td>"
                   f"<td>{html.escape(doc_id)}</td></tr>\n")
    out.append("</table>\n</details>\n<h2>All metrics</h2>\n"
               '<p><label>Search metrics: <input id="filter" type="search" placeholder="e.g. 生产总值"></label> '
               '<span class="muted">(<span id="shown-sections"></span> shown; without a query, the headline '
               'indicators)</span></p>\n<details><summary>Index of all metrics</summary><ol id="toc">\n')
    for i, metric in enumerate(order):
        out.append(f'<li><a href="#m{i}">{html.escape(metric)}</a> '
                   f'<span class="muted">({len(groups[metric])})</span></li>\n')
    out.append("</ol></details>\n")

    for i, metric in enumerate(order):
        items = sorted(groups[metric], key=lambda r: (r.place or "", r.year or 0, r.doc_id,
                                                      r.record_id, r.start))
        heads = sorted({r.head for r in items})
        flag = " data-headline" if metric in headline else ""
        out.append(f'<section class="metric" id="m{i}" data-metric="{html.escape(metric)}"{flag}>\n'
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
