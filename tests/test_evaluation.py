"""Evaluation: seqeval strict IOB2 scores on a hand-computed example, the error
file, section inference, and the model-vs-baseline run with stand-in systems."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from pipeline.evaluation import systems as evaluation
from pipeline.annotation.jsonl import write_records
from pipeline.annotation.schema import Record, Span
from pipeline.text.docs import set_entities
from pipeline.annotation.scores import SCHEME, char_tags, score
from pipeline.evaluation.errors import errors
from pipeline.evaluation.report import format_table, write_json
from pipeline.evaluation.systems import evaluate

ROOT = Path(__file__).resolve().parent.parent

TEXT = "地区生产总值增长6.5%，粮食产量达到80万吨。"
# 地区生产总值 [0, 6)  增长6.5% [6, 12)  6.5% [8, 12)  粮食产量 [13, 17)


def record(spans: list[tuple[int, int, str]], rid: str = "doc#0", text: str = TEXT,
           **meta) -> Record:
    return Record(id=rid, text=text, spans=[Span(s, e, label) for s, e, label in spans], meta=meta)


GOLD = record([(0, 6, "METRIC"), (6, 12, "VALUE"), (13, 17, "METRIC")])
PRED = record([
    (0, 6, "METRIC"),    # exact match: the only true positive
    (8, 12, "VALUE"),    # boundary error against 增长6.5%
    (13, 17, "PROJECT"),  # label error against 粮食产量
])


def test_texts_of_the_example_are_where_the_comments_say() -> None:
    assert [TEXT[s:e] for s, e in ((0, 6), (6, 12), (8, 12), (13, 17))] == \
        ["地区生产总值", "增长6.5%", "6.5%", "粮食产量"]


def test_char_tags_are_iob2_per_character() -> None:
    tags = char_tags(record([(0, 2, "METRIC"), (2, 3, "VALUE")], text="abcd"))
    assert tags == ["B-METRIC", "I-METRIC", "B-VALUE", "O"]


def test_hand_computed_scores() -> None:
    result = score([GOLD], [PRED])
    assert result["scheme"] == SCHEME == "seqeval strict IOB2, entity level"
    # micro: 3 gold, 3 predicted, 1 exact -> P = R = F1 = 1/3
    assert result["micro"] == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3, "support": 3})
    per = result["per_label"]
    assert list(per) == ["PROJECT", "METRIC", "VALUE"]  # LABELS order
    # METRIC: 2 gold, 1 predicted, 1 right -> P 1, R 1/2, F1 2*1*0.5/1.5 = 2/3
    assert per["METRIC"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    # VALUE: 1 gold, 1 predicted with the wrong boundary -> all 0
    assert per["VALUE"] == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1})
    # PROJECT: no gold, 1 predicted -> P 0, R 0 (0/0 counts as 0), support 0
    assert per["PROJECT"] == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0})
    # macro: unweighted mean over the 3 labels seen
    # P (1+0+0)/3 = 1/3, R (0.5+0+0)/3 = 1/6, F1 (2/3+0+0)/3 = 2/9 -- differs from micro
    assert result["macro"] == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 6, "f1": 2 / 9, "support": 3})


def test_strict_mode_gives_no_credit_for_a_partial_match() -> None:
    # Two adjacent VALUE entities covering the gold one are two wrong entities,
    # not one right one: IOB2 keeps them apart by their B- tags.
    gold = [record([(6, 12, "VALUE")])]
    pred = [record([(6, 8, "VALUE"), (8, 12, "VALUE")])]  # split into two adjacent entities
    assert score(gold, pred)["micro"]["precision"] == 0.0


def test_micro_pools_records_and_macro_averages_labels() -> None:
    gold = [GOLD, record([(0, 2, "TARGET")], rid="doc#1", text="目标明确")]
    pred = [PRED, record([(0, 2, "TARGET")], rid="doc#1", text="目标明确")]
    result = score(gold, pred)
    # micro: 4 gold, 4 predicted, 2 exact -> 1/2 each
    assert result["micro"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4})
    # macro over PROJECT, METRIC, TARGET, VALUE: P (0+1+1+0)/4, R (0+.5+1+0)/4,
    # F1 (0+2/3+1+0)/4
    assert result["macro"] == pytest.approx(
        {"precision": 0.5, "recall": 0.375, "f1": 5 / 12, "support": 4})


def test_no_entities_anywhere_scores_zero_without_nan() -> None:
    result = score([record([])], [record([])])
    assert result["micro"]["f1"] == 0.0 and result["macro"]["f1"] == 0.0
    assert result["per_label"] == {}


def test_predictions_are_paired_by_id_when_out_of_order() -> None:
    other = record([(0, 2, "TARGET")], rid="doc#1", text="目标明确")
    result = score([GOLD, other], [other, GOLD])
    assert result["micro"]["f1"] == 1.0


@pytest.mark.parametrize("pred, message", [
    ([record([], text="另一段文字")], "differs"),
    ([record([], rid="other#0")], "no prediction"),
    ([], "0 predicted"),
])
def test_mismatched_predictions_are_refused(pred: list[Record], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score([GOLD], pred)


def test_overlapping_spans_cannot_be_scored() -> None:
    with pytest.raises(ValueError, match="doc#0.*overlap"):
        score([record([(0, 6, "METRIC"), (4, 8, "VALUE")])], [record([])])


def test_errors_classify_and_give_context() -> None:
    gold = [GOLD, record([(0, 2, "TARGET")], rid="doc#1", text="目标明确，任务清楚")]
    pred = [PRED, record([(5, 7, "METRIC")], rid="doc#1", text="目标明确，任务清楚")]
    found = errors(gold, pred)
    summary = [(e["id"], e["type"], e["kind"], e["label"], e["text"]) for e in found]
    assert summary == [
        ("doc#0", "FN", "boundary", "VALUE", "增长6.5%"),
        ("doc#0", "FP", "boundary", "VALUE", "6.5%"),
        ("doc#0", "FN", "label", "METRIC", "粮食产量"),
        ("doc#0", "FP", "label", "PROJECT", "粮食产量"),
        ("doc#1", "FN", "miss", "TARGET", "目标"),
        ("doc#1", "FP", "spurious", "METRIC", "任务"),
    ]
    fp = found[1]
    assert (fp["start"], fp["end"]) == (8, 12)
    assert fp["left"] == "地区生产总值增长" and fp["right"] == "，粮食产量达到80万吨。"
    assert fp["context"] == "地区生产总值增长⟦6.5%⟧，粮食产量达到80万吨。"
    assert fp["overlaps"] == [{"start": 6, "end": 12, "label": "VALUE", "text": "增长6.5%"}]
    assert found[4]["overlaps"] == [] and found[4]["doc_id"] == "doc"


def test_error_context_is_cut_to_30_characters() -> None:
    text = "甲" * 40 + "目标" + "乙" * 40
    found = errors([record([(40, 42, "TARGET")], text=text)], [record([], text=text)])
    assert found[0]["left"] == "甲" * 30 and found[0]["right"] == "乙" * 30


def test_label_and_boundary_wrong_together() -> None:
    found = errors([record([(6, 12, "VALUE")])], [record([(8, 12, "TARGET")])])
    assert [e["kind"] for e in found] == ["label_boundary", "label_boundary"]


def test_with_sections_keeps_given_sections_and_infers_missing_ones() -> None:
    from pipeline.text.structure import infer_section

    text = "2024年主要预期目标是：地区生产总值增长6%左右。"
    given = Record(id="a#0", text=text, meta={"section": "review"})
    missing = Record(id="a#1", text=text, meta={"source": "x"})
    kept, inferred = evaluation.with_sections([given, missing])
    assert kept.section == "review"
    assert inferred.section == infer_section(text) == "plan"
    assert inferred.meta["source"] == "x" and missing.section is None  # a copy


# --------------------------------------------------------------------------- evaluate()

PARAS = {
    "2024年目标增长6%": [(7, 11, "TARGET")],       # 增长6%
    "去年增长5%": [(2, 6, "VALUE")],               # 增长5%
}


class FakeRules:
    """Stand-in rule baseline: finds only 增长N% as VALUE, records its sections."""

    calls: list[tuple[str, str | None]] = []

    def predict(self, text: str, section: str | None) -> list[tuple[int, int, str]]:
        FakeRules.calls.append((text, section))
        start = text.find("增长")
        return [(start, start + 4, "VALUE")] if start >= 0 else []


SECTIONS_SEEN: list[str | None] = []
"""The sections the stand-in model was given, in order."""


@Language.component("test_evaluation_fake_ner")
def fake_ner(doc):  # noqa: ANN001, ANN201
    """Predicts the gold spans of PARAS (scored 0.9), records the section it got."""
    SECTIONS_SEEN.append(doc._.section)
    set_entities(doc, [(s, e, label, 0.9) for s, e, label in PARAS.get(doc.text, [])])
    return doc


def fake_model() -> Language:
    SECTIONS_SEEN.clear()
    nlp = spacy.blank("xx")
    nlp.add_pipe("test_evaluation_fake_ner")
    return nlp


@pytest.fixture
def gold_records() -> list[Record]:
    return [
        Record(id="r#0", text="2024年目标增长6%", spans=[Span(7, 11, "TARGET")],
               meta={"section": "plan"}),
        Record(id="r#1", text="去年增长5%", spans=[Span(2, 6, "VALUE")]),  # no section
    ]


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Rules and section inference replaced; returns the texts whose section was inferred."""
    import pipeline.model.rules
    import pipeline.text.structure

    inferred: list[str] = []

    def infer_section(text: str) -> str:
        inferred.append(text)
        return "review"

    FakeRules.calls = []
    monkeypatch.setattr(pipeline.model.rules, "RuleBaseline", FakeRules)
    monkeypatch.setattr(pipeline.text.structure, "infer_section", infer_section)
    return inferred


def test_evaluate_model_and_baseline_on_the_same_records(
        gold_records: list[Record], stand_ins: list[str], tmp_path: Path) -> None:
    result = evaluate(fake_model(), gold_records, errors_path=tmp_path / "err.jsonl")

    # Section: kept from meta for r#0, inferred from the text for r#1 only.
    assert stand_ins == ["去年增长5%"]
    assert SECTIONS_SEEN == ["plan", "review"]
    assert [s for _, s in FakeRules.calls] == ["plan", "review"]

    # The model gets both right; the rules find 增长6% as VALUE (wrong label)
    # and 增长5% right: 1 of 2 -> P = R = F1 = 1/2.
    assert result["micro"]["f1"] == 1.0
    assert result["baseline"]["micro"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert result["baseline"]["per_label"]["TARGET"]["recall"] == 0.0
    assert result["records"] == 2

    lines = [json.loads(x) for x in (tmp_path / "err.jsonl").read_text("utf-8").splitlines()]
    assert [(e["system"], e["type"], e["kind"], e["text"], e["section"]) for e in lines] == [
        ("baseline", "FN", "label", "增长6%", "plan"),
        ("baseline", "FP", "label", "增长6%", "plan"),
    ]


def test_evaluate_without_model_scores_the_baseline(
        gold_records: list[Record], stand_ins: list[str], tmp_path: Path) -> None:
    result = evaluate("none", gold_records)
    assert result["system"] == "rule baseline"
    assert result["micro"] == result["baseline"]["micro"]
    assert result["micro"]["f1"] == pytest.approx(0.5)

    path = tmp_path / "scores.json"
    write_json(path, result)
    data = json.loads(path.read_text("utf-8"))
    assert {"micro", "macro", "per_label", "baseline"} <= set(data)
    assert set(data["micro"]) == {"precision", "recall", "f1", "support"}


def test_table_shows_both_systems_and_the_scheme(
        gold_records: list[Record], stand_ins: list[str]) -> None:
    table = format_table(evaluate(fake_model(), gold_records))
    lines = table.splitlines()
    assert "seqeval strict IOB2, entity level" in lines[0]
    assert "model" in lines[1] and "rule baseline" in lines[1]
    target = next(line for line in lines if line.startswith("TARGET")).split()
    # model P R F1, baseline P R F1, support
    assert target == ["TARGET", "1.000", "1.000", "1.000", "0.000", "0.000", "0.000", "1"]
    micro = next(line for line in lines if line.startswith("micro")).split()
    assert micro == ["micro", "1.000", "1.000", "1.000", "0.500", "0.500", "0.500", "2"]


def test_cli_on_a_file_from_outside_the_project(
        gold_records: list[Record], stand_ins: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "external.jsonl"
    write_records(data, gold_records)
    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]

    rc = script.main(["--data", str(data), "--model", "none", "--json", str(tmp_path / "s.json"),
                      "--errors", str(tmp_path / "e.jsonl")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "seqeval strict IOB2, entity level" in out
    assert json.loads((tmp_path / "s.json").read_text("utf-8"))["micro"]["f1"] == pytest.approx(0.5)
    assert len((tmp_path / "e.jsonl").read_text("utf-8").splitlines()) == 2


def _save_tiny_model(tmp_path: Path, dtype: str) -> Path:
    """A tiny random govreport_ner pipeline saved to ``tmp_path / "model"``."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from ner_tiny import save_tiny_base

    import pipeline.model.ner  # noqa: F401  (registers govreport_ner)

    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_ner", config={"base_model": str(save_tiny_base(tmp_path / "base")),
                                          "dtype": dtype, "max_length": 64})
    nlp.initialize()
    nlp.to_disk(tmp_path / "model")
    return tmp_path / "model"


def test_evaluate_a_saved_model_folder(gold_records: list[Record], tmp_path: Path) -> None:
    """A (tiny, random) saved govreport_ner pipeline through the real loader and
    ``ner.predict_records``, with the real rules and section inference."""
    _save_tiny_model(tmp_path, "float32")

    result = evaluate(tmp_path / "model", gold_records, errors_path=tmp_path / "e.jsonl")
    assert result["system"] == str(tmp_path / "model")
    assert result["baseline"]["micro"]["support"] == result["micro"]["support"] == 2
    found = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text("utf-8").splitlines()]
    model_fps = [e for e in found if e["system"] == "model" and e["type"] == "FP"]
    assert model_fps  # a random head tags plenty
    assert all(0.0 <= e["score"] <= 1.0 for e in model_fps)
    assert all(e["section"] in ("plan", "review", "other") for e in found)


def test_scores_are_computed_in_the_canonical_precision_whatever_the_model_says(
        gold_records: list[Record], tmp_path: Path, capsys) -> None:
    """A model saved with dtype = "auto" (bf16 or int8, depending on the CPU) is
    scored in float32 unless asked otherwise, so published scores do not depend
    on the CPU; --compare-dtypes prints the other precisions beside it."""
    from pipeline.evaluation.systems import CANONICAL_DTYPE

    _save_tiny_model(tmp_path, "auto")
    assert CANONICAL_DTYPE == "float32"
    assert evaluate(tmp_path / "model", gold_records)["dtype"] == "float32"
    assert evaluate(tmp_path / "model", gold_records, dtype="int8")["dtype"] == "int8"
    assert evaluate(tmp_path / "model", gold_records, dtype=None)["dtype"] in ("bfloat16", "int8")

    data = tmp_path / "gold.jsonl"
    write_records(data, gold_records)
    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    rc = script.main(["--model", str(tmp_path / "model"), "--data", str(data), "--errors",
                      str(tmp_path / "e.jsonl"), "--compare-dtypes", "int8"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "system: " + str(tmp_path / "model") + ", float32, viterbi decoding)" in out
    comparison = out[out.index("F1, "):].splitlines()
    assert comparison[1].split() == ["label", "float32", "int8", "support"]
    assert comparison[-2].startswith("micro")
    with pytest.raises(SystemExit) as err:
        script.main(["--model", str(tmp_path / "model"), "--data", str(data), "--compare-dtypes", "fp8"])
    assert err.value.code == 2


def test_decoding_is_the_models_unless_overridden(gold_records: list[Record], tmp_path: Path, capsys) -> None:
    """The saved decoding is used (viterbi by default); --decoding argmax scores the
    same probabilities with each piece's own best tag, and the table says which."""
    _save_tiny_model(tmp_path, "float32")
    assert evaluate(tmp_path / "model", gold_records)["decoding"] == "viterbi"
    assert evaluate(tmp_path / "model", gold_records, decoding="argmax")["decoding"] == "argmax"
    assert evaluate("none", gold_records)["decoding"] is None
    data = tmp_path / "gold.jsonl"
    write_records(data, gold_records)
    from pipeline.cli.evaluate import main

    assert main(["--model", str(tmp_path / "model"), "--data", str(data), "--errors",
                 str(tmp_path / "e.jsonl"), "--decoding", "argmax"]) == 0
    assert ", float32, argmax decoding)" in capsys.readouterr().out
