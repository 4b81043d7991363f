"""govreport-ner export-hf: a plain transformers token-classification folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from ner_tiny import SAMPLE, tiny_pipeline  # noqa: E402

from pipeline.cli.export_hf import main  # noqa: E402


def test_export_opens_with_transformers_pipeline_offline(tmp_path, monkeypatch, capsys):
    import torch
    from transformers import AutoModelForTokenClassification, pipeline

    nlp = tiny_pipeline(tmp_path / "base")
    nlp.to_disk(tmp_path / "model")
    assert main([str(tmp_path / "hf"), "--model", str(tmp_path / "model")]) == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AutoModelForTokenClassification.from_pretrained(tmp_path / "hf", local_files_only=True)
    ner = nlp.get_pipe("govreport_ner")
    assert [model.config.id2label[i] for i in range(model.config.num_labels)] == ner.tags
    assert model.dtype == torch.float32
    # the same weights: the plain model's logits on a window equal the component's
    window = ner.windows(ner.encode(SAMPLE[:20]), "plan")[0]
    ids = torch.tensor([window.input_ids])
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        ours = ner.model.float()(input_ids=ids).logits
    assert torch.allclose(plain, ours, atol=1e-5)
    tagger = pipeline("token-classification", model=str(tmp_path / "hf"), aggregation_strategy="simple")
    found = tagger(SAMPLE)
    assert isinstance(found, list) and all({"entity_group", "start", "end"} <= set(e) for e in found)
    assert all(e["entity_group"] in ner.labels for e in found)
    assert "section marker" in (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "hf" / "govreport_ner.json").read_text())["labels"] == ner.labels


def test_export_errors(tmp_path, capsys):
    assert main([str(tmp_path / "hf"), "--model", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as done:
        main([str(tmp_path / "file"), "--model", str(tmp_path / "missing")])
    assert done.value.code == 2


def test_evaluate_scores_a_plain_export_the_plain_way(tmp_path):
    from pipeline.annotation.schema import Record, Span
    from pipeline.evaluation.systems import evaluate
    from pipeline.model.export import export_hf

    nlp = tiny_pipeline(tmp_path / "base")
    nlp.to_disk(tmp_path / "model")
    export_hf(tmp_path / "model", tmp_path / "hf")
    gold = [Record(id="d#0", text="预计地区生产总值完成830亿元。", spans=[Span(2, 8, "METRIC")],
                   meta={"section": "plan"})]
    result = evaluate(tmp_path / "hf", gold)
    assert result["system"].endswith("(plain transformers pipeline)")
    assert result["micro"]["support"] == 1 and result["dtype"] is None
    assert result["baseline"] is not None
