"""Benchmark import (CLUENER2020) and the label-set/style-rule options that let a
benchmark corpus load, train and evaluate through the project's code paths.
The sample is written inline (never read from ../shared)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from ner_tiny import save_tiny_base  # noqa: E402

from pipeline.annotation.dataset import load_dataset
from pipeline.annotation.jsonl import read_records
from pipeline.annotation.schema import LABELS, AnnotationError, Record, Span
from pipeline.annotation.validate import validate_records
from pipeline.annotation.benchmarks import (
    CLUENER_LABELS,
    ImportStats,
    import_cluener,
    read_cluener,
)  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Three CLUENER-format sentences: end offsets inclusive; 《》 inside a book span
# (CLUENER convention, against the project's style rules); an entity occurring
# twice; a company nested in a book title (as on train line 1507).
SAMPLE = [
    {"text": "彭小军认为，国内银行现在走的是台湾的发卡模式，",
     "label": {"address": {"台湾": [[15, 16]]}, "name": {"彭小军": [[0, 2]]}}},
    {"text": "《变形金刚》上映后，温格说变形金刚很好看",
     "label": {"movie": {"《变形金刚》": [[0, 5]], "变形金刚": [[13, 16]]}, "name": {"温格": [[10, 11]]}}},
    {"text": "题为《招商银行：投资浮亏》的文章",
     "label": {"book": {"《招商银行：投资浮亏》": [[2, 12]]}, "company": {"招商银行": [[3, 6]]}}},
]


def write_sample(folder: Path, name: str = "train.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in SAMPLE) + "\n",
                    encoding="utf-8")
    return path


def test_read_cluener_offsets_ids_and_nested_spans(tmp_path: Path) -> None:
    stats = ImportStats()
    records = read_cluener(write_sample(tmp_path), stats=stats)
    assert [r.id for r in records] == ["cluener-train#0", "cluener-train#1", "cluener-train#2"]
    assert {r.doc_id for r in records} == {"cluener-train"}
    first, second, third = records
    # end inclusive -> exclusive; spans sorted by offset
    assert [(s.start, s.end, s.label) for s in first.spans] == [(0, 3, "name"), (15, 17, "address")]
    assert [first.span_text(s) for s in first.spans] == ["彭小军", "台湾"]
    assert [(second.span_text(s), s.label) for s in second.spans] == [
        ("《变形金刚》", "movie"), ("温格", "name"), ("变形金刚", "movie")]
    # the nested company is dropped, the outer book title kept
    assert [(third.span_text(s), s.label) for s in third.spans] == [("《招商银行：投资浮亏》", "book")]
    assert stats.records == 3 and stats.spans == 6
    assert stats.dropped == [{"id": "cluener-train#2", "kept": [2, 13, "book", "《招商银行：投资浮亏》"],
                              "dropped": [3, 7, "company", "招商银行"]}]
    assert first.meta == {"source": "cluener2020/train.json", "line": 1}


def test_read_cluener_rejects_offsets_that_miss_the_entity(tmp_path: Path) -> None:
    bad = tmp_path / "dev.json"
    bad.write_text(json.dumps({"text": "温格的球队", "label": {"name": {"温格": [[0, 2]]}}},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dev.json:1: name \[0, 2\]"):
        read_cluener(bad)


def test_validator_takes_a_label_set_and_can_skip_style_rules(tmp_path: Path) -> None:
    records = read_cluener(write_sample(tmp_path))
    # the project's defaults: unknown labels, and 《》 around a whole name
    reasons = [p.reason for p in validate_records(records)]
    assert any("unknown label 'name'" in r for r in reasons)
    assert any("wrapped whole in 《》" in r for r in reasons)
    # the benchmark's labels: only the style problem is left
    reasons = [p.reason for p in validate_records(records, labels=CLUENER_LABELS)]
    assert reasons and all("wrapped whole" in r for r in reasons)
    assert validate_records(records, labels=CLUENER_LABELS, style_rules=False) == []
    # structural rules still apply without the style rules
    broken = [Record(id="x#0", text="温格的球队", spans=[Span(0, 2, "name"), Span(1, 3, "name"),
                                                          Span(3, 5, "team")])]
    reasons = [p.reason for p in validate_records(broken, labels=CLUENER_LABELS, style_rules=False)]
    assert any("overlap" in r for r in reasons) and any("unknown label 'team'" in r for r in reasons)
    # the default label set is unchanged
    assert validate_records([Record(id="y#0", text="增长6%", spans=[Span(0, 4, "VALUE")])]) == []
    assert LABELS == ("PROJECT", "METRIC", "TARGET", "VALUE")


def test_import_round_trip_and_load_dataset(tmp_path: Path) -> None:
    src = tmp_path / "cluener2020"
    write_sample(src, "train.json")
    write_sample(src, "dev.json")
    out = tmp_path / "out"
    report = import_cluener(src, out)
    assert report["train"]["records"] == 3 and report["dev"]["dropped_overlapping"] == 1
    assert json.loads((out / "splits.json").read_text()) == {"train": ["cluener-train"],
                                                             "dev": ["cluener-dev"]}
    back = read_records(out / "dev.jsonl", labels=CLUENER_LABELS, style_rules=False)
    assert back == read_cluener(src / "dev.json")
    with pytest.raises(AnnotationError, match="unknown label"):
        read_records(out / "dev.jsonl")  # the project's labels by default
    files = [out / "train.jsonl", out / "dev.jsonl"]
    ds = load_dataset(files, out / "splits.json", "dev", labels=CLUENER_LABELS, style_rules=False)
    assert ds["id"] == ["cluener-dev#0", "cluener-dev#1", "cluener-dev#2"]
    assert ds["spans"][0] == [{"start": 0, "end": 3, "label": "name"},
                              {"start": 15, "end": 17, "label": "address"}]


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "cluener2020"
    write_sample(src, "train.json")
    write_sample(src, "dev.json")
    spec = importlib.util.spec_from_file_location("import_benchmark", ROOT / "scripts" / "import_benchmark.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    assert script.main(["cluener", str(src), "--out", str(tmp_path / "out")]) == 0
    assert "train: 3 records, 6 spans, 1 nested span(s) dropped" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "train.jsonl", "dev.jsonl", "splits.json", "import_stats.json"}
    assert script.main(["cluener", str(tmp_path / "missing"), "--out", str(tmp_path / "o2")]) == 2


def test_train_and_evaluate_with_the_benchmark_labels(tmp_path: Path) -> None:
    """A tiny random model trained on the sample with CLUENER labels: the saved
    pipeline has them, and evaluation scores it with the baseline n/a."""
    import spacy

    from pipeline.evaluation.report import format_table
    from pipeline.evaluation.systems import evaluate
    from pipeline.model.training import load_config, train

    src = tmp_path / "cluener2020"
    write_sample(src, "train.json")
    write_sample(src, "dev.json")
    out = tmp_path / "data"
    import_cluener(src, out)
    cfg = load_config(overrides=[
        f"base_model={json.dumps(str(save_tiny_base(tmp_path / 'base', max_positions=64)))}",
        f"output_dir={json.dumps(str(tmp_path / 'model'))}",
        f"data_files={json.dumps([str(out / '*.jsonl')])}",
        f"splits_file={json.dumps(str(out / 'splits.json'))}",
        f"labels={json.dumps(list(CLUENER_LABELS))}", "style_rules=false", "section_context=false",
        "scheme=char", "max_length=32", "stride=8", "epochs=1", "batch_size=4", "progress=false",
        "bf16=false", 'dtype="float32"',
    ])
    summary = train(cfg)
    assert summary["dev_records"] == 3
    assert load_config(tmp_path / "model" / "train_config.toml").labels == list(CLUENER_LABELS)
    ner = spacy.load(tmp_path / "model").get_pipe("govreport_ner")
    assert ner.labels == list(CLUENER_LABELS)

    gold = read_records(out / "dev.jsonl", labels=CLUENER_LABELS, style_rules=False)
    result = evaluate(tmp_path / "model", gold)
    assert result["baseline"] is None and result["micro"]["support"] == 6
    table = format_table(result)
    micro = next(line for line in table.splitlines() if line.startswith("micro")).split()
    assert micro[4:7] == ["n/a", "n/a", "n/a"] and micro[-1] == "6"
    assert "rule baseline" in table.splitlines()[1]

    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    rc = script.main(["--data", str(out / "dev.jsonl"), "--model", str(tmp_path / "model"),
                      "--json", str(tmp_path / "s.json"), "--errors", str(tmp_path / "e.jsonl")])
    assert rc == 0
    scores = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert scores["baseline"] is None and set(scores["per_label"]) <= set(CLUENER_LABELS)
