"""The record format, its validator (one test per rejection reason) and the datasets loader."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.annotation.dataset import load_dataset
from pipeline.annotation.jsonl import read_records, validate_file, write_records
from pipeline.annotation.schema import (
    LABELS,
    SECTIONS,
    AnnotationError,
    Link,
    Problem,
    Record,
    Span,
    default_doc_id,
)
from pipeline.annotation.style import boundary_problem
from pipeline.annotation.validate import validate_records
from pipeline.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent

TEXT = "预计地区生产总值完成830亿元，同比增长2.8%。"
# 地区生产总值 = [2, 8), 830亿元 = [10, 15), 增长2.8% = [18, 24)


def good(**changes) -> dict:
    """A valid record as JSON, with top-level fields replaced by ``changes``."""
    rec = {
        "id": "保定市_2021#3",
        "text": TEXT,
        "spans": [
            {"start": 2, "end": 8, "label": "METRIC"},
            {"start": 10, "end": 15, "label": "VALUE"},
            {"start": 18, "end": 24, "label": "VALUE"},
        ],
        "links": [{"head": 0, "tail": 1}, {"head": 0, "tail": 2}],
        "meta": {"source": "保定市_2021_77b1b663.txt", "raw_start": 10, "raw_end": 35,
                 "section": "review", "annotator": "a1"},
    }
    rec.update(changes)
    return rec


def write_jsonl(path: Path, *objs, raw: str | None = None) -> Path:
    lines = [json.dumps(o, ensure_ascii=False) for o in objs]
    if raw is not None:
        lines.append(raw)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems_for(tmp_path: Path, record: dict) -> list[Problem]:
    """Problems of a file holding one valid record, then ``record`` on line 2."""
    return validate_file(write_jsonl(tmp_path / "a.jsonl", good(id="ok#1"), record))


def only_reason(problems: list[Problem]) -> str:
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].line == 2
    return problems[0].reason


# --------------------------------------------------------------------------- valid files


def test_valid_file_has_no_problems(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(), good(id="保定市_2021#4"))
    assert validate_file(path) == []
    records = read_records(path)
    assert [r.id for r in records] == ["保定市_2021#3", "保定市_2021#4"]
    r = records[0]
    assert r.doc_id == "保定市_2021"
    assert r.section == "review"
    assert r.meta["annotator"] == "a1"  # extra meta keys are kept
    assert r.links == [Link(0, 1), Link(0, 2)]
    assert [r.span_text(s) for s in r.spans] == ["地区生产总值", "830亿元", "增长2.8%"]


def test_required_fields_only_load_validate_and_default(tmp_path):
    obj = {"id": "ext-7", "text": TEXT, "spans": [{"start": 2, "end": 8, "label": "METRIC"}]}
    path = write_jsonl(tmp_path / "a.jsonl", obj)
    assert validate_file(path) == []
    (r,) = read_records(path)
    assert r.doc_id == "ext-7"  # no '#': the whole id
    assert r.meta == {} and r.links == [] and r.section is None
    assert r.to_dict() == {**obj, "doc_id": "ext-7"}


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n" + json.dumps(good()) + "\n\n", encoding="utf-8")
    assert validate_file(path) == []
    assert len(read_records(path)) == 1


@pytest.mark.parametrize("rid, doc_id", [
    ("保定市_2021_77b1b663#12", "保定市_2021_77b1b663"),
    ("a#b#3", "a#b"),
    ("plain", "plain"),
    ("#3", "#3"),
])
def test_default_doc_id(rid, doc_id):
    assert default_doc_id(rid) == doc_id
    assert Record(rid, "x", []).doc_id == doc_id


@pytest.mark.parametrize("surface", [
    "“护旗”系列专项行动", "“百村示范、千村整治”工程", "增长6%", "PM2.5", "控制在4.5%以内",
    "增长6.0%—6.5%", "下降3‰", "-3.2%", "¥100", "12℃", "5㎡", "《中国制造2025》行动",
    "“六稳”“六保”",
    "中南高科·清苑新经济产业园（二期）",
    "村镇供水保障工程(一期)",
])
def test_boundary_allowed(surface):
    assert boundary_problem(surface) is None


@pytest.mark.parametrize("surface, reason", [
    ("“清河行动”", "wrapped whole"),
    ("《北京市城乡规划条例》", "wrapped whole"),
    ("，地区", "begins with punctuation"),
    ("地区、", "ends with punctuation"),
    ("（地区）", "begins with punctuation"),
    ("“清河行动", "begins with punctuation"),
    ("清河行动”", "ends with punctuation"),
    ("-x", "begins with punctuation"),
    (" 地区", "begins with whitespace"),
    ("地区\u3000", "ends with whitespace"),
    ("、", "begins with punctuation"),
    ("%", "begins with punctuation"),
    ("产业园）", "ends with punctuation"),
    ("增长6%）", "ends with punctuation"),
])
def test_boundary_rejected(surface, reason):
    problem = boundary_problem(surface)
    assert problem is not None and reason in problem


# --------------------------------------------------------------------------- one test per reason


def test_rejects_malformed_json(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(), raw='{"id": "x", "text": ')
    (p,) = validate_file(path)
    assert p.line == 2 and "malformed JSON" in p.reason


@pytest.mark.parametrize("field", ["id", "text", "spans"])
def test_rejects_missing_field(tmp_path, field):
    rec = good(id="bad#1")
    del rec[field]
    assert f"missing required field '{field}'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_missing_span_field(tmp_path):
    rec = good(id="bad#1", spans=[{"start": 2, "label": "METRIC"}])
    assert "span is missing required field 'end'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_wrong_type(tmp_path):
    rec = good(id="bad#1", spans=[{"start": "2", "end": 8, "label": "METRIC"}])
    assert "start must be an integer" in only_reason(problems_for(tmp_path, rec))


def test_rejects_unknown_top_level_field(tmp_path):
    rec = good(id="bad#1", span=[])
    assert "unknown field 'span'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_offsets_out_of_range(tmp_path):
    rec = good(id="bad#1", spans=[{"start": 20, "end": 99, "label": "VALUE"}], links=[])
    assert "out of range" in only_reason(problems_for(tmp_path, rec))


def test_rejects_negative_offset(tmp_path):
    rec = good(id="bad#1", spans=[{"start": -1, "end": 3, "label": "VALUE"}], links=[])
    assert "out of range" in only_reason(problems_for(tmp_path, rec))


def test_rejects_start_not_before_end(tmp_path):
    rec = good(id="bad#1", spans=[{"start": 8, "end": 8, "label": "METRIC"}], links=[])
    assert "start >= end" in only_reason(problems_for(tmp_path, rec))


def test_rejects_overlapping_spans(tmp_path):
    rec = good(id="bad#1", links=[], spans=[
        {"start": 2, "end": 8, "label": "METRIC"}, {"start": 4, "end": 6, "label": "METRIC"}])
    assert "overlap" in only_reason(problems_for(tmp_path, rec))


def test_rejects_unknown_label(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 2, "end": 8, "label": "INDICATOR"}])
    assert "unknown label 'INDICATOR'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_span_beginning_on_whitespace(tmp_path):
    rec = good(id="bad#1", text="预计 地区生产总值", links=[],
               spans=[{"start": 2, "end": 9, "label": "METRIC"}])
    assert "begins with whitespace" in only_reason(problems_for(tmp_path, rec))


def test_rejects_span_ending_on_whitespace(tmp_path):
    rec = good(id="bad#1", text="地区生产总值 增长", links=[],
               spans=[{"start": 0, "end": 7, "label": "METRIC"}])
    assert "ends with whitespace" in only_reason(problems_for(tmp_path, rec))


def test_rejects_span_beginning_on_punctuation(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 15, "end": 24, "label": "VALUE"}])
    assert "begins with punctuation '，'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_span_ending_on_punctuation(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 10, "end": 16, "label": "VALUE"}])
    assert "ends with punctuation '，'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_name_wrapped_whole_in_quotes(tmp_path):
    rec = good(id="bad#1", text="深入开展“清河行动”。", links=[],
               spans=[{"start": 4, "end": 10, "label": "PROJECT"}])
    assert "wrapped whole" in only_reason(problems_for(tmp_path, rec))


def test_accepts_quotation_marks_inside_a_name(tmp_path):
    text = "开展“护旗”系列专项行动，实施“百村示范、千村整治”工程。"
    rec = good(id="ok#2", text=text, links=[], spans=[
        {"start": 2, "end": 12, "label": "PROJECT"},
        {"start": 15, "end": 28, "label": "PROJECT"}])
    assert [text[s["start"]:s["end"]] for s in rec["spans"]] == [
        "“护旗”系列专项行动", "“百村示范、千村整治”工程"]
    assert problems_for(tmp_path, rec) == []


def test_rejects_span_crossing_sentence_end(tmp_path):
    rec = good(id="bad#1", text="地区生产总值。增长6%", links=[],
               spans=[{"start": 0, "end": 11, "label": "METRIC"}])
    assert "crosses a sentence end '。'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_span_crossing_newline(tmp_path):
    rec = good(id="bad#1", text="地区生产\n总值", links=[],
               spans=[{"start": 0, "end": 7, "label": "METRIC"}])
    assert "crosses a sentence end" in only_reason(problems_for(tmp_path, rec))


def test_rejects_duplicate_id_in_one_file(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(), good(), good(id="x#2"))
    (p,) = validate_file(path)
    assert p.line == 2 and p.record_id == "保定市_2021#3"
    assert "duplicate id (first at line 1)" in p.reason


def test_rejects_duplicate_id_across_files(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", good())
    b = write_jsonl(tmp_path / "b.jsonl", good(id="x#1"), good())
    (p,) = validate_file(a, b)
    assert p.file == str(b) and p.line == 2 and f"also in {a}" in p.reason


def test_rejects_unknown_section(tmp_path):
    rec = good(id="bad#1", meta={"section": "past"})
    assert "unknown section 'past'" in only_reason(problems_for(tmp_path, rec))


def test_rejects_bad_raw_offsets_in_meta(tmp_path):
    rec = good(id="bad#1", meta={"raw_start": "10"})
    assert "raw_start must be an integer" in only_reason(problems_for(tmp_path, rec))


def test_rejects_score_out_of_range(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 2, "end": 8, "label": "METRIC", "score": 1.5}])
    assert "not in [0, 1]" in only_reason(problems_for(tmp_path, rec))


def test_rejects_link_index_out_of_range(tmp_path):
    rec = good(id="bad#1", links=[{"head": 0, "tail": 3}])
    assert "span index out of range" in only_reason(problems_for(tmp_path, rec))


def test_rejects_link_head_with_wrong_label(tmp_path):
    rec = good(id="bad#1", links=[{"head": 1, "tail": 2}])
    assert "head must be PROJECT/METRIC, got VALUE" in only_reason(problems_for(tmp_path, rec))


def test_rejects_link_tail_with_wrong_label(tmp_path):
    rec = good(id="bad#1", links=[{"head": 0, "tail": 0}])
    assert "tail must be TARGET/VALUE, got METRIC" in only_reason(problems_for(tmp_path, rec))


def test_rejects_link_across_sentences(tmp_path):
    rec = good(id="bad#1", text="地区生产总值稳步增长。增长6%", links=[{"head": 0, "tail": 1}],
               spans=[{"start": 0, "end": 6, "label": "METRIC"},
                      {"start": 11, "end": 15, "label": "TARGET"}])
    assert "different sentences" in only_reason(problems_for(tmp_path, rec))


def test_rejects_duplicate_link(tmp_path):
    rec = good(id="bad#1", links=[{"head": 0, "tail": 1}, {"head": 0, "tail": 1}])
    assert "duplicate link" in only_reason(problems_for(tmp_path, rec))


def test_rejects_missing_file(tmp_path):
    (p,) = validate_file(tmp_path / "nope.jsonl")
    assert "file not found" in p.reason


# --------------------------------------------------------------------------- errors, reading, writing


def test_problem_str_is_one_line_with_file_line_and_id(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 2, "end": 8, "label": "INDICATOR"}])
    (p,) = problems_for(tmp_path, rec)
    s = str(p)
    assert "\n" not in s
    assert s.startswith(f"{tmp_path / 'a.jsonl'}:2: [bad#1] ")


def test_read_records_raises_with_location(tmp_path):
    rec = good(id="bad#1", links=[], spans=[{"start": 2, "end": 8, "label": "INDICATOR"}])
    path = write_jsonl(tmp_path / "a.jsonl", good(), rec)
    with pytest.raises(AnnotationError) as info:
        read_records(path)
    e = info.value
    assert (e.file, e.line, e.record_id) == (str(path), 2, "bad#1")
    assert "unknown label" in str(e)
    # without validation the record loads as it is
    assert read_records(path, validate=False)[1].spans[0].label == "INDICATOR"


def test_read_records_raises_on_malformed_line_even_without_validation(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(), raw="{not json")
    with pytest.raises(AnnotationError, match=r"a\.jsonl:2: malformed JSON"):
        read_records(path, validate=False)


def test_write_records_round_trip(tmp_path):
    records = [Record.from_dict(good()), Record("x#1", "增长6%", [Span(0, 4, "TARGET", 0.75)]),
               Record("x#2", "line\u2028separators\x85are text\r", [])]
    path = tmp_path / "sub" / "out.jsonl"
    write_records(path, records)
    assert read_records(path) == records
    assert "预计" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_write_records_writes_nothing_when_invalid(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")
    bad = Record("x#1", "地区", [Span(0, 5, "METRIC")])
    with pytest.raises(AnnotationError, match="out of range"):
        write_records(path, [Record.from_dict(good()), bad])
    assert path.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_write_atomic_keeps_old_file_when_replace_fails(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]  # no temporary file left behind


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)


@st.composite
def records(draw) -> Record:
    text = draw(st.text(max_size=30))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=6)))
    spans = [Span(a, b, draw(st.sampled_from(LABELS)),
                  draw(st.none() | st.floats(0, 1)))
             for a, b in zip(cuts[::2], cuts[1::2])]
    n = len(spans)
    links = draw(st.lists(st.builds(Link, st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))),
                          max_size=3)) if n else []
    meta = draw(st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=3))
    if draw(st.booleans()):
        meta["section"] = draw(st.sampled_from(SECTIONS))
    rid = draw(st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)),
                       min_size=1, max_size=12).filter(lambda s: s == s.strip()))
    return Record(rid, text, spans,
                  doc_id=draw(st.none() | st.text(min_size=1, max_size=8)), meta=meta, links=links)


@settings(max_examples=60, deadline=None)
@given(records())
def test_dict_round_trip(record):
    assert Record.from_dict(json.loads(json.dumps(record.to_dict()))) == record


# --------------------------------------------------------------------------- datasets


def split_files(tmp_path: Path) -> tuple[Path, Path]:
    data = write_jsonl(
        tmp_path / "a.jsonl",
        good(id="d1#1"), good(id="d1#2", meta={}), good(id="d2#1"), good(id="d3#1"),
    )
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": ["d1", "d3"], "dev": ["d2"], "test": []}))
    return data, splits


def test_load_dataset_columns(tmp_path):
    data, _ = split_files(tmp_path)
    ds = load_dataset(data)
    assert ds.column_names == ["id", "doc_id", "text", "spans", "section"]
    assert ds["id"] == ["d1#1", "d1#2", "d2#1", "d3#1"]
    assert ds["section"] == ["review", None, "review", "review"]
    assert ds[0]["spans"][1] == {"start": 10, "end": 15, "label": "VALUE"}
    assert ds[0]["text"] == TEXT


def test_load_dataset_split_filters_by_doc_id(tmp_path):
    data, splits = split_files(tmp_path)
    assert load_dataset([data], splits, "train")["id"] == ["d1#1", "d1#2", "d3#1"]
    assert load_dataset([data], splits, "dev")["doc_id"] == ["d2"]
    empty = load_dataset([data], splits, "test")
    assert len(empty) == 0 and empty.column_names == ["id", "doc_id", "text", "spans", "section"]


def test_load_dataset_rejects_doc_in_two_splits(tmp_path):
    data, splits = split_files(tmp_path)
    splits.write_text(json.dumps({"train": ["d1"], "dev": ["d2", "d1"]}))
    with pytest.raises(AnnotationError, match="'d1' is in split 'train' and 'dev'"):
        load_dataset(data, splits, "train")


def test_load_dataset_rejects_unknown_split_and_split_without_file(tmp_path):
    data, splits = split_files(tmp_path)
    with pytest.raises(AnnotationError, match="unknown split 'validation'"):
        load_dataset(data, splits, "validation")
    with pytest.raises(ValueError, match="needs a splits_file"):
        load_dataset(data, split="train")


def test_load_dataset_from_records_validates_them():
    ok = Record("r#1", "增长6%", [Span(0, 4, "TARGET")], meta={"section": "plan"})
    ds = load_dataset([ok])
    assert ds["section"] == ["plan"] and ds["doc_id"] == ["r"]
    with pytest.raises(AnnotationError, match="unknown label"):
        load_dataset([Record("r#2", "增长6%", [Span(0, 4, "GOAL")])])
    with pytest.raises(AnnotationError, match="duplicate id"):
        load_dataset([ok, ok])


def test_load_dataset_rejects_invalid_file(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(links=[{"head": 1, "tail": 2}]))
    with pytest.raises(AnnotationError, match=r"a\.jsonl:1: \[保定市_2021#3\] link 0"):
        load_dataset(path)


# --------------------------------------------------------------------------- CLI


def _cli():
    spec = importlib.util.spec_from_file_location("annotate_cli", ROOT / "scripts" / "annotate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_validate_reports_and_exits_non_zero(tmp_path, capsys):
    rec = good(id="bad#1", links=[], spans=[{"start": 2, "end": 8, "label": "INDICATOR"}])
    path = write_jsonl(tmp_path / "a.jsonl", good(), rec, raw="{")
    assert _cli().main(["validate", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:2: [bad#1] span 0 (2, 8, INDICATOR): unknown label")
    assert err[1].startswith(f"{path}:3: malformed JSON: ")
    assert err[2] == "2 problem(s) in 1 file(s)"


def test_cli_validate_ok(tmp_path, capsys):
    path = write_jsonl(tmp_path / "a.jsonl", good())
    assert _cli().main(["validate", str(path)]) == 0
    assert "OK: 1 file(s)" in capsys.readouterr().out


def test_cli_runs_as_a_script_from_the_repo_root(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", good(), good())
    proc = subprocess.run([sys.executable, "scripts/annotate.py", "validate", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "duplicate id" in proc.stderr


def test_validate_records_in_memory():
    rs = [Record("m#1", "增长6%", [Span(0, 4, "TARGET")]), Record("m#1", "地区。", [Span(0, 3, "METRIC")])]
    problems = validate_records(rs)
    assert [str(p) for p in problems] == [
        "<records>: [m#1] duplicate id",
        "<records>: [m#1] span 0 (0, 3, METRIC) '地区。': span ends with punctuation '。'",
    ]
