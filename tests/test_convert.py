"""Converters: round trips (property tests), format details and parse errors."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from pipeline.annotation.jsonl import write_records
from pipeline.annotation.schema import LABELS, SECTIONS, AnnotationError, Link, Record, Span
from pipeline.annotation.convert import (
    doccano_to_records,
    docbin_to_records,
    inline_to_records,
    labelstudio_to_records,
    read_as,
    records_to_conll,
    records_to_docbin,
    records_to_doccano,
    records_to_inline,
    records_to_labelstudio,
    write_as,
)

ROOT = Path(__file__).resolve().parent.parent

# Characters that stress the converters: escapes, brackets, quotes, whitespace, CJK, non-BMP.
ALPHABET = st.sampled_from(list("地区生产总值增长6%.，。“”《》[]{}\\|# \t\n\u3000𠀀abc"))


@st.composite
def records(draw, scores: bool = True, links: bool = True) -> Record:
    """Records with non-overlapping spans in text order (not necessarily valid spans)."""
    text = draw(st.text(ALPHABET, max_size=25))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = [Span(a, b, draw(st.sampled_from(LABELS)),
                  draw(st.none() | st.floats(0, 1)) if scores else None)
             for a, b in zip(cuts[::2], cuts[1::2])]
    n = len(spans)
    link_list = []
    if links and n:
        idx = st.integers(0, n - 1)
        link_list = draw(st.lists(st.builds(Link, idx, idx), max_size=3))
    meta = draw(st.dictionaries(st.sampled_from(["source", "annotator", "x"]),
                                st.text(max_size=4) | st.integers(-(2**53), 2**53), max_size=2))
    if draw(st.booleans()):
        meta["section"] = draw(st.sampled_from(SECTIONS))
    rid = draw(st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)),
                       min_size=1, max_size=10).filter(lambda s: not s.startswith("#") and s == s.strip()))
    doc_id = draw(st.none() | st.text(min_size=1, max_size=6))
    return Record(rid, text, spans, doc_id=doc_id, meta=meta, links=link_list)


def unique_ids(rs: list[Record]) -> bool:
    return len({r.id for r in rs}) == len(rs)


record_lists = st.lists(records(), max_size=4).filter(unique_ids)

GOLD = [
    Record("全国_2021#1", "主要预期目标是：地区生产总值增长6%左右，城镇登记失业率控制在4.5%以内。",
           [Span(8, 14, "METRIC"), Span(14, 20, "TARGET"), Span(21, 28, "METRIC"),
            Span(28, 37, "TARGET")],
           meta={"section": "plan", "source": "全国_2021_5bd07fc4.txt", "raw_start": 5, "raw_end": 50},
           links=[Link(0, 1), Link(2, 3)]),
    Record("全国_2021#2", "深入开展“清河行动”，实施“护旗”系列专项行动，编号[2021]{3}。",
           [Span(5, 9, "PROJECT"), Span(13, 23, "PROJECT")], meta={"section": "other"}),
]


# --------------------------------------------------------------------------- round trips


@settings(max_examples=150, deadline=None)
@given(record_lists)
def test_inline_round_trip_from_records(rs):
    assert inline_to_records(records_to_inline(rs)) == rs


@settings(max_examples=100, deadline=None)
@given(record_lists)
def test_inline_round_trip_from_markup(rs):
    markup = records_to_inline(rs)
    assert records_to_inline(inline_to_records(markup)) == markup


@settings(max_examples=100, deadline=None)
@given(record_lists)
def test_doccano_round_trip(rs):
    assert doccano_to_records(records_to_doccano(rs)) == rs


@settings(max_examples=100, deadline=None)
@given(record_lists)
def test_labelstudio_round_trip(rs):
    assert labelstudio_to_records(records_to_labelstudio(rs)) == rs


@settings(max_examples=25, deadline=None)
@given(st.lists(records(scores=False, links=False), max_size=3).filter(unique_ids))
def test_docbin_round_trip_without_links_and_scores(rs):
    assert docbin_to_records(records_to_docbin(rs)) == rs


@settings(max_examples=100, deadline=None)
@given(st.lists(records(), max_size=3).filter(unique_ids))
def test_conll_decodes_back_to_the_spans(rs):
    blocks = records_to_conll(rs).split("\n\n")
    assert len(blocks) == len(rs) or (not rs and blocks == [""])
    for r, block in zip(rs, blocks):
        lines = block.strip("\n").split("\n")
        assert lines[0] == f"# id = {r.id}"
        rows = [line.split("\t") for line in lines[1:]]
        kept = [k for k, ch in enumerate(r.text) if not ch.isspace()]
        assert [c for c, _ in rows] == [r.text[k] for k in kept]
        decoded = {(lab, kept[a], kept[b] + 1) for lab, a, b in get_entities([t for _, t in rows])}
        # spans made only of whitespace vanish; others keep their non-whitespace extent
        expected = set()
        for s in r.spans:
            inside = [k for k in kept if s.start <= k < s.end]
            if inside:
                expected.add((s.label, inside[0], inside[-1] + 1))
        assert decoded == expected


# --------------------------------------------------------------------------- inline format


def test_inline_example_is_readable():
    text = records_to_inline(GOLD)
    lines = text.split("\n")
    assert lines[0].startswith('# meta: {"meta": {"section": "plan"')
    assert '"links": [[8, 14, 14, 20], [21, 28, 28, 37]]' in lines[0]
    assert lines[1] == ("全国_2021#1\t主要预期目标是：[地区生产总值]{METRIC}[增长6%左右]{TARGET}，"
                        "[城镇登记失业率]{METRIC}[控制在4.5%以内]{TARGET}。")
    assert lines[2] == ""
    assert lines[4] == ("全国_2021#2\t深入开展“[清河行动]{PROJECT}”，实施[“护旗”系列专项行动]{PROJECT}，"
                        "编号\\[2021\\]\\{3\\}。")


def test_inline_hand_written_file():
    content = (
        "# batch 1, annotator a1\n"
        "\n"
        "d#1   预计[地区生产总值]{METRIC}完成[830亿元]{VALUE}。\r\n"
        "# a comment between records\n"
        "\n"
        "d#2\t[增长6%]{TARGET|0.5}\n"
    )
    r1, r2 = inline_to_records(content)
    assert (r1.id, r1.text, r1.doc_id) == ("d#1", "预计地区生产总值完成830亿元。", "d")
    assert r1.spans == [Span(2, 8, "METRIC"), Span(10, 15, "VALUE")]
    assert r2.spans == [Span(0, 4, "TARGET", 0.5)]


def test_inline_spans_are_written_in_text_order_and_links_follow():
    r = Record("x#1", "地区生产总值增长6%", [Span(6, 10, "TARGET"), Span(0, 6, "METRIC")],
               links=[Link(1, 0)])
    (back,) = inline_to_records(records_to_inline([r]))
    assert back.spans == [Span(0, 6, "METRIC"), Span(6, 10, "TARGET")]
    assert back.links == [Link(0, 1)]


@pytest.mark.parametrize("line, message", [
    ("d#1\t[地区生产总值", "column 5: '[' is never closed"),
    ("d#1\t地区]{METRIC}", "column 7: ']' without an opening '['"),
    ("d#1\t[地区] 增长", "column 8: ']' must be followed by {LABEL}"),
    ("d#1\t[地区]{INDICATOR}", "column 10: unknown label 'INDICATOR'"),
    ("d#1\t[地[区]{METRIC}", "column 7: '[' inside the span opened at column 5"),
    ("d#1\t地区{METRIC}", "column 7: unescaped '{'"),
    ("d#1\t地区\\x", "column 7: unknown escape '\\x'"),
    ("d#1\t[]{METRIC}", "column 5: empty span"),
    ("d#1\t[地区]{METRIC|high}", "score 'high' is not a number"),
    ("d#1", "expected 'id<TAB>marked-up text'"),
])
def test_inline_errors_name_line_column_and_id(line, message):
    content = "# header\n\n" + line + "\n"
    with pytest.raises(AnnotationError) as info:
        inline_to_records(content, file="batch.txt")
    e = info.value
    assert e.file == "batch.txt" and e.line == 3
    assert message in e.reason
    assert str(e).startswith("batch.txt:3:")


@pytest.mark.parametrize("content, message", [
    ('# meta: {"meta": {}\nd#1\tx\n', "malformed meta JSON"),
    ('# meta: {"colour": 1}\nd#1\tx\n', "meta line must be an object"),
    ('# meta: {}\n', "meta line is not followed by a record"),
    ('# meta: {}\n# meta: {}\nd#1\tx\n', "second meta line"),
    ('# meta: {"links": [[0, 1, 2, 3]]}\nd#1\t[地]{METRIC}[区]{VALUE}\n',
     "refers to a span that is not marked"),
])
def test_inline_meta_line_errors(content, message):
    with pytest.raises(AnnotationError, match=message):
        inline_to_records(content)


def test_inline_rejects_ids_it_cannot_write():
    with pytest.raises(AnnotationError, match="cannot be written inline"):
        records_to_inline([Record("#1", "x", [])])


# --------------------------------------------------------------------------- other formats


def test_conll_iob2_example():
    r = Record("x#1", "新增 企业89家", [Span(3, 5, "METRIC"), Span(5, 8, "VALUE")])
    assert records_to_conll([r, r]) == (
        "# id = x#1\n新\tO\n增\tO\n企\tB-METRIC\n业\tI-METRIC\n8\tB-VALUE\n9\tI-VALUE\n家\tI-VALUE\n"
        "\n"
        "# id = x#1\n新\tO\n增\tO\n企\tB-METRIC\n业\tI-METRIC\n8\tB-VALUE\n9\tI-VALUE\n家\tI-VALUE\n"
    )


def test_doccano_reads_sequence_labelling_export():
    line = json.dumps({"id": 12, "text": "增长6%左右", "label": [[0, 6, "TARGET"]], "Comments": []})
    (r,) = doccano_to_records(line)
    assert (r.id, r.spans, r.links) == ("12", [Span(0, 6, "TARGET")], [])


def test_doccano_reads_relation_export_with_its_own_ids():
    line = json.dumps({"id": 6400, "text": "地区生产总值增长6%", "entities": [
        {"id": 1663, "label": "TARGET", "start_offset": 6, "end_offset": 10},
        {"id": 1662, "label": "METRIC", "start_offset": 0, "end_offset": 6}],
        "relations": [{"id": 273, "from_id": 1662, "to_id": 1663, "type": "LINK"}]})
    (r,) = doccano_to_records(line)
    assert r.id == "6400"
    assert r.links == [Link(1, 0)]


def test_doccano_errors_name_the_line():
    content = records_to_doccano(GOLD[:1]) + '{"text": "x"}\n'
    with pytest.raises(AnnotationError, match=r"^x\.jsonl:2: no 'record_id' or 'id'"):
        doccano_to_records(content, "x.jsonl")


def test_labelstudio_predictions_and_annotations():
    pred = Record("p#1", "增长6%", [Span(0, 4, "TARGET", 0.9)])
    tasks = json.loads(records_to_labelstudio([GOLD[0], pred]))
    assert "annotations" in tasks[0] and "predictions" not in tasks[0]
    assert tasks[1]["predictions"][0]["result"][0]["score"] == 0.9
    regions = tasks[0]["annotations"][0]["result"]
    assert regions[0]["value"] == {"start": 8, "end": 14, "text": "地区生产总值", "labels": ["METRIC"]}
    assert regions[-1] == {"type": "relation", "from_id": "s2", "to_id": "s3",
                           "direction": "right", "labels": ["LINK"]}


def test_labelstudio_reads_export_choices():
    region = {"id": "a", "type": "labels", "from_name": "label", "to_name": "text",
              "value": {"start": 0, "end": 6, "text": "地区生产总值", "labels": ["METRIC"]}}
    region2 = {"id": "b", "type": "labels", "from_name": "label", "to_name": "text",
               "value": {"start": 6, "end": 10, "labels": ["TARGET"]}}
    task = {"id": 41, "data": {"text": "地区生产总值增长6%"}, "annotations": [
        {"was_cancelled": True, "result": []},
        {"result": [region, region2,
                    {"type": "relation", "from_id": "b", "to_id": "a", "direction": "left"}]}]}
    (r,) = labelstudio_to_records(json.dumps([task]))
    assert r.id == "41" and r.doc_id == "41"
    assert r.spans == [Span(0, 6, "METRIC"), Span(6, 10, "TARGET")]
    assert r.links == [Link(0, 1)]  # a left-pointing relation is turned around


def test_labelstudio_rejects_mismatched_region_text():
    task = {"id": 1, "data": {"text": "地区生产总值"}, "annotations": [{"result": [
        {"id": "a", "type": "labels", "value": {"start": 1, "end": 3, "text": "地区", "labels": ["METRIC"]}}]}]}
    with pytest.raises(AnnotationError, match="does not match text"):
        labelstudio_to_records(json.dumps([task]))


def test_docbin_one_token_per_character_with_user_data():
    import spacy
    from spacy.tokens import DocBin

    (doc,) = DocBin().from_bytes(records_to_docbin(GOLD[:1])).get_docs(spacy.blank("zh").vocab)
    assert len(doc) == len(GOLD[0].text)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("地区生产总值", "METRIC"), ("增长6%左右", "TARGET"), ("城镇登记失业率", "METRIC"),
        ("控制在4.5%以内", "TARGET")]
    assert doc.user_data["id"] == "全国_2021#1"
    assert doc.user_data["meta"]["section"] == "plan"
    assert docbin_to_records(records_to_docbin(GOLD[:1]))[0].links == []


# --------------------------------------------------------------------------- files and CLI


def _cli():
    spec = importlib.util.spec_from_file_location("annotate_cli", ROOT / "scripts" / "annotate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fmt", ["inline", "doccano", "labelstudio", "docbin"])
def test_cli_convert_there_and_back(tmp_path, fmt):
    src = tmp_path / "gold.jsonl"
    write_records(src, GOLD)
    cli = _cli()
    assert cli.main(["-q", "convert", "--from", "jsonl", "--to", fmt, str(src), str(tmp_path / "x")]) == 0
    assert cli.main(["-q", "convert", "--from", fmt, "--to", "jsonl", str(tmp_path / "x"),
                     str(tmp_path / "back.jsonl")]) == 0
    expected = GOLD if fmt != "docbin" else [
        Record(r.id, r.text, r.spans, r.doc_id, r.meta) for r in GOLD]
    assert read_as(tmp_path / "back.jsonl", "jsonl") == expected


def test_cli_convert_writes_nothing_on_invalid_input(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text("d#1\t[“清河行动”]{PROJECT}\n", encoding="utf-8")
    out = tmp_path / "a.jsonl"
    assert _cli().main(["convert", "--from", "inline", "--to", "jsonl", str(src), str(out)]) == 1
    assert "wrapped whole" in capsys.readouterr().err
    assert not out.exists()
    assert os.listdir(tmp_path) == ["a.txt"]
    # --no-validate converts anyway
    assert _cli().main(["-q", "convert", "--no-validate", "--from", "inline", "--to", "jsonl",
                        str(src), str(out)]) == 0
    assert out.exists()


def test_cli_validate_inline_file(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text("d#1\t[地区生产总值]{METRIC}[增长6%]{TARGET}。\n\nd#2\t[地区]{METRIX}\n",
                   encoding="utf-8")
    assert _cli().main(["validate", str(src)]) == 1
    assert f"{src}:3: [d#2] column 10: unknown label 'METRIX'" in capsys.readouterr().err


def test_write_as_conll_and_unknown_formats(tmp_path):
    write_as(tmp_path / "g.conll", GOLD, "conll")
    assert (tmp_path / "g.conll").read_text(encoding="utf-8").startswith("# id = 全国_2021#1\n主\tO\n")
    with pytest.raises(ValueError, match="cannot read format 'conll'"):
        read_as(tmp_path / "g.conll", "conll")
    with pytest.raises(ValueError, match="cannot write format 'xml'"):
        write_as(tmp_path / "g.xml", GOLD, "xml")


def test_conll_span_starting_with_whitespace_after_another_span():
    """Found by Hypothesis: a span whose first character is whitespace, right
    after another span, must still start with B- (else the two merge)."""
    r = Record(id="0", text="6666666  6", spans=[Span(4, 7, "PROJECT"), Span(8, 10, "PROJECT")])
    rows = [line.split("\t") for line in records_to_conll([r]).strip("\n").split("\n")[1:]]
    assert [t for _, t in rows][4:] == ["B-PROJECT", "I-PROJECT", "I-PROJECT", "B-PROJECT"]
