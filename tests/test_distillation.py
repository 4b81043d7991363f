"""Distillation: layer pruning, the loss, raw reports as unlabelled windows, and a
tiny teacher distilled into a one-layer student end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import spacy
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from ner_tiny import save_tiny_base  # noqa: E402
from train_data import tiny_train_config, write_tiny_corpus  # noqa: E402

from pipeline.model import distillation  # noqa: E402
from pipeline.model.distillation import TEACHER_CACHE, keep_layers, raw_rows  # noqa: E402
from pipeline.model.training import IGNORE, TrainConfig, distill_loss, train, window_loss  # noqa: E402

RAW = "一、2023年工作回顾\n预计地区生产总值完成830亿元。\n\n二、2024年工作安排\n城镇登记失业率控制在4.5%以内。\n"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny 2-layer teacher trained on synthetic gold, and raw reports: one new,
    one copy of it in another folder, one of a dev document."""
    root = tmp_path_factory.mktemp("distill")
    write_tiny_corpus(root)
    for folder in ("raw", "raw/copy"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "new_2024.txt").write_text(RAW, encoding="utf-8")
    (root / "raw" / "dev1.txt").write_text(RAW, encoding="utf-8")
    train(_cfg(root, "teacher", epochs=3, lr=3e-3))
    return root


def _cfg(root: Path, out: str, **over) -> TrainConfig:
    return tiny_train_config(root, out, **{"patience": 3, **over})


def test_keep_layers_keeps_the_named_layers_in_order(tmp_path):
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(save_tiny_base(tmp_path / "b"), num_labels=3)
    second = model.bert.encoder.layer[1]
    keep_layers(model, [1])
    assert list(model.bert.encoder.layer) == [second] and model.config.num_hidden_layers == 1
    out = model(input_ids=torch.tensor([[0, 5, 6, 2]])).logits
    assert out.shape == (1, 4, 3)
    for bad in ([], [1, 0], [0, 0], [1], [-1]):
        with pytest.raises(ValueError, match="student_layers"):
            keep_layers(model, bad)  # one layer is left: only [0] is valid now


def test_distill_loss_is_cross_entropy_when_student_matches_teacher():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 3)
    labels = torch.tensor([[IGNORE, 0, 1, 2, IGNORE], [IGNORE, 2, 2, 0, IGNORE]])
    weight = torch.tensor([1.0, 0.0])  # the second window is raw text: no gold
    same = logits.log_softmax(-1)
    loss = distill_loss(logits, labels, weight, same, temperature=2.0, alpha=0.5)
    ce = window_loss(logits[:1], labels[:1], weight[:1])
    assert loss.item() == pytest.approx(0.5 * ce.item(), abs=1e-6)
    other = torch.randn(2, 5, 3).log_softmax(-1)
    assert distill_loss(logits, labels, weight, other, temperature=2.0, alpha=0.5) > loss
    # only raw windows and no distillation weight: nothing to learn from
    zero = distill_loss(logits, labels, torch.zeros(2), other, temperature=2.0, alpha=0.0)
    assert zero.item() == 0.0
    # padding and specials (IGNORE) do not count
    changed = other.clone()
    changed[:, 0] = torch.randn(2, 3).log_softmax(-1)
    assert distill_loss(logits, labels, weight, changed, temperature=2.0, alpha=1.0).item() == pytest.approx(
        distill_loss(logits, labels, weight, other, temperature=2.0, alpha=1.0).item())
    with pytest.raises(ValueError, match="temperature"):
        distill_loss(logits, labels, weight, other, temperature=0.0, alpha=0.5)


def test_raw_rows_are_normalized_paragraphs_with_sections_and_skip_excluded(setup):
    rows = raw_rows([setup / "raw"], excluded={"dev1"})
    assert {r["doc_id"] for r in rows} == {"new_2024"}  # the copy in raw/copy is read once
    assert all(r["spans"] == [] for r in rows)
    sections = {r["text"]: r["section"] for r in rows}
    assert sections["预计地区生产总值完成830亿元。"] == "review"
    assert sections["城镇登记失业率控制在4.5%以内。"] == "plan"


def test_a_student_is_distilled_from_the_teacher_and_runs(setup):
    cfg = _cfg(setup, "student", base_model=str(setup / "teacher"), student_layers=[1],
               teacher=str(setup / "teacher"), distill_files=[str(setup / "raw")], temperature=2.0,
               distill_alpha=0.7)
    summary = train(cfg)
    out = Path(cfg.output_dir)
    assert summary["distill_documents"] == ["new_2024"]  # dev1 is a dev document, not trained on
    gold_only = train(_cfg(setup, "plain", epochs=1, lr=0.0))
    assert summary["train_windows"] > gold_only["train_windows"]
    assert not (out / TEACHER_CACHE).exists() and not (out / "checkpoint.pt").exists()
    saved = json.loads((out / "govreport_ner" / "model" / "config.json").read_text())
    assert saved["num_hidden_layers"] == 1
    nlp = spacy.load(out)
    from pipeline.text.docs import make_char_doc

    doc = nlp(make_char_doc(nlp.vocab, "预计地区生产总值完成830亿元。"))
    assert all(e._.score is not None for e in doc.ents)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all(e["dev_f1"] is not None for e in log)


def test_teacher_targets_are_reused_by_a_resumed_run(setup, monkeypatch):
    """The labelled windows stay in output_dir until the run ends: a killed run
    started again does not label them again."""
    import pipeline.model.training as training

    cfg = _cfg(setup, "resumed", base_model=str(setup / "teacher"), student_layers=[0],
               teacher=str(setup / "teacher"), distill_files=[str(setup / "raw")], epochs=2)
    real_epoch_end = training.save_checkpoint

    def killed(*args, **kwargs):
        real_epoch_end(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    assert (Path(cfg.output_dir) / TEACHER_CACHE / "identity.json").is_file()
    monkeypatch.setattr(training, "save_checkpoint", real_epoch_end)

    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher was loaded again")

    real_load = distillation.load_teacher
    monkeypatch.setattr(distillation, "load_teacher", no_teacher)
    resumed = train(cfg)
    monkeypatch.setattr(distillation, "load_teacher", real_load)
    fresh_cfg = _cfg(setup, "fresh", base_model=str(setup / "teacher"), student_layers=[0],
                     teacher=str(setup / "teacher"), distill_files=[str(setup / "raw")], epochs=2)
    fresh = train(fresh_cfg)
    assert resumed["steps"] == fresh["steps"] > 0

    def losses(folder: str) -> list[tuple[float, float]]:
        lines = (Path(folder) / "train_log.jsonl").read_text().splitlines()
        return [(json.loads(x)["train_loss"], json.loads(x)["dev_f1"]) for x in lines]

    assert losses(cfg.output_dir) == losses(fresh_cfg.output_dir)


def test_mismatched_teacher_and_distill_files_without_teacher_are_refused(setup):
    with pytest.raises(ValueError, match="max_length"):
        train(_cfg(setup, "bad", base_model=str(setup / "teacher"), teacher=str(setup / "teacher"),
                   max_length=20))
    with pytest.raises(ValueError, match="teacher"):
        train(_cfg(setup, "bad2", distill_files=[str(setup / "raw")]))
