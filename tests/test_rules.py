"""Tests for the rule baseline (pipeline/rules.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.model.rules import CHANGE_WORDS, METRIC_LEXICON, RuleBaseline
from pipeline.text.structure import split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# 000 and 001 are traditional Chinese and damaged: they need normalization first.
SIMPLIFIED_SEEDS = sorted(p for p in SEEDS.glob("*.txt") if not p.name.startswith(("000_", "001_")))

SENTENCE_ENDS = "。；！？;!?\n\r"
PAIRS = {"“": "”", "‘": "’", "《": "》", "（": "）", "(": ")", "「": "」"}
CLOSERS = {v: k for k, v in PAIRS.items()}
QUANTITY_END = "%％‰"


@pytest.fixture(scope="module")
def rb() -> RuleBaseline:
    return RuleBaseline()


def inline(text: str, spans) -> str:
    """Render spans in the guideline's bracket form: [span]{LABEL}."""
    out, i = [], 0
    for a, b, label in spans:
        out.append(text[i:a])
        out.append(f"[{text[a:b]}]{{{label}}}")
        i = b
    out.append(text[i:])
    return "".join(out)


def parse_inline(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Inverse of :func:`inline` (no escapes needed in these examples)."""
    text, spans = "", []
    for m in re.finditer(r"\[([^\]]*)\]\{([A-Z]+)\}|([^\[]+)", marked):
        if m.group(3) is not None:
            text += m.group(3)
        else:
            spans.append((len(text), len(text) + len(m.group(1)), m.group(2)))
            text += m.group(1)
    return text, spans


def edge_problem(surface: str) -> str | None:
    """Why the span text has a bad edge (spec rule 6), or None."""
    if not surface:
        return "empty"
    first, last = surface[0], surface[-1]
    if first.isspace() or last.isspace():
        return "whitespace edge"
    if any(ch in SENTENCE_ENDS for ch in surface):
        return "crosses a sentence end"
    if first in PAIRS:
        if PAIRS[first] not in surface[1:]:
            return "unbalanced opening mark"
        if surface.endswith(PAIRS[first]) and surface.count(PAIRS[first]) == 1:
            return "wrapped whole in marks"
    elif not (first.isalnum() or "\u4e00" <= first <= "\u9fff" or first in "ⅠⅡⅢⅣⅤ"):
        return f"bad first char {first!r}"
    if last in CLOSERS:
        if CLOSERS[last] not in surface[:-1]:
            return "unbalanced closing mark"
    elif not (last.isalnum() or "\u4e00" <= last <= "\u9fff" or last in QUANTITY_END):
        return f"bad last char {last!r}"
    return None


def check_invariants(text: str, spans) -> None:
    prev_end = -1
    for a, b, label in spans:
        assert label in ("PROJECT", "METRIC", "TARGET", "VALUE")
        assert 0 <= a < b <= len(text)
        assert a >= prev_end, f"overlap at {text[a:b]!r}"
        prev_end = b
        problem = edge_problem(text[a:b])
        assert problem is None, f"{text[a:b]!r}: {problem}"


# --------------------------------------------------------------------------- spec examples

SPEC_PLAN_EXAMPLE = (
    "2020年，全区年度经济社会发展的主要预期目标是：[地区生产总值]{METRIC}[增长6%左右]{TARGET}，"
    "[一般公共预算收入]{METRIC}完成数[与2019年持平]{TARGET}，[社会消费品零售额]{METRIC}[增长6%左右]{TARGET}，"
    "[居民收入]{METRIC}增长[与经济增长保持同步]{TARGET}，[城镇登记失业率]{METRIC}[控制在4.5%以内]{TARGET}。"
)
SPEC_ESTIMATE_EXAMPLE = "预计[地区生产总值]{METRIC}完成[830亿元]{VALUE}，同比[增长2.8%]{VALUE}。"
SPEC_COUNT_EXAMPLE = "全年新增[国家高新技术企业]{METRIC}[89家]{VALUE}、累计[达1717家]{VALUE}。"


@pytest.mark.parametrize(
    "marked, section",
    [
        (SPEC_PLAN_EXAMPLE, "plan"),
        (SPEC_ESTIMATE_EXAMPLE, "review"),
        (SPEC_ESTIMATE_EXAMPLE, None),
        # the estimate of the year just ending is a VALUE even in a plan section
        (SPEC_ESTIMATE_EXAMPLE, "plan"),
        (SPEC_COUNT_EXAMPLE, "review"),
    ],
)
def test_spec_worked_examples_exact(rb, marked, section):
    text, _ = parse_inline(marked)
    assert inline(text, rb.predict(text, section)) == marked


def test_spec_project_examples(rb):
    text = "持续推进永定河山峡段综合治理与生态修复。深入开展“清河行动”。"
    spans = rb.predict(text, "plan")
    # precision over recall: the headless name is not claimed, the quoted action is,
    # without its wrapping quotes
    assert ("清河行动", "PROJECT") in [(text[a:b], lab) for a, b, lab in spans]
    assert all(lab == "PROJECT" for _, _, lab in spans)


def test_spec_project_with_quantity_has_no_stray_quantities(rb):
    # 新一轮百万亩造林绿化 has no head the baseline knows: no METRIC/PROJECT, so the
    # quantities must not be marked on their own (spec rule 3)
    text = "在山区重点实施新一轮百万亩造林绿化1万亩、京津风沙源治理封山育林15.1万亩。"
    assert rb.predict(text, "plan") == []


def test_marks_inside_name_stay_inside(rb):
    text = "抓好“百村示范、千村整治”工程，强化农业面源污染治理。深入开展“清四乱”专项行动。"
    got = [(text[a:b], lab) for a, b, lab in rb.predict(text, "plan")]
    assert ("“百村示范、千村整治”工程", "PROJECT") in got
    assert ("“清四乱”专项行动", "PROJECT") in got


def test_project_leading_verbs_outside(rb):
    text = "加快推动石龙五期人工智能产业园开工建设。"
    assert [(text[a:b], lab) for a, b, lab in rb.predict(text, "plan")] == [
        ("石龙五期人工智能产业园", "PROJECT")]


def test_titles_competed_for_are_not_projects(rb):
    text = "巩固创建成果，争创“国家生态文明建设示范区”，确保“国家全域旅游示范区”创建成功。"
    assert rb.predict(text, "plan") == []


def test_policy_documents_are_not_projects(rb):
    text = "高质量编制“十四五”规划。抓好《北京市城乡规划条例》组织实施。"
    assert rb.predict(text, "plan") == []


# --------------------------------------------------------------------------- TARGET / VALUE


def labels_of(rb, text, section):
    return [(text[a:b], lab) for a, b, lab in rb.predict(text, section)]


def test_section_switches_target_and_value(rb):
    text = "地区生产总值增长6.5%，城镇登记失业率控制在4.5%以内。"
    plan = labels_of(rb, text, "plan")
    review = labels_of(rb, text, "review")
    assert plan == [("地区生产总值", "METRIC"), ("增长6.5%", "TARGET"),
                    ("城镇登记失业率", "METRIC"), ("控制在4.5%以内", "TARGET")]
    assert review == [(s, "VALUE" if lab == "TARGET" else lab) for s, lab in plan]


@pytest.mark.parametrize("cue", ["力争", "确保", "预期", "到2025年，", "计划投资20亿元，"])
def test_target_cue_overrides_review(rb, cue):
    text = f"{cue}一般公共预算收入增长8%以上。"
    got = dict(labels_of(rb, text, "review"))
    assert got["增长8%以上"] == "TARGET"


def test_target_cue_only_scopes_what_follows(rb):
    # 目标 after the quantities does not turn the reported values into targets
    text = "一般公共预算收入达到280.7亿元，如期实现两个翻一番的宏伟目标。"
    assert dict(labels_of(rb, text, "review"))["达到280.7亿元"] == "VALUE"


def test_value_cue_in_plan_past_statement(rb):
    text = "去年全县一般公共预算收入完成7.04亿元，同比增长5%。"
    got = labels_of(rb, text, "plan")
    assert ("完成7.04亿元" not in dict(got))  # 完成 is not a change word: outside
    assert dict(got)["7.04亿元"] == "VALUE"
    assert dict(got)["增长5%"] == "VALUE"


def test_forecast_of_future_level_is_target(rb):
    text = "预计今年城镇新增就业超过1100万人。"
    assert dict(labels_of(rb, text, "review"))["超过1100万人"] == "TARGET"


def test_starting_level_is_value(rb):
    text = "森林覆盖率由“十二五”末的33.74%提高到38.73%。"
    assert labels_of(rb, text, "plan") == [
        ("森林覆盖率", "METRIC"), ("33.74%", "VALUE"), ("提高到38.73%", "TARGET")]


# --------------------------------------------------------------------------- span rules


def test_adverbs_and_non_list_verbs_stay_outside(rb):
    text = "全年新增国家高新技术企业89家、累计达1717家；居民消费价格上涨2.5%；地区生产总值同比增长6.6%。"
    got = [s for s, lab in labels_of(rb, text, "review") if lab == "VALUE"]
    assert got == ["89家", "达1717家", "2.5%", "增长6.6%"]


def test_ranges_are_one_span(rb):
    text = "国内生产总值增长6.5%－7%，新增就业1到2万人。"
    got = [s for s, lab in labels_of(rb, text, "plan") if lab == "TARGET"]
    assert got == ["增长6.5%－7%", "1到2万人"]


def test_fenbie_lists_give_one_span_per_quantity(rb):
    text = "城乡居民人均可支配收入分别增长7.5%、8.5%。"
    assert labels_of(rb, text, "plan") == [
        ("城乡居民人均可支配收入", "METRIC"), ("增长7.5%", "TARGET"), ("8.5%", "TARGET")]


def test_quantity_needs_a_metric_or_project(rb):
    assert rb.predict("全年共召开21次会议，接待来访群众3000人次。", "review") == []


def test_metric_needs_a_level_change_or_goal(rb):
    assert rb.predict("推动地区生产总值和居民收入上新台阶。", "plan") == []
    text = "居民人均可支配收入稳步增长。"
    assert labels_of(rb, text, "review") == [("居民人均可支配收入", "METRIC")]


def test_ranks_keep_metric_but_are_not_spans(rb):
    text = "PM2.5、PM10平均浓度全省排名退后十。"
    assert labels_of(rb, text, "plan") == [("PM2.5、PM10平均浓度", "METRIC")]


def test_years_codes_and_footnotes_are_not_quantities(rb):
    text = "2020年地区生产总值增长6%[11]，建设110千伏变电站，地铁7号线PM2.5浓度第2位。"
    got = [s for s, lab in labels_of(rb, text, "review") if lab in ("TARGET", "VALUE")]
    assert got == ["增长6%"]


def test_comparisons_and_levels_without_numerals(rb):
    text = "PM2.5平均浓度下降率完成省定任务，一般公共预算收入与上年持平。"
    got = labels_of(rb, text, "plan")
    assert ("完成省定任务", "TARGET") in got
    assert ("与上年持平", "TARGET") in got


def test_capacity_inside_project_name_is_not_a_quantity(rb):
    text = "重点抓好恒天天鹅年产6万吨莱赛尔项目，固定资产投资增长10%。"
    got = labels_of(rb, text, "plan")
    assert ("6万吨", "TARGET") not in got
    assert ("增长10%", "TARGET") in got


def test_clauses_without_end_marks():
    assert split_sentences("甲。乙；丙\n丁", marks=False) == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert split_sentences("。。", marks=False) == []


def test_unknown_section_rejected(rb):
    with pytest.raises(ValueError):
        rb.predict("地区生产总值增长6%。", "future")


def test_lexicon_is_clean():
    assert len(METRIC_LEXICON) == len(set(METRIC_LEXICON))
    assert all(w == w.strip() and w for w in METRIC_LEXICON)
    assert "达" in CHANGE_WORDS and "上涨" not in CHANGE_WORDS


# --------------------------------------------------------------------------- properties


def _paragraphs(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8").replace("\\r\\n", "\n")
    return [p for p in raw.splitlines() if p.strip()]


@pytest.mark.parametrize("path", SIMPLIFIED_SEEDS, ids=lambda p: p.stem)
def test_boundary_properties_on_seeds(rb, path):
    n = 0
    for para in _paragraphs(path):
        for section in ("review", "plan", None):
            spans = rb.predict(para, section)
            check_invariants(para, spans)
            n += len(spans)
    if re.search(r"[0-9]", path.read_text(encoding="utf-8")):
        assert n > 0, "the baseline finds nothing in a whole report"
    # else: a report with no Arabic digit at all (全国_1978: every number in Chinese
    # numerals), which the baseline, reading Arabic numbers only, cannot tag


def test_seed_corpus_is_present():
    assert len(SIMPLIFIED_SEEDS) >= 20


ALPHABET = list("地区生产总值增长下降提高到至达超近约左右以上内下元亿万人家个%％.。，、；：“”（）() 0123456789"
                "一般公共预算收入城镇登记失业率实施推进工程项目行动计划新增同比累计分别和与持平预计今年")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60),
       st.sampled_from(["review", "plan", "other", None]))
def test_boundary_properties_on_random_text(text, section):
    spans = RuleBaseline().predict(text, section)
    check_invariants(text, spans)


# --------------------------------------------------------------------------- spaCy


def test_spacy_component_uses_section_extension():
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc

    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_rules")
    assert Doc.has_extension("section")
    text = "地区生产总值增长6%左右。"
    doc = nlp.make_doc(text)
    doc._.section = "review"
    doc = nlp.get_pipe("govreport_rules")(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("地区生产总值", "METRIC"), ("增长6%左右", "VALUE")]
    doc = nlp.make_doc(text)
    doc._.section = "plan"
    doc = nlp.get_pipe("govreport_rules")(doc)
    assert [e.label_ for e in doc.ents] == ["METRIC", "TARGET"]


def test_spacy_component_keeps_existing_ents_when_asked():
    spacy = pytest.importorskip("spacy")

    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_rules", config={"overwrite_ents": False})
    doc = nlp.make_doc("地区生产总值增长6%左右。")
    doc.ents = [doc.char_span(0, 6, label="PROJECT")]
    doc = nlp.get_pipe("govreport_rules")(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("地区生产总值", "PROJECT"), ("增长6%左右", "VALUE")]
