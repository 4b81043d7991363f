"""What a TARGET/VALUE number measures, and which year it refers to.

:func:`measure_of` names the kind of number (from its normalized
:class:`~pipeline.tables.quantities.Quantity` and the METRIC it belongs to):

==============  ==========================================================
``growth_pct``  a change in percent: 增长6.5%, 下降3%; also a percent level of a
                metric that is itself a rate of change (居民消费价格涨幅3%左右,
                经济增速6%)
``change_pp``   a change in percentage points: 提高1.2个百分点
``share_pct``   a level in percent or per mille of a metric that is a rate, share or
                ratio (…率, 比重, 占比, 强度, 指数): 城镇化率达到60%, 失业率5.5%以内;
                a percent of an amount (生产总值6.5%左右) is its growth
``count``       a number of things: 10个, 1200家, 11万人
``level``       an amount in any other unit: 830亿元, 1.3万亿斤
``parity``      a comparison without a number: 与经济增长同步
==============  ==========================================================

and ``None`` when the surface has no number (全覆盖) or did not parse.

:func:`period_of` gives the year (or years) a number refers to: a year written
in its sentence before it (``2017年，全市生产总值增长7%``; ``到2025年``; not a
baseline: ``比2010年``, ``较上年``; but ``2007年…比2002年增长65.5%`` is 2003–2007), ``今年``/``去年``, a five-year plan
(``“十四五”时期`` -> 2021–2025); a multi-year figure (``年均``, ``累计`` in the
sentence, or ``五年来``/``过去五年`` earlier in the paragraph: the five years before
the report; ``今后五年``, or a 年均 target outside the review: the five years from
it), else the default: the report year for the plan section, the year
before for the review section and, elsewhere, the report year for a target and
the year before for a value.
"""

from __future__ import annotations

import re

from pipeline.tables.quantities import Quantity, ascii_digits

__all__ = ["MEASURES", "measure_of", "period_of", "period_text", "five_year_plan"]

MEASURES = ("growth_pct", "change_pp", "share_pct", "count", "level", "parity")

COUNT_UNITS = frozenset("个 家 项 所 座 户 人 人次 处 条 名 套 台 辆 件 次 只 头 批 种 宗 栋 幢 期 村 镇 万人".split())
_RATE_METRIC = re.compile(r"(?:涨幅|增幅|增速|增长率|增长速度|增长|上涨|降幅|下降率)$")
_SHARE_METRIC = re.compile(r"(?:率|比重|比例|占比|强度|系数|水平|覆盖面|程度|指数|浓度)$")

_CN_ORDINAL = {"六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12, "十三": 13,
               "十四": 14, "十五": 15, "十六": 16}
_PLAN = re.compile(r"[“\"]?(十[一二三四五六]?|[六七八九])五[”\"]?(?:规划|计划|时期|期间|末|期末|以来|$|[^\u4e00-\u9fff])")
_YEAR = re.compile(r"(?:(?P<y1>(?:19|20)\d{2})\s*[—\-–~至到]\s*)?(?P<y>(?:19|20)\d{2})\s*年")
_BASELINE_BEFORE = re.compile(r"(?:比|较|与|同|相比|相当于|超过|高于|低于|自|从)\s*$")
_SENTENCE_END = "。；！？;!?\n"
_AVERAGE = re.compile(r"年均|年平均|平均每年|累计")  # in the sentence: a multi-year figure
_PAST_FIVE = re.compile(r"五年来|过去五年|过去的五年|五年间|这五年|五年中|五年里")  # in the paragraph
_NEXT_FIVE = re.compile(r"今后五年|未来五年|今后一个时期")


def measure_of(q: Quantity, metric: str | None = None) -> str | None:
    if not q.parsed:
        return None
    if q.direction == "parity":
        return "parity"
    if not q.scaled:
        return None
    if q.unit == "百分点":
        return "change_pp"
    if q.unit in ("%", "‰"):
        if q.direction in ("increase", "decrease"):
            return "growth_pct"
        if metric and (_RATE_METRIC.search(metric) or not _SHARE_METRIC.search(metric)):
            return "growth_pct"  # 涨幅3%; an amount (生产总值) in percent can only be its growth
        return "share_pct"
    if q.direction in ("increase", "decrease") and q.unit is None:
        return "growth_pct" if "%" in q.text or "％" in q.text else None
    if q.unit in COUNT_UNITS:
        return "count"
    return "level"


def five_year_plan(ordinal: str) -> tuple[int, int] | None:
    """十四 -> (2021, 2025); 六 -> (1981, 1985)."""
    n = _CN_ORDINAL.get(ordinal)
    if n is None:
        return None
    start = 1981 + 5 * (n - 6)
    return start, start + 4


def period_of(text: str, start: int, *, report_year: int | None, section: str | None,
              kind: str) -> tuple[int, int] | None:
    """The (first, last) year the number at ``text[start:]`` refers to (see the
    module docstring), or ``None`` without a report year or a written year."""
    begin = max(text.rfind(ch, 0, start) for ch in _SENTENCE_END) + 1
    before = ascii_digits(text[begin:start])  # １９９７年 -> 1997年 (one character for one)
    found: tuple[int, int] | None = None
    at = -1
    for m in _YEAR.finditer(before):
        if _BASELINE_BEFORE.search(before[:m.start()]):
            continue
        y = int(m.group("y"))
        found, at = ((int(m.group("y1")), y) if m.group("y1") else (y, y)), m.start()
    for m in _PLAN.finditer(before):
        if m.start() > at and not _BASELINE_BEFORE.search(before[:m.start()]):
            plan = five_year_plan(m.group(1))
            if plan:
                found, at = plan, m.start()
    if report_year is not None:
        for word, offset in (("今年", 0), ("明年", 1), ("去年", -1)):
            k = before.rfind(word)
            if k > at and not _BASELINE_BEFORE.search(before[:k]):
                found, at = (report_year + offset,) * 2, k
    if found is not None:
        # 2007年…比2002年增长65.5%: a change over several years
        base = [int(m.group("y")) for m in _YEAR.finditer(before)
                if m.start() > at and _BASELINE_BEFORE.search(before[:m.start()])]
        if base and base[-1] < found[0] - 1:
            return base[-1] + 1, found[1]
        return found
    if report_year is None:
        return None
    past, future = (report_year - 5, report_year - 1), (report_year, report_year + 4)
    ahead = kind == "target" and section != "review"
    if _AVERAGE.search(before):
        return future if ahead else past
    paragraph = text[:start]
    last_past = max((m.start() for m in _PAST_FIVE.finditer(paragraph)), default=-1)
    last_next = max((m.start() for m in _NEXT_FIVE.finditer(paragraph)), default=-1)
    if last_next > last_past:
        return future
    if last_past >= 0:
        return past
    if section == "plan":
        return report_year, report_year
    if section == "review" or kind == "value":
        return report_year - 1, report_year - 1
    return report_year, report_year


def period_text(period: tuple[int, int] | None) -> str | None:
    """(2021, 2021) -> "2021"; (2021, 2025) -> "2021-2025"."""
    if period is None:
        return None
    return str(period[0]) if period[0] == period[1] else f"{period[0]}-{period[1]}"
