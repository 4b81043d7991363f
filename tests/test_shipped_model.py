"""Integration tests on the shipped model (models/govreport-ner, committed; the teacher
models/govreport-ner-teacher too).

They run it in float32, the canonical precision (the same results on every
CPU); the precisions ``dtype = "auto"`` picks (bfloat16 where native, int8
elsewhere) are checked on the main-targets paragraph, each on any CPU."""

from pathlib import Path

import pytest

from pipeline.model.build import load_pipeline
from pipeline.text.reading import read_report

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "govreport-ner"
TEACHER = ROOT / "models" / "govreport-ner-teacher"  # v0.3, kept loadable by path


@pytest.fixture(scope="module")
def nlp():
    assert (MODEL / "config.cfg").is_file(), "the shipped model is missing"
    return load_pipeline(MODEL, dtype="float32")


MAIN_TARGETS = {("地区生产总值", "METRIC"), ("增长6%左右", "TARGET"),
                ("城镇登记失业率", "METRIC"), ("控制在4.5%以内", "TARGET")}


def _main_targets(nlp):
    raw = read_report(ROOT / "seeds" / "002_8668c15d29c349c7.txt")
    doc = nlp(raw)
    para = next(p for p in doc.spans["paragraphs"] if "主要预期目标" in p.text)
    assert para.label_ == "plan"
    return {(e.text, e.label_) for e in doc.spans["entities"] if para.start <= e.start and e.end <= para.end}


def _ents(doc):
    return {(e.text, e.label_) for e in doc.spans["entities"]}


def test_main_targets_paragraph_of_a_seed(nlp):
    assert MAIN_TARGETS <= _main_targets(nlp)


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_the_fast_precisions_find_the_main_targets_too(dtype):
    """What users run by default (bf16 on AMX/AVX512-BF16 CPUs, int8 on the others)."""
    nlp = load_pipeline(MODEL, dtype=dtype)
    assert nlp.get_pipe("govreport_ner").precision == dtype
    assert MAIN_TARGETS <= _main_targets(nlp)


def test_the_default_is_the_student_and_the_teacher_loads_by_path(nlp):
    teacher = load_pipeline(TEACHER, dtype="float32")
    layers = [n.get_pipe("govreport_ner").model.config.num_hidden_layers for n in (nlp, teacher)]
    assert layers == [6, 12]
    assert MAIN_TARGETS <= _main_targets(teacher)


def test_review_sentence_gives_values(nlp):
    doc = nlp("一、2020年工作回顾\n预计地区生产总值完成830亿元，同比增长2.8%。")
    ents = _ents(doc)
    assert ("地区生产总值", "METRIC") in ents
    assert ("830亿元", "VALUE") in ents and ("增长2.8%", "VALUE") in ents


def test_entities_point_into_the_raw_traditional_file(nlp):
    path = ROOT / "seeds" / "000_a3783150aeff858a.txt"
    raw = read_report(path)
    doc = nlp(raw)
    ents = list(doc.spans["entities"])
    assert len(ents) > 100
    for ent in ents:
        assert 0 <= ent._.raw_start < ent._.raw_end <= len(raw)
        assert 0.0 < ent._.score <= 1.0
    gdp = [e for e in ents if e.text == "地区生产总值"]
    assert gdp and all(raw[e._.raw_start:e._.raw_end] == "地區生產總值" for e in gdp)


def test_readme_table_is_what_evaluate_prints(nlp):
    """The README's test-split table is the output of scripts/evaluate.py."""
    import re

    from pipeline.annotation.jsonl import read_records, read_splits
    from pipeline.evaluation.report import format_table
    from pipeline.evaluation.systems import evaluate

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(Scores: seqeval strict IOB2.*?)\n```", readme, re.DOTALL)
    assert block, "README has no evaluation table"
    test_docs = set(read_splits(ROOT / "annotations" / "splits.json")["test"])
    records = [r for path in sorted((ROOT / "annotations" / "gold").glob("*.jsonl"))
               for r in read_records(path) if r.doc_id in test_docs]
    table = format_table(evaluate(nlp, records))
    # The first line names the system; compare the numbers.
    assert table.splitlines()[1:] == block.group(1).splitlines()[1:]
