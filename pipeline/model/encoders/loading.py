"""Loading encoders: a Hugging Face id or a local folder, alike.

:func:`resolve_model`, :func:`load_tokenizer`, :func:`load_encoder` and
:func:`load_token_classifier` take a Hugging Face id, a local folder or a
built-in name (:data:`BUILTIN_MODELS`, converted by
:mod:`pipeline.model.encoders.conversion`); a missing or corrupt local folder
raises :class:`ModelLoadError` naming the path and what is wrong.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # heavy imports stay lazy: the loaders import them on use
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: Built-in encoder names -> default output folder (relative to the repository root).
BUILTIN_MODELS: dict[str, str] = {"e5-small": "models/base/e5-small"}

REPO_ROOT = Path(__file__).resolve().parents[3]

DTYPES = ("float32", "bfloat16", "float16")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model", "vocab.json")


class ModelLoadError(RuntimeError):
    """A base or fine-tuned model cannot be found or loaded; the message says why."""


def resolve_model(name_or_path: str | os.PathLike[str]) -> str:
    """Check a model reference and return what ``from_pretrained`` should receive.

    * a built-in name (``e5-small``) -> its default folder under ``models/base/``, which
      must have been converted first;
    * an existing folder -> the folder, after checking that ``config.json``, the weights
      and the tokenizer files are there and readable;
    * something that looks like a path (absolute, ``./``, ``~``, or an existing parent)
      but is not a folder -> :class:`ModelLoadError`;
    * anything else -> returned unchanged as a Hugging Face hub id.
    """
    ref = os.fspath(name_or_path)
    if not ref.strip():
        raise ModelLoadError("empty model name or path")
    if ref in BUILTIN_MODELS:
        folder = REPO_ROOT / BUILTIN_MODELS[ref]
        if not folder.exists():
            raise ModelLoadError(
                f"built-in model {ref!r} is not converted yet ({folder} is missing); run "
                f"`govreport-ner encoder {ref} --out {BUILTIN_MODELS[ref]}`")
        ref = str(folder)
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{path} is a file; a model is a folder with config.json, "
                                 "weights and tokenizer files")
        check_model_folder(path)
        return str(path)
    looks_local = (path.is_absolute() or ref.startswith((".", "~")) or ref.count("/") > 1
                   or "\\" in ref)
    if looks_local:
        raise ModelLoadError(f"model folder {path} does not exist")
    return ref


def check_model_folder(path: str | os.PathLike[str], *, tokenizer: bool = True) -> None:
    """Raise :class:`ModelLoadError` unless ``path`` holds a loadable model folder."""
    path = Path(path)
    config = path / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"{path}: no config.json (not a transformers model folder)")
    try:
        config_data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{config}: corrupt config.json ({err})") from err
    if not isinstance(config_data, dict) or "model_type" not in config_data:
        raise ModelLoadError(f"{config}: config.json has no 'model_type'")
    weights = [path / name for name in WEIGHT_FILES if (path / name).is_file()]
    if not weights:
        raise ModelLoadError(f"{path}: no weights (expected one of {', '.join(WEIGHT_FILES)})")
    if weights[0].name == "model.safetensors":
        _check_safetensors(weights[0])
    if tokenizer and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"{path}: no tokenizer files "
                             f"(expected one of {', '.join(TOKENIZER_FILES)})")
    tokenizer_json = path / "tokenizer.json"
    if tokenizer and tokenizer_json.is_file():
        try:
            from tokenizers import Tokenizer

            Tokenizer.from_file(str(tokenizer_json))
        except Exception as err:
            raise ModelLoadError(f"{tokenizer_json}: unreadable tokenizer.json ({err})") from err


def _check_safetensors(path: Path) -> None:
    """Validate a safetensors header and that the file holds every byte it promises."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            (header_len,) = struct.unpack("<Q", handle.read(8))
            if header_len <= 0 or 8 + header_len > size:
                raise ValueError("header length out of range")
            header = json.loads(handle.read(header_len))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"),
                  default=0)
        if 8 + header_len + end != size:
            raise ValueError(f"file is {size} bytes, header promises {8 + header_len + end}")
    except (OSError, ValueError, struct.error, KeyError, TypeError) as err:
        raise ModelLoadError(f"{path}: unreadable safetensors ({err}); "
                             "the download or conversion is incomplete, redo it") from err


def load_tokenizer(name_or_path: str | os.PathLike[str]) -> "PreTrainedTokenizerBase":
    """Fast tokenizer of a model (hub id, folder or built-in name); offsets are available."""
    from transformers import AutoTokenizer

    ref = resolve_model(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref)
    except Exception as err:
        raise ModelLoadError(f"cannot load the tokenizer of {ref!r}: {err}") from err
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{ref!r} has only a slow tokenizer ({type(tokenizer).__name__}); "
                             "character offsets need a fast one (tokenizer.json)")
    return tokenizer


def _dtype_kwargs(dtype: str | None) -> dict[str, Any]:
    """``from_pretrained`` keyword for a dtype name; ``None`` keeps the stored dtype."""
    if dtype is None:
        return {}
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    import torch

    return {"dtype": getattr(torch, dtype)}


def load_encoder(name_or_path: str | os.PathLike[str], *, dtype: str | None = None,
                 ) -> "PreTrainedModel":
    """Bare encoder (``AutoModel``, no pooler) in eval mode."""
    from transformers import AutoConfig, AutoModel

    ref = resolve_model(name_or_path)
    kwargs = _dtype_kwargs(dtype)
    try:
        config = AutoConfig.from_pretrained(ref)
        if config.model_type in ("bert", "roberta", "xlm-roberta", "camembert", "ernie"):
            kwargs["add_pooling_layer"] = False
        model = AutoModel.from_pretrained(ref, config=config, **kwargs)
    except Exception as err:
        raise ModelLoadError(f"cannot load the encoder {ref!r}: {err}") from err
    return model.eval()


def load_token_classifier(name_or_path: str | os.PathLike[str], labels: Sequence[str], *,
                          dtype: str | None = None) -> "PreTrainedModel":
    """``AutoModelForTokenClassification`` with ``labels`` (BIO tags) as its label set.

    A base encoder gets a freshly initialized head; a fine-tuned model keeps its head and
    must have been trained with the same labels.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    labels = list(labels)
    if not labels or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be a non-empty list without duplicates: {labels}")
    ref = resolve_model(name_or_path)
    kwargs = _dtype_kwargs(dtype)
    try:
        config = AutoConfig.from_pretrained(ref)
    except Exception as err:
        raise ModelLoadError(f"cannot load the config of {ref!r}: {err}") from err
    trained = [config.id2label[i] for i in sorted(config.id2label)] if (
        getattr(config, "architectures", None)
        and any(a.endswith("ForTokenClassification") for a in config.architectures)) else None
    if trained is not None and trained != labels:
        raise ModelLoadError(f"{ref!r} was trained with labels {trained}, not {labels}")
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    try:
        model = AutoModelForTokenClassification.from_pretrained(ref, config=config, **kwargs)
    except Exception as err:
        raise ModelLoadError(f"cannot load {ref!r} as a token classifier: {err}") from err
    return model


def mean_pooled_embeddings(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase",
                           texts: Sequence[str], *, prefix: str = "passage: ",
                           batch_size: int = 16) -> np.ndarray:
    """L2-normalized mean-pooled last hidden states, the e5 sentence embedding recipe."""
    import torch

    rows = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer([prefix + t for t in texts[i:i + batch_size]], padding=True,
                              truncation=True, return_tensors="pt")
            hidden = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)
