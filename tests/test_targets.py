"""The target table: the main-target paragraphs of the seeds give exactly the
right rows; CSV / Parquet agree; the summary page renders in headless Chromium
with the numbers of targets.csv.

Main-target paragraphs (主要预期目标, 主要目标, 预期目标; 高阳县_2017 has only its
five-year 主要发展目标; 004, 安新县_2024 and 阜平县_2017 have none): spans come from
``annotations/gold`` for gold documents and from :data:`SPANS` below for the
others (annotated by hand following annotations/GUIDELINES.md); links come from
the linker, quantities from the normalizer. Every expected row was checked by
reading the paragraph.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from linked import linked_record  # noqa: E402

from pipeline.annotation.jsonl import read_records
from pipeline.annotation.schema import Record, Span
from pipeline.text.normalize import normalize
from pipeline.text.reading import read_report
from pipeline.text.structure import split_paragraphs
from pipeline.tables.linking import link_spans
from pipeline.tables.summary import format_number, render_summary, shown_value
from pipeline.tables.attainment import attainment_csv_text, attainment_rows
from pipeline.tables.targets import (
    TARGET_COLUMNS,
    csv_text,
    evaluate_rows,
    rows_from_records,
    write_parquet,
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GOLD = ROOT / "annotations" / "gold"
CHROMIUM = Path("/usr/bin/chromium")

# doc id -> (words that start the paragraph's target list, spans in text order
# as (surface, label), or None for gold documents).
M, T, V, P = "METRIC", "TARGET", "VALUE", "PROJECT"
SPANS: dict[str, tuple[str, list[tuple[str, str]] | None]] = {
    "000_a3783150aeff858a": ("全区经济社会发展的主要预期目标是", None),
    "001_25f246a410c0d53a": ("今后五年全区经济社会发展的主要预期目标是", None),
    "002_8668c15d29c349c7": ("2020年,全区年度经济社会发展的主要预期目标是", None),
    "003_8de36d65d8a4f08f": ("2020年经济社会发展的主要目标是", None),
    "保定市_2021_77b1b663": ("全市经济社会发展主要预期目标是", None),
    "全国_2021_5bd07fc4": ("今年我国发展仍面临不少风险挑战", None),
    "易县_2018_1f86f9aa": ("经济社会发展的主要预期目标是", None),
    "河北省_2017_23b5e5ac": ("经济社会发展的主要目标是", None),
    "高阳县_2015_5204c138": ("经济社会发展主要预期目标是", None),
    "全国_2016_f3e8bc32": ("今年发展的主要预期目标是", [
        ("国内生产总值", M), ("增长6.5%－7%", T), ("居民消费价格涨幅", M), ("3%左右", T),
        ("城镇新增就业", M), ("1000万人以上", T), ("城镇登记失业率", M), ("4.5%以内", T),
        ("进出口", M), ("国际收支", M), ("居民收入", M), ("和经济增长基本同步", T),
        ("单位国内生产总值能耗", M), ("下降3.4%以上", T), ("主要污染物排放", M)]),
    "博野县_2021_9eb153b4": ("各位代表，2021年是中国共产党成立100周年", [
        ("生产总值", M), ("增长9%以上", T), ("一般公共预算收入", M), ("增长8%以上", T),
        ("规模以上工业增加值", M), ("增长10%左右", T), ("固定资产投资", M), ("增长10%左右", T),
        ("社会消费品零售总额", M), ("增长9%左右", T), ("进出口总值", M), ("增长5%左右", T),
        ("实际利用外资", M), ("增长5%左右", T), ("居民人均可支配收入", M), ("增长10%左右", T),
        ("主要经济指标增速", M)]),
    "唐县_2020_34a0d8cf": ("经济社会发展主要预期目标是", [
        ("生产总值", M), ("增长6.5%", T), ("一般公共预算收入", M), ("增长6.5%", T),
        ("固定资产投资", M), ("增长6.5%左右", T), ("规模以上工业增加值", M), ("增长5%", T),
        ("社会消费品零售总额", M), ("增长9%左右", T), ("城乡居民人均可支配收入", M),
        ("增长7.5%", T), ("8.5%", T), ("PM2.5平均浓度下降率", M), ("完成市定任务", T)]),
    "安国市_2022_7ca2e9ba": ("2022年经济社会发展预期目标是", [
        ("生产总值", M), ("增长8%左右", T), ("一般公共预算收入", M), ("增长8%左右", T),
        ("规模以上工业增加值", M), ("增长9%左右", T), ("固定资产投资", M), ("增长9%左右", T),
        ("社会消费品零售总额", M), ("增长8.5%左右", T), ("进出口总值", M),
        ("实际利用外资", M), ("增长5%左右", T), ("居民人均可支配收入", M), ("增长8.5%左右", T),
        ("主要经济指标总量（增速）", M), ("能耗及排放等约束性指标", M), ("完成省定任务", T)]),
    "定兴县_2020_c80c42d5": ("经济社会发展的预期目标是", [
        ("县域生产总值", M), ("增长6%", T), ("一般公共财政预算收入", M), ("增长8%", T),
        ("规模以上工业增加值", M), ("增长5%", T), ("固定资产投资", M), ("增长7%", T),
        ("社会消费品零售总额", M), ("增长8.5%", T), ("城镇、农村居民人均可支配收入", M),
        ("增长7.5%", T), ("9%", T), ("城镇登记失业率", M), ("控制在4.5%以内", T),
        ("细颗粒物（PM2.5）浓度", M), ("完成上级下达任务", T)]),
    "容城县_2020_5cb467e8": ("今年经济社会发展的主要预期目标是", [
        ("地区生产总值", M), ("43.35亿元", T), ("规模以上工业增加值", M), ("5.54亿元", T),
        ("固定资产投资", M), ("132亿元", T), ("一般公共预算收入", M), ("1.15亿元", T),
        ("社会消费品零售总额", M), ("54.97亿元", T), ("城乡居民收入", M), ("增长4%", T),
        ("5%", T), ("节能减排相关约束性指标", M), ("达到核定标准", T)]),
    "徐水区_2019_061aabe1": ("经济社会发展的预期目标", [
        ("生产总值", M), ("增长8%", T), ("规模以上工业增加值", M), ("增长7%", T),
        ("社会消费品零售总额", M), ("增长12%左右", T), ("一般公共预算收入", M), ("增长8%", T),
        ("城镇和农村居民人均可支配收入", M), ("增长9%左右", T), ("固定资产投资", M),
        ("增长7%以上", T)]),
    "曲阳县_2022_b51b3a48": ("今年经济社会发展的主要预期目标是", [
        ("一般公共预算收入", M), ("超10亿", T), ("PM2.5、PM10平均浓度", M), ("生产总值", M),
        ("增长8%以上", T), ("规模以上工业增加值", M), ("增长9%左右", T), ("固定资产投资", M),
        ("增长8%左右", T), ("社会消费品零售总额", M), ("增长8.5%左右", T), ("进出口总值", M),
        ("增长5%左右", T), ("实际利用外资", M), ("增长5%左右", T),
        ("城乡居民人均可支配收入", M), ("增长8.5%左右", T), ("主要经济指标总量（增速）", M)]),
    "涞水县_2021_1b91b9be": ("今年经济社会发展主要预期目标是", [
        ("生产总值", M), ("增长9%左右", T), ("一般公共预算收入", M), ("增长12%", T),
        ("规模以上工业增加值", M), ("增长10%左右", T), ("固定资产投资", M), ("增长10%左右", T),
        ("社会消费品零售总额", M), ("增长9%左右", T), ("外贸进出口", M), ("增长5%左右", T),
        ("实际利用外资", M), ("增长10%左右", T), ("全体居民人均可支配收入", M),
        ("增长9%左右", T), ("PM2.5平均浓度下降率", M), ("完成市定任务", T),
        ("约束性指标", M), ("完成上级下达任务", T)]),
    "清苑区_2024_58a1411e": ("全区经济社会发展的预期目标是", None),
    "满城区_2022_297ef7ae": ("今年经济社会发展的主要预期目标是", [
        ("地区生产总值", M), ("增长8%以上", T), ("一般公共预算收入", M), ("增长8%以上", T),
        ("规模以上工业增加值", M), ("增长9%以上", T), ("固定资产投资", M), ("增长8%以上", T),
        ("社会消费品零售总额", M), ("增长8.5%以上", T), ("进出口总值", M), ("增长5%以上", T),
        ("实际利用外资", M), ("增长5%以上", T), ("居民人均可支配收入", M), ("增长8.5%以上", T),
        ("能耗及污染物排放等约束性指标", M), ("完成市定任务", T)]),
    "蠡县_2020_2814aee5": ("2020年经济社会发展的主要预期目标是", [
        ("生产总值", M), ("增长6.5%", T), ("规模以上工业增加值", M), ("增长5%", T),
        ("固定资产投资", M), ("增长6.5%左右", T), ("一般公共预算收入", M), ("5.55亿元", V),
        ("增长8.1%", T), ("社会消费品零售总额", M), ("增长9%左右", T),
        ("城乡居民人均可支配收入", M), ("增长7.5%", T), ("8.5%", T), ("约束性指标", M),
        ("完成省市任务", T)]),
    "高阳县_2017_5104692d": ("主要发展目标是", [
        ("生产总值", M), ("达到170亿元", T), ("增长12%以上", T),
        ("城乡居民人均可支配收入", M), ("增长10%以上", T)]),
}

# Expected rows per document: (metric, kind, text, direction, value, value_high,
# unit, qualifier, baseline or level). Abbreviations below keep the table short.
G, R, I, S = "地区生产总值", "一般公共预算收入", "规模以上工业增加值", "固定资产投资"
C, X, F, Y = "社会消费品零售总额", "进出口总额", "实际利用外资", "居民人均可支配收入"
U, E = "城镇登记失业率", "单位地区生产总值能耗"
inc, lvl, lim, par = "increase", "level", "limit", "parity"
ab, al, am = "approximately", "at least", "at most"
t = "target"


def _g(metric, text, value, qual=None, direction=inc, unit="%", kind=t, high=None, base=None):
    return (metric, kind, text, direction, value, high, unit, qual, base)


def _task(metric, text, base):
    return (metric, t, text, lvl, None, None, None, None, base)


EXPECTED: dict[str, list[tuple]] = {
    "000_a3783150aeff858a": [
        _g(G, "增长6%以上", 6, al), _g(R, "增长3%", 3), _g(S, "增长2.9%", 2.9),
        _g("市场总消费", "增长4.5%左右", 4.5, ab), _g(U, "控制在3%以内", 3, am, lim),
        _task("万元地区生产总值能耗和PM2.5年均浓度下降指标", "达到北京市要求", "北京市要求")],
    "001_25f246a410c0d53a": [
        _g("地区生产总值年均增速", "达到5%左右", 5, ab, lvl),
        _g("区级一般公共预算收入年均增速", "达到5%", 5, None, lvl),
        ("居民人均可支配收入年均增速", t, "与经济增长基本同步", par, None, None, None, ab, "经济增长"),
        _g(U, "低于3%", 3, "under", lim),
        _task("细颗粒物年均浓度", "达到市级要求", "市级要求"),
        _task("常住人口规模", "达到市级要求", "市级要求")],
    "002_8668c15d29c349c7": [
        _g(G, "增长6%左右", 6, ab),
        (R, t, "与2019年持平", par, None, None, None, None, "2019年"),
        _g(C, "增长6%左右", 6, ab),
        (Y, t, "与经济增长保持同步", par, None, None, None, None, "经济增长"),
        _g(U, "控制在4.5%以内", 4.5, am, lim)],
    "003_8de36d65d8a4f08f": [
        _g(G, "增长6.5%左右", 6.5, ab), _g(R, "增长3.5%左右", 3.5, ab), _g("建安投资", "增长7%左右", 7, ab),
        _g(C, "增长6%左右", 6, ab), _g(Y, "增长8%左右", 8, ab), _g(U, "控制在3.5%以内", 3.5, am, lim),
        _task(E, "完成市级下达的任务", "市级下达的任务"),
        _task("大气污染物和水污染物排放", "完成市级下达的任务", "市级下达的任务")],
    "保定市_2021_77b1b663": [
        _g(G, "增长8%以上", 8, al), _g(R, "增长6.5%以上", 6.5, al), _g(I, "增长10%左右", 10, ab),
        _g(S, "增长10%左右", 10, ab), _g(C, "增长9%左右", 9, ab), _g(X, "增长5%左右", 5, ab),
        _g(F, "增长5%左右", 5, ab), _g(Y, "增长8.5%左右", 8.5, ab),
        _task("PM2.5平均浓度下降率", "完成省定任务", "省定任务")],
    "全国_2021_5bd07fc4": [
        _g(G, "增长6%以上", 6, al), _g("城镇新增就业", "1100万人以上", 11000000, al, lvl, "人"),
        _g("城镇调查失业率", "5.5%左右", 5.5, ab, lvl), _g("居民消费价格涨幅", "3%左右", 3, ab, lvl),
        _g(E, "降低3%左右", 3, ab, "decrease"),
        _g("粮食产量", "保持在1.3万亿斤以上", 1.3e12, al, lvl, "斤")],
    "易县_2018_1f86f9aa": [
        _g(G, "增长7%", 7), _g(R, "4.6亿元", 4.6e8, None, lvl, "元"), _g("税收收入", "增长15%", 15),
        _g(I, "增长5%", 5), _g(S, "增长10%", 10), _g(C, "增长11%", 11),
        _g("居民人均可支配收入", "增长10%", 10), _g("居民人均可支配收入", "12%", 12)],
    "河北省_2017_23b5e5ac": [
        _g(G, "增长7%左右", 7, ab), _g(R, "增长7%", 7), _g(S, "增长9%左右", 9, ab),
        _g(C, "增长10%左右", 10, ab), _g("PM2.5平均浓度", "下降6%以上", 6, al, "decrease"),
        _g(E, "下降4%左右", 4, ab, "decrease"),
        _task("化学需氧量、二氧化硫、氨氮和氮氧化物减排", "完成国家下达的任务", "国家下达的任务"),
        _g(Y, "增长8%左右", 8, ab), _g("居民消费价格涨幅", "3%左右", 3, ab, lvl),
        _g(U, "4.5%以内", 4.5, am, lim)],
    "高阳县_2015_5204c138": [
        _g(G, "增长7.5%", 7.5), _g(I, "增长9%", 9), _g(S, "增长16.5%", 16.5), _g(C, "增长13.5%", 13.5),
        _g(R, "增长8%", 8), _g("城镇居民人均可支配收入", "增长9%", 9),
        _g("农村居民人均可支配收入", "9.5%", 9.5), _g(U, "控制在3%以内", 3, am, lim),
        _g("人口自然增长率", "控制在7.6‰以内", 7.6, am, lim, "‰"),
        _task("节能减排", "完成省市目标任务", "省市目标任务")],
    "全国_2016_f3e8bc32": [
        _g(G, "增长6.5%－7%", 6.5, high=7), _g("居民消费价格涨幅", "3%左右", 3, ab, lvl),
        _g("城镇新增就业", "1000万人以上", 10000000, al, lvl, "人"), _g(U, "4.5%以内", 4.5, am, lim),
        (Y, t, "和经济增长基本同步", par, None, None, None, ab, "经济增长"),
        _g(E, "下降3.4%以上", 3.4, al, "decrease")],
    "博野县_2021_9eb153b4": [
        _g(G, "增长9%以上", 9, al), _g(R, "增长8%以上", 8, al), _g(I, "增长10%左右", 10, ab),
        _g(S, "增长10%左右", 10, ab), _g(C, "增长9%左右", 9, ab), _g(X, "增长5%左右", 5, ab),
        _g(F, "增长5%左右", 5, ab), _g(Y, "增长10%左右", 10, ab)],
    "唐县_2020_34a0d8cf": [
        _g(G, "增长6.5%", 6.5), _g(R, "增长6.5%", 6.5), _g(S, "增长6.5%左右", 6.5, ab), _g(I, "增长5%", 5),
        _g(C, "增长9%左右", 9, ab), _g("居民人均可支配收入", "增长7.5%", 7.5),
        _g("居民人均可支配收入", "8.5%", 8.5),
        _task("PM2.5平均浓度下降率", "完成市定任务", "市定任务")],
    "安国市_2022_7ca2e9ba": [
        _g(G, "增长8%左右", 8, ab), _g(R, "增长8%左右", 8, ab), _g(I, "增长9%左右", 9, ab),
        _g(S, "增长9%左右", 9, ab), _g(C, "增长8.5%左右", 8.5, ab), _g(F, "增长5%左右", 5, ab),
        _g(Y, "增长8.5%左右", 8.5, ab), _task("能耗及排放等约束性指标", "完成省定任务", "省定任务")],
    "定兴县_2020_c80c42d5": [
        _g(G, "增长6%", 6), _g(R, "增长8%", 8), _g(I, "增长5%", 5), _g(S, "增长7%", 7),
        _g(C, "增长8.5%", 8.5), _g("城镇、农村居民人均可支配收入", "增长7.5%", 7.5),
        _g("城镇、农村居民人均可支配收入", "9%", 9), _g(U, "控制在4.5%以内", 4.5, am, lim),
        _task("PM2.5平均浓度", "完成上级下达任务", "上级下达任务")],
    "容城县_2020_5cb467e8": [
        _g(G, "43.35亿元", 4.335e9, None, lvl, "元"), _g(I, "5.54亿元", 5.54e8, None, lvl, "元"),
        _g(S, "132亿元", 1.32e10, None, lvl, "元"), _g(R, "1.15亿元", 1.15e8, None, lvl, "元"),
        _g(C, "54.97亿元", 5.497e9, None, lvl, "元"), _g("居民人均可支配收入", "增长4%", 4),
        _g("居民人均可支配收入", "5%", 5), _task("节能减排相关约束性指标", "达到核定标准", "核定标准")],
    "徐水区_2019_061aabe1": [
        _g(G, "增长8%", 8), _g(I, "增长7%", 7), _g(C, "增长12%左右", 12, ab), _g(R, "增长8%", 8),
        _g("城镇和农村居民人均可支配收入", "增长9%左右", 9, ab), _g(S, "增长7%以上", 7, al)],
    "曲阳县_2022_b51b3a48": [
        _g(R, "超10亿", 1e9, "over", lvl, None), _g(G, "增长8%以上", 8, al), _g(I, "增长9%左右", 9, ab),
        _g(S, "增长8%左右", 8, ab), _g(C, "增长8.5%左右", 8.5, ab), _g(X, "增长5%左右", 5, ab),
        _g(F, "增长5%左右", 5, ab), _g("居民人均可支配收入", "增长8.5%左右", 8.5, ab)],
    "涞水县_2021_1b91b9be": [
        _g(G, "增长9%左右", 9, ab), _g(R, "增长12%", 12), _g(I, "增长10%左右", 10, ab),
        _g(S, "增长10%左右", 10, ab), _g(C, "增长9%左右", 9, ab), _g(X, "增长5%左右", 5, ab),
        _g(F, "增长10%左右", 10, ab), _g(Y, "增长9%左右", 9, ab),
        _task("PM2.5平均浓度下降率", "完成市定任务", "市定任务"),
        _task("约束性指标", "完成上级下达任务", "上级下达任务")],
    "清苑区_2024_58a1411e": [
        _g(G, "增长6%左右", 6, ab), _g(R, "增长6%左右", 6, ab), _g(I, "增长6%以上", 6, al),
        _g(S, "增长7%左右", 7, ab), _g(C, "增长6%左右", 6, ab), _g(X, "增长5%左右", 5, ab),
        _g(Y, "增长7%", 7)],
    "满城区_2022_297ef7ae": [
        _g(G, "增长8%以上", 8, al), _g(R, "增长8%以上", 8, al), _g(I, "增长9%以上", 9, al),
        _g(S, "增长8%以上", 8, al), _g(C, "增长8.5%以上", 8.5, al), _g(X, "增长5%以上", 5, al),
        _g(F, "增长5%以上", 5, al), _g(Y, "增长8.5%以上", 8.5, al),
        _task("能耗及污染物排放等约束性指标", "完成市定任务", "市定任务")],
    "蠡县_2020_2814aee5": [
        _g(G, "增长6.5%", 6.5), _g(I, "增长5%", 5), _g(S, "增长6.5%左右", 6.5, ab),
        _g(R, "5.55亿元", 5.55e8, None, lvl, "元", kind="value"), _g(R, "增长8.1%", 8.1),
        _g(C, "增长9%左右", 9, ab), _g("居民人均可支配收入", "增长7.5%", 7.5),
        _g("居民人均可支配收入", "8.5%", 8.5), _task("约束性指标", "完成省市任务", "省市任务")],
    "高阳县_2017_5104692d": [
        _g(G, "达到170亿元", 1.7e10, None, lvl, "元"), _g(G, "增长12%以上", 12, al),
        _g("居民人均可支配收入", "增长10%以上", 10, al)],
}


@lru_cache(maxsize=None)
def _paragraphs(doc_id: str) -> list[tuple[int, str, str]]:
    text = normalize(read_report(SEEDS / f"{doc_id}.txt")).text
    return [(p.index, p.text, p.section) for p in split_paragraphs(text)]


def _main_record(doc_id: str) -> Record:
    opening, spans = SPANS[doc_id]
    if spans is None:
        records = [r for r in read_records(GOLD / f"{doc_id}.jsonl") if r.text.startswith(opening)]
        assert len(records) == 1, f"{doc_id}: one gold paragraph starts with {opening!r}"
        gold = records[0]
        return Record(id=gold.id, text=gold.text, spans=list(gold.spans), meta=dict(gold.meta))
    matches = [(i, text, sec) for i, text, sec in _paragraphs(doc_id) if text.startswith(opening)]
    assert len(matches) == 1, f"{doc_id}: one paragraph starts with {opening!r}"
    index, text, section = matches[0]
    out, pos = [], 0
    for surface, label in spans:
        start = text.index(surface, pos)
        out.append(Span(start, start + len(surface), label))
        pos = start + len(surface)
    return Record(id=f"{doc_id}#{index}", text=text, spans=out, meta={"section": section})


def _row_tuple(row) -> tuple:
    return (row.metric, row.kind, row.text, row.direction, row.value, row.value_high, row.unit,
            row.qualifier, row.baseline or row.level)


def test_every_seed_with_main_targets_is_covered(seed_files):
    assert len(EXPECTED) == 22 and set(EXPECTED) == set(SPANS)
    assert set(EXPECTED) <= {p.stem for p in seed_files}


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_main_target_rows_are_exactly_right(doc_id):
    record = _main_record(doc_id)
    record.links = link_spans(record.text, record.spans)
    rows = rows_from_records([record])
    assert [_row_tuple(r) for r in rows] == EXPECTED[doc_id]
    assert all(r.parsed for r in rows)
    # every TARGET/VALUE of the paragraph is in the table
    tails = {k for k, s in enumerate(record.spans) if s.label in ("TARGET", "VALUE")}
    assert {link.tail for link in record.links} == tails


def test_rows_name_the_indicator_and_how_it_was_matched():
    record = linked_record("全国_2018#3", "国内生产总值增长6.5%左右，城镇登记失业率4.5%以内，新一轮百万亩造林绿化1000亩。",
                     [("国内生产总值", "METRIC"), ("增长6.5%左右", "TARGET"), ("城镇登记失业率", "METRIC"),
                      ("4.5%以内", "TARGET"), ("新一轮百万亩造林绿化", "METRIC"), ("1000亩", "TARGET")],
                     {"year": 2018, "place": "全国", "section": "plan"})
    rows = {row.head: row for row in rows_from_records([record])}
    gdp, unemployment, other = rows["国内生产总值"], rows["城镇登记失业率"], rows["新一轮百万亩造林绿化"]
    assert (gdp.indicator, gdp.metric, gdp.indicator_match) == ("gdp", "地区生产总值", "alias")
    assert (unemployment.indicator, unemployment.indicator_match) == ("registered_unemployment", "exact")
    assert (other.indicator, other.metric, other.indicator_match) == (None, "新一轮百万亩造林绿化", "none")
    assert (gdp.measure, unemployment.measure) == ("growth_pct", "share_pct")
    assert {row.period for row in rows.values()} == {"2018"}


def _sample_rows():
    records = []
    for doc_id, place, year in (("唐县_2020_34a0d8cf", "唐县", 2020), ("蠡县_2020_2814aee5", "蠡县", 2020),
                                ("易县_2018_1f86f9aa", "易县", 2018), ("全国_2016_f3e8bc32", "全国", 2016)):
        r = _main_record(doc_id)
        r.doc_id = doc_id
        r.meta.update(place=place, year=year)
        r.links = link_spans(r.text, r.spans)
        records.append(r)
    # one quantity the normalizer cannot read, to be listed on the page
    extra = Record(id="x#1", doc_id="x", text="三次产业结构调整为22.7：30.3：47。",
                   spans=[Span(0, 6, "METRIC"), Span(9, 21, "VALUE")],
                   meta={"place": "某县", "year": 2019, "section": "review"})
    extra.links = link_spans(extra.text, extra.spans)
    records.append(extra)
    return rows_from_records(records)


def test_csv_and_parquet_hold_the_same_rows(tmp_path):
    rows = _sample_rows()
    text = csv_text(rows)
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(text[1:].splitlines()))
    assert len(table) == len(rows) and tuple(table[0]) == TARGET_COLUMNS
    assert table[0]["value"] == "6.5" and "e+" not in text
    pq = pytest.importorskip("pyarrow.parquet")
    write_parquet(rows, tmp_path / "t.parquet")
    back = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert [b["text"] for b in back] == [r.text for r in rows]
    assert [b["value"] for b in back] == [r.value for r in rows]
    assert back[0]["year"] == 2020


def test_evaluate_rows_counts_matches_as_multisets():
    rows = _sample_rows()
    assert evaluate_rows(rows, rows)["f1"] == 1.0
    half = evaluate_rows(rows[: len(rows) // 2], rows)
    assert half["precision"] == 1.0 and half["recall"] == pytest.approx((len(rows) // 2) / len(rows))


def test_summary_lists_unparsed_quantities():
    rows = _sample_rows()
    page = render_summary(rows)
    assert "22.7：30.3：47" in page and 'id="unparsed-count">1<' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def _two_years_of_one_place() -> list:
    """Targets of 某区 2020 and the values its 2021 report gives for 2020."""
    plan = linked_record("某区_2020#5", "主要预期目标是：地区生产总值增长6%左右，城镇登记失业率控制在4.5%以内。",
                   [("地区生产总值", "METRIC"), ("增长6%左右", "TARGET"), ("城镇登记失业率", "METRIC"),
                    ("控制在4.5%以内", "TARGET")], {"place": "某区", "year": 2020, "section": "plan"})
    review = linked_record("某区_2021#3", "全区地区生产总值增长5.2%，城镇登记失业率3.9%。",
                     [("全区地区生产总值", "METRIC"), ("增长5.2%", "VALUE"), ("城镇登记失业率", "METRIC"),
                      ("3.9%", "VALUE")], {"place": "某区", "year": 2021, "section": "review"})
    plan.doc_id, review.doc_id = "某区_2020", "某区_2021"
    return rows_from_records([plan, review])


def test_summary_opens_with_the_matrix_and_attainment():
    rows = _sample_rows() + _two_years_of_one_place()
    met = attainment_rows(rows)
    assert [(a.indicator, a.met) for a in met] == [("gdp", "no"), ("registered_unemployment", "yes")]
    page = render_summary(rows, met)
    assert page.index('id="matrix"') < page.index('id="rates"') < page.index('id="filter"')
    assert 'data-indicator="gdp"' in page
    # one rate per place and indicator: GDP missed (0 of 1), unemployment kept (1 of 1)
    assert re.search(r"<td>某区</td><td>地区生产总值</td><td class=\"num\">0</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">0</td><td class=\"num\">0%</td>", page)
    assert re.search(r"<td>某区</td><td>城镇登记失业率</td><td class=\"num\">1</td>.*?100%</td>", page)
    assert f'id="attainment-count">{len(met)}<' in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium); "
                    "install it with apt-get install chromium (.ci/apt-packages.txt)")
def test_summary_renders_in_headless_chromium(tmp_path):
    rows = _sample_rows() + _two_years_of_one_place()
    met = attainment_rows(rows)
    (tmp_path / "targets.csv").write_text(csv_text(rows), encoding="utf-8")
    (tmp_path / "attainment.csv").write_text(attainment_csv_text(met), encoding="utf-8")
    page = tmp_path / "summary.html"
    page.write_text(render_summary(rows, met), encoding="utf-8")
    shot = tmp_path / "summary.png"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        proc = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,2400", f"--screenshot={shot}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120, env={**os.environ, "LANG": "C.UTF-8"})
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # rendered, the page's script ran, and nothing went to the console
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'data-ready="1"' in dom
    assert re.search(r'<pre id="js-errors"[^>]*></pre>', dom), "script errors on the page"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    # the numbers shown are the numbers of targets.csv, row for row
    with open(tmp_path / "targets.csv", encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    cells = re.findall(r'<td class="num" data-value="([^"]*)" data-value-high="([^"]*)">([^<]*)</td>', dom)
    assert len(cells) == len(table)
    by_row = sorted(zip(rows, table), key=lambda rt: (rt[0].place or "", rt[0].year or 0))
    assert sorted(c[0] for c in cells) == sorted(t_["value"] for t_ in table)
    for row, line in by_row:
        shown = shown_value(row)
        if line["value"]:
            assert float(line["value"]) == row.value
            assert f'data-value="{line["value"]}" data-value-high="{line["value_high"]}">{shown}</td>' in dom
    bars = re.findall(r'<rect class="bar" [^>]*data-value="([^"]*)"', dom)
    numeric = [t_["value"] for t_ in table if t_["value"] and t_["parsed"] == "true"]
    assert sorted(bars) == sorted(numeric)
    assert format_number(1.3e8) == "1.3亿" and "6.5–7" in dom
    assert f'id="row-count">{len(table)}<' in dom
    # the matrix cells carry the values of targets.csv for their rows
    by_key = {(t_["record_id"], t_["start"]): t_["value"] for t_ in table}
    items = re.findall(r'<div class="[tv]" data-record="([^"]*)" data-start="(\d+)" data-value="([^"]*)">', dom)
    assert items and all(by_key[(rec, start)] == value for rec, start, value in items)
    # the attainment table is attainment.csv, row for row
    with open(tmp_path / "attainment.csv", encoding="utf-8-sig", newline="") as f:
        joined = list(csv.DictReader(f))
    shown = re.findall(r'<tr data-met="(\w+)">.*?<td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
                       r'<td>[^<]*</td><td class="num">([^<]*)</td>', dom)
    assert shown == [(j["met"], j["target_low"], j["target_high"], j["actual_value"]) for j in joined]


REPORT = ("2020年唐县政府工作报告\n一、2019年工作回顾\n全县地区生产总值完成120亿元，增长6.8%。\n"
          "二、2020年工作安排\n经济社会发展主要预期目标是：生产总值增长6.5%，一般公共预算收入增长6.5%，"
          "城镇登记失业率控制在4.5%以内。\n")


REPORT_2021 = ("2021年唐县政府工作报告\n一、2020年工作回顾\n全县地区生产总值完成128亿元，增长6.6%。\n"
               "二、2021年工作安排\n经济社会发展主要预期目标是：生产总值增长6%。\n")


def test_runner_writes_targets_and_summary(tmp_path):
    from pipeline.model.build import rule_pipeline
    from pipeline.runner.outputs import ATTAINMENT_CSV, SUMMARY_HTML, TARGETS_CSV, TARGETS_PARQUET
    from pipeline.runner.run import run

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "唐县_2020.txt").write_text(REPORT, encoding="utf-8")
    (tmp_path / "in" / "唐县_2021.txt").write_text(REPORT_2021, encoding="utf-8")
    nlp = rule_pipeline()
    out = tmp_path / "out"
    summary = run([tmp_path / "in"], out, nlp=nlp, progress=False)
    assert summary.ok and summary.processed
    records = read_records(out / "entities.jsonl", validate=True)
    assert any(r.links for r in records)
    assert {(r.meta["place"], r.meta["year"]) for r in records} == {("唐县", 2020), ("唐县", 2021)}
    with open(out / TARGETS_CSV, encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    got = {(t_["place"], t_["year"], t_["metric"], t_["kind"], t_["value"], t_["unit"]) for t_ in table}
    assert ("唐县", "2020", "地区生产总值", "target", "6.5", "%") in got
    assert ("唐县", "2020", "城镇登记失业率", "target", "4.5", "%") in got
    assert ("唐县", "2020", "地区生产总值", "value", "12000000000", "元") in got
    # raw offsets point at the text in the input file
    for t_ in table:
        raw = REPORT if t_["year"] == "2020" else REPORT_2021
        assert raw[int(t_["raw_start"]):int(t_["raw_end"])] == t_["text"]
    assert (out / TARGETS_PARQUET).is_file() and (out / SUMMARY_HTML).is_file()
    # the 2020 GDP target (增长6.5%) against the 2021 report's value for 2020 (增长6.6%)
    with open(out / ATTAINMENT_CSV, encoding="utf-8-sig", newline="") as f:
        joined = {row["indicator"]: row for row in csv.DictReader(f)}
    assert (joined["gdp"]["year"], joined["gdp"]["target_text"], joined["gdp"]["actual_text"],
            joined["gdp"]["met"]) == ("2020", "增长6.5%", "增长6.6%", "yes")
    assert (joined["gdp"]["target_report"], joined["gdp"]["actual_report"]) == ("唐县_2020", "唐县_2021")
    before = (out / TARGETS_CSV).read_bytes()
    again = run([tmp_path / "in"], out, nlp=nlp, progress=False)  # resumed: nothing to redo
    assert again.skipped and not again.processed
    assert (out / TARGETS_CSV).read_bytes() == before


def test_runner_links_each_paragraph_with_the_linker():
    from pipeline.model.build import rule_pipeline
    from pipeline.runner.records import records_for_report

    records = records_for_report(rule_pipeline(), Path("唐县_2020.txt"), REPORT)
    assert [r.links for r in records] == [link_spans(r.text, r.spans) for r in records]
    assert sum(len(r.links) for r in records) >= 4
