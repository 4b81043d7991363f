"""Fine-tune the ``govreport_ner`` component and write a loadable spaCy pipeline.

Settings are a :class:`TrainConfig`, read from a TOML file (flat keys, see
``pipeline/configs/train.toml``) with ``--set key=value`` overrides (values in
TOML syntax; bare words are strings). The loop follows HF ``run_ner.py``:

1. gold records through :func:`pipeline.annotation.dataset.load_dataset` with the
   splits file (``train_split`` / ``dev_split``; ``train_fraction`` < 1 keeps that
   share of the training documents, for learning curves), plus optional silver files
   (their dev/test documents dropped) trained with ``silver_weight``; the
   label set is ``labels`` (default: the project's four; a benchmark's own,
   with ``style_rules = false`` for its annotation conventions);
2. features through the component itself (``encode`` -> ``spans_to_tags`` ->
   ``windows``), so training sees exactly the windows inference sees;
3. AdamW (no decay on biases and LayerNorm), linear warmup and decay,
   gradient accumulation, gradient clipping, bf16 autocast on CPU, a fixed seed;
   optionally label smoothing on entity edges (``edge_smoothing``), or with
   ``decoding = "crf"`` a CRF layer trained end to end (:mod:`pipeline.model.crf`:
   learned transitions, warm-started from ``base_model``'s when it has them);
4. after each epoch, strict IOB2 span F1 (``seqeval``) on the dev records,
   computed on character tags from the component's own predictions;
   early stopping after ``patience`` epochs without improvement;
5. after each epoch, a checkpoint (``output_dir/checkpoint.pt``: weights,
   optimizer, schedule, random states, the best epoch so far; written
   atomically). A run that is killed and started again with the same settings
   and data continues after its last finished epoch and ends exactly where the
   uninterrupted run would have (``resume = false`` starts over); the
   checkpoint is removed when the run finishes;
6. the best epoch is written as a spaCy pipeline (``make_nlp()`` + the
   component) to ``output_dir`` with ``train_config.toml``,
   ``train_log.jsonl`` (one line per epoch) and ``train_summary.json``.

With ``teacher`` (a trained pipeline folder) the run distills a student
(:mod:`pipeline.model.distillation`): ``base_model`` may be the teacher's folder,
``student_layers`` keeps some of its encoder layers, the raw reports of
``distill_files`` are added as unlabelled windows, and the loss mixes the gold
cross-entropy with the teacher's soft targets (``temperature``, ``distill_alpha``).

The component's settings (labels, scheme, windows, dtype, style rules) are
:class:`pipeline.model.settings.NERSettings`: their defaults here are its
defaults, and :meth:`TrainConfig.ner_settings` is what the component gets.

The losses are :mod:`pipeline.model.losses` (``window_loss``, ``distill_loss``), the
batches :mod:`pipeline.model.batching` (``collate_windows``, ``LengthGroupedBatches``).

Public API: :class:`TrainConfig`, :func:`load_config`, :func:`save_config`,
:func:`make_nlp`, :func:`make_features`, :func:`make_optimizer`, :func:`seed_everything`,
:func:`evaluate`, :func:`boundary_stats`, :func:`subset_documents`, :func:`run_identity`, :func:`identity_differences`,
:class:`RunState`, :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`train`, :func:`config_help`
:class:`CheckpointMismatch` (the command line is :mod:`pipeline.cli.train`).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import math
import random
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from pipeline.annotation.dataset import load_dataset
from pipeline.annotation.jsonl import read_splits
from pipeline.annotation.schema import LABELS, Record, Span
from pipeline.annotation.scores import score
from pipeline.files import write_atomic
from pipeline.model.batching import LengthGroupedBatches, collate_windows
from pipeline.model.losses import IGNORE, distill_loss, edge_positions, gold_loss, window_loss  # noqa: F401 (re-exported)
from pipeline.model.ner import FACTORY, TransformerNER, load_base_model, predict_records
from pipeline.model.settings import DEFAULTS, NERSettings
from pipeline.model.tokenization import AlignmentStats, spans_to_tags

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "train.toml"
CHECKPOINT = "checkpoint.pt"  # in output_dir while a run is unfinished
RUN_ONLY_KEYS = ("progress", "resume")  # settings that do not change what a run computes


@dataclass
class TrainConfig:
    """Training settings; every field is a key of the TOML config."""

    base_model: str = "models/base/e5-small"  # HF model folder (encoder + fast tokenizer)
    output_dir: str = "models/ner"  # where the spaCy pipeline is written
    data_files: list[str] = field(default_factory=lambda: ["annotations/gold/*.jsonl"])  # gold JSONL (globs)
    splits_file: str = "annotations/splits.json"
    train_split: str = "train"
    dev_split: str = "dev"
    train_fraction: float = 1.0  # train on this share of the train split's documents (learning curves)
    train_subset_seed: int = 0  # which documents train_fraction keeps (independent of seed)
    silver_files: list[str] = field(default_factory=list)  # extra training JSONL (globs)
    silver_weight: float = 0.5  # loss weight of silver windows (gold: 1.0)
    labels: list[str] = field(default_factory=lambda: list(DEFAULTS.labels))  # entity labels (a benchmark's own)
    style_rules: bool = DEFAULTS.style_rules  # the project's boundary rules: validate data, trim span edges
    decoding: str = DEFAULTS.decoding  # piece tags in dev evaluation and the saved model: viterbi, argmax or crf (a CRF layer)
    scheme: str = DEFAULTS.scheme  # "subword" (tokenizer pieces) or "char" (one piece per character)
    section_context: bool = DEFAULTS.section_context  # section marker token after [CLS]
    max_length: int = DEFAULTS.max_length  # model positions per window, specials included
    stride: int = DEFAULTS.stride  # pieces shared by consecutive windows
    sentence_windows: bool = DEFAULTS.sentence_windows  # long paragraphs: windows of whole sentences, no overlap
    epochs: int = 12
    batch_size: int = 8  # windows per forward pass
    group_by_length: bool = False  # batches of windows of similar length (less padding), in random order
    grad_accum: int = 1  # forward passes per optimizer step
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    edge_smoothing: float = 0.0  # label smoothing at entities' first and last pieces (0: off)
    crf_lr: float = 1e-2  # learning rate of a CRF layer's transitions (decoding = "crf")
    student_layers: list[int] = field(default_factory=list)  # keep only these encoder layers (empty: all)
    teacher: str = ""  # trained pipeline folder to distill from ("": plain fine-tuning)
    teacher_dtype: str = "float32"  # the teacher's precision when labelling
    distill_files: list[str] = field(default_factory=list)  # raw reports (files, folders) labelled by the teacher
    temperature: float = 2.0  # distillation temperature
    distill_alpha: float = 0.5  # weight of the distillation loss (1 - alpha: gold cross-entropy)
    seed: int = 42
    patience: int = 3  # epochs without dev F1 improvement before stopping
    bf16: bool = True  # bf16 autocast in training and dev evaluation
    dtype: str = DEFAULTS.dtype  # saved weights / inference: auto, float32, bfloat16 or int8
    eval_batch_size: int = DEFAULTS.batch_size  # windows per forward pass in dev evaluation (saved)
    max_steps: int = 0  # stop after this many optimizer steps (0: no limit)
    stop_after_epoch: int = 0  # end after this epoch, schedule unchanged (short ablations; 0: off)
    progress: bool = True  # tqdm progress bar
    resume: bool = True  # continue from output_dir's checkpoint of the same run (false: start over)

    def ner_settings(self) -> NERSettings:
        """The component's settings for this training run."""
        return NERSettings(base_model=self.base_model, labels=list(self.labels), scheme=self.scheme,
                           section_context=self.section_context, max_length=self.max_length,
                           stride=self.stride, batch_size=self.eval_batch_size, dtype=self.dtype,
                           style_rules=self.style_rules, decoding=self.decoding,
                           sentence_windows=self.sentence_windows)


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif isinstance(default, list) and isinstance(value, str):
        value = [value]
    if not isinstance(value, type(default)):
        raise ValueError(f"{name} must be {type(default).__name__}, got {value!r}")
    return value


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: a string


def load_config(path: str | Path | None = DEFAULT_CONFIG, overrides: Sequence[str] = (),
                cls: type = TrainConfig) -> Any:
    """A ``cls`` (:class:`TrainConfig`, or another flat settings dataclass such as
    :class:`pipeline.model.pretraining.PretrainConfig`) from a TOML file (or the
    defaults when ``path`` is ``None``), then ``key=value`` overrides. Unknown keys
    are errors."""
    values: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as f:
            values.update(tomllib.load(f))
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        values[key.strip()] = _parse_value(text.strip())
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
    return cls(**{k: _coerce(k, v, getattr(defaults, k)) for k, v in values.items()})


def save_config(cfg: Any, path: str | Path) -> None:
    """Write ``cfg`` as TOML that :func:`load_config` reads back."""
    lines = [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in dataclasses.asdict(cfg).items()]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_nlp():
    """The pipeline the component is added to: normalization (tokenizer) and
    structure (paragraphs, sections), so a saved model reads raw reports."""
    from pipeline.model.build import blank_pipeline

    return blank_pipeline()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _expand(patterns: Sequence[str]) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"no annotation file matches {pattern!r}")
        files.extend(matches)
    return files


def _spans(row: dict) -> list[tuple[int, int, str]]:
    return [(s["start"], s["end"], s["label"]) for s in row["spans"]]


def make_features(ner: TransformerNER, dataset, weight: float = 1.0):
    """Windows of ``dataset`` (columns ``text``, ``spans``, ``section``) as model
    inputs: ``input_ids``, ``labels`` (:data:`IGNORE` outside pieces) and ``weight``."""
    tag_ids = {t: i for i, t in enumerate(ner.tags)}

    def featurize(batch: dict) -> dict:
        out: dict[str, list] = {"input_ids": [], "labels": [], "weight": []}
        for text, spans, section in zip(batch["text"], batch["spans"], batch["section"]):
            enc = ner.encode(text)
            if not len(enc):
                continue
            tags, _ = spans_to_tags(enc.offsets, _spans({"spans": spans}))
            for w in ner.windows(enc, section, text):
                piece_labels = [tag_ids[t] if t is not None else IGNORE for t in tags[w.start:w.end]]
                labels = [IGNORE] * w.prefix + piece_labels
                labels += [IGNORE] * (len(w.input_ids) - len(labels))
                out["input_ids"].append(w.input_ids)
                out["labels"].append(labels)
                out["weight"].append(weight)
        return out

    return dataset.map(featurize, batched=True, remove_columns=dataset.column_names)


def boundary_stats(ner: TransformerNER, dataset) -> AlignmentStats:
    """How many gold boundaries of ``dataset`` fall inside a model piece."""
    total = AlignmentStats()
    for row in dataset:
        _, stats = spans_to_tags(ner.encode(row["text"]).offsets, _spans(row))
        total.add(stats)
    return total


def subset_documents(doc_ids: Sequence[str], fraction: float, seed: int) -> set[str]:
    """``ceil(fraction * n)`` of the ``n`` distinct ``doc_ids``, drawn with ``seed``
    (the same documents for the same ids, fraction and seed; a larger fraction
    keeps every document of a smaller one)."""
    docs = sorted(set(doc_ids))
    random.Random(seed).shuffle(docs)
    return set(docs[:max(1, math.ceil(fraction * len(docs)))]) if docs else set()


def _records(dataset) -> list[Record]:
    return [
        Record(id=r["id"], text=r["text"], doc_id=r["doc_id"],
               spans=[Span(s["start"], s["end"], s["label"]) for s in r["spans"]],
               meta={"section": r["section"]} if r["section"] else {})
        for r in dataset
    ]


def evaluate(nlp, records: Sequence[Record], batch_size: int = 32, bf16: bool = False,
             labels: Sequence[str] = LABELS) -> dict:
    """Strict IOB2 span precision/recall/F1 of ``nlp`` on ``records``
    (:func:`pipeline.annotation.scores.score`, micro averages); per-label F1 of
    ``labels`` under ``per_label``."""
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
        predicted = predict_records(nlp, records, batch_size=batch_size)
    result = score(records, predicted)
    return {
        "f1": result["micro"]["f1"],
        "precision": result["micro"]["precision"],
        "recall": result["micro"]["recall"],
        "per_label": {k: round(v["f1"], 4) for k, v in result["per_label"].items() if k in labels},
    }


def _start_transitions(base_model: str, tags: Sequence[str]):
    """The CRF layer a run starts from: ``base_model``'s learned transitions when it
    is a trained pipeline that has them, else zeros (plain constrained Viterbi)."""
    from pipeline.model.crf import TagTransitions, load_transitions

    saved = load_transitions(Path(base_model) / FACTORY, tags)
    return saved if saved is not None else TagTransitions(tags)


def make_optimizer(model, *, lr: float, weight_decay: float, crf_lr: float | None = None) -> torch.optim.AdamW:
    """AdamW with ``weight_decay`` on every weight but biases and norms; a CRF layer's
    transitions (``model.crf``) in a group of their own at ``crf_lr`` (default ``lr``),
    without decay."""
    decay, no_decay, crf = [], [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("crf."):
            crf.append(param)
        elif name.endswith("bias") or "LayerNorm" in name or "norm" in name.lower():
            no_decay.append(param)
        else:
            decay.append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if crf:
        groups.append({"params": crf, "weight_decay": 0.0, "lr": lr if crf_lr is None else crf_lr})
    return torch.optim.AdamW(groups, lr=lr)


class CheckpointMismatch(ValueError):
    """``output_dir`` holds the checkpoint of a run with other settings or data."""


def run_identity(cfg: Any, files: Sequence[str | Path]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the settings of ``cfg`` (a
    settings dataclass) that change the computation (not :data:`RUN_ONLY_KEYS`)
    and a digest of the bytes of ``files`` (data, splits)."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(Path(name).read_bytes())
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in RUN_ONLY_KEYS}
    return {"settings": settings, "data": digest.hexdigest()}


def identity_differences(saved: dict[str, Any], current: dict[str, Any], cls: type) -> list[str]:
    """Why a checkpoint's identity is not ``current``'s (empty: the same run). A
    setting that one side lacks (a key added or removed since) counts as its
    default in ``cls``."""
    if "settings" not in saved:
        return ["written by an older version of the trainer"]
    defaults = dataclasses.asdict(cls())
    problems = []
    for key in sorted(saved["settings"].keys() | current["settings"].keys()):
        before = saved["settings"].get(key, defaults.get(key))
        now = current["settings"].get(key, defaults.get(key))
        if before != now:
            problems.append(f"{key}: {before!r} in the checkpoint, {now!r} now")
    if saved.get("data") != current["data"]:
        problems.append("the data or splits files have changed")
    return problems


@dataclass
class RunState:
    """Where a run stands after an epoch: what a checkpoint restores (a run
    without dev selection keeps ``best_epoch == epoch``)."""

    epoch: int = 0
    step: int = 0
    best_f1: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    best_state: dict | None = None


def save_checkpoint(path: Path, identity: dict[str, Any], state: RunState, model, optimizer, scheduler,
                    generator: torch.Generator) -> None:
    """Write everything a killed run needs to go on after ``state.epoch`` (atomically)."""
    best = None if state.best_epoch == state.epoch else state.best_state  # else: the model itself
    payload = {
        "identity": identity, "progress": dataclasses.replace(state, best_state=best).__dict__,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "loader": generator.get_state(),
                "python": random.getstate(), "numpy": np.random.get_state()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, identity: dict[str, Any], model, optimizer, scheduler,
                    generator: torch.Generator, cls: type = TrainConfig) -> RunState:
    """Restore what :func:`save_checkpoint` wrote into the given objects; the run's
    :class:`RunState`. A checkpoint of another run raises :class:`CheckpointMismatch`."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a checkpoint is written atomically: this is not a half-written one
        raise CheckpointMismatch(f"{path}: unreadable checkpoint ({type(err).__name__}: {err}); "
                                 "remove it or pass --set resume=false to start over") from err
    problems = identity_differences(payload.get("identity", {}), identity, cls)
    if problems:
        raise CheckpointMismatch(
            f"{path}: checkpoint of a run with other settings or data ({'; '.join(problems)}); "
            "use another output_dir, or pass --set resume=false to start over")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    rng = payload["rng"]
    torch.set_rng_state(rng["torch"])
    generator.set_state(rng["loader"])
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    state = RunState(**payload["progress"])
    if state.best_state is None:
        state.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state


def read_log(path: Path, epochs: int) -> str:
    """The log lines of the first ``epochs`` epochs (a resumed run drops the rest)."""
    if not path.exists():
        return ""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line)["epoch"] <= epochs]
    return "".join(line + "\n" for line in lines)


def train(cfg: TrainConfig, make_nlp: Callable[[], Any] = make_nlp) -> dict:
    """Fine-tune, early-stop on dev strict F1, write the best pipeline; returns the
    summary. Resumes from ``output_dir``'s checkpoint when there is one (module doc)."""
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    if not cfg.labels or len(set(cfg.labels)) != len(cfg.labels) or not all(cfg.labels):
        raise ValueError(f"labels must be distinct non-empty strings, got {cfg.labels!r}")
    if not 0.0 < cfg.train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {cfg.train_fraction}")
    gold = _expand(cfg.data_files)  # a missing file is named before anything loads
    silver = _expand(cfg.silver_files) if cfg.silver_files else []
    seed_everything(cfg.seed)
    out_dir = Path(cfg.output_dir)
    nlp = make_nlp()
    ner: TransformerNER = nlp.add_pipe(FACTORY, config=cfg.ner_settings().config())
    model, tokenizer = load_base_model(cfg.base_model, cfg.labels)
    if cfg.student_layers:
        from pipeline.model.distillation import keep_layers

        keep_layers(model, cfg.student_layers)
    ner.set_model(model, tokenizer, cast=False)
    if cfg.decoding == "crf":  # trained with the model (a submodule while training: optimizer, checkpoints)
        if cfg.edge_smoothing:
            raise ValueError("edge_smoothing is for the token cross-entropy, not decoding = \"crf\"")
        model.crf = ner.crf = _start_transitions(cfg.base_model, ner.tags)

    checks = {"labels": cfg.labels, "style_rules": cfg.style_rules}
    train_ds = load_dataset(gold, cfg.splits_file, cfg.train_split, **checks)
    dev_ds = load_dataset(gold, cfg.splits_file, cfg.dev_split, **checks)
    train_docs = subset_documents(train_ds["doc_id"], cfg.train_fraction, cfg.train_subset_seed)
    if len(train_docs) < len(set(train_ds["doc_id"])):
        train_ds = train_ds.filter(lambda r: r["doc_id"] in train_docs)
    features = make_features(ner, train_ds)
    if silver:
        held_out = {d for name, ids in read_splits(cfg.splits_file).items()
                    if name != cfg.train_split for d in ids}
        silver_ds = load_dataset(silver, **checks).filter(lambda r: r["doc_id"] not in held_out)
        from datasets import concatenate_datasets

        features = concatenate_datasets([features, make_features(ner, silver_ds, cfg.silver_weight)])
    distill_docs: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.distill_files and not cfg.teacher:
        raise ValueError("distill_files needs a teacher")
    if cfg.teacher:
        from pipeline.model import distillation

        raw_files = distillation.raw_files(cfg.distill_files)
        identity = run_identity(cfg, [*gold, *silver, cfg.splits_file,
                                      *distillation.teacher_files(cfg.teacher), *raw_files])
        features, distill_docs = distillation.labelled_features(cfg, ner, features, raw_files, identity,
                                                                make_features)
    else:
        identity = run_identity(cfg, [*gold, *silver, cfg.splits_file])
    if len(features) == 0:
        raise ValueError("no training windows: the train split is empty")
    dev_records = _records(dev_ds)
    stats = boundary_stats(ner, dev_ds)

    generator = torch.Generator().manual_seed(cfg.seed)
    collate = collate_windows(tokenizer.pad_token_id or 0)
    if cfg.group_by_length:
        sampler = LengthGroupedBatches([len(ids) for ids in features["input_ids"]], cfg.batch_size, generator)
        loader = DataLoader(features, batch_sampler=sampler, collate_fn=collate)
    else:
        loader = DataLoader(features, batch_size=cfg.batch_size, shuffle=True, generator=generator,
                            collate_fn=collate)
    steps_per_epoch = math.ceil(len(loader) / cfg.grad_accum)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    optimizer = make_optimizer(model, lr=cfg.lr, weight_decay=cfg.weight_decay, crf_lr=cfg.crf_lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)

    log_path, ckpt_path = out_dir / "train_log.jsonl", out_dir / CHECKPOINT
    state = RunState()
    if cfg.resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, identity, model, optimizer, scheduler, generator)
        tqdm.write(f"resuming {out_dir} after epoch {state.epoch} (step {state.step})", file=sys.stderr)
    write_atomic(log_path, read_log(log_path, state.epoch))

    autocast = dict(device_type="cpu", dtype=torch.bfloat16, enabled=cfg.bf16)
    for epoch in range(state.epoch + 1, cfg.epochs + 1):  # a checkpoint is never of a finished run
        started = time.time()
        model.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch}/{cfg.epochs}", disable=not cfg.progress, leave=False)
        for i, batch in enumerate(bar):
            with torch.autocast(**autocast):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            if cfg.teacher:
                loss = distill_loss(logits, batch["labels"], batch["weight"], batch["teacher_logp"],
                                    temperature=cfg.temperature, alpha=cfg.distill_alpha,
                                    edge_smoothing=cfg.edge_smoothing, tags=ner.tags, crf=ner.crf)
            else:
                loss = gold_loss(logits, batch["labels"], batch["weight"], cfg.edge_smoothing, ner.tags, ner.crf)
            (loss / cfg.grad_accum).backward()
            losses.append(loss.item())
            if (i + 1) % cfg.grad_accum == 0 or i + 1 == len(loader):
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                state.step += 1
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", step=state.step)
                if cfg.max_steps and state.step >= cfg.max_steps:
                    break
        dev = evaluate(nlp, dev_records, cfg.eval_batch_size, cfg.bf16, cfg.labels) if dev_records else None
        f1 = dev["f1"] if dev else 0.0
        improved = bool(dev is None or f1 > state.best_f1)
        entry = {"epoch": epoch, "step": state.step, "train_loss": float(np.mean(losses)),
                 "dev_f1": f1 if dev else None, "dev_precision": dev and dev["precision"],
                 "dev_recall": dev and dev["recall"], "dev_per_label": dev and dev["per_label"],
                 "best": improved, "seconds": round(time.time() - started, 1)}
        tqdm.write(f"epoch {epoch}: loss {entry['train_loss']:.4f}  dev strict F1 "
                   f"{'n/a' if dev is None else f'{f1:.4f}'}{'  (best)' if improved else ''}",
                   file=sys.stderr)
        state.epoch = epoch
        if improved:
            state.best_f1, state.best_epoch, state.bad_epochs = f1, epoch, 0
            state.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state.bad_epochs += 1
        finished = bool(state.bad_epochs >= cfg.patience or (cfg.max_steps and state.step >= cfg.max_steps)
                        or epoch == cfg.stop_after_epoch)
        # the log line and the checkpoint of an epoch: the log first, so a resumed run
        # (which keeps the log lines of the epochs its checkpoint has) never lacks one
        with log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if finished:
            break
        if epoch < cfg.epochs:
            save_checkpoint(ckpt_path, identity, state, model, optimizer, scheduler, generator)

    model.load_state_dict(state.best_state)
    if ner.crf is not None:  # saved beside the weights (transitions.json), not inside them
        del model.crf
    ner.set_model(model, tokenizer)  # eval mode, inference dtype
    nlp.meta["name"] = "govreport_ner"
    nlp.meta["performance"] = {"ents_f": state.best_f1 if dev_records else None}
    nlp.to_disk(out_dir)
    save_config(cfg, out_dir / "train_config.toml")
    summary = {
        "best_epoch": state.best_epoch,
        "best_dev_f1": state.best_f1 if dev_records else None,
        "steps": state.step,
        "train_windows": len(features),
        "train_documents": sorted(train_docs),
        "distill_documents": distill_docs,
        "dev_records": len(dev_records),
        "dev_boundaries": stats.boundaries,
        "dev_boundaries_inside_piece": stats.inside_piece,
        "dev_boundary_inside_fraction": stats.inside_fraction,
        "dev_span_conflicts": stats.conflicts,
    }
    write_atomic(out_dir / "train_summary.json", json.dumps(summary, indent=2))
    ckpt_path.unlink(missing_ok=True)
    if cfg.teacher:
        distillation.remove_cache(out_dir)
    return summary


def config_help(cls: type = TrainConfig,
                header: str = "config keys with built-in defaults (the --config file overrides them, "
                              "--set overrides both):") -> str:
    """The keys of a settings dataclass with their built-in defaults (``--help`` of
    the train and pretrain commands)."""
    lines = [header]
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"  {f.name} = {json.dumps(default, ensure_ascii=False)}")
    return "\n".join(lines)
