"""Place and year of every report in seeds/, from its opening lines.

The truth is ``seeds/SOURCES.tsv`` for the 20 reports it lists (read here, never
by the code) and :data:`OWN_TRUTH` for the other five, read off their text.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.tables.metadata import place_unit, report_metadata
from pipeline.text.normalize import normalize
from pipeline.text.reading import read_report

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

OWN_TRUTH: dict[str, tuple[str, int]] = {
    "000_a3783150aeff858a": ("石景山区", 2021),   # 2021年北京市石景山区政府工作报告
    "001_25f246a410c0d53a": ("东城区", 2022),     # 2022年北京市东城区政府工作报告 (delivered 2021-12-09)
    "002_8668c15d29c349c7": ("门头沟区", 2020),   # plan part only: 2020年政府工作的总体要求; 《门头沟区…规划》
    "003_8de36d65d8a4f08f": ("通州区", 2020),     # 赵磊同志在通州区第六届人民代表大会…, 2020年2月29日
    "004_751be6e086fe62a8": ("北京经济技术开发区", 2022),  # 2021年度工作报告; 二、2022年工作安排
}

# SOURCES.tsv says 安新县, but the text never names 安新: it is the report of
# 新安县 (洛阳, 河南: 新安经开区, 河南省自行车公开赛, 技能洛阳) and its opening lines
# name no place ("我代表县人民政府"). The extractor must not guess.
NO_PLACE_IN_TEXT = {"安新县_2024_850ab583"}
# Known wrong: 容城县_2017 opens with its review heading (no title, session or speaker line)
# and names itself 容城 (29 times) but never 容城县, so the body fallback takes the county
# named twice instead: a partner county (与新疆和静县…) -> 疆和静县.
KNOWN_WRONG = {"容城县_2017_28d9e7a7": "body fallback names a partner county (与新疆和静县)",
               # 清苑县 is named in full once (清苑 18 times; the opening has no place): the body
               # fallback needs two full mentions, and finds none (超…万元的县 is not a name)
               "清苑区_2013_7dcd4636": "named in full only once: no place found",
               # 容城 29 times, 容城县 never (县政府, 县委, 全县): nothing names the county in full
               "容城县_2015_9a3aa5d4": "never named in full: no place found",
               # 容城县 once (容城县教育专家咨询委员会), 容城 many times, 全县/县政府: as 清苑区_2013
               "容城县_2019_9dd66c48": "named in full only once: no place found",
               # the same: 确定１９８７年经济体制改革的主要任务 (full-width digits), 1986年同1978年相比
               "全国_1987_cbe68308": "the year only in running text (确定１９８７年…): not found",
               # the old national reports of round 13 name their session only relative to an earlier
               # one (从去年三月第五届…第一次会议闭幕…, 从去年９月第五届…第三次会议到现在) or not at all
               "全国_1979_b0d6c6df": "the session only relative to the last one (从去年三月…): not found",
               "全国_1981_b03d0021": "the session only relative to the last one (从去年９月…): not found",
               "全国_1982_f250f117": "the year only as 一九八二年 in running text: not found",
               "全国_1984_ecdb3b56": "the year only relative to the last session (根据一九八三年六月…): not found",
               "全国_1988_3cb754b7": "the year only in running text: not found"}
# The 1986 report on the seventh five-year plan (1986–1990) states no year of its own:
# no title, no session date, no dated heading; the extractor must not guess. Nor does the
# 1978 report: it opens 向第五届全国人民代表大会作政府工作报告 (the session, not its year),
# and its years are of the plan (从一九七八年到一九八五年).
NO_YEAR_IN_TEXT = {"全国_1986_3497f16d", "全国_1978_e7ccbd9d"}


# Counties that became districts after the report: the text names the county of its time.
HISTORICAL_NAMES = {"徐水区_2010_7e0eb2ef": "徐水县",  # 徐水区 since 2015
                    "徐水区_2011_a885367c": "徐水县",
                    "徐水区_2012_3c6d93cd": "徐水县",
                    "徐水区_2013_89153a9d": "徐水县",
                    "徐水区_2015_d859d9b3": "徐水县",  # delivered before the change
                    "清苑区_2005_9803ae72": "清苑县",  # 清苑区 since 2015
                    "清苑区_2003_24cf96f0": "清苑县",
                    "清苑区_2008_337998ea": "清苑县",
                    "清苑区_2013_7dcd4636": "清苑县"}


def _truth() -> dict[str, tuple[str | None, int | None]]:
    truth: dict[str, tuple[str | None, int | None]] = dict(OWN_TRUTH)
    with open(SEEDS / "SOURCES.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            stem = row["file"].removesuffix(".txt")
            place = None if stem in NO_PLACE_IN_TEXT else HISTORICAL_NAMES.get(stem, row["place"])
            truth[stem] = (place, None if stem in NO_YEAR_IN_TEXT else int(row["year"]))
    return truth


TRUTH = _truth()


@lru_cache(maxsize=None)
def _metadata(stem: str):
    return report_metadata(normalize(read_report(SEEDS / f"{stem}.txt")).text)


def test_truth_covers_every_seed_report(seed_files):
    assert sorted(TRUTH) == sorted(p.stem for p in seed_files)


@pytest.mark.parametrize("stem", [
    pytest.param(stem, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[stem]))
    if stem in KNOWN_WRONG else stem for stem in sorted(TRUTH)])
def test_place_and_year(stem):
    meta = _metadata(stem)
    assert (meta.place, meta.year) == TRUTH[stem]
    if meta.place is not None:
        assert meta.place_from in ("title", "session", "speaker", "body")
    assert (meta.year_from is None) == (meta.year is None)


def test_most_reports_are_read_from_their_opening_lines():
    sources = [_metadata(stem).place_from for stem in TRUTH]
    assert sum(s in ("title", "session", "speaker") for s in sources) >= 20


@pytest.mark.parametrize("name,unit", [("北京市石景山区", "石景山区"), ("保定市满城区", "满城区"),
                                       ("北京市通州区", "通州区"), ("北京经济技术开发区管委会", "北京经济技术开发区"),
                                       ("河北省", "河北省"), ("易县", "易县")])
def test_place_unit(name, unit):
    assert place_unit(name) == unit


def test_headings_without_title():
    text = "各位代表：\n现在，我代表蠡县人民政府，向大会作政府工作报告。\n一、2019年工作回顾\n2019年，…"
    meta = report_metadata(text)
    assert (meta.place, meta.year) == ("蠡县", 2020)
    assert report_metadata("政府工作报告\n各位代表：\n").place is None


def test_speaker_line_with_the_government_term():
    # 我代表容城县第十四届人民政府 (容城县_2012): the term number sits between place and 人民政府
    meta = report_metadata("各位代表：\n现在，我代表容城县第十四届人民政府，向大会报告工作。\n")
    assert meta.place == "容城县" and meta.place_from == "speaker"


def test_plan_heading_cut_by_a_line_break():
    # 二、 2015年经济社会发展的任务目\n标和重点工作 (徐水区_2015, a scraped line break)
    text = "各位代表：\n现在，我代表县政府向大会报告工作。\n二、 2015年经济社会发展的任务目\n标和重点工作\n"
    assert report_metadata(text).year == 2015
    # 二、2005年工作总体部署 (全国_2005): the plan heading of the national reports of that decade
    assert report_metadata("各位代表：\n我代表国务院，向大会作政府工作报告。\n二、2005年工作总体部署\n").year == 2005


def test_year_from_the_session_it_is_delivered_to():
    # 全国_1983: 我代表国务院，向第六届全国人民代表大会第一次会议作政府工作报告 (6th NPC: 1983–1987)
    text = "各位代表：\n我代表国务院，向第六届全国人民代表大会第一次会议作政府工作报告，请予审议。\n"
    assert report_metadata(text).year == 1983
    assert report_metadata(text.replace("第一次会议", "第三次会议")).year == 1985


def test_year_from_the_first_year_of_a_plan():
    # no title, date or dated heading (全国_2001, 全国_2006): 2001年是进入新世纪、实施“十五”计划的第一年
    text = "各位代表：\n我代表国务院，向大会作政府工作报告。\n一、“九五”时期的回顾\n2001年是进入新世纪、实施“十五”计划的第一年。\n"
    meta = report_metadata(text)
    assert (meta.year, meta.year_from) == (2001, "the first year of a plan")


def test_body_place_ignores_the_level_itself_and_slogans():
    # 完成全县 (three times) is 完成 + 全县, 科教兴县 a slogan: only 清苑县 names the county
    body = "完成全县任务。完成全县目标。完成全县计划。科教兴县。人才兴县。清苑县面临机遇。《清苑县志》出版。"
    assert report_metadata("各位代表：\n我代表县政府向大会报告工作。\n" + body).place == "清苑县"
