"""Domain-adaptive masked-LM pre-training (pipeline.model.pretraining) on a tiny encoder."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from ner_tiny import SAMPLE, tiny_tokenizer  # noqa: E402

from pipeline.cli.pretrain import main  # noqa: E402
from pipeline.model.pretraining import IGNORE, PretrainConfig, mask_block, pretrain  # noqa: E402


class Killed(BaseException):
    """Stands for the process dying."""


def _base(path: Path) -> Path:
    from transformers import BertConfig, BertModel

    tokenizer = tiny_tokenizer()
    tokenizer.add_special_tokens({"mask_token": "<mask>"})
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                         pad_token_id=tokenizer.pad_token_id)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dapt")
    _base(root / "base")
    reports = root / "reports"
    reports.mkdir()
    for name in ("a", "b", "c", "held"):
        (reports / f"{name}.txt").write_text("\n".join([SAMPLE] * 6), encoding="utf-8")
    (root / "splits.json").write_text(json.dumps({"train": ["a"], "test": ["held"]}), encoding="utf-8")
    return root


def _cfg(root: Path, out: str, **over) -> PretrainConfig:
    values = dict(base_model=str(root / "base"), output_dir=str(root / out), corpus=[str(root / "reports")],
                  splits_file=str(root / "splits.json"), max_length=32, epochs=3, batch_size=4, lr=2e-3,
                  held_out_fraction=0.2, bf16=False, progress=False)
    values.update(over)
    return PretrainConfig(**values)


def test_mask_block_masks_whole_runs_of_pieces_and_never_specials():
    ids = [0] + list(range(10, 50)) + [2]
    rng = random.Random(3)
    inputs, labels = mask_block(ids, rng, mask_prob=0.25, max_ngram=3, mask_id=99, vocab_size=100,
                                special_ids={0, 2})
    chosen = [i for i, y in enumerate(labels) if y != IGNORE]
    assert len(chosen) == 10  # 25% of the 40 ordinary pieces
    assert labels[0] == labels[-1] == IGNORE and inputs[0] == 0 and inputs[-1] == 2
    assert all(labels[i] == ids[i] for i in chosen)
    assert sum(inputs[i] == 99 for i in chosen) >= 5  # mostly [MASK]
    assert any(i + 1 in chosen for i in chosen)  # some runs longer than one piece
    assert all(inputs[i] == ids[i] for i in range(len(ids)) if i not in chosen)
    again = mask_block(ids, random.Random(3), mask_prob=0.25, max_ngram=3, mask_id=99, vocab_size=100,
                       special_ids={0, 2})
    assert again == (inputs, labels)


def test_pretraining_lowers_held_out_loss_skips_held_out_reports_and_writes_a_base_model(corpus):
    summary = pretrain(_cfg(corpus, "out"))
    out = corpus / "out"
    assert summary["reports"] == 3  # held.txt is a test document
    log = [json.loads(line) for line in (out / "pretrain_log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [0, 1, 2, 3]
    assert log[-1]["held_out_loss"] < log[0]["held_out_loss"]
    assert summary["held_out_loss_after"] == log[-1]["held_out_loss"]
    assert not (out / "checkpoint.pt").exists()
    from pipeline.model.ner import load_base_model

    model, tokenizer = load_base_model(out, ["METRIC"])  # what training takes as base_model
    assert model.config.num_labels == 3 and tokenizer.mask_token == "<mask>"


def test_a_killed_pretraining_resumes_to_the_same_encoder(corpus, monkeypatch):
    import pipeline.model.pretraining as pretraining
    from safetensors.torch import load_file

    pretrain(_cfg(corpus, "whole"))
    real = pretraining.save_checkpoint

    def save_then_die(path, identity, state, *args):
        real(path, identity, state, *args)
        if state.epoch == 1:
            raise Killed

    monkeypatch.setattr(pretraining, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        pretrain(_cfg(corpus, "killed"))
    monkeypatch.setattr(pretraining, "save_checkpoint", real)
    pretrain(_cfg(corpus, "killed"))

    def log(name):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                for line in (corpus / name / "pretrain_log.jsonl").read_text().splitlines()]

    assert log("killed") == log("whole")
    a, b = (load_file(str(corpus / n / "model.safetensors")) for n in ("whole", "killed"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pretrain_command_errors_are_one_line(corpus, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--set", "masking=1"])
    assert done.value.code == 2
    assert main(["--set", f'base_model="{corpus / "base"}"', "--set", f'corpus=["{corpus / "none"}"]',
                 "--set", f'output_dir="{corpus / "x"}"', "--set", f'splits_file="{corpus / "splits.json"}"']) == 2
    err = capsys.readouterr().err
    assert "corpus" in err and "does not exist" in err and "Traceback" not in err
    assert main(["--set", f'base_model="{corpus / "nobase"}"', "--set", f'output_dir="{corpus / "x"}"']) == 2
    assert "cannot load the base model" in capsys.readouterr().err
