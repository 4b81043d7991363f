"""Knowledge distillation: a smaller, faster student from a trained teacher pipeline.

:func:`pipeline.model.training.train` distills when its ``teacher`` setting names a
trained pipeline folder:

1. the student is ``base_model`` (a Hugging Face encoder, or a trained pipeline
   folder such as the teacher itself: its fine-tuned weights, head and tokenizer)
   with only the encoder layers ``student_layers`` kept (:func:`keep_layers`);
2. raw reports (``distill_files``) become unlabelled paragraphs through the
   same reading, normalization and structure as inference (:func:`raw_rows`);
   reports that are in a split (gold: train, dev, test) are left out, so no dev
   or test text is trained on and gold paragraphs are not seen twice;
3. the teacher's log-probabilities for every training window, gold and raw, are
   computed once, in the teacher's precision (:func:`add_teacher_targets`); the
   student and the teacher must share tokenizer and windows (:func:`check_compatible`);
4. the loss is ``(1 - alpha)`` × the gold windows' cross-entropy + ``alpha`` ×
   ``T²`` × KL(teacher ‖ student) at temperature ``T`` over every window's pieces
   (:func:`pipeline.model.training.distill_loss`, beside the plain loss).

Public API: :func:`keep_layers`, :func:`load_teacher`, :func:`check_compatible`,
:func:`raw_rows`, :func:`raw_files`, :func:`add_teacher_targets`, :func:`labelled_features`,
:func:`teacher_files`, :func:`remove_cache`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

TEACHER_CACHE = "teacher_targets"  # in output_dir while a distillation run is unfinished


def _layer_stack(model: torch.nn.Module) -> tuple[torch.nn.Module, str, torch.nn.ModuleList]:
    """The encoder's list of transformer layers: ``(parent, attribute, layers)``
    (BERT / XLM-R ``encoder.layer``, or a ``layers`` list)."""
    base = getattr(model, "base_model", model)
    for parent in (getattr(base, "encoder", None), base):
        for name in ("layer", "layers"):
            stack = getattr(parent, name, None) if parent is not None else None
            if isinstance(stack, torch.nn.ModuleList):
                return parent, name, stack
    raise ValueError(f"{type(model).__name__}: cannot find the encoder's list of layers")


def keep_layers(model: torch.nn.Module, layers: Sequence[int]) -> torch.nn.Module:
    """``model`` (in place) with only the encoder layers ``layers`` (increasing
    0-based indices), in that order; its config says how many are left."""
    parent, name, stack = _layer_stack(model)
    layers = list(layers)
    if not layers or layers != sorted(set(layers)) or layers[0] < 0 or layers[-1] >= len(stack):
        raise ValueError(f"student_layers must be increasing layer indices in [0, {len(stack)}), "
                         f"got {layers}")
    setattr(parent, name, torch.nn.ModuleList(stack[i] for i in layers))
    model.config.num_hidden_layers = len(layers)
    return model


def load_teacher(path: str | os.PathLike[str], dtype: str):
    """The ``govreport_ner`` component of the trained pipeline ``path``, run in ``dtype``."""
    from pipeline.model.build import load_pipeline
    from pipeline.model.ner import FACTORY

    nlp = load_pipeline(path, dtype=dtype)
    if FACTORY not in nlp.pipe_names:
        raise ValueError(f"teacher {path}: the pipeline has no {FACTORY} component")
    return nlp.get_pipe(FACTORY)


def check_compatible(teacher, student) -> None:
    """Raise ``ValueError`` unless ``teacher`` and ``student`` (components) make the
    same windows of the same pieces with the same tags: soft targets are per position."""
    for key in ("tags", "scheme", "section_context", "max_length", "stride"):
        mine, theirs = getattr(student, key), getattr(teacher, key)
        if mine != theirs:
            raise ValueError(f"teacher and student differ in {key}: {theirs!r} vs {mine!r}")
    if teacher.tokenizer.get_vocab() != student.tokenizer.get_vocab():
        raise ValueError("teacher and student have different tokenizers (vocabularies): "
                         "initialise the student from the teacher (base_model = the teacher's folder)")


def raw_rows(paths: Iterable[str | os.PathLike[str]], excluded: set[str]) -> list[dict[str, Any]]:
    """Unlabelled paragraph rows (``id``, ``doc_id``, ``text``, ``spans``,
    ``section``) of the raw reports at ``paths`` (files or folders of ``*.txt``),
    read, normalized and split into sections as inference does. Reports whose
    stem is in ``excluded`` are left out; a report copied into several folders is
    read once."""
    from pipeline.model.build import blank_pipeline
    from pipeline.text.docs import paragraphs
    from pipeline.text.reading import read_report, text_files

    nlp = blank_pipeline()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in text_files(paths, what="distill_files"):
        if path.stem in excluded or path.name in seen:
            continue
        seen.add(path.name)
        doc = nlp(read_report(path))
        for i, para in enumerate(paragraphs(doc)):
            if para.text.strip():
                rows.append({"id": f"{path.stem}#raw{i}", "doc_id": path.stem, "text": para.text,
                             "spans": [], "section": para.label_ or None})
    return rows


def add_teacher_targets(teacher, features, batch_size: int = 256):
    """``features`` (:func:`pipeline.model.training.make_features` rows) with a
    ``teacher_logp`` column: the teacher's log-probabilities of each tag, one row
    per window position."""
    from pipeline.model.ner import Window

    def label(batch: dict) -> dict:
        wins = [Window(ids, 0, len(ids), 0) for ids in batch["input_ids"]]
        probs = teacher.window_probs(wins)
        return {"teacher_logp": [p.clamp_min(1e-8).log().tolist() for p in probs]}

    return features.map(label, batched=True, batch_size=batch_size)


def teacher_files(path: str | os.PathLike[str]) -> list[Path]:
    """The teacher's weights and settings: what a distillation run's identity digests."""
    root = Path(path) / "govreport_ner"
    return sorted(p for p in (root / "model").glob("*") if p.is_file()) + [root / "cfg"]


def raw_files(paths: Sequence[str]) -> list[Path]:
    """The raw report files of ``distill_files`` (files, or folders of ``*.txt``)."""
    from pipeline.text.reading import text_files

    return text_files(paths, what="distill_files") if paths else []


def labelled_features(cfg: Any, ner, features, files: list[Path], identity: dict[str, Any],
                      make_features: Callable[..., Any]):
    """The training windows plus the windows of the raw reports ``files`` (weight 0:
    no gold), each with the teacher's log-probabilities, and the raw reports used.
    ``cfg`` is the run's :class:`~pipeline.model.training.TrainConfig`, ``make_features``
    its featurizer. Labelling is the slow part: kept in ``cfg.output_dir`` until the
    run finishes (:func:`remove_cache`), so a resumed run of the same ``identity``
    reads it back."""
    from datasets import Dataset, concatenate_datasets, load_from_disk

    from pipeline.annotation.jsonl import read_splits
    from pipeline.files import write_atomic

    cache = Path(cfg.output_dir) / TEACHER_CACHE
    stamp = cache / "identity.json"
    key = json.dumps(identity, sort_keys=True)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        documents = json.loads((cache / "documents.json").read_text(encoding="utf-8"))
        return load_from_disk(str(cache / "features")), documents
    teacher = load_teacher(cfg.teacher, cfg.teacher_dtype)
    check_compatible(teacher, ner)
    in_splits = {d for ids in read_splits(cfg.splits_file).values() for d in ids}
    rows = raw_rows(files, in_splits) if files else []
    if rows:
        features = concatenate_datasets([features, make_features(ner, Dataset.from_list(rows), 0.0)])
    features = add_teacher_targets(teacher, features)
    documents = sorted({r["doc_id"] for r in rows})
    shutil.rmtree(cache, ignore_errors=True)
    features.save_to_disk(str(cache / "features"))
    (cache / "documents.json").write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    write_atomic(stamp, key.encode("utf-8"))  # last: the cache is complete
    return load_from_disk(str(cache / "features")), documents


def remove_cache(output_dir: str | os.PathLike[str]) -> None:
    """Drop the teacher's labels once the run has finished."""
    shutil.rmtree(Path(output_dir) / TEACHER_CACHE, ignore_errors=True)
