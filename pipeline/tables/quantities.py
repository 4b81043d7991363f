"""Normalize a TARGET / VALUE surface into numbers, unit, direction and qualifier.

:func:`parse_quantity` reads the text of one TARGET or VALUE span (spec rule 2:
an optional change/limit word from the closed list, a number with its unit
and qualifier, a range, a named comparison, or a level without a numeral) and
returns a :class:`Quantity`. Nothing is guessed: a surface that does not fit
one of the shapes below comes back with ``parsed=False`` and a ``problem``
saying why, and callers report it.

Fields of :class:`Quantity`
---------------------------
``direction``
    ``increase`` / ``decrease`` (the number is a change: 增长6%, 下降3.7%,
    提高2个百分点), ``level`` (the number is a level: 830亿元, 达到90%,
    提高到65%, 保持在1.3万亿斤以上, 全覆盖), ``limit`` (a bound: 控制在4.5%以内,
    不少于20个, 4.5%以内, 低于3%) or ``parity`` (与2019年持平,
    与经济增长保持同步, whose ``baseline`` names what it is compared with).
``values``
    the numbers as written (Arabic or Chinese numerals), two for a range
    (6.0%—6.5%, 1到2个); ``scale`` is the magnitude written with them
    (万 = 1e4, 亿 = 1e8, 万亿 = 1e12, 千亿 …) and ``scaled`` the values with
    it applied (1.3亿元 -> values (1.3,), scale 1e8, scaled (130000000.0,),
    unit 元). ``成`` (tenths) is turned into ``%``.
``unit``
    the unit with its magnitude removed and a few spellings unified
    (％ -> %, 个百分点 -> 百分点, 平米 -> 平方米); ``None`` when the number has
    none (a number that borrows its unit from the next one: 高于全省22.7和
    28.8个百分点, or money written without 元: 超10亿). Only units in
    :data:`UNITS` are accepted.
``qualifier``
    ``approximately`` (左右, 约, 基本), ``at least`` (以上, 不少于, 不低于),
    ``at most`` (以内, 以下, 不超过, 不高于, 控制在 without a suffix), ``over``
    (超, 超过, 突破, 余, 多, 上亿, 高于), ``under`` (不到, 低于), ``nearly`` (近)
    or ``None``.
``baseline``
    for ``parity`` and the named comparisons (达到北京市要求, 完成市级下达的任务,
    高于“十三五”时期实际): what the quantity is compared with.
``verb``
    the change or limit word as written (增长, 控制在 …), or ``None``.
``level``
    a level stated without a numeral (全覆盖, 清零, Ⅲ类及以上 -> "III类"), when
    there is no number to give.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Quantity",
    "UNITS",
    "parse_quantity",
    "chinese_number",
    "surface_shape",
]

DIRECTIONS = ("increase", "decrease", "level", "limit", "parity")
QUALIFIERS = ("approximately", "at least", "at most", "over", "under", "nearly")


@dataclass(frozen=True)
class Quantity:
    """One TARGET/VALUE surface, normalized (see the module docstring)."""

    text: str
    direction: str | None = None
    values: tuple[float, ...] = ()
    scale: float = 1.0
    unit: str | None = None
    scaled: tuple[float, ...] = ()
    qualifier: str | None = None
    baseline: str | None = None
    level: str | None = None
    parsed: bool = True
    problem: str | None = None
    unit_text: str | None = field(default=None, compare=False)
    verb: str | None = field(default=None, compare=False)

    @property
    def low(self) -> float | None:
        return self.scaled[0] if self.scaled else None

    @property
    def high(self) -> float | None:
        return self.scaled[-1] if self.scaled else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> tuple:
        """What two quantities must share to count as the same normalized value."""
        return (self.direction, tuple(round(v, 6) for v in self.scaled), self.unit,
                self.qualifier, self.baseline, self.level)


# --------------------------------------------------------------------------- numbers

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10**4, "亿": 10**8}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL) + "".join(_CN_BIG)


def chinese_number(text: str) -> int:
    """Value of a Chinese numeral (七 7, 十五 15, 二十三 23, 百 100, 千亿 1e11,
    百万亿 1e14, 三千五百 3500); raises ``ValueError`` for anything else."""
    if not text or any(ch not in CN_NUMERAL_CHARS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total = 0      # everything up to the last 万/亿
    section = 0    # the part since then (below 万)
    digit = None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None and digit != 0:
                raise ValueError(f"two digits in a row in {text!r}")
            digit = _CN_DIGITS[ch]
        elif ch in _CN_SMALL:
            section += (1 if digit is None else digit) * _CN_SMALL[ch]
            digit = None
        elif ch == "万":
            part = section + (digit or 0)
            total += (part or 1) * 10**4
            section, digit = 0, None
        else:  # 亿 multiplies everything before it (百万亿 = 1e14, 万亿 = 1e12)
            total = (total + section + (digit or 0) or 1) * 10**8
            section, digit = 0, None
    return total + section + (digit or 0)


# Magnitudes written after an Arabic number (longest first). 千 only when it
# does not start a unit (千瓦, 千米, 千克, 千伏, 千帕).
_SCALES = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "十亿": 1e9, "千万": 1e7, "百万": 1e6,
           "十万": 1e5, "亿": 1e8, "万": 1e4, "千": 1e3}
_SCALE_RE = r"(?:万亿|千亿|百亿|十亿|千万|百万|十万|亿|万|千(?![瓦米克伏帕]))"

# Units (as written -> normalized). A unit not listed here is reported.
UNITS: dict[str, str] = {
    "%": "%", "％": "%", "‰": "‰", "个百分点": "百分点", "百分点": "百分点", "成": "%",
    "个千分点": "千分点", "千分点": "千分点",
    "元": "元", "美元": "美元", "倍": "倍",
    "人": "人", "人次": "人次", "名": "名", "户": "户", "家": "家", "个": "个", "项": "项",
    "项次": "项次", "条": "条", "处": "处", "件": "件", "所": "所", "套": "套", "台套": "台套",
    "座": "座", "栋": "栋", "辆": "辆", "场": "场", "次": "次", "张": "张", "部": "部",
    "台": "台", "类": "类", "个类别": "类别", "类别": "类别", "块": "块", "剂": "剂",
    "剂次": "剂次", "株": "株", "例": "例", "根": "根", "头": "头", "起": "起", "批次": "批次",
    "批": "批", "种": "种", "眼": "眼", "大": "大", "只": "只", "间": "间", "口": "口",
    "支": "支", "位": "位", "篇": "篇", "宗": "宗", "场次": "场次", "家次": "家次",
    "户次": "户次", "件次": "件次",
    "天": "天", "年": "年", "岁": "岁", "个月": "月", "小时": "小时", "工作日": "工作日",
    "个工作日": "工作日",
    "亩": "亩", "公顷": "公顷", "平方米": "平方米", "平米": "平方米", "平方公里": "平方公里",
    "公里": "公里", "千米": "公里", "米": "米", "立方米": "立方米", "吨": "吨", "斤": "斤",
    "公斤": "公斤", "千克": "公斤", "千瓦": "千瓦", "千瓦时": "千瓦时", "兆瓦": "兆瓦",
    "千伏": "千伏", "微克/立方米": "微克/立方米", "重量箱": "重量箱", "标箱": "标箱",
    # older reports and rarer counters
    "度": "千瓦时", "马力": "马力", "吨煤": "吨标准煤", "吨标准煤": "吨标准煤", "克": "克",
    "方": "立方米", "门": "门", "期": "期", "轮": "轮", "列": "列", "棵": "棵", "盏": "盏",
    "对": "对", "架": "架", "处次": "处次", "个批次": "批次", "大项": "项", "小项": "项",
    "件（条）": "件", "枚": "枚", "棒": "棒", "单": "单", "工作小时": "工作小时",
    "个工作小时": "工作小时", "箱": "箱", "册": "册", "款": "款", "路": "路",
    "吨/月·平方公里": "吨/月·平方公里", "吨公里": "吨公里", "人公里": "人公里",
    "吨标煤": "吨标准煤", "标准箱": "标箱", "架次": "架次", "台(件)": "台", "台（件）": "台",
    "千瓦小时": "千瓦时", "MW": "兆瓦",
    # money below the 元 (grain purchase prices: 每斤提高3分、5分和1毛钱), kept as written
    "分": "分", "分钱": "分", "毛": "角", "毛钱": "角", "角": "角",
    "档": "档", "条段": "条段",  # 由四档税率简并至三档; 在建高速公路16条段
    "道": "道", "印张": "印张", "册（张）": "册",  # 五道手续; 四百五十六亿印张; 二百三十九亿册（张）
}
_UNIT_RE = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))

# Change / limit words (spec rule 2, closed list, with their 到/至 forms), and
# what they say: (direction, qualifier).
_VERBS: dict[str, tuple[str, str | None]] = {}
for _w in ("增长", "提高", "增加", "提升"):
    _VERBS[_w] = ("increase", None)
for _w in ("下降", "降低", "减少"):
    _VERBS[_w] = ("decrease", None)
for _w in ("增长到", "增长至", "提高到", "提高至", "提升到", "提升至", "增加到", "增加至", "增至",
           "下降到", "下降至", "降低到", "降低至", "降到", "降至", "减少到", "减少至",
           "达到", "达", "保持在", "稳定在", "保持", "稳定在"):
    _VERBS[_w] = ("level", None)
for _w in ("突破", "超过", "超", "过", "逾"):
    _VERBS[_w] = ("level", "over")
_VERBS.update({
    "控制在": ("limit", "at most"), "不少于": ("limit", "at least"), "不低于": ("limit", "at least"),
    "不超过": ("limit", "at most"), "不高于": ("limit", "at most"), "低于": ("limit", "under"),
    "高于": ("limit", "over"), "不到": ("level", "under"), "约": ("level", "approximately"),
    "近": ("level", "nearly"), "上": ("level", "over"), "接近": ("level", "nearly"),
    "为": ("level", None), "达到或略高于": ("level", "at least"),
})
_VERB_RE = "|".join(sorted(map(re.escape, _VERBS), key=len, reverse=True))
# A second qualifier word after a verb (增加到超过100万亿元, 达到约…).
_PREFIX_QUAL = {"超过": "over", "超": "over", "逾": "over", "突破": "over", "约": "approximately", "近": "nearly",
                "不到": "under"}
_PREFIX_RE = "|".join(sorted(map(re.escape, _PREFIX_QUAL), key=len, reverse=True))
_SUFFIX_QUAL = {"左右": "approximately", "以上": "at least", "及以上": "at least",
                "以内": "at most", "之内": "at most", "内": "at most", "以下": "at most", "及以下": "at most"}
_SUFFIX_RE = "|".join(sorted(map(re.escape, _SUFFIX_QUAL), key=len, reverse=True))

_ARABIC = r"[-+－＋−]?\d+(?:[,，]\d{3})*(?:\.\d+)?"
_CN_NUM = rf"[{CN_NUMERAL_CHARS}]+"
_NUMBER = rf"(?:{_ARABIC}{_SCALE_RE}?|{_CN_NUM})"
_RANGE_SEP = r"(?:--|—|―|－|-|–|~|～|到|至)"

_QUANTITY = re.compile(
    rf"^(?P<verb>{_VERB_RE})?(?P<prefix>{_PREFIX_RE})?"
    rf"(?P<n1>{_ARABIC})(?P<more1>[余多])?(?P<scale1>{_SCALE_RE})?(?P<more1b>[余多])?"
    rf"(?:(?P<u1>%|％)?{_RANGE_SEP}(?P<n2>{_ARABIC})(?P<scale2>{_SCALE_RE})?)?"
    rf"(?P<unit>{_UNIT_RE})?(?P<suffix>{_SUFFIX_RE})?$"
)
_CN_QUANTITY = re.compile(
    rf"^(?P<verb>{_VERB_RE})?(?P<prefix>{_PREFIX_RE})?(?P<num>{_CN_NUM})(?P<more>[余多])?"
    rf"(?P<unit>{_UNIT_RE})?(?P<suffix>{_SUFFIX_RE})?$"
)

# Named comparisons (spec rule 2, D19, D15).
_PARITY = re.compile(r"^(?:与|和|同)(?P<base>.+?)(?P<approx>基本)?(?:保持)?(?:持平|同步|匹配|相当|一致|同价|相适应|相协调)$")
_REQUIREMENT = re.compile(r"^(?:达到或超过|完成或超额完成|超额完成|达到|完成|符合)"
                          r"(?P<base>.*?(?:要求|标准|标|任务|计划|水平|目标值|目标|进度|实际规模))$")
_ABOVE = re.compile(r"^(?:高于|超过)(?P<base>(?:\d{4}年|\D).*)$")  # 超过1953年到1978年的总和
_BELOW = re.compile(r"^(?:低于)(?P<base>\D.*)$")
_NEAR = re.compile(r"^(?:相当或接近|接近或相当于?|相等或接近于?|接近)(?P<base>(?:\d{4}年|\D).*)$")  # 相当或接近世界平均水平
# 保持近两年的水平, 维持在一九八五年的水平, 相当于1978年到1990年…的总和 (a baseline may open with a year)
_KEEP_LEVEL = re.compile(r"^(?:相当于|保持在?|维持在?)(?P<base>(?:\d{4}年|\D).*?(?:水平|总和))$")
_CAP_LEVEL = re.compile(r"^控制在(?P<base>(?:\d{4}年|\D).*?水平)$")  # 控制在去年水平
_WITHIN = re.compile(r"^控制在(?P<base>\D.+?)[以之]内$")  # 控制在调控目标以内, 控制在预算目标之内
_IN_RANGE = re.compile(r"^(?P<base>\D.+?范围)(?:以)?内$")  # (限制在)国家规定的范围内
_NOT_ABOVE = re.compile(r"^(?:不突破|不能超过|不超过|不高于)(?P<base>\D.*)$")  # 不突破国家预算
_NOT_BELOW = re.compile(r"^(?:不低于|不少于)(?P<base>\D.*)$")  # 不低于上年
# Comparisons with a named baseline, tried in this order: (pattern, direction, qualifier).
_COMPARISONS = ((_REQUIREMENT, "level", None), (_ABOVE, "limit", "over"), (_BELOW, "limit", "under"),
                (_NEAR, "level", "nearly"), (_WITHIN, "limit", "at most"), (_IN_RANGE, "limit", "at most"), (_NOT_ABOVE, "limit", "at most"),
                (_NOT_BELOW, "limit", "at least"), (_CAP_LEVEL, "limit", "at most"), (_KEEP_LEVEL, "parity", None))

# Levels without a numeral (spec "Decisions", D17): text -> (direction, values, level, qualifier).
_FIXED: dict[str, tuple[str, tuple[float, ...], str | None, str | None]] = {
    "全覆盖": ("level", (), "全覆盖", None),
    "全域覆盖": ("level", (), "全覆盖", None),
    "清零": ("level", (0.0,), None, None),
    "为零": ("level", (0.0,), None, None),
    "消除": ("level", (0.0,), None, None),
    "零增长": ("increase", (0.0,), None, None),
    "零的突破": ("level", (), "零的突破", None),
    "应收尽收": ("level", (), "应收尽收", None),
    "只增不减": ("limit", (), "不减少", None),
    "不减少": ("limit", (), "不减少", None),
    "不下降": ("limit", (), "不下降", None),
    "不致下降": ("limit", (), "不下降", None),
    "翻一番": ("increase", (1.0,), None, None),  # doubling: +1 倍 (D10)
    "翻两番": ("increase", (3.0,), None, None),
    "一番": ("increase", (1.0,), None, None),  # 翻了[一番] (D7)
    "不降低": ("limit", (), "不下降", None),
    "不减": ("limit", (), "不减少", None),
    "只减不增": ("limit", (), "不增加", None),
    "应保尽保": ("level", (), "应保尽保", None),
    "占补平衡": ("level", (), "占补平衡", None),
    "免除": ("level", (0.0,), None, None),
    "取消": ("level", (0.0,), None, None),  # [取消]{TARGET}[手机国内长途和漫游费]: abolished
    "达到峰值": ("level", (), "峰值", None),
    "零突破": ("level", (), "零的突破", None),
    "清仓归零": ("level", (0.0,), None, None),
    "两清零": ("level", (0.0,), None, None),  # 欠薪案件“两清零”: both counts cleared
    "“零”的突破": ("level", (), "零的突破", None),
    "出清": ("level", (0.0,), None, None),  # “僵尸企业”全部出清
    "归零": ("level", (0.0,), None, None),
    "过半": ("level", (50.0,), None, "over"),
    "零差率": ("level", (0.0,), None, None),
}
_FIXED_UNIT = {"零增长": "%", "翻一番": "倍", "翻两番": "倍", "一番": "倍", "过半": "%", "零差率": "%"}

_ROMAN = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V", "ⅰ": "I", "ⅱ": "II",
          "ⅲ": "III", "ⅳ": "IV", "ⅴ": "V", "一": "I", "二": "II", "三": "III", "四": "IV",
          "五": "V", "I": "I", "II": "II", "III": "III", "IV": "IV", "V": "V"}
_WATER_CLASS = re.compile(
    r"^(?:达到|稳定在|保持在)?(?:地表)?(?P<cls>III|II|IV|I|V|[ⅠⅡⅢⅣⅤⅰⅱⅲⅳⅴ一二三四五])类(?:水质?)?"
    r"(?P<suffix>及以上|以上)?(?:水质)?(?:标准|水平)?$",
    re.IGNORECASE)
_GRADE = re.compile(r"^脱[A-Z]进[A-Z]$")
# Grades and classes (N7): A类, B类, A级, 达AA级, B以上等次.
_CLASS = re.compile(r"^(?:达到|达)?(?P<g>[A-E]{1,3})(?P<suffix>以上)?(?:类|级|等次)$")

# Surfaces with no number to give (reported, not guessed): pattern -> problem.
_NO_NUMBER = {
    r"[两三四五六七八九]位数": "a count of digits (两位数, 三位数) is a magnitude, not a number",
    r"^(?:达到)?[几数][十百千万亿]": "a vague count (几万项, 数千项, 几十种): no number to give",
    r"[十百千万亿]级": "a magnitude class (千亿级规模): no number to give",
    r"^消除劣": "removing what is worse than a class (消除劣V类) names no level to reach",
}


def _num(text: str) -> float:
    text = text.replace(",", "").replace("，", "").replace("－", "-").replace("−", "-").replace("＋", "+")
    return float(text)


def _unparsed(text: str, problem: str) -> Quantity:
    return Quantity(text=text, parsed=False, problem=problem)


_FULLWIDTH = str.maketrans("０１２３４５６７８９．％／ＡＢＣＤＥ", "0123456789.%/ABCDE")


def ascii_digits(text: str) -> str:
    """Full-width digits, ``．``, ``％``, ``／`` and grade letters as ASCII, and a middle
    dot between digits (``19·5％``, a damaged decimal point) as ``.``."""
    return re.sub(r"(?<=\d)·(?=\d)", ".", text.translate(_FULLWIDTH))


def _spelled_out(s: str) -> str:
    """Spelled-out forms as the patterns below read them: 百分之十三点四 -> 13.4%,
    X分之Y / 一半 -> a percentage, 个多百分点 / 万多亿 / 倍多 / 十多万 -> 多 first."""
    def percent(m: re.Match[str]) -> str:
        whole, _, frac = m.group(1).partition("点")
        value = str(chinese_number(whole)) if whole else "0"
        digits = "".join(str(_CN_DIGITS[c]) for c in frac)
        return value + ("." + digits if digits else "") + ("‰" if m.group(0).startswith("千") else "%")

    # 百分之四到五: the range's upper end borrows 百分之
    s = re.sub(rf"([百千]分之)([{CN_NUMERAL_CHARS}]+)(到|至)(?=[{CN_NUMERAL_CHARS}]+$)", r"\1\2\3\1", s)
    try:
        s = re.sub(rf"[百千]分之([{CN_NUMERAL_CHARS}]+(?:点[{''.join(_CN_DIGITS)}]+)?)", percent, s)
    except (ValueError, KeyError):
        return s

    def fraction(m: re.Match[str]) -> str:
        return f"{_clean(100 * chinese_number(m.group(2)) / chinese_number(m.group(1))):g}%"

    try:
        s = re.sub(rf"([{CN_NUMERAL_CHARS}]+)分之([{CN_NUMERAL_CHARS}]+)", fraction, s)
    except (ValueError, ZeroDivisionError):
        return s
    s = re.sub(r"^(减少|降低|下降|压减)?一半", lambda m: (m.group(1) or "") + "50%", s)

    def decimal(m: re.Match[str]) -> str:  # 一点三倍 -> 1.3倍
        return f"{chinese_number(m.group(1))}." + "".join(str(_CN_DIGITS[c]) for c in m.group(2))

    try:
        s = re.sub(rf"([{CN_NUMERAL_CHARS}]+)点([{''.join(_CN_DIGITS)}]+)", decimal, s)
    except ValueError:
        return s
    s = s.replace("个多百分点", "多个百分点").replace("万多亿", "多万亿")
    s = re.sub(r"倍多$", "多倍", s)
    s = re.sub(rf"([十百千])[多余]([万亿])", r"\1\2", s)  # 四十多亿 -> 四十亿 (qualifier below)
    return s


def parse_quantity(text: str) -> Quantity:
    """Normalize one TARGET/VALUE surface (see the module docstring)."""
    s = ascii_digits(re.sub(r"\s+", "", text))
    if not s:
        return _unparsed(text, "empty")
    inner_more = bool(re.search(rf"[十百千][多余][万亿]", s))
    s = _spelled_out(s)
    q = _parse(text, s)
    if inner_more and q.parsed and q.qualifier is None:
        q = Quantity(**{**q.to_dict(), "qualifier": "over"})
    return q


def _parse(text: str, s: str) -> Quantity:
    for pattern, problem in _NO_NUMBER.items():
        if re.search(pattern, s):
            return _unparsed(text, problem)

    fixed = re.sub(rf"(?:{_SUFFIX_RE})$", "", s)  # 翻一番以上: the fixed form + a qualifier
    if s in _FIXED or (fixed in _FIXED and _FIXED[fixed][1]):
        direction, values, level, qualifier = _FIXED[s if s in _FIXED else fixed]
        if s not in _FIXED:
            qualifier = _SUFFIX_QUAL[s[len(fixed):]]
        return Quantity(text, direction, values, 1.0, _FIXED_UNIT.get(fixed), values, qualifier,
                        None, level)
    m = _WATER_CLASS.match(s)
    if m:
        cls = _ROMAN.get(m.group("cls").upper(), _ROMAN.get(m.group("cls")))
        qualifier = "at least" if m.group("suffix") in ("及以上", "以上") else None
        return Quantity(text, "level", (), 1.0, None, (), qualifier, None, f"{cls}类")
    if _GRADE.match(s):
        return Quantity(text, "level", level=s)
    m = _CLASS.match(s)
    if m:
        qualifier = "at least" if m.group("suffix") else None
        return Quantity(text, "level", qualifier=qualifier, level=f"{m.group('g')}类")
    m = _PARITY.match(s)
    if m:
        base = m.group("base")
        qualifier = "approximately" if m.group("approx") else None
        return Quantity(text, "parity", qualifier=qualifier, baseline=base)

    m = _QUANTITY.match(s)
    if m:
        return _numeric(text, m)
    m = _CN_QUANTITY.match(s)
    if m:
        return _chinese(text, m)
    for pattern, direction, qualifier in _COMPARISONS:
        m = pattern.match(s)
        if m:
            return Quantity(text, direction, qualifier=qualifier, baseline=m.group("base"))
    return _unparsed(text, f"no known quantity shape: {surface_shape(s)!r}")


def _direction_qualifier(verb: str | None, prefix: str | None, more: str | None,
                         suffix: str | None) -> tuple[str, str | None]:
    direction, qualifier = _VERBS[verb] if verb else ("level", None)
    if prefix:
        qualifier = _PREFIX_QUAL[prefix]
    if more:
        qualifier = "over"
    if suffix:
        qualifier = _SUFFIX_QUAL[suffix]
        if not verb and qualifier == "at most":
            direction = "limit"  # 4.5%以内, 6吨以下: a ceiling
    return direction, qualifier


def _unit(unit_text: str | None) -> tuple[str | None, float]:
    """Normalized unit and the factor its values need (成 -> % x10)."""
    if not unit_text:
        return None, 1.0
    unit = UNITS[unit_text]
    return unit, (10.0 if unit_text == "成" else 1.0)


def _numeric(text: str, m: re.Match[str]) -> Quantity:
    more = m.group("more1") or m.group("more1b")
    direction, qualifier = _direction_qualifier(m.group("verb"), m.group("prefix"), more,
                                                m.group("suffix"))
    values = [_num(m.group("n1"))]
    scale = _SCALES.get(m.group("scale1") or "", 1.0)
    if m.group("n2"):
        values.append(_num(m.group("n2")))
        scale2 = _SCALES.get(m.group("scale2") or "", 1.0)
        if m.group("scale2") and m.group("scale1") and scale2 != scale:
            return _unparsed(text, "range with two different magnitudes")
        scale = _SCALES.get(m.group("scale2") or m.group("scale1") or "", 1.0)
        if m.group("u1") and m.group("unit") not in ("%", "％"):
            return _unparsed(text, "range whose two ends have different units")
        if values[1] < values[0]:
            return _unparsed(text, "range whose upper end is below its lower end")
    unit, factor = _unit(m.group("unit"))
    scaled = tuple(_clean(v * scale * factor) for v in values)
    return Quantity(text, direction, tuple(values), scale, unit, scaled, qualifier,
                    unit_text=m.group("unit"), verb=m.group("verb"))


def _chinese(text: str, m: re.Match[str]) -> Quantity:
    num = m.group("num")
    direction, qualifier = _direction_qualifier(m.group("verb"), m.group("prefix"),
                                                m.group("more"), m.group("suffix"))
    # Split off a trailing magnitude: 千亿 -> 千 x 亿, 百万亿 -> 百 x 万亿, 万 -> 1 x 万.
    scale = 1.0
    for word in ("万亿", "亿", "万"):
        if num.endswith(word):
            head = num[: -len(word)]
            if head and any(ch in _CN_BIG for ch in head):
                break  # 一亿五千万 style: take the whole numeral
            scale = _SCALES[word]
            num = head or "一"
            break
    try:
        value = float(chinese_number(num))
    except ValueError as err:
        return _unparsed(text, str(err))
    unit, factor = _unit(m.group("unit"))
    return Quantity(text, direction, (value,), scale, unit, (_clean(value * scale * factor),),
                    qualifier, unit_text=m.group("unit"), verb=m.group("verb"))


def _clean(x: float) -> float:
    """Drop float noise from scaling (1.3 * 1e8 -> 130000000.0)."""
    return float(f"{x:.10g}")


def surface_shape(text: str) -> str:
    """The surface with every number replaced by ``N`` (how tests group patterns)."""
    return re.sub(r"\d+(?:[.,]\d+)*", "N", re.sub(r"\s+", "", text))
