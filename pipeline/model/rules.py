"""Rule baseline: METRIC lexicon + TARGET/VALUE regexes + a few PROJECT patterns.

This is the yardstick the learned model must beat and the pre-annotator for new
documents. It follows ``../shared/annotation-spec.md`` and
``annotations/GUIDELINES.md``; precision matters more than recall.

Public API
----------
- :data:`METRIC_LEXICON`: common indicator names, matched longest-first.
- :data:`CHANGE_WORDS`, :data:`QUALIFIERS`: the spec's closed lists as used here.
- :class:`RuleBaseline`: ``predict(text, section) -> [(start, end, label), ...]``
  on *normalized* paragraph text; ``section`` in ``{"review", "plan", "other", None}``.
- spaCy factory ``"govreport_rules"`` (:class:`RuleComponent`): reads the section
  from ``doc._.section`` and sets ``doc.ents``.

How it works, per sentence (split on 。；！？ and their ASCII forms, and newlines):

1. PROJECT candidates: quoted names (“清河行动”, “双代”工程) and names after a
   leading work verb that end in a project head (工程, 项目, 产业园, ...).
2. METRIC candidates: lexicon matches (longest first), plus counted nouns after
   新增 (新增国家高新技术企业89家 -> 国家高新技术企业).
3. Quantity candidates: optional change/limit word from the closed list, the
   number (Arabic; Chinese numerals only before 倍/番/百分点), ranges, magnitude,
   unit and qualifier; explicit comparisons (与2019年持平, 与经济增长保持同步,
   完成市级下达的任务, 达到北京市要求) and levels without a numeral (全覆盖, 清零).
4. Rule 3 of the spec: quantities are kept only if the sentence has a METRIC or
   PROJECT; a METRIC (or a coordinated group of them) only if a kept quantity or
   a vague change (稳步增长) follows it before the next METRIC.
5. TARGET vs VALUE: the section decides, in-sentence cues before the quantity
   override it (力争/确保/计划/预期/目标/将/到20XX年 -> TARGET; 预计…完成 or
   past markers + 完成/实现/累计/同比/比上年 -> VALUE); starting levels of
   由…到 / 从…到 are VALUE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from spacy.language import Language

from pipeline.annotation.schema import LABELS
from pipeline.text.docs import paragraphs, set_entities
from pipeline.text.structure import SENTENCE_ENDS, is_list_join, split_sentences

__all__ = [
    "METRIC_LEXICON",
    "CHANGE_WORDS",
    "QUALIFIERS",
    "LABELS",
    "RuleBaseline",
    "RuleComponent",
]


# --------------------------------------------------------------------------- lexicon

METRIC_LEXICON: tuple[str, ...] = (
    # output
    "地区生产总值", "生产总值", "国内生产总值", "县域生产总值", "经济总量",
    "工业总产值", "规模以上工业总产值", "工业增加值", "规模以上工业增加值", "规上工业增加值",
    "服务业增加值", "高新技术产业增加值", "民营经济增加值", "战略性新兴产业增加值",
    "数字经济核心产业增加值", "农林牧渔业总产值", "农业总产值",
    # fiscal
    "一般公共预算收入", "地方一般公共预算收入", "公共财政预算收入", "一般公共财政预算收入",
    "公共预算收入", "全口径财政收入", "财政收入", "税收收入", "地方级收入", "全部财政收入",
    "一般公共预算支出", "财政民生支出", "民生支出", "赤字率",
    # investment, trade, consumption
    "固定资产投资", "建安投资", "技改投资", "工业投资", "工业技改投资", "民间投资",
    "房地产开发投资", "社会消费品零售总额", "社会消费品零售额",
    "进出口总值", "进出口总额", "外贸进出口", "外贸进出口总额", "外贸出口", "出口总额",
    "实际利用外资", "实际使用外资", "利用外资", "直接利用外资", "实际利用内资", "引进京津资金",
    # income, prices, jobs
    "居民人均可支配收入", "城镇居民人均可支配收入", "农村居民人均可支配收入",
    "城乡居民人均可支配收入", "全体居民人均可支配收入", "城镇、农村居民人均可支配收入",
    "城镇、乡村居民人均可支配收入", "农民人均可支配收入", "人均可支配收入",
    "城乡居民收入", "居民收入", "农民人均纯收入",
    "居民消费价格涨幅", "居民消费价格指数涨幅", "居民消费价格", "居民消费价格指数",
    "城镇登记失业率", "登记失业率", "城镇调查失业率", "城镇新增就业", "新增就业",
    "农村劳动力转移就业", "高校毕业生就业率",
    # energy and environment
    "万元地区生产总值能耗", "万元生产总值能耗", "万元GDP能耗", "单位国内生产总值能耗",
    "单位生产总值能耗", "单位GDP能耗", "单位地区生产总值能耗",
    "PM2.5年均浓度", "PM2.5平均浓度", "PM2.5浓度", "PM2.5平均浓度下降率",
    "细颗粒物（PM2.5）浓度", "细颗粒物(PM2.5)浓度", "PM10平均浓度", "PM10浓度",
    "PM2.5、PM10平均浓度", "空气质量优良天数", "优良天数", "空气质量综合指数",
    "达标天数", "重污染天数", "森林覆盖率", "林木绿化率", "人均公园绿地面积",
    "建成区绿化覆盖率", "污水处理率", "生活垃圾无害化处理率", "主要污染物排放",
    "主要污染物排放量", "降尘量",
    # society, urbanisation, agriculture
    "常住人口城镇化率", "城镇化率", "户籍人口城镇化率", "人口自然增长率",
    "粮食产量", "粮食总产", "粮食总产量", "农业产业化经营率", "农业产业化率",
    "研究与试验发展经费投入强度", "研发经费投入强度", "科技进步贡献率",
    "医保参保率", "参保率", "城乡低保标准", "旅游总收入", "旅游业总收入", "旅游综合收入",
    "快递业务量", "港口吞吐量",
    # counted things (spec: METRIC when counted)
    "国家高新技术企业", "高新技术企业", "科技型中小企业", "规模以上工业企业", "规上工业企业",
    "专精特新中小企业", "市场主体", "省、市重点项目", "省市重点项目", "重点项目",
    "贫困人口", "农村贫困人口", "贫困村", "贫困县",
    # amounts of investment (GUIDELINES decision: 投资/总投资 are METRICs when an amount is stated)
    "投资", "总投资",
)
"""Common indicator names gleaned from the seed reports (matched longest first)."""

# Lexicon entries that must not be followed by these characters (进出口银行 ...).
_METRIC_BAD_NEXT = "银行"
# Measurement words that extend a lexicon match to the right (高新技术企业产值) and
# qualifiers that extend it to the left (规上高新技术企业), see spec rule 1.
_METRIC_SUFFIX_RE = re.compile(
    r"(?:营业收入|主营业务收入|营收|产值|增加值|利润|税收|数量|总数|总量|总额|占比|比重|增速|增幅|涨幅|下降率|规模)"
)
_METRIC_PREFIXES = ("规模以上", "规上", "国家级", "省级以上", "市级以上", "省级", "市级", "区级", "县级")
# Ranks keep the METRIC they rank (spec: ranks are never spans, the METRIC is marked).
_RANK_RE = re.compile(r"排名|排位|位次|第[一二三四五六七八九十\d]|前列|前[三五十]|\d+位|退后|进位|领跑")

# --------------------------------------------------------------------------- closed lists

CHANGE_WORDS: tuple[str, ...] = (
    "控制在", "保持在", "稳定在", "不少于", "不低于", "不高于", "不超过",
    "提高到", "提高至", "提升至", "提升到", "增长到", "增长至", "增加到", "增加至",
    "下降到", "下降至", "降低到", "降低至", "减少到", "减少至", "降至", "降到", "增至", "增到",
    "达到", "突破", "超过", "增长", "下降", "提高", "降低", "减少", "增加", "低于", "高于",
    "达", "超",
)
"""Change/limit words that go inside a TARGET/VALUE when directly before the number."""

QUALIFIERS: tuple[str, ...] = ("左右", "以上", "以内", "以下", "约", "超", "近", "余", "多")

VAGUE_CHANGES: tuple[str, ...] = (
    "稳步增长", "持续增长", "稳定增长", "较快增长", "快速增长", "大幅增长", "恢复性增长",
    "较大增长", "持续下降", "明显下降", "大幅下降", "继续下降", "稳步下降", "逐年增加",
    "逐年增长", "持续增加", "明显增加", "继续减少", "持续减少", "持续改善", "明显改善",
    "进一步改善", "稳中有升", "稳中有增", "稳中向好", "量稳质升", "回稳向好", "持续提升",
    "大幅提升", "显著提升", "稳步提升", "明显提升", "持续提高", "稳步提高", "明显提高",
    "大幅提高", "只增不减", "持续好转", "稳定达标", "全面达标",
)
"""Vague changes: not spans, but they make the METRIC before them count (spec rule 3)."""

# --------------------------------------------------------------------------- regexes

_CLAUSE_END = SENTENCE_ENDS + "\r，,、：:"  # sentence ends (the one definition) and clause marks


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_CHANGE_RE = _alt(CHANGE_WORDS)
_ARABIC = r"\d+(?:[.．]\d+)?"
_CN_NUM = r"[一二两三四五六七八九十半]+(?:点[零〇一二三四五六七八九]+)?"
_MAG = r"(?:万亿|千亿|百亿|亿|千万|百万|十万|万|千|百)"
_MEASURE = _alt((
    "个百分点", "百分点", "%", "％", "‰", "倍", "元", "美元", "人次", "人", "户", "家", "个",
    "项", "亩", "公顷", "平方公里", "平方米", "立方米", "公里", "千米", "米", "吨", "千瓦时",
    "千瓦", "辆", "台套", "台", "套", "座", "所", "条", "处", "件", "名", "位", "天", "斤",
    "册", "场", "次", "例", "头", "只", "株", "棵", "箱", "剂次", "剂", "间", "栋", "张", "床",
    "微克/立方米", "标准箱", "标箱", "千克", "公斤", "小时", "个工作日", "工作日", "平米",
    "万千瓦", "兆瓦", "部", "孔", "眼", "支", "批", "所", "篇", "部", "门", "艘", "架",
))
_PRE_Q = r"(?:约|近|超)"
_POST_Q = r"(?:及以上|左右|以上|以内|以下)"
# damaged texts put a space between number and unit (达到 7500 元); allow one inside
_ONE_AR = rf"{_ARABIC}(?:余|多)?[ \u3000]?(?P<mag{{i}}>{_MAG})?(?:余|多)?(?P<mea{{i}}>{_MEASURE})?"
_RANGE_SEP = r"(?:——|—|－|-|–|~|～|至|到)"

# Arabic quantity, possibly a range; the named groups tell whether a unit is present.
_AR_QTY = (
    rf"{_PRE_Q}?{_ONE_AR.format(i=1)}"
    rf"(?:{_RANGE_SEP}{_PRE_Q}?{_ONE_AR.format(i=2)})?"
    rf"{_POST_Q}?"
)
_CN_QTY = rf"{_CN_NUM}(?:倍|个百分点|百分点)|(?<!“)翻[一两三]番(?!”)"

_QTY_RE = re.compile(
    rf"(?:(?P<chg>{_CHANGE_RE})[ \u3000]?)?(?P<qty>{_AR_QTY}|{_CN_QTY})"
)

# Explicit comparisons with a named baseline, and levels without a numeral.
_COMPARISON_RE = re.compile(
    r"[与和同](?:20\d\d年|上年|去年|上一年|经济增长|经济发展)(?:保持|基本|总体)?(?:持平|同步)"
    r"|完成(?:了)?[^，。；！？,;!?：:、]{0,10}?(?:下达的?|[省市县区]定的?|核定的?|目标)"
    r"[^，。；！？,;!?：:、]{0,8}?任务(?:目标)?"
    r"|达到[^，。；！？,;!?：:、]{0,10}?(?:要求|标准)"
    r"|零的突破|全覆盖|不减少|不下降|零增长|[ⅠⅡⅢⅣⅤ]类及以上|脱C进B"
    r"|(?<!动态)清零"
)

# --- PROJECT patterns
_PROJECT_HEADS = (
    "工程", "项目", "产业园", "工业园", "示范区", "示范园", "基地", "行动", "计划", "攻坚战",
    "保卫战", "试点", "综合体", "产业园区",
)
_PROJECT_HEAD_RE = _alt(_PROJECT_HEADS)
_LEAD_VERBS = (
    "实施", "推进", "加快", "启动", "建成", "开展", "新建", "建设", "开工", "抓好", "完成",
    "打造", "推动", "谋划", "续建", "落实", "深化", "打好", "加快推进", "全力推进", "扎实推进",
    "持续推进", "深入开展", "深入实施", "大力实施", "加快建设", "启动实施", "启动建设", "推广",
)
_LEAD_VERB_RE = _alt(_LEAD_VERBS)
# A name: CJK/Latin/digits/· with an optional fullwidth-parenthesised phase inside.
_NAME_CHARS = r"[\u4e00-\u9fffA-Za-z0-9·]"
_UNQUOTED_PROJECT_RE = re.compile(
    rf"(?:{_LEAD_VERB_RE})(?P<name>{_NAME_CHARS}{{2,18}}?(?:{_PROJECT_HEAD_RE})"
    rf"(?:[（(][一二三四五六七八九十\d]期[）)])?)(?=[，。；！？,;!?、和及与等”\s]|建设|开工|竣工|投产|建成|落地|前期|年底|年内|进度|尽快|早日|顺利|全面|基本|主体|$)"
)
_QUOTED_PROJECT_RE = re.compile(
    # “清河行动” -> the name inside; “双代”工程 / “清四乱”专项行动 -> with the marks.
    rf"“(?P<inner>[^“”，。；！？,;!?]{{2,16}}?(?:{_PROJECT_HEAD_RE}))”"
    rf"|(?P<marked>“[^“”，。；！？,;!?]{{2,14}}”(?:[\u4e00-\u9fff]{{0,4}}?)(?:{_PROJECT_HEAD_RE}))"
)
# Generic words that make a "name" not specific (重点项目, 一批项目, 产业项目 ...).
_GENERIC_NAME_RE = re.compile(
    r"^(?:重点|一批|各类|各项|一系列|相关|这些|该|新|大|小|好|产业|民生|基础设施|建设|招商|"
    r"重大|在建|续建|新建|前期|签约|储备|一些|多个|若干|其他|全部|所有|各个|配套|年度|专项|"
    r"高质量|一|推进|加快|实施|建设|开展|这|那|该|本|各)"
    r"|等|的|和|与|及|个|项|家|[一二三四五六七八九十两百千万]大|^[一二三四五六七八九十\d]+期$"
)
# Titles and honours competed for are not PROJECTs (spec): words right before the
# name (or its opening quote) and right after it (its closing quote).
_PROJECT_BAD_BEFORE = ("争创", "创建", "申报", "获批", "创成", "荣获", "评为", "认定", "争取",
                       "获评", "入选", "命名", "授予", "成功创建", "列为", "确定为", "纳入")
_PROJECT_BAD_AFTER = re.compile(r"^”?(?:创建|验收|称号|命名|荣誉|评选|申报|复审|复核)")
_NOT_PROJECT_INNER = re.compile(r"规划|条例|意见|办法|方案|理论|精神|教育|制度|机制|纲要|会议")

# --- TARGET/VALUE cues
_TARGET_CUE_RE = re.compile(
    r"力争|确保|预期|目标(?:是|为|：|:)|到20\d\d年|争取"
    r"|(?<![行动倍增划])计划(?=投资|完成|实施|新建|建设|开工|新增|用|在|到|于|年内|全年)"
    r"|将(?=达到?|实现|完成|增长|新增|建成|超过|突破|提高|提升|增加|减少|下降|控制|力争|再)"
)
_FORECAST_FUTURE_RE = re.compile(r"预计(?:今年|明年|本年度|未来|到20\d\d年)")
_PAST_MARK_RE = re.compile(r"去年|上年|过去|一年来|五年来|这五年|[^不]了|已经|已")
_VALUE_CUE_RE = re.compile(r"完成|实现|累计|同比|比上年")
_FROM_RE = re.compile(r"(?:由|从)(?:[^，。；！？,;!?、]{0,12}?的)?$")

_NUM_BAD_BEFORE = set("第倒前后号")


def _overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int, str]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e, _ in spans)


class RuleBaseline:
    """Regex/lexicon baseline for PROJECT, METRIC, TARGET and VALUE.

    ``metric_lexicon`` replaces :data:`METRIC_LEXICON` when given.
    """

    def __init__(self, metric_lexicon: Iterable[str] | None = None) -> None:
        lex = tuple(metric_lexicon) if metric_lexicon is not None else METRIC_LEXICON
        self.metric_lexicon = lex
        self._metric_re = re.compile(_alt(lex)) if lex else None
        self._vague_re = re.compile(_alt(VAGUE_CHANGES))
        self._counted_re = re.compile(
            rf"新增(?P<noun>[\u4e00-\u9fffA-Za-z]{{2,12}}?)(?={_PRE_Q}?\d)"
        )

    # ------------------------------------------------------------------ public
    def predict(self, text: str, section: str | None = None) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, label)`` on normalized paragraph ``text``, sorted by start."""
        if section not in ("review", "plan", "other", None):
            raise ValueError(f"unknown section {section!r}")
        out: list[tuple[int, int, str]] = []
        for s, e in split_sentences(text, marks=False):
            out.extend(self._sentence(text, s, e, section))
        return sorted(out)

    __call__ = predict

    # ------------------------------------------------------------------ parts
    def _projects(self, text: str, s: int, e: int) -> list[tuple[int, int, str]]:
        sent = text[s:e]
        found: list[tuple[int, int, str]] = []
        for m in _QUOTED_PROJECT_RE.finditer(sent):
            if m.group("inner"):
                a, b = m.span("inner")
            else:
                a, b = m.span("marked")
            name = sent[a:b]
            if _NOT_PROJECT_INNER.search(name) or sent[max(0, m.start() - 6):m.start()].endswith(_PROJECT_BAD_BEFORE):
                continue
            if _PROJECT_BAD_AFTER.match(sent[b:b + 3]):
                continue
            if m.group("inner"):
                head = re.search(rf"(?:{_PROJECT_HEAD_RE})$", name)
                core = name[: head.start()] if head else name
                if len(core) < 2 or _GENERIC_NAME_RE.search(core):
                    continue
            else:  # “双代”工程: what stands between the closing mark and the head
                between = name[name.rindex("”") + 1:]
                between = re.sub(rf"(?:{_PROJECT_HEAD_RE})$", "", between)
                if between and re.search(r"等|的|和|重点|一批|各类|产业|[一二三四五六七八九十]大", between):
                    continue
            if not _overlaps((a, b), found):
                found.append((a, b, "PROJECT"))
        for m in _UNQUOTED_PROJECT_RE.finditer(sent):
            a, b = m.span("name")
            name = sent[a:b]
            # strip stacked leading verbs (加快推进 -> the name after them)
            changed = True
            while changed:
                changed = False
                if name[0] in "了成好" and len(name) > 5:
                    name, a, changed = name[1:], a + 1, True
                    continue
                for v in sorted(_LEAD_VERBS, key=len, reverse=True):
                    if name.startswith(v) and len(name) - len(v) >= 4:
                        name, a, changed = name[len(v):], a + len(v), True
                        break
            head = re.search(rf"(?:{_PROJECT_HEAD_RE})(?:[（(][^）)]*[）)])?$", name)
            core = name[: head.start()] if head else name
            if len(core) < 3 or _GENERIC_NAME_RE.search(core) or _NOT_PROJECT_INNER.search(name):
                continue
            if re.search(r"\d", core) and not re.search(r"[一二三四五六七八九十\d]期|\d号", core):
                continue  # 10个项目 ... quantities are not names
            if sent[max(0, a - 6):a].endswith(_PROJECT_BAD_BEFORE) or _PROJECT_BAD_AFTER.match(sent[b:b + 3]):
                continue
            if not _overlaps((a, b), found):
                found.append((a, b, "PROJECT"))
        return [(s + a, s + b, lab) for a, b, lab in found]

    def _metrics(self, text: str, s: int, e: int) -> list[tuple[int, int]]:
        sent = text[s:e]
        found: list[tuple[int, int]] = []
        if self._metric_re is not None:
            for m in self._metric_re.finditer(sent):
                a, b = m.span()
                if sent[b:b + len(_METRIC_BAD_NEXT)] == _METRIC_BAD_NEXT:
                    continue
                if sent[a:b] in ("投资", "总投资") and not re.match(rf"{_PRE_Q}?\d", sent[b:b + 2]):
                    continue  # 投资 only directly before an amount
                suf = _METRIC_SUFFIX_RE.match(sent, b)
                if suf and not sent[a:b].endswith(("收入", "增加值", "总值", "总额", "产值")):
                    b = suf.end()
                for pre in _METRIC_PREFIXES:
                    if sent[max(0, a - len(pre)):a] == pre and not sent[a:b].startswith(pre):
                        a -= len(pre)
                        break
                found.append((a, b))
        for m in self._counted_re.finditer(sent):
            a, b = m.span("noun")
            noun = m.group("noun")
            lead = re.match(r"各类|各种|一批|全部", noun)
            if lead:
                a, noun = a + lead.end(), noun[lead.end():]
            if re.search(r"[的和与及了是在为对从由将把被]|就业", noun) or _overlaps((a, b), [(x, y, "") for x, y in found]):
                continue
            found.append((a, b))
        return sorted((s + a, s + b) for a, b in found)

    def _quantities(self, text: str, s: int, e: int) -> list[tuple[int, int, bool]]:
        """(start, end, from_baseline) of quantity / comparison candidates."""
        sent = text[s:e]
        found: list[tuple[int, int, bool]] = []
        for m in _QTY_RE.finditer(sent):
            a, b = m.span()
            qa = m.start("qty")
            q = m.group("qty")
            if q[0].isdigit() or q[0] in "约近超":
                if not any(m.group(g) for g in ("mag1", "mea1", "mag2", "mea2")):
                    continue  # bare number: year, code, footnote, ...
                digit_at = qa + next(i for i, c in enumerate(q) if c.isdigit())
                prev = sent[digit_at - 1] if digit_at > 0 else ""
                if re.match(r"[A-Za-z0-9.．]", prev) or (qa > 0 and sent[qa - 1] in _NUM_BAD_BEFORE):
                    continue
                if not m.group("chg") and sent[max(0, a - 1):a] in _NUM_BAD_BEFORE:
                    continue
                # a bare magnitude glued to a following CJK char is a compound (110千伏)
                unit_end = m.end("qty")
                if not (m.group("mea1") or m.group("mea2")) and unit_end < len(sent):
                    nxt = sent[unit_end]
                    if "\u4e00" <= nxt <= "\u9fff" and nxt not in "的和、":
                        continue
                # ordinal/date/code units right after (3月, 7号线, 5年)
                if m.group("mea1") is None and m.group("mea2") is None and unit_end < len(sent) and sent[unit_end] in "年月日号期届":
                    continue
            # starting level (由/从 A 到 B) or baseline (在…（A）的基础上): VALUE (GUIDELINES D4)
            from_base = bool(_FROM_RE.search(sent[:a]) or re.match(r"[）)]?的基础上", sent[b:b + 6]))
            found.append((a, b, from_base))
        for m in _COMPARISON_RE.finditer(sent):
            a, b = m.span()
            if not any(a < y and x < b for x, y, _ in found):
                found.append((a, b, False))
        return sorted((s + a, s + b, fb) for a, b, fb in found)

    def _label(self, text: str, s: int, q_start: int, section: str | None,
               from_base: bool) -> str:
        if from_base:
            return "VALUE"
        sent_before = text[s:q_start]
        sent_all = text[s:]
        if "预计" in sent_before:
            # forecast of a future level -> TARGET; estimate of the year just ending -> VALUE
            return "TARGET" if _FORECAST_FUTURE_RE.search(sent_before) else "VALUE"
        if _TARGET_CUE_RE.search(sent_before):
            return "TARGET"
        if section == "plan":
            if _PAST_MARK_RE.search(sent_before) and _VALUE_CUE_RE.search(sent_before + text[q_start:q_start + 4]):
                return "VALUE"
            return "TARGET"
        if section == "review":
            return "VALUE"
        # other / unknown: weak tense cues, then VALUE
        if re.search(r"今年|明年|要|争取|努力|预期|将|计划", sent_before):
            return "TARGET"
        return "VALUE"

    def _sentence(self, text: str, s: int, e: int, section: str | None) -> list[tuple[int, int, str]]:
        projects = self._projects(text, s, e)
        metrics = [m for m in self._metrics(text, s, e) if not _overlaps(m, projects)]
        if not projects and not metrics:
            return []
        heads = sorted([(a, b) for a, b, _ in projects] + metrics)
        quantities = []
        for q in self._quantities(text, s, e):
            if _overlaps(q[:2], projects) or _overlaps(q[:2], [(a, b, "") for a, b in metrics]):
                continue
            # spec rule 3, tightened: the METRIC/PROJECT comes before the quantity in
            # the sentence, or right after it (a count before its noun, 36个重点项目;
            # an amount before 的 + project, 总投资100亿元的…项目)
            if any(b <= q[0] for _, b in heads) or any(q[1] <= a <= q[1] + 1 for a, _ in heads):
                quantities.append(q)
        # group coordinated metrics (A、B / A和B) and keep a group if a quantity or a
        # vague change follows it before the next group
        groups: list[list[tuple[int, int]]] = []
        for m in metrics:
            gap = text[groups[-1][-1][1]:m[0]] if groups else ""
            if groups and len(gap) == 1 and is_list_join(gap):
                groups[-1].append(m)
            else:
                groups.append([m])
        kept_metrics: list[tuple[int, int]] = []
        for gi, g in enumerate(groups):
            lim = groups[gi + 1][0][0] if gi + 1 < len(groups) else e
            g_end = g[-1][1]
            has_q = any(g_end <= q[0] < lim for q in quantities)
            # quantity before a counted noun (等6条道路, 36个省、市重点项目)
            has_q = has_q or any(q[1] == g[0][0] for q in quantities)
            clause = re.split(r"[，,；;：:]", text[g_end:lim], maxsplit=1)[0]
            if has_q or self._vague_re.search(clause) or _RANK_RE.search(clause):
                kept_metrics.extend(g)
        out: list[tuple[int, int, str]] = list(projects)
        out.extend((a, b, "METRIC") for a, b in kept_metrics)
        for a, b, fb in quantities:
            out.append((a, b, self._label(text, s, a, section, fb)))
        return _clean(text, out)


_EDGE_STRIP = set("，。；！？、：,.;:!? \t\u3000\n\r（）()【】[]{}")


def _clean(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Trim stray edge punctuation/whitespace, drop empties and overlaps (first wins)."""
    res: list[tuple[int, int, str]] = []
    for a, b, lab in spans:
        while a < b and text[a] in _EDGE_STRIP:
            a += 1
        while b > a and text[b - 1] in _EDGE_STRIP and not (
            text[b - 1] in "）)" and ("（" in text[a:b] or "(" in text[a:b])
        ):
            b -= 1
        if a >= b or _overlaps((a, b), res):
            continue
        res.append((a, b, lab))
    return res


# --------------------------------------------------------------------------- spaCy


class RuleComponent:
    """spaCy pipeline component wrapping :class:`RuleBaseline`.

    Runs per paragraph (``doc.spans["paragraphs"]``, label = section; see
    :mod:`pipeline.text.docs`), so the section decides TARGET vs VALUE.
    ``overwrite_ents``: replace ``doc.ents`` (True) or add only spans that do
    not overlap existing entities (False).
    """

    def __init__(self, nlp, name: str = "govreport_rules", overwrite_ents: bool = True,
                 extra_metrics: Sequence[str] = ()) -> None:
        lex = tuple(METRIC_LEXICON) + tuple(extra_metrics)
        self.name = name
        self.overwrite_ents = overwrite_ents
        self.baseline = RuleBaseline(lex)

    def __call__(self, doc):
        found = []
        for para in paragraphs(doc):
            section = para.label_ if para.label_ in ("review", "plan", "other") else None
            offset = para.start_char
            found += [(offset + a, offset + b, label, None) for a, b, label in self.baseline.predict(para.text, section)]
        if not self.overwrite_ents:
            existing = [(e.start_char, e.end_char, e.label_, e._.score) for e in doc.ents]
            found = existing + [f for f in found if not any(f[0] < e[1] and e[0] < f[1] for e in existing)]
        set_entities(doc, sorted(found))
        return doc

    def pipe(self, docs, batch_size: int = 64):
        for doc in docs:
            yield self(doc)


@Language.factory(
    "govreport_rules",
    default_config={"overwrite_ents": True, "extra_metrics": []},
)
def make_govreport_rules(nlp, name: str, overwrite_ents: bool, extra_metrics: list[str]):
    return RuleComponent(nlp, name, overwrite_ents=overwrite_ents, extra_metrics=extra_metrics)
