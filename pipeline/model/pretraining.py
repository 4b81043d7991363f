"""Domain-adaptive pre-training: more masked-LM training of a base encoder on raw reports.

The base encoder (e5-small: a sentence-embedding model) has never read government
work reports in bulk; continuing its masked-language-model training on them
before fine-tuning is the "domain-adaptive pre-training" of Gururangan et al.
(2020). :func:`pretrain`:

1. reads the reports of ``corpus`` (files, or folders of ``*.txt``; any
   encoding the runner reads) and normalizes them (:mod:`pipeline.text.normalize`);
   a report whose file stem is a document of the ``exclude_splits`` of
   ``splits_file`` (dev and test) is left out, so neither is read before it is
   scored;
2. tokenizes each report's paragraphs, joins them with ``[SEP]`` and cuts the
   pieces into blocks of ``max_length`` positions (``[CLS] ... [SEP]``); a
   ``held_out_fraction`` of the blocks (fixed by ``seed``) measures the MLM loss;
3. masks whole pieces in n-grams (:func:`mask_block`): runs of 1 to
   ``max_ngram`` consecutive pieces, until ``mask_prob`` of the pieces are
   chosen; of those, 80% become ``[MASK]``, 10% a random piece, 10% stay (new
   masks every epoch; the held-out blocks keep one fixed masking). A Chinese
   subword piece is one or more characters, so this is character n-gram masking
   without a word segmenter;
4. trains with AdamW, linear warmup and decay, gradient clipping and bf16
   autocast (:mod:`pipeline.model.training`'s optimizer and checkpoints: a killed
   run started again continues after its last finished epoch);
5. writes the encoder without its MLM head, with the tokenizer, as a folder that
   ``base_model`` of the training config takes, plus ``pretrain_log.jsonl``
   (train and held-out MLM loss per epoch; epoch 0: held-out loss before
   training) and ``pretrain_summary.json``.

Settings: :class:`PretrainConfig` (``govreport-ner pretrain --set key=value``).
Public API: :class:`PretrainConfig`, :func:`read_corpus_blocks`, :func:`mask_block`,
:func:`pretrain`.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from pipeline.annotation.jsonl import read_splits
from pipeline.files import write_atomic
from pipeline.model.ner import pad_batch
from pipeline.model.training import (
    CHECKPOINT,
    IGNORE,
    RunState,
    load_checkpoint,
    make_optimizer,
    read_log,
    run_identity,
    save_checkpoint,
    save_config,
    seed_everything,
)


@dataclass
class PretrainConfig:
    """Masked-LM settings; every field is a ``--set`` key of ``govreport-ner pretrain``."""

    base_model: str = "models/base/e5-small"  # HF encoder folder (with a fast tokenizer)
    output_dir: str = "models/base/e5-small-dapt"  # the adapted encoder is written here
    corpus: list[str] = field(default_factory=lambda: ["seeds"])  # report files / folders of *.txt
    splits_file: str = "annotations/splits.json"
    exclude_splits: list[str] = field(default_factory=lambda: ["dev", "test"])  # their reports are not read
    max_length: int = 256  # positions per block, specials included
    mask_prob: float = 0.15  # share of pieces chosen for prediction
    max_ngram: int = 3  # longest run of consecutive pieces masked together
    held_out_fraction: float = 0.02  # blocks kept out of training to measure MLM loss
    epochs: int = 1
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    seed: int = 42
    bf16: bool = True  # bf16 autocast
    max_steps: int = 0  # stop after this many optimizer steps (0: no limit)
    progress: bool = True
    resume: bool = True  # continue from output_dir's checkpoint of the same run


def read_corpus_blocks(cfg: PretrainConfig, tokenizer) -> tuple[list[list[int]], list[Path]]:
    """The blocks of piece ids (specials included) of the corpus, and the report
    files read (without the excluded documents and duplicate reports)."""
    from pipeline.text.normalize import normalize
    from pipeline.text.reading import read_report, text_files
    from pipeline.text.structure import split_paragraphs

    excluded: set[str] = set()
    if cfg.exclude_splits:
        splits = read_splits(cfg.splits_file)
        excluded = {d for name in cfg.exclude_splits for d in splits.get(name, [])}
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    size = cfg.max_length - 2
    blocks: list[list[int]] = []
    used: list[Path] = []
    seen: set[str] = set()  # a report copied into several folders is read once
    for path in text_files(cfg.corpus):
        if path.stem in excluded or path.name in seen:
            continue
        seen.add(path.name)
        used.append(path)
        text = normalize(read_report(path)).text
        pieces: list[int] = []
        for para in split_paragraphs(text):
            ids = tokenizer(text[para.start:para.end], add_special_tokens=False)["input_ids"]
            if ids:
                pieces += ids + [sep_id]
        for start in range(0, len(pieces), size):
            chunk = pieces[start:start + size]
            if len(chunk) >= 8:  # a tail of a few pieces teaches nothing
                blocks.append([cls_id] + chunk + [sep_id])
    return blocks, used


def mask_block(ids: Sequence[int], rng: random.Random, *, mask_prob: float, max_ngram: int,
               mask_id: int, vocab_size: int, special_ids: set[int]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one block: n-gram masking of whole pieces (module
    doc); ``labels`` is the original piece where one was chosen, :data:`IGNORE` elsewhere."""
    candidates = [i for i, t in enumerate(ids) if t not in special_ids]
    budget = max(1, round(mask_prob * len(candidates))) if candidates else 0
    chosen: set[int] = set()
    order = candidates[:]
    rng.shuffle(order)
    for start in order:
        if len(chosen) >= budget:
            break
        n = rng.randint(1, max_ngram)
        for i in range(start, min(start + n, len(ids))):
            if ids[i] in special_ids or len(chosen) >= budget:
                break
            chosen.add(i)
    inputs, labels = list(ids), [IGNORE] * len(ids)
    for i in sorted(chosen):
        labels[i] = ids[i]
        roll = rng.random()
        if roll < 0.8:
            inputs[i] = mask_id
        elif roll < 0.9:
            inputs[i] = rng.randrange(vocab_size)
    return inputs, labels


def _batches(rows: Sequence[tuple[list[int], list[int]]], batch_size: int, pad_id: int):
    for start in range(0, len(rows), batch_size):
        part = rows[start:start + batch_size]
        ids, mask = pad_batch([r[0] for r in part], pad_id)
        labels, _ = pad_batch([r[1] for r in part], IGNORE)
        yield ids, mask, labels


def _held_out_loss(model, rows, batch_size: int, pad_id: int, bf16: bool) -> float | None:
    if not rows:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode(), torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
        for ids, mask, labels in _batches(rows, batch_size, pad_id):
            n = int((labels != IGNORE).sum())
            total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def pretrain(cfg: PretrainConfig) -> dict[str, Any]:
    """Continue masked-LM training of ``cfg.base_model`` on the corpus (module doc);
    returns the summary."""
    from tqdm.auto import tqdm
    from transformers import AutoModelForMaskedLM, get_linear_schedule_with_warmup

    from pipeline.model.encoders.loading import ModelLoadError, load_tokenizer, resolve_model

    if not 0.0 < cfg.mask_prob < 1.0 or cfg.max_ngram < 1 or not 0.0 <= cfg.held_out_fraction < 1.0:
        raise ValueError("mask_prob must be in (0, 1), max_ngram >= 1, held_out_fraction in [0, 1)")
    seed_everything(cfg.seed)
    tokenizer = load_tokenizer(cfg.base_model)
    if tokenizer.mask_token_id is None:
        raise ModelLoadError(f"{cfg.base_model}: the tokenizer has no mask token (not a masked-LM encoder)")
    try:
        model = AutoModelForMaskedLM.from_pretrained(resolve_model(cfg.base_model))
    except Exception as err:
        raise ModelLoadError(f"cannot load {cfg.base_model!r} for masked-LM training: {err}") from err
    blocks, files = read_corpus_blocks(cfg, tokenizer)
    if not blocks:
        raise ValueError("no text to train on: every corpus report is excluded or empty")
    rng = random.Random(cfg.seed)
    order = list(range(len(blocks)))
    rng.shuffle(order)
    n_held = round(cfg.held_out_fraction * len(blocks))
    held_ids, train_ids = order[:n_held], order[n_held:]
    specials = set(tokenizer.all_special_ids)
    masking = dict(mask_prob=cfg.mask_prob, max_ngram=cfg.max_ngram, mask_id=tokenizer.mask_token_id,
                   vocab_size=len(tokenizer), special_ids=specials)
    held_rng = random.Random(cfg.seed + 1)
    held = [mask_block(blocks[i], held_rng, **masking) for i in held_ids]
    pad_id = tokenizer.pad_token_id or 0

    steps_per_epoch = math.ceil(len(train_ids) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if not cfg.max_steps else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    optimizer = make_optimizer(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path, ckpt_path = out / "pretrain_log.jsonl", out / CHECKPOINT
    identity = run_identity(cfg, [*files, *([cfg.splits_file] if cfg.exclude_splits else [])])
    generator = torch.Generator().manual_seed(cfg.seed)  # the epoch order of the blocks
    state = RunState()
    if cfg.resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, identity, model, optimizer, scheduler, generator, PretrainConfig)
        tqdm.write(f"resuming {out} after epoch {state.epoch} (step {state.step})", file=sys.stderr)
    log = read_log(log_path, state.epoch)
    if state.epoch == 0:
        log = json.dumps({"epoch": 0, "step": 0, "held_out_loss": _held_out_loss(
            model, held, cfg.batch_size, pad_id, cfg.bf16)}) + "\n"
    write_atomic(log_path, log)

    model.train()
    autocast = dict(device_type="cpu", dtype=torch.bfloat16, enabled=cfg.bf16)
    for epoch in range(state.epoch + 1, cfg.epochs + 1):
        started = time.time()
        perm = torch.randperm(len(train_ids), generator=generator).tolist()
        epoch_rng = random.Random(f"{cfg.seed}-{epoch}")
        rows = [mask_block(blocks[train_ids[i]], epoch_rng, **masking) for i in perm]
        losses = []
        bar = tqdm(list(_batches(rows, cfg.batch_size, pad_id)), desc=f"epoch {epoch}/{cfg.epochs}",
                   disable=not cfg.progress, leave=False)
        for ids, mask, labels in bar:
            with torch.autocast(**autocast):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            state.step += 1
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", step=state.step)
            if cfg.max_steps and state.step >= cfg.max_steps:
                break
        state.epoch = state.best_epoch = epoch
        entry = {"epoch": epoch, "step": state.step, "train_loss": float(np.mean(losses)),
                 "held_out_loss": _held_out_loss(model, held, cfg.batch_size, pad_id, cfg.bf16),
                 "seconds": round(time.time() - started, 1)}
        with log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        tqdm.write(f"epoch {epoch}: MLM loss {entry['train_loss']:.4f}, held-out {entry['held_out_loss']}",
                   file=sys.stderr)
        if cfg.max_steps and state.step >= cfg.max_steps:
            break
        if epoch < cfg.epochs:
            save_checkpoint(ckpt_path, identity, state, model, optimizer, scheduler, generator)

    encoder = model.base_model  # the encoder without the MLM head
    encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)
    save_config(cfg, out / "pretrain_config.toml")
    entries = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line]
    summary = {"reports": len(files), "blocks": len(blocks), "train_blocks": len(train_ids),
               "held_out_blocks": len(held), "steps": state.step,
               "held_out_loss_before": entries[0]["held_out_loss"],
               "held_out_loss_after": entries[-1]["held_out_loss"]}
    write_atomic(out / "pretrain_summary.json", json.dumps(summary, indent=2))
    ckpt_path.unlink(missing_ok=True)
    return summary
