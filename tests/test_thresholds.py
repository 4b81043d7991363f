"""Per-label minimum span scores: chosen on gold records, applied by the component,
stored in a saved pipeline, and refused on the test split."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ner_tiny import SAMPLE, tiny_pipeline  # noqa: E402

from pipeline.annotation.schema import Record, Span
from pipeline.evaluation.thresholds import drop_below, leave_one_document_out, tune_min_score

TEXT = "建设幸福路综合管廊工程和城东公园。地区生产总值增长6%。"


def _pair(doc: str, n: int, spurious_score: float) -> tuple[Record, Record]:
    """Gold with PROJECT 幸福路综合管廊工程 and METRIC 地区生产总值; the prediction has
    both (scores 0.95) and a spurious PROJECT 城东公园 with ``spurious_score``."""
    rid = f"{doc}#{n}"
    gold = Record(rid, TEXT, [Span(2, 11, "PROJECT"), Span(17, 23, "METRIC")])
    pred = Record(rid, TEXT, [Span(2, 11, "PROJECT", 0.95), Span(12, 16, "PROJECT", spurious_score),
                              Span(17, 23, "METRIC", 0.95)])
    return gold, pred


def test_the_threshold_that_drops_the_spurious_spans_and_keeps_the_right_ones():
    pairs = [_pair("a", i, 0.6) for i in range(3)]
    result = tune_min_score([g for g, _ in pairs], [p for _, p in pairs], ["PROJECT", "METRIC"])
    # 0.62 is the lowest grid value above 0.6 and not above 0.95
    assert result["min_score"] == {"PROJECT": 0.62}
    assert result["before"]["per_label"]["PROJECT"]["f1"] == pytest.approx(2 / 3)
    assert result["after"]["per_label"]["PROJECT"]["f1"] == 1.0
    assert "METRIC" not in result["min_score"]  # no threshold raises a perfect F1


def test_drop_below_keeps_spans_without_a_score():
    pred = Record("a#0", TEXT, [Span(2, 11, "PROJECT"), Span(12, 16, "PROJECT", 0.1)])
    assert drop_below([pred], {"PROJECT": 0.5})[0].spans == [Span(2, 11, "PROJECT")]


def test_leave_one_document_out_tunes_without_the_document_it_scores():
    # in document b the "spurious" span scores 0.99: thresholds from a cannot drop it
    pairs = [_pair("a", 0, 0.6), _pair("a", 1, 0.6), _pair("b", 0, 0.99)]
    held = leave_one_document_out([g for g, _ in pairs], [p for _, p in pairs], ["PROJECT", "METRIC"])
    assert held["per_document"]["b"] == {"PROJECT": 0.62}
    assert held["per_document"]["a"] == {}  # b alone: no threshold below 0.95 drops 0.99
    project = held["scores"]["per_label"]["PROJECT"]
    assert project["precision"] == pytest.approx(3 / 6)  # a keeps both spurious spans, b keeps its own
    with pytest.raises(ValueError, match="two documents"):
        leave_one_document_out([pairs[0][0]], [pairs[0][1]], ["PROJECT"])


def test_component_checks_and_applies_min_score(tmp_path: Path):
    from pipeline.model.ner import check_min_score

    with pytest.raises(ValueError, match="unknown label 'FOO'"):
        check_min_score({"FOO": 0.5}, ["PROJECT"])
    with pytest.raises(ValueError, match="from 0 to 1"):
        check_min_score({"PROJECT": 1.5}, ["PROJECT"])
    nlp = tiny_pipeline(tmp_path / "base")
    ner = nlp.get_pipe("govreport_ner")
    found = [(e.start_char, e.end_char, e.label_, e._.score) for e in nlp(SAMPLE).ents]
    assert found  # a random head tags something
    cut = sorted(s for *_, s in found)[len(found) // 2]
    ner.min_score = {label: cut for label in ner.labels}
    kept = [(e.start_char, e.end_char, e.label_, e._.score) for e in nlp(SAMPLE).ents]
    assert kept and all(s >= cut for *_, s in kept) and len(kept) < len(found)


def test_min_score_is_saved_into_the_pipeline_and_a_bad_value_is_refused(tmp_path: Path):
    from pipeline.model.build import load_pipeline, save_ner_setting

    tiny_pipeline(tmp_path / "base").to_disk(tmp_path / "model")
    save_ner_setting(tmp_path / "model", "min_score", {"PROJECT": 0.8})
    assert load_pipeline(tmp_path / "model").get_pipe("govreport_ner").min_score == {"PROJECT": 0.8}
    before = (tmp_path / "model" / "config.cfg").read_text(encoding="utf-8")
    with pytest.raises(Exception, match="unknown label"):
        save_ner_setting(tmp_path / "model", "min_score", {"FOO": 0.8})
    assert (tmp_path / "model" / "config.cfg").read_text(encoding="utf-8") == before
    with pytest.raises(ValueError, match="not a setting"):
        save_ner_setting(tmp_path / "model", "colour", 1)


def test_tuning_on_test_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from pipeline.cli.evaluate import main

    data = tmp_path / "gold.jsonl"
    data.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(data), "--model", str(tmp_path), "--split", "test", "--tune-min-score"])
    assert exit_info.value.code == 2
    assert "never on test" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--data", str(data), "--model", str(tmp_path), "--split", "dev", "--write-min-score"])


def test_tuning_on_dev_writes_its_scores_and_the_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """--tune-min-score --json: the scores before and after the chosen thresholds and
    left one document out (what scripts/experiments.py tabulates); --write-min-score
    stores the same thresholds in the model."""
    import json

    from train_data import write_tiny_corpus

    from pipeline.cli.evaluate import main
    from pipeline.model.build import load_pipeline

    write_tiny_corpus(tmp_path)
    tiny_pipeline(tmp_path / "base").to_disk(tmp_path / "model")
    out = tmp_path / "dev.thresholds.json"
    assert main(["--data", str(tmp_path / "gold.jsonl"), "--splits", str(tmp_path / "splits.json"),
                 "--model", str(tmp_path / "model"), "--split", "dev", "--tune-min-score",
                 "--write-min-score", "--json", str(out)]) == 0
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["split"] == "dev" and scores["decoding"] == "viterbi"
    for key in ("before", "after", "left_out"):
        assert 0.0 <= scores[key]["micro"]["f1"] <= 1.0
    assert scores["after"]["micro"]["f1"] >= scores["before"]["micro"]["f1"]  # chosen in sample
    saved = load_pipeline(tmp_path / "model").get_pipe("govreport_ner").min_score
    assert saved == scores["min_score"]
    assert f"scores: {out}" in capsys.readouterr().out
