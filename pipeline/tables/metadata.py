"""Place and year of a government work report, from its title and opening lines.

:func:`report_metadata` reads the *normalized* text of one report and returns
:class:`ReportMetadata` (``place``, ``year``, and where each came from).

``year`` is the year of the report: the year of the people's congress session
it is delivered to, whose targets it sets (``2021年保定市政府工作报告`` reviews
2020 and plans 2021 -> 2021). ``place`` is the most specific administrative
unit named (``2021年北京市石景山区政府工作报告`` -> 石景山区), ``全国`` for the
State Council's report.

Where they are looked for, first hit wins:

place
    1. the title line (``…政府工作报告`` / ``…工作报告`` within the first lines);
    2. the session line (``在保定市第十五届人民代表大会``, ``第十三届全国人民代表大会``);
    3. the speaker line (``北京市东城区人民政府代区长``, ``国务院总理``) or
       ``我代表蠡县人民政府`` (``我代表容城县第十四届人民政府``);
    4. the body: ``我国`` used often (the State Council's report, 全国), else a full name (``门头沟区``, ``易县``) of the report's level
       (the most frequent of 全县/全区/全市/全省) named at least twice. Reports
       whose text never names their place get ``None``.
year
    1. the title (``2021年…政府工作报告``; ``2021年度工作报告`` is the annual
       report *on* 2021, delivered in 2022 -> 2022);
    2. the session date in the opening lines (``2021年3月5日在…``, ``（2017年2月26日）``);
    3. the opening proposal of old national reports (``向大会提出关于1980、1981年国民经济
       计划安排的报告`` -> 1980);
    4. the first review heading (``一、2019年工作回顾``, ``一、1993年国内工作的回顾`` -> the
       year after) or plan heading (``2020年政府工作的总体要求``, ``二、2022年工作安排``,
       ``三、对2018年政府工作的建议``, ``三、2011年的工作``, ``二、2005年工作总体部署`` -> that year);
    5. a line opening ``2001年是…实施“十五”计划的第一年`` (…开局之年) -> that year;
    6. ``刚刚过去的1984年`` -> 1985; ``向第六届全国人民代表大会第一次会议作…报告`` -> 1983; ``第十一届全国人民代表大会第一次会议以来的五年`` -> 2013.

Full-width digits (``１９９３年``) count as digits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ReportMetadata", "report_metadata", "place_unit"]

OPENING_LINES = 12

_CJK = r"\u4e00-\u9fff"
# Administrative units, longest suffix first.
_UNIT = re.compile(rf"[{_CJK}]+?(?:自治区|自治州|自治县|特别行政区|省|市|州|盟|县|区|旗)")
_UNIT_WORDS = ("自治区", "自治州", "自治县", "省", "市", "州", "盟", "县", "区", "旗")
_ZONE = re.compile(rf"^[{_CJK}]{{2,12}}(?:开发区|新区|高新区|管委会)$")

_TITLE = re.compile(
    rf"^(?:标题[：:])?(?:(?P<y1>\d{{4}})年(?P<d1>度)?)?(?P<place>[{_CJK}]{{2,24}}?)"
    rf"(?:(?P<y2>\d{{4}})年(?P<d2>度)?)?(?:人民)?(?:政府)?工作报告"
)
_SESSION = re.compile(rf"在(?P<place>[{_CJK}]{{1,20}}?)第[一二三四五六七八九十]+届(?P<nat>全国)?人民代表大会")
_NATIONAL = re.compile(r"第[一二三四五六七八九十]+届全国人民代表大会|国务院总理|我代表国务院|受国务院的委托")
_SPEAKER = re.compile(rf"(?P<place>[{_CJK}]{{2,20}}?)人民政府(?:代理|代)?(?:区长|县长|市长|省长|主席|旗长|州长)")
_ON_BEHALF = re.compile(rf"我代表(?P<place>[{_CJK}]{{2,20}}?)(?:第[一二三四五六七八九十]+届)?人民政府")
_DATE = re.compile(r"(?P<y>(?:19|20)\d{2})年\d{1,2}月\d{1,2}日")
_REVIEW = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分)?(?P<y>(?:19|20)\d{2})年"
                     r"(?:[^，。]{0,6}?工作的?)?回顾")
_PLAN = re.compile(
    r"^(?:[一二三四五六七八九十]+、)?对?(?P<y>(?:19|20)\d{2})年(?:政府)?(?:工作的总体要求|工作安排|主要预期目标|"
    r"工作总体要求|工作的?总体部署|主要任务|重点工作|经济社会发展的主要预期目标|经济社会发展的任务|工作的建议|经济社会发展总体要求|的工作$)"
)
# Older national reports state their year only in the body:
_PROPOSAL = re.compile(r"向大会提出关于(?P<y>(?:19|20)\d{2})")  # 提出关于1980、1981年国民经济计划… -> 1980
# 2006年是实施“十一五”规划的第一年 (the year of the report, when no heading dates it)
_FIRST_YEAR = re.compile(r"^(?P<y>(?:19|20)\d{2})年是[^。]{0,30}(?:第一年|开局之年|起步之年)")
_JUST_PAST = re.compile(r"刚刚过去的(?P<y>(?:19|20)\d{2})年")  # 刚刚过去的1984年 -> 1985
_NPC_TERM = re.compile(r"第(?P<n>[一二三四五六七八九十]+)届全国人民代表大会第一次会议以来的五年")
# 向第六届全国人民代表大会第一次会议作政府工作报告: the session the report is delivered to
_TO_SESSION = re.compile(r"向第(?P<n>[一二三四五六七八九十]+)届全国人民代表大会第(?P<k>[一二三四五])次会议")
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九", 1)}
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_GENERIC = ("全", "我", "本", "各", "该", "此", "区", "县", "市", "省", "城", "社", "地", "景", "园", "街",
            "山", "库", "片", "辖", "矿", "新", "老", "大", "小", "开发", "示范", "功能", "集聚", "文明",
            "先行", "试验", "保护", "产业", "城市", "农村", "乡村", "都", "超", "上", "两", "三", "四")


@dataclass(frozen=True)
class ReportMetadata:
    place: str | None
    year: int | None
    place_from: str | None = None
    year_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def place_unit(name: str) -> str:
    """The most specific unit of a place string: 北京市石景山区 -> 石景山区,
    保定市满城区 -> 满城区, 北京经济技术开发区管委会 -> 北京经济技术开发区."""
    name = re.sub(r"(?:人民政府|政府|管委会|管理委员会)$", "", name)
    start, last = 0, name
    for i, ch in enumerate(name):
        # split after a unit word that is followed by another unit (>= 2 chars)
        if ch in "省市县区旗盟" and i - start >= 1 and len(name) - (i + 1) >= 2 \
                and name.endswith(_UNIT_WORDS):
            start = i + 1
            last = name[start:]
    return last


def _valid_place(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip("—-：:，, ")
    if len(name) < 2 or name[0] in "在我本该县区市省" or not name.endswith(_UNIT_WORDS + ("全国",)):
        return None
    return name


def _opening(text: str) -> list[str]:
    lines = [re.sub(r"\s+", "", line).translate(_FULLWIDTH_DIGITS) for line in text.split("\n")]
    return [line for line in lines if line][:OPENING_LINES]


def report_metadata(text: str) -> ReportMetadata:
    """Place and year of one report (normalized text; see the module docstring)."""
    lines = _opening(text)
    place, place_from = _place(lines, text)
    year, year_from = _year(lines, text)
    return ReportMetadata(place, year, place_from, year_from)


def _place(lines: list[str], text: str) -> tuple[str | None, str | None]:
    for line in lines:
        m = _TITLE.match(line)
        if m and not line.startswith("政府工作报告"):
            candidate = place_unit(m.group("place"))
            if _valid_place(candidate):
                return candidate, "title"
    for line in lines:
        if _NATIONAL.search(line):
            return "全国", "session"
        m = _SESSION.search(line)
        if m:
            candidate = _valid_place(place_unit(m.group("place")))
            if candidate:
                return candidate, "session"
    for line in lines:
        for pattern in (_SPEAKER, _ON_BEHALF):
            m = pattern.search(line)
            if m:
                candidate = _valid_place(place_unit(m.group("place")))
                if candidate:
                    return candidate, "speaker"
    if text.count("我国") >= NATIONAL_WE and not _ON_BEHALF.search(text):
        return "全国", "body"
    body = _body_place(text)
    return (body, "body") if body else (None, None)


NATIONAL_WE = 8
"""``我国`` ("our country") this often marks the State Council's report (in the seeds:
national reports 9–70 times, provincial and local ones at most 2)."""


_NOT_PLACE_END = ("示范区", "开发区", "小区", "分区", "厂区", "郊区", "市区", "灾区", "农区", "营区", "社区", "街区", "城区", "地区", "园区", "景区", "新区", "库区",
                  "片区", "山区", "辖区", "矿区", "功能区", "集聚区", "先行区", "试验区", "保护区",
                  "核心区", "商务区", "服务区", "校区", "院区", "湾区", "林区", "大县", "强县", "培育县",
                  "示范县", "贫困县", "园林县", "卫生县", "重点县", "立县", "兴县", "城市", "超市", "上市", "门市", "都市", "集市", "大市")
_GENERIC_BEFORE_LEVEL = ("全", "本", "该", "各", "我", "此")  # 全县, 本县: the level itself
_AFTER_NOT_PLACE = "委政人长级属域直辖内外城乡、"  # 县城, 县乡, 县、乡: the level, not a name


def _body_place(text: str) -> str | None:
    """A full name of the report's own level, named at least twice in the text and more
    often than any other name of that level; else ``None``."""
    m = re.search(r"我代表(?:本届)?([县区市省])(?:人民)?政府", text)
    if m:
        level = m.group(1)
    else:
        levels = Counter({c: text.count("全" + c) for c in "县区市省"})
        level, n = levels.most_common(1)[0]
        if n == 0:
            return None
    counts: Counter[str] = Counter()
    for m in re.finditer(level, text):
        i = m.start()
        if text[i + 1:i + 2] and text[i + 1] in _AFTER_NOT_PLACE:
            continue
        if text[max(0, i - 3):i + 1].endswith(_NOT_PLACE_END):
            continue
        for k in range(1, 5):
            prefix = text[max(0, i - k):i]
            if len(prefix) < k or not re.fullmatch(rf"[{_CJK}]+", prefix) or "的" in prefix \
                    or (k > 1 and prefix.endswith(_GENERIC_BEFORE_LEVEL)):
                break  # a name holds no 的 (超5000万元的县); 完成全县 is 完成 + 全县
            name = prefix + level
            if prefix.startswith(_GENERIC):
                continue
            counts[name] += 1
    best = [(c, len(name), name) for name, c in counts.items() if c >= 2]
    if not best:
        return None
    # Longest name among the most frequent ones (门头沟区 over 头沟区 and 沟区); when other,
    # unrelated names are as frequent (提升县 / 抓好县 / 完善县, each twice), none is taken.
    top = max(c for c, _, _ in best)
    name = max((length, name) for c, length, name in best if c == top)[1]
    if any(c == top and not name.endswith(other) for c, _, other in best):
        return None
    return name


def _year(lines: list[str], text: str) -> tuple[int | None, str | None]:
    for line in lines:
        m = _TITLE.match(line)
        if m and (m.group("y1") or m.group("y2")):
            year = int(m.group("y1") or m.group("y2"))
            annual = m.group("d1") if m.group("y1") else m.group("d2")
            return (year + 1, "title (annual report on the year before)") if annual else (year, "title")
    for line in lines:
        m = _DATE.search(line)
        if m and ("人民代表大会" in line or re.fullmatch(r"[（(]?\d{4}年\d{1,2}月\d{1,2}日[）)]?", line)
                  or "人民代表大会" in "".join(lines)):
            return int(m.group("y")), "session date"
    opening = "".join(lines)
    m = _PROPOSAL.search(opening)
    if m:
        return int(m.group("y")), "proposal in the opening lines"
    first_year = None  # a heading anywhere wins over 2001年是…的第一年: one pass, kept for after it
    for line in text.split("\n"):
        line = re.sub(r"\s+", "", line).translate(_FULLWIDTH_DIGITS)
        m = _REVIEW.match(line)
        if m:
            return int(m.group("y")) + 1, "review heading"
        m = _PLAN.match(line)
        if m:
            return int(m.group("y")), "plan heading"
        first_year = first_year or _FIRST_YEAR.match(line)
    if first_year:
        return int(first_year.group("y")), "the first year of a plan"
    m = _JUST_PAST.search(opening)
    if m:
        return int(m.group("y")) + 1, "the year just past"
    m = _TO_SESSION.search(opening)
    if m:
        return _npc_first_session(m.group("n")) + _CN_DIGITS[m.group("k")] - 1, "the session it is delivered to"
    m = _NPC_TERM.search(opening)
    if m:
        return _npc_first_session(m.group("n")) + 5, "five years since the NPC's first session"
    return None, None


def _npc_first_session(numeral: str) -> int:
    """Year of the first session of the N-th National People's Congress (5th: 1978,
    then every five years)."""
    n = _CN_DIGITS.get(numeral[-1], 0) if numeral != "十" else 10
    if numeral.startswith("十"):
        n += 10 if len(numeral) > 1 else 0
    elif len(numeral) > 1:  # 二十, 二十一
        n = _CN_DIGITS[numeral[0]] * 10 + (_CN_DIGITS.get(numeral[2], 0) if len(numeral) > 2 else 0)
    return 1978 + 5 * (n - 5)
