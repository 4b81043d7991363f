import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.charsets import is_common, is_report_char
from pipeline.text.normalize import REPLACEMENT, NormalizeConfig, normalize, to_simplified
from pipeline.text.reading import read_report

ONLY = {name: False for name in NormalizeConfig().to_dict()}


def only(*steps: str) -> NormalizeConfig:
    return NormalizeConfig(**{**ONLY, **{s: True for s in steps}})


def _raw_of(result, start, end):
    raw_start, raw_end = result.raw_span(start, end)
    return result.raw[raw_start:raw_end]


# ---------------------------------------------------------------- steps


def test_mojibake_example_from_the_issue():
    result = normalize("完成了年度任務。\n?。ㄒ唬┙y籌推進疫情防控", only("mojibake"))
    assert result.text == f"完成了年度任務。\n{REPLACEMENT}（一）統籌推進疫情防控"
    assert [c.step for c in result.changes] == ["mojibake"]
    assert result.changes[0].before == "?。ㄒ唬┙y"


def test_unrepairable_run_becomes_a_visible_replacement():
    # “六保”工作，較好: bytes were dropped inside the run, so it cannot be
    # re-decoded; the garbage is replaced by U+FFFD, nothing is invented.
    result = normalize("抓好“六穩”“六?!惫ぷ鳎^好完成了年度任務", only("mojibake"))
    assert result.text == f"抓好“六穩”“六{REPLACEMENT}^好完成了年度任務"
    assert result.changes[0].before == "?!惫ぷ鳎"


def test_lone_question_mark_in_clean_text_is_not_re_decoded():
    result = normalize("舉辦“北京消費季?愛尚石景山”活動", only("mojibake", "stray_marks"))
    assert result.text == f"舉辦“北京消費季{REPLACEMENT}愛尚石景山”活動"


def test_pinyin_glosses_removed():
    result = normalize("東城區(qū)現(xiàn)在領(lǐng)導(dǎo)", only("pinyin"))
    assert result.text == "東城區現在領導"
    assert len(result.changes) == 4


def test_pinyin_needs_a_tone_mark():
    text = "提高到(3)项，标准(B)级，网址(www)"
    assert normalize(text, only("pinyin")).text == text


def test_injected_ad_removed_and_recorded():
    result = normalize("依托manbetx客户端的合作伙伴大厦", only("ads"))
    assert result.text == "依托的合作伙伴大厦"
    (change,) = result.changes
    assert (change.step, change.before, change.raw_start) == ("ads", "manbetx客户端", 2)


def test_escapes_entities_and_zero_width():
    raw = "主要任务\\r\\n&nbsp;&nbsp;加快\u200b推进&amp;落实\ufffd\ufffd\ufffd项目"
    result = normalize(raw, only("escapes", "whitespace"))
    assert result.text == "主要任务\n加快推进&落实\ufffd项目"


def test_boilerplate_lines_removed_and_recorded():
    raw = (
        "工作报告\n2021年博野县政府工作报告\n时间：2023-01-24\t作者：中国县域\t来源：政府官网\t阅读：\n303\n评论：\n0\n"
        "各位代表：\n地区生产总值增长6%。\n统计公报\n上海市\n2025年\n工作\n城区\n考生\n"
    )
    result = normalize(raw, only("boilerplate", "whitespace"))
    assert result.text == "工作报告\n2021年博野县政府工作报告\n各位代表：\n地区生产总值增长6%。"
    removed = [c.before for c in result.changes if c.step == "boilerplate"]
    assert "303" in removed and "考生" in removed and any(r.startswith("时间：") for r in removed)


def test_footnote_markers():
    result = normalize("实现了“三个圆满收官”[1]，经济\n[1]“三个圆满收官”：说明", only("footnotes"))
    assert result.text == "实现了“三个圆满收官”，经济\n[1]“三个圆满收官”：说明"


def test_subscripts_on_their_own_lines_are_joined():
    raw = "细颗粒物（PM\n2.5\n）和可吸入颗粒物（PM\n10\n）治理。广义货币M\n2\n增长13.6%。\n评论：\n0\n各位代表"
    result = normalize(raw, only("subscripts"))
    assert result.text == "细颗粒物（PM2.5）和可吸入颗粒物（PM10）治理。广义货币M2增长13.6%。\n评论：\n0\n各位代表"
    assert [c.before for c in result.changes] == ["\n"] * 6  # the line breaks go, nothing else
    start = result.text.index("M2增")
    assert _raw_of(result, start, start + 2) == "M\n2"  # the digits keep their own raw offsets


def test_stray_question_marks():
    result = normalize("人民政府县长?? 刘永泽\n车场建设。?完成学前教育\nshow.asp?infoid=1", only("stray_marks", "whitespace"))
    assert result.text == "人民政府县长刘永泽\n车场建设。完成学前教育\nshow.asp?infoid=1"


def test_t2s_is_charwise():
    result = normalize("2021年北京市石景山區政府工作報告", only("t2s"))
    assert result.text == "2021年北京市石景山区政府工作报告"
    assert _raw_of(result, 11, 12) == "區"


def test_whitespace_between_chinese_removed_ascii_kept():
    raw = "  政 府 工 作 报 告  \n\n\n2019 年，PM 2.5 浓度\r\n"
    assert normalize(raw, only("whitespace")).text == "政府工作报告\n2019年，PM 2.5浓度"


def test_steps_can_be_switched_off():
    raw = "區(qū)"
    assert normalize(raw, only()).text == raw


def test_unknown_step_is_rejected():
    with pytest.raises(ValueError, match="unknown normalization steps"):
        NormalizeConfig.from_dict({"spellcheck": True})


# ---------------------------------------------------------------- whole reports


@pytest.fixture(scope="module")
def normalized_seeds(seed_files):
    return {p.name: normalize(read_report(p)) for p in seed_files}


def test_no_traditional_or_glosses_left(normalized_seeds):
    for name, result in normalized_seeds.items():
        assert to_simplified(result.text) == result.text, name
        assert not re.search(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)", result.text), name


def _garbled(ch: str) -> bool:
    """Neither used in reports nor a first-level (frequent) GB2312/Big5 character."""
    return not is_report_char(ch) and not is_common(ch)


def _mojibake_runs(text: str) -> list[str]:
    """Two garbled characters in a row (U+FFFD in between allowed)."""
    runs = []
    for m in re.finditer(r"[^\s\x00-\x7f]{2,}", text):
        chars = [c for c in m.group() if c != REPLACEMENT]
        if any(_garbled(a) and _garbled(b) for a, b in zip(chars, chars[1:])):
            runs.append(m.group())
    return runs


def test_mojibake_runs_in_000_before_and_after(normalized_seeds):
    result = normalized_seeds["000_a3783150aeff858a.txt"]
    before = re.findall(r"\?[^\n]{0,6}", result.raw)
    assert len(before) >= 20
    assert len([c for c in result.changes if c.step == "mojibake"]) >= 12
    assert "?" not in result.text
    text = result.text
    for repaired in ("（一）统筹推进疫情防控", "（五）始终坚持以人民为中心", "聚焦“四个复兴”"):
        assert repaired in text
    # Heading lines no longer start with garbled punctuation.
    assert not re.search(r"^[。]?[ㄒǘㄋㄎㄈň┲┨]", text, re.MULTILINE)
    assert _mojibake_runs(result.raw), "the check finds the damage before normalization"
    assert _mojibake_runs(text) == []


def test_simplified_report_unchanged_except_whitespace(normalized_seeds):
    result = normalized_seeds["002_8668c15d29c349c7.txt"]
    squeeze = lambda s: re.sub(r"\s+", "", s)
    assert squeeze(result.text) == squeeze(result.raw)
    assert result.changes == []


def test_alignment_maps_back_on_real_reports(normalized_seeds):
    for name, result in normalized_seeds.items():
        assert len(result.raw_starts) == len(result.raw_ends) == len(result.text)
        assert all(0 <= s < e <= len(result.raw) for s, e in zip(result.raw_starts, result.raw_ends)), name
        assert result.raw_starts == sorted(result.raw_starts), name
        for i, ch in enumerate(result.text[:3000]):
            raw = _raw_of(result, i, i + 1)
            if len(raw) == 1 and raw != ch and (raw, ch) != ("?", REPLACEMENT):
                assert to_simplified(raw) == ch, (name, i, raw, ch)


# ---------------------------------------------------------------- properties

CLEAN = "地区生产总值增长6%左右，一般公共预算收入完成数与2019年持平。实施新一轮百万亩造林绿化1万亩。"
CLEAN_CHARS = st.sampled_from(list(CLEAN))
DAMAGE = st.sampled_from(["gloss", "zero_width", "nbsp", "literal_crlf", "traditional", "ad", "space"])


def _damage(chars: list[str], kinds: list[str]) -> str:
    out = []
    for ch, kind in zip(chars, kinds + ["none"] * len(chars)):
        if kind == "gloss" and "\u4e00" <= ch <= "\u9fff":
            out.append(ch + "(xiàn)")
        elif kind == "zero_width":
            out.append(ch + "\u200b")
        elif kind == "nbsp":
            out.append(ch + "&nbsp;")
        elif kind == "literal_crlf" and ch in "。，":
            out.append(ch + "\\r\\n")
        elif kind == "traditional":
            out.append({"区": "區", "总": "總", "预": "預", "实": "實", "轮": "輪", "绿": "綠", "亿": "億"}.get(ch, ch))
        elif kind == "ad" and ch == "，":
            out.append("manbetx客户端" + ch)
        elif kind == "space":
            out.append(ch + " ")
        else:
            out.append(ch)
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(st.lists(CLEAN_CHARS, min_size=1, max_size=60), st.lists(DAMAGE, max_size=60), st.data())
def test_property_damage_is_undone_and_spans_map_back(chars, kinds, data):
    clean = "".join(chars)
    raw = _damage(chars, kinds)
    result = normalize(raw)
    squeeze = lambda s: re.sub(r"\s+", "", s)
    assert squeeze(result.text) == squeeze(clean)
    if not result.text:
        return
    start = data.draw(st.integers(0, len(result.text) - 1))
    end = data.draw(st.integers(start + 1, len(result.text)))
    span = result.text[start:end]
    # The raw substring the span points to normalizes back to the span.
    assert squeeze(normalize(_raw_of(result, start, end)).text) == squeeze(span)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(CLEAN) + [" ", "\n", "?", "(", ")", "\u3000"]), max_size=80))
def test_property_alignment_is_well_formed(raw):
    result = normalize(raw)
    assert len(result.raw_starts) == len(result.text)
    for s, e in zip(result.raw_starts, result.raw_ends):
        assert 0 <= s < e <= len(raw)


def test_clean_simplified_text_round_trips():
    text = "2020年，全区年度经济社会发展的主要预期目标是：地区生产总值增长6%左右。\n深入开展“清河行动”。"
    assert normalize(text).text == text
