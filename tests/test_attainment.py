"""Periods, measures, the target-attainment rules one by one, and the join across reports."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from linked import linked_record  # noqa: E402

from pipeline.tables.attainment import (ATTAINMENT_COLUMNS, attainment_csv_text, attainment_rows, met,
                                        target_bounds)
from pipeline.tables.periods import five_year_plan, measure_of, period_of
from pipeline.tables.quantities import parse_quantity
from pipeline.tables.targets import TargetRow, rows_from_records

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"


def _row(text: str, kind: str = "target", *, metric: str = "地区生产总值", indicator: str | None = "gdp",
         place: str = "某县", year: int = 2020, period: int | tuple[int, int] | None = None,
         doc_id: str | None = None, record_id: str | None = None, start: int = 0) -> TargetRow:
    """A targets-table row for the quantity ``text``, as rows_from_records would make it."""
    q = parse_quantity(text)
    period = period if period is not None else (year if kind == "target" else year - 1)
    first, last = period if isinstance(period, tuple) else (period, period)
    doc_id = doc_id or f"{place}_{year}"
    return TargetRow(
        doc_id=doc_id, place=place, year=year, section="plan" if kind == "target" else "review",
        metric=metric, indicator=indicator, indicator_name=metric if indicator else None,
        indicator_match="exact" if indicator else "none", indicator_score=None,
        measure=measure_of(q, metric), period=str(first) if first == last else f"{first}-{last}",
        period_start=first, period_end=last, head=metric, head_label="METRIC", kind=kind, text=text,
        direction=q.direction, value=q.low, value_high=q.high if len(q.scaled) > 1 else None, unit=q.unit,
        qualifier=q.qualifier, baseline=q.baseline, level=q.level, parsed=q.parsed, problem=q.problem,
        record_id=record_id or f"{doc_id}#1", start=start, end=start + len(text), raw_start=None, raw_end=None)


def _met(target: str, actual: str, metric: str = "地区生产总值", **kw) -> str:
    return met(_row(target, metric=metric), _row(actual, "value", metric=metric), **kw)


# --------------------------------------------------------------------------- measures and periods


@pytest.mark.parametrize("text, metric, measure", [
    ("增长6.5%左右", "地区生产总值", "growth_pct"),
    ("下降3%", "单位地区生产总值能耗", "growth_pct"),
    ("6.5%左右", "地区生产总值", "growth_pct"),          # a percent of an amount is its growth
    ("3%左右", "居民消费价格涨幅", "growth_pct"),
    ("5.5%以内", "城镇调查失业率", "share_pct"),
    ("达到60%", "常住人口城镇化率", "share_pct"),
    ("提高1.2个百分点", "常住人口城镇化率", "change_pp"),
    ("1100万人以上", "城镇新增就业", "count"),
    ("830亿元", "地区生产总值", "level"),
    ("与经济增长同步", "居民人均可支配收入", "parity"),
    ("全覆盖", "农村公路", None),
])
def test_measure_names_what_the_number_is(text, metric, measure):
    assert measure_of(parse_quantity(text), metric) == measure


def _period(sentence: str, mark: str, *, section: str | None = "review", kind: str = "value", year: int = 2021):
    return period_of(sentence, sentence.index(mark), report_year=year, section=section, kind=kind)


def test_period_from_a_year_in_the_sentence_not_a_baseline():
    assert _period("2019年，全县生产总值增长7%。", "增长7%") == (2019, 2019)
    assert _period("到2025年，城镇化率达到65%。", "达到65%", section="plan", kind="target") == (2025, 2025)
    # a baseline year is not the period: the default (review -> the year before) applies
    assert _period("生产总值比2010年翻一番。", "翻一番") == (2020, 2020)
    assert _period("2016—2020年，累计新增就业5万人。", "5万人") == (2016, 2020)
    assert _period("争取１９９７年粮食产量达到４．７５亿吨。", "达到", section="plan", kind="target") == (1997, 1997)
    # a change against an earlier baseline year spans the years between
    assert _period("2007年，国内生产总值达到24.66万亿元，比2002年增长65.5%。", "增长65.5%") == (2003, 2007)
    assert _period("2020年，生产总值比2019年增长3%。", "增长3%") == (2020, 2020)
    # the nearest year before the number wins
    assert _period("2019年增长5%，2020年增长3%。", "增长3%") == (2020, 2020)


def test_period_of_plans_and_multi_year_figures():
    assert five_year_plan("十四") == (2021, 2025) and five_year_plan("六") == (1981, 1985)
    assert _period("“十三五”时期，生产总值年均增长7%。", "年均", section="review") == (2016, 2020)
    assert _period("生产总值年均增长7.1%。", "增长7.1%") == (2016, 2020)
    assert _period("五年来，经济实力跃上新台阶。生产总值增加到82.7万亿元。", "82.7") == (2016, 2020)
    assert _period("今后五年，生产总值年均增长6%。", "增长6%", section="plan", kind="target") == (2021, 2025)


def test_period_defaults_follow_the_section_then_the_kind():
    assert _period("生产总值增长6%左右。", "增长6%", section="plan", kind="target") == (2021, 2021)
    assert _period("生产总值增长6%。", "增长6%", section="review", kind="target") == (2020, 2020)
    assert _period("生产总值增长6%。", "增长6%", section=None, kind="target") == (2021, 2021)
    assert _period("生产总值增长6%。", "增长6%", section=None, kind="value") == (2020, 2020)
    assert _period("今年生产总值增长6%。", "增长6%", section="review") == (2021, 2021)
    assert period_of("增长6%", 0, report_year=None, section="plan", kind="target") is None


# --------------------------------------------------------------------------- the rules, one by one


def test_a_plain_number_is_met_at_or_above_it():
    assert _met("增长7%", "增长7%") == "yes"
    assert _met("增长7%", "增长7.2%") == "yes"
    assert _met("增长7%", "增长6.9%") == "no"


def test_about_allows_a_small_shortfall():
    assert _met("增长6.5%左右", "增长6.3%") == "yes"     # within 0.2 point
    assert _met("增长6.5%左右", "增长6.2%") == "no"
    assert _met("830亿元左右", "815亿元", metric="一般公共预算收入") == "yes"  # within 2%
    assert _met("830亿元左右", "800亿元", metric="一般公共预算收入") == "no"


def test_at_least_and_ranges_need_the_lower_end():
    assert _met("增长6%以上", "增长6%") == "yes"
    assert _met("增长6%以上", "增长5.9%") == "no"
    assert _met("增长6%—6.5%", "增长6.1%") == "yes"
    assert _met("增长6%—6.5%", "增长7%") == "yes"
    assert _met("增长6%—6.5%", "增长5.8%") == "no"
    assert target_bounds(_row("增长6%—6.5%")) == (6.0, 6.5)
    assert target_bounds(_row("增长6%以上")) == (6.0, None)


def test_limits_are_upper_bounds():
    assert _met("控制在4.5%以内", "4.2%", metric="城镇登记失业率") == "yes"
    assert _met("控制在4.5%以内", "4.6%", metric="城镇登记失业率") == "no"
    assert target_bounds(_row("4.5%以内", metric="城镇登记失业率")) == (None, 4.5)


def test_where_less_is_better_every_target_is_a_ceiling():
    assert _met("3%左右", "2.1%", metric="居民消费价格涨幅", lower_is_better=True) == "yes"
    assert _met("3%左右", "3.3%", metric="居民消费价格涨幅", lower_is_better=True) == "no"
    assert _met("3%左右", "3.1%", metric="居民消费价格涨幅", lower_is_better=True) == "yes"  # 左右


def test_decreases_are_signed():
    energy = "单位地区生产总值能耗"
    assert target_bounds(_row("下降3%以上", metric=energy)) == (None, -3.0)
    assert _met("下降3%以上", "下降3.1%", metric=energy, lower_is_better=True) == "yes"
    assert _met("下降3%以上", "下降2.5%", metric=energy, lower_is_better=True) == "no"
    assert _met("下降3%左右", "下降2.9%", metric=energy, lower_is_better=True) == "yes"
    assert _met("增长5%", "下降1%") == "no"


def test_nearly_and_under_are_just_below_their_number():
    assert _met("增长7%", "近7%") == "no"
    assert _met("增长7%", "增长不到7%") == "no"
    assert _met("控制在3%以内", "不到3%", metric="城镇登记失业率") == "yes"


def test_units_of_one_dimension_are_converted():
    grain = "粮食产量"
    assert _met("达到4.75亿吨", "4564亿公斤", metric=grain) == "no"      # 4.564亿吨 < 4.75亿吨
    assert _met("达到1.3万亿斤", "6.8亿吨", metric=grain) == "yes"      # 1.36万亿斤
    rows = [_row("达到4.75亿吨", year=1997, metric=grain, indicator="grain_output"),
            _row("4900亿公斤", "value", year=1998, metric=grain, indicator="grain_output")]
    (only,) = attainment_rows(rows)
    assert (only.unit, only.actual_value, only.met) == ("吨", 490000000.0, "yes")


def test_what_cannot_be_compared_is_unclear():
    assert _met("与经济增长同步", "增长6.5%", metric="居民人均可支配收入") == "unclear"
    assert _met("增长7%", "830亿元") == "unclear"                 # growth vs level
    assert _met("1100万人以上", "1100万户", metric="城镇新增就业") == "unclear"  # units differ
    assert _met("全覆盖", "全覆盖", metric="农村公路") == "unclear"   # no number


# --------------------------------------------------------------------------- the join


def test_a_target_joins_the_next_reports_value_for_its_year():
    rows = [
        _row("增长6.5%左右", year=2017, start=5),
        _row("增长6.9%", "value", year=2018),             # period 2017: the actual
        _row("增长6.5%左右", year=2018),
        _row("增长6.6%", "value", year=2019),
        _row("年均增长7.1%", "value", year=2018, period=(2013, 2017)),  # a five-year figure: not joined
        _row("增长7%", "value", year=2020, period=2017),   # a later, farther report: not used
        _row("增长6%", year=2019),                         # no actual yet: no row
        _row("增长9%", year=2017, place="别县"),            # another place: no actual
    ]
    out = attainment_rows(rows)
    assert [(a.place, a.indicator, a.year, a.target_text, a.actual_text, a.met) for a in out] == [
        ("某县", "gdp", 2017, "增长6.5%左右", "增长6.9%", "yes"),
        ("某县", "gdp", 2018, "增长6.5%左右", "增长6.6%", "yes"),
    ]
    assert (out[0].target_report, out[0].actual_report) == ("某县_2017", "某县_2018")
    assert out[0].indicator_name == "地区生产总值" and (out[0].target_low, out[0].target_high) == (6.5, 6.5)


def test_the_pair_with_one_measure_is_chosen():
    rows = [_row("达到900亿元", year=2017), _row("增长7%", year=2017, start=20),
            _row("850亿元", "value", year=2018), _row("增长7.5%", "value", year=2018, start=30)]
    (only,) = attainment_rows(rows)
    assert (only.target_text, only.actual_text, only.measure, only.met) == ("达到900亿元", "850亿元", "level", "no")
    # no comparable pair: one row, unclear
    rows = [_row("增长7%", year=2017), _row("850亿元", "value", year=2018)]
    (only,) = attainment_rows(rows)
    assert only.met == "unclear"


def test_rows_without_indicator_place_or_single_year_are_left_out():
    rows = [_row("增长7%", year=2017, indicator=None), _row("增长8%", "value", year=2018, indicator=None),
            _row("增长7%", year=2017, period=(2016, 2020)), _row("增长8%", "value", year=2018, period=(2016, 2020))]
    assert attainment_rows(rows) == []


def test_lower_is_better_comes_from_the_table():
    rows = [_row("3%左右", year=2017, metric="居民消费价格涨幅", indicator="cpi"),
            _row("2%", "value", year=2018, metric="居民消费价格涨幅", indicator="cpi")]
    (only,) = attainment_rows(rows)
    assert only.met == "yes" and only.indicator_name == "居民消费价格涨幅"


def test_attainment_csv_has_the_documented_columns():
    rows = [_row("增长6.5%左右", year=2017), _row("增长6.9%", "value", year=2018)]
    text = attainment_csv_text(attainment_rows(rows))
    table = list(csv.DictReader(text.lstrip("\ufeff").splitlines()))
    assert tuple(table[0]) == ATTAINMENT_COLUMNS
    for column in ("place", "indicator", "indicator_name", "year", "target_text", "target_low", "target_high",
                   "actual_text", "actual_value", "unit", "met", "target_report", "actual_report"):
        assert column in ATTAINMENT_COLUMNS
    assert table[0]["met"] == "yes" and table[0]["target_low"] == "6.5" and table[0]["actual_value"] == "6.9"


def test_from_records_to_attainment():
    """Spans and links of two reports of one place, through the targets table, to one met row."""
    def record(doc_id, year, section, text, marked):
        return linked_record(f"{doc_id}#1", text, marked, {"place": "某县", "year": year, "section": section})

    records = [record("某县_2020", 2020, "plan", "全县生产总值增长6%左右，城镇登记失业率控制在4%以内。",
                      [("全县生产总值", "METRIC"), ("增长6%左右", "TARGET"), ("城镇登记失业率", "METRIC"),
                       ("控制在4%以内", "TARGET")]),
               record("某县_2021", 2021, "review", "全县生产总值增长5.9%，城镇登记失业率3.8%。",
                      [("全县生产总值", "METRIC"), ("增长5.9%", "VALUE"), ("城镇登记失业率", "METRIC"),
                       ("3.8%", "VALUE")])]
    out = attainment_rows(rows_from_records(records))
    assert [(a.indicator, a.year, a.met) for a in out] == [("gdp", 2020, "yes"),
                                                          ("registered_unemployment", 2020, "yes")]


# --------------------------------------------------------------------------- end to end, shipped model

NATIONAL = ["全国_2017_2acd17e8.txt", "全国_2018_74d2dd3e.txt", "全国_2019_b120c7b0.txt"]


def _national_reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in NATIONAL:
        src = ROOT / "seeds" / name if (ROOT / "seeds" / name).exists() else SHARED / name
        if not src.exists():
            pytest.fail(f"{name} is neither in seeds/ nor in {SHARED}")
        (folder / name).write_bytes(src.read_bytes())
    return folder


def test_infer_over_three_national_reports_writes_attainment(tmp_path):
    """The issue's check: 2017, 2018, 2019 -> the GDP growth targets of 2017 and 2018 met, both
    reports named. The shipped model in float32, the canonical precision (the same on every CPU)."""
    from pipeline.model.build import load_pipeline
    from pipeline.runner.run import run

    model = ROOT / "models" / "govreport-ner"
    assert (model / "config.cfg").is_file(), "the shipped model is missing"
    out = tmp_path / "out"
    summary = run([_national_reports(tmp_path)], out, nlp=lambda: load_pipeline(model, dtype="float32"),
                  progress=False, indicator_encoder=None)
    assert summary.ok
    with open(out / "attainment.csv", encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    gdp = {row["year"]: row for row in table if row["indicator"] == "gdp"}
    assert gdp["2017"]["met"] == "yes" and gdp["2018"]["met"] == "yes"
    assert (gdp["2017"]["target_report"], gdp["2017"]["actual_report"]) == ("全国_2017_2acd17e8", "全国_2018_74d2dd3e")
    assert (gdp["2018"]["target_report"], gdp["2018"]["actual_report"]) == ("全国_2018_74d2dd3e", "全国_2019_b120c7b0")
    assert (out / "attainment.parquet").is_file() or not _has_pyarrow()


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True

