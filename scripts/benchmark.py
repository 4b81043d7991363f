#!/usr/bin/env python
"""Inference and training throughput of the pipeline: ``scripts/benchmark.py [--model DIR]``.

Measures, in one run, on the reports in ``seeds/`` and with one set of model
weights:

* **our pipeline end to end** (read the file, detect the encoding, normalize,
  structure, NER) in bfloat16 (where the CPU runs it natively), int8 and
  float32 at a few NER batch sizes (windows per forward pass); the headline is
  the precision ``dtype = "auto"`` picks on this machine: characters per second (raw characters of the input
  files), the median of ``--repeats`` passes over all reports, after one
  warm-up report;
* **normalization + structure alone** (the same, without the NER component);
* **a naive baseline**: ``transformers.pipeline("token-classification",
  aggregation_strategy="simple")`` called on each non-empty line of each
  report, with the *same* weights and tokenizer (saved from the component to
  a temporary folder), float32, one paragraph per call, the tokenizer's
  ``model_max_length`` set to the component's ``max_length`` and
  ``stride`` = the component's, so that it reads all the text through windows
  of the same size as ours (the pipeline's default would truncate long
  paragraphs at 512 pieces);
* **training throughput** (sentences per second) with bf16 autocast vs
  float32, through the same step as :mod:`pipeline.training` (forward, token
  cross-entropy, backward, clipping, AdamW), on sentences of the seeds;
* **peak memory** (``ru_maxrss``) of each configuration, each run in a fresh
  subprocess so that configurations don't contaminate each other;
* a **profile** (pyinstrument, if installed) of the fastest configuration,
  split into pipeline stages, and torch's operator table;
* a **FLOPs ceiling**: the model's FLOPs for the windows the pipeline actually
  runs, divided by the matrix-multiplication rate measured on this machine.

Without ``--model`` the pipeline is built from the base encoder
(``--base-model``) with a randomly initialized classification head: the same
architecture and FLOPs as a trained model, but its entities are meaningless
(the output says so). ``--prune`` prunes the vocabulary to the seeds first
(memory only; FLOPs are unchanged).

The table, ratios, machine description and command are printed and written
to ``--out`` (default ``BENCHMARKS.md``; ``--out -`` writes nothing).
``--quick`` is a short run to check that everything works (a few reports,
one repeat, one batch size per dtype, few training steps): its numbers are
not the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_CHARS_PER_S = 30_000
TARGET_VS_NAIVE = 5.0
KEEP_MARKER = "<!-- written by hand below: kept when scripts/benchmark.py rewrites this file -->"
FACTORY = "govreport_ner"


# --------------------------------------------------------------------------- helpers


def _quiet() -> None:
    """Silence the load reports and warnings of transformers / spaCy in workers."""
    import warnings

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    try:
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()
    except ImportError:
        pass


def peak_rss_mib() -> float:
    """Peak resident memory of this process (``ru_maxrss``, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_files(seeds: Path, limit: int | None) -> list[Path]:
    files = sorted(p for p in seeds.glob("*.txt") if not p.name.startswith("."))
    if not files:
        raise SystemExit(f"{seeds}: no *.txt reports")
    return files[:limit] if limit else files


def read_all(files: list[Path]) -> list[str]:
    """Reading as the batch runner does it: bytes, then encoding detection."""
    from pipeline.reading import decode_bytes

    return [decode_bytes(p.read_bytes(), str(p))[0] for p in files]


def ner_name(model_dir: Path) -> str:
    """The name of the ``govreport_ner`` component in a saved pipeline."""
    from spacy.util import load_config

    config = load_config(model_dir / "config.cfg")
    for name, comp in config.get("components", {}).items():
        if comp.get("factory") == FACTORY:
            return name
    raise SystemExit(f"{model_dir}: the pipeline has no {FACTORY} component")


def load_nlp(model_dir: Path, dtype: str, batch_size: int | None = None):
    import spacy

    import pipeline.ner  # noqa: F401  (registers govreport_ner)

    name = ner_name(model_dir)
    overrides: dict[str, Any] = {"dtype": dtype}
    if batch_size:
        overrides["batch_size"] = batch_size
    nlp = spacy.load(model_dir, config={"components": {name: overrides}})
    return nlp, nlp.get_pipe(name)


def entity_digest(docs_ents: list[list[tuple[int, int, str]]]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(docs_ents).encode()).hexdigest()[:12]


def loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / ticks


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class ForeignLoad:
    """Share of the machine's cores used by *other* processes while measuring."""

    def __enter__(self) -> "ForeignLoad":
        self.t0, self.busy0, self.own0 = time.perf_counter(), machine_busy_seconds(), own_cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.t0
        foreign = (machine_busy_seconds() - self.busy0) - (own_cpu_seconds() - self.own0)
        self.share = max(0.0, foreign / (wall * (os.cpu_count() or 1))) if wall > 0 else 0.0


# --------------------------------------------------------------------------- workers
# Each runs in its own process and prints one JSON line.


def work_pipeline(job: dict) -> dict:
    """Our pipeline end to end (``ner`` false: normalization + structure only)."""
    _quiet()
    import torch

    files = [Path(p) for p in job["files"]]
    model_dir = Path(job["model_dir"])
    if job["ner"]:
        nlp, ner = load_nlp(model_dir, job["dtype"], job["batch_size"])
    else:
        from pipeline.build import blank_pipeline

        nlp, ner = blank_pipeline(), None
    rss_loaded = peak_rss_mib()
    warm = read_all(files[:1])[0][: job.get("warmup_chars", 4000)]
    list(nlp.pipe([warm]))
    walls, cpus, digests, n_ents = [], [], [], 0
    with ForeignLoad() as load:
        for _ in range(job["repeats"]):
            w0, c0 = time.perf_counter(), time.process_time()
            texts = read_all(files)
            ents = []
            for doc in nlp.pipe(texts, batch_size=job["doc_batch"]):
                ents.append([(e.start_char, e.end_char, e.label_) for e in doc.ents])
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            digests.append(entity_digest(ents))
            n_ents = sum(map(len, ents))
    return {
        "chars": sum(len(t) for t in read_all(files)), "walls": walls, "cpus": cpus,
        "entities": n_ents, "digests": digests, "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": peak_rss_mib(), "threads": torch.get_num_threads(),
        "model_dtype": str(next(ner.model.parameters()).dtype) if ner else None,
        "foreign_load": load.share,
    }


def _naive_paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def work_naive(job: dict) -> dict:
    """``transformers.pipeline`` per paragraph (line), float32, same weights."""
    _quiet()
    import torch
    from transformers import pipeline

    files = [Path(p) for p in job["files"]]
    clf = pipeline("token-classification", model=job["hf_dir"], tokenizer=job["hf_dir"],
                   aggregation_strategy="simple", device="cpu", dtype=torch.float32)
    rss_loaded = peak_rss_mib()
    stride = job["stride"]
    for para in _naive_paragraphs(read_all(files[:1])[0][: job.get("warmup_chars", 4000)]):
        clf(para, stride=stride)
    walls, cpus, digests, n_ents = [], [], [], 0
    with ForeignLoad() as load:
        for _ in range(job["repeats"]):
            w0, c0 = time.perf_counter(), time.process_time()
            ents = []
            for text in read_all(files):
                found = []
                for para in _naive_paragraphs(text):
                    found += [(int(e["start"]), int(e["end"]), e["entity_group"])
                              for e in clf(para, stride=stride)]
                ents.append(found)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            digests.append(entity_digest(ents))
            n_ents = sum(map(len, ents))
    return {
        "chars": sum(len(t) for t in read_all(files)), "walls": walls, "cpus": cpus,
        "entities": n_ents, "digests": digests, "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": peak_rss_mib(), "threads": torch.get_num_threads(),
        "model_dtype": str(clf.model.dtype), "foreign_load": load.share,
    }


def _sentence_dataset(files: list[Path], n: int, seed: int):
    """``n`` sentences of the reports (normalized, with their paragraph's section),
    drawn at random; no gold spans (labels do not change the cost of a step)."""
    from datasets import Dataset

    from pipeline.build import blank_pipeline
    from pipeline.docs import paragraphs

    nlp = blank_pipeline()
    rows = []
    for doc in nlp.pipe(read_all(files)):
        sections = {}
        for para in paragraphs(doc):
            for i in range(para.start, para.end):
                sections[i] = para.label_
        for sent in doc.sents:
            text = sent.text.strip()
            if text:
                rows.append((text, sections.get(sent.start, "other")))
    random.Random(seed).shuffle(rows)
    rows = rows[:n]
    return Dataset.from_dict({"text": [r[0] for r in rows], "spans": [[] for _ in rows],
                              "section": [r[1] for r in rows]})


def work_train(job: dict) -> dict:
    """Training steps as in ``pipeline.training.train``: bf16 autocast or float32."""
    _quiet()
    import torch
    from torch.utils.data import DataLoader

    from pipeline.training import _collate, _loss, _optimizer, make_features, seed_everything

    seed_everything(0)
    nlp, ner = load_nlp(Path(job["model_dir"]), "float32")
    model, tokenizer = ner.model, ner.tokenizer
    ner.set_model(model, tokenizer, cast=False)
    bs, steps, chunks = job["batch_size"], job["steps"], job["chunks"]
    n_batches = 1 + steps * chunks
    ds = _sentence_dataset([Path(p) for p in job["files"]], bs * n_batches, seed=0)
    features = make_features(ner, ds)
    loader = DataLoader(features, batch_size=bs, shuffle=True,
                        generator=torch.Generator().manual_seed(0),
                        collate_fn=_collate(tokenizer.pad_token_id or 0))
    batches = list(loader)
    optimizer = _optimizer(model, type("Cfg", (), {"weight_decay": 0.01, "lr": 5e-5})())
    autocast = dict(device_type="cpu", dtype=torch.bfloat16, enabled=job["bf16"])
    model.train()
    rss_loaded = peak_rss_mib()

    def step(batch: dict) -> None:
        with torch.autocast(**autocast):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = _loss(logits, batch["labels"], batch["weight"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()

    step(batches[0])  # warm-up (allocations, kernel selection)
    walls, sentences = [], []
    k = 1
    with ForeignLoad() as load:
        for _ in range(chunks):
            chunk = batches[k:k + steps]
            k += steps
            t0 = time.perf_counter()
            for batch in chunk:
                step(batch)
            walls.append(time.perf_counter() - t0)
            sentences.append(sum(len(b["input_ids"]) for b in chunk))
    rates = [s / w for s, w in zip(sentences, walls)]
    return {
        "rates": rates, "walls": walls, "sentences": sentences, "windows": len(features),
        "mean_sentence_chars": statistics.mean(len(t) for t in ds["text"]),
        "rss_loaded_mib": rss_loaded, "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(), "foreign_load": load.share,
    }


def work_gemm(job: dict) -> dict:
    """Matrix-multiplication rate (GFLOP/s) at the shapes of the encoder's layers."""
    import torch

    out = {}
    m, k, n = job["m"], 384, 1536
    load = ForeignLoad().__enter__()
    for name, dtype in (("bfloat16", torch.bfloat16), ("float32", torch.float32)):
        a = torch.randn(m, k).to(dtype)
        b = torch.randn(k, n).to(dtype)
        with torch.inference_mode():
            for _ in range(3):
                torch.matmul(a, b)
            reps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < job["seconds"]:
                torch.matmul(a, b)
                torch.matmul(b.t(), a.t())
                reps += 2
            dt = time.perf_counter() - t0
        out[name] = 2 * m * k * n * reps / dt / 1e9
    load.__exit__()
    return {"gflops": out, "threads": torch.get_num_threads(), "foreign_load": load.share}


def work_profile(job: dict) -> dict:
    """One pass of the fastest configuration under pyinstrument (stages) and
    torch.profiler (operators)."""
    _quiet()
    import torch

    files = [Path(p) for p in job["files"]]
    nlp, ner = load_nlp(Path(job["model_dir"]), job["dtype"], job["batch_size"])
    list(nlp.pipe([read_all(files[:1])[0][:4000]]))
    result: dict[str, Any] = {}
    try:
        from pyinstrument import Profiler
    except ImportError:
        result["stages"] = None
    else:
        profiler = Profiler(interval=0.005)
        profiler.start()
        for _ in nlp.pipe(read_all(files[: job["profile_files"]]), batch_size=job["doc_batch"]):
            pass
        profiler.stop()
        root = profiler.last_session.root_frame()
        totals: dict[str, float] = {}
        stage_names = {
            "read_all": "reading + encoding detection",
            "ReportTokenizer.__call__": "normalization + Doc (one token per character)",
            "StructureComponent.__call__": "structure (paragraphs, sentences, sections)",
            "TransformerNER.encode": "NER: tokenizer (pieces, offsets)",
            "TransformerNER.windows": "NER: windows",
            "TransformerNER.window_probs": "NER: model (batching, forward, softmax)",
            "owner_window": "NER: decoding (owner window, tags, spans)",
            "tags_to_spans": "NER: decoding (owner window, tags, spans)",
            "TransformerNER.set_annotations": "NER: setting doc.ents",
        }
        _sum_frames_qualified(root, stage_names, totals)
        result["stages"] = {"total": root.time, **totals}
        result["pyinstrument_text"] = profiler.output_text(unicode=True, color=False, show_all=False)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in nlp.pipe(read_all(files[: job["op_files"]]), batch_size=job["doc_batch"]):
            pass
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ops) or 1
    result["ops"] = [(e.key, e.self_cpu_time_total / total) for e in ops[:10]]
    result["attn_implementation"] = getattr(ner.model.config, "_attn_implementation", None)
    return result


def _sum_frames_qualified(frame, stages: dict[str, str], totals: dict[str, float]) -> None:
    """Like :func:`_sum_frames`, matching ``Class.method`` or the bare function name."""
    cls = getattr(frame, "class_name", None)
    keys = [f"{cls}.{frame.function}"] if cls else [frame.function]
    for key in keys:
        if key in stages:
            totals[stages[key]] = totals.get(stages[key], 0.0) + frame.time
            return
    for child in frame.children:
        _sum_frames_qualified(child, stages, totals)


WORKERS = {"pipeline": work_pipeline, "naive": work_naive, "train": work_train,
           "gemm": work_gemm, "profile": work_profile}


def run_worker(job: dict, threads: int | None) -> dict:
    """Run one configuration in a fresh Python process; its JSON result."""
    env = dict(os.environ, TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {job['kind']} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- preparation


def prepare_model(args, files: list[Path], tmp: Path) -> tuple[Path, Path, dict]:
    """The pipeline folder to benchmark and a plain HF folder (float32 model +
    tokenizer) with the same weights for the naive baseline; plus facts about
    the model and the FLOPs of the windows it runs on the reports."""
    _quiet()
    import torch

    from pipeline.annotations import LABELS
    from pipeline.build import blank_pipeline
    from pipeline.docs import paragraphs
    from pipeline.ner import load_base_model

    info: dict[str, Any] = {}
    if args.model:
        model_dir = Path(args.model)
        nlp, ner = load_nlp(model_dir, "float32")
        info["model"] = f"trained pipeline `{model_dir}`"
        info["trained"] = True
    else:
        torch.manual_seed(0)
        nlp = blank_pipeline()
        ner = nlp.add_pipe(FACTORY, config={"base_model": args.base_model, "dtype": "float32"})
        model, tokenizer = load_base_model(args.base_model, LABELS)
        if args.prune:
            from pipeline.encoders import prune_vocabulary, read_corpus

            normalized = [p.text for d in nlp.pipe(read_all(files)) for p in paragraphs(d)]
            model, tokenizer = prune_vocabulary(model, tokenizer, read_corpus(files) + normalized)
        ner.set_model(model, tokenizer)
        model_dir = tmp / "pipeline"
        nlp.to_disk(model_dir)
        info["model"] = (f"untrained: base encoder `{args.base_model}`"
                         f"{' (vocabulary pruned to the seeds)' if args.prune else ''}"
                         " + randomly initialized head (same architecture and FLOPs as a trained "
                         "model; its entities are meaningless)")
        info["trained"] = False
    hf_dir = tmp / "hf"
    ner.model.to(torch.float32).save_pretrained(hf_dir)
    ner.tokenizer.model_max_length = ner.max_length
    ner.tokenizer.save_pretrained(hf_dir)

    cfg = ner.model.config
    info.update(
        layers=cfg.num_hidden_layers, hidden=cfg.hidden_size, intermediate=cfg.intermediate_size,
        vocab=cfg.vocab_size, params=sum(p.numel() for p in ner.model.parameters()),
        scheme=ner.scheme, max_length=ner.max_length, stride=ner.stride,
        default_batch_size=ner.batch_size, labels=cfg.num_labels,
    )
    # FLOPs of the windows the component runs (multiply-add = 2 FLOPs), no padding.
    d, f, layers, labels = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.num_labels
    flops, positions, pieces, n_windows, chars_norm = 0, 0, 0, 0, 0
    for doc in blank_pipeline().pipe(read_all(files)):
        chars_norm += len(doc.text)
        for para in paragraphs(doc):
            enc = ner.encode(para.text)
            if not any(s < e for s, e in enc.offsets):
                continue
            pieces += len(enc)
            for w in ner.windows(enc, para.label_):
                n = len(w.input_ids)
                positions += n
                n_windows += 1
                flops += layers * (2 * n * (4 * d * d + 2 * d * f) + 4 * n * n * d) + 2 * n * d * labels
    info.update(flops=flops, positions=positions, pieces=pieces, windows=n_windows,
                chars_normalized=chars_norm)
    return model_dir, hf_dir, info


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    import torch
    import transformers

    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                            "transformers": transformers.__version__,
                            "torch_threads": torch.get_num_threads(), "cores": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    info["cpu"] = fields.get("Model name", platform.processor() or "?")
    info["vendor"] = fields.get("Vendor ID", "?")
    info["family_model"] = f"family {fields.get('CPU family', '?')}, model {fields.get('Model', '?')}"
    info["hypervisor"] = fields.get("Hypervisor vendor")
    flags = set(fields.get("Flags", "").split())
    info["flags"] = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16",
                                 "amx_tile", "amx_int8") if f in flags]
    info["l3"] = fields.get("L3 cache")
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["memory_gib"] = round(int(mem) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass
    from pipeline.precision import ISA_LIMITS, cpu_supports_bf16, resolve_precision

    info["bf16_native"] = cpu_supports_bf16()
    info["auto"] = resolve_precision("auto")
    info["isa_limits"] = {v: os.environ[v] for v in ISA_LIMITS + ("MKL_ENABLE_INSTRUCTIONS",
                                                                  "FBGEMM_ENABLE_INSTRUCTIONS")
                          if os.environ.get(v)}
    return info


# --------------------------------------------------------------------------- report


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


LOADED = 0.05
"""Share of the cores used by other processes above which a measurement is flagged."""


def build_report(args, argv: list[str], mach: dict, info: dict, results: dict, started: float) -> str:
    lines: list[str] = []
    add = lines.append
    measured = list(results["configs"].values()) + list(results.get("train", {}).values())
    worst = max([results["foreign_load"]] + [r["foreign_load"] for r in measured])
    loaded = worst > LOADED
    add("# Benchmarks")
    add("")
    add(f"Measured {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}, "
        f"{time.time() - started:.0f} s for the whole run.")
    add("")
    if args.quick:
        add("> **QUICK RUN** (`--quick`: few reports, one repeat): a check that the benchmark "
            "works, not a measurement.")
        add("")
    if loaded:
        add(f"> **LOADED MACHINE**: other processes used {100 * results['foreign_load']:.0f}% of "
            f"the cores during the run (up to {100 * worst:.0f}% during one configuration, column "
            "'other load'); the figures below are disturbed, ratios less than absolute numbers. "
            "Re-run on an idle machine for the real numbers.")
        add("")
    add("## Machine")
    add("")
    add(f"- CPU: {mach['cpu']} ({mach['vendor']}, {mach['family_model']}"
        f"{', under ' + mach['hypervisor'] if mach.get('hypervisor') else ''}), "
        f"{mach['cores']} cores, L3 {mach.get('l3')}, {mach.get('memory_gib', '?')} GiB memory")
    add(f"- ISA: {', '.join(mach['flags']) or 'none of avx2/avx512/amx'}; native bf16 matmul "
        f"according to torch: {'yes' if mach['bf16_native'] else 'no'}; `dtype = \"auto\"` runs "
        f"**{mach['auto']}** here")
    if mach.get("isa_limits"):
        add("- **Kernels limited by the environment** (this CPU emulating an AVX2-only one): "
            + ", ".join(f"`{k}={v}`" for k, v in mach["isa_limits"].items()))
    add(f"- Python {mach['python']}, torch {mach['torch']} ({mach['torch_threads']} threads), "
        f"transformers {mach['transformers']}")
    add("")
    add("## Command")
    add("")
    add("```bash")
    add(" ".join(shlex.quote(a) for a in [".venv/bin/python", "scripts/benchmark.py", *argv]))
    add("```")
    add("")
    add("## Setup")
    add("")
    add(f"- Model: {info['model']}. {info['layers']} layers, hidden {info['hidden']}, "
        f"FFN {info['intermediate']}, vocabulary {info['vocab']:,}, {info['params'] / 1e6:.1f} M "
        f"parameters; scheme `{info['scheme']}`, windows of {info['max_length']} positions, "
        f"stride {info['stride']}.")
    add(f"- Input: {results['n_files']} reports of `{args.seeds}`, {results['chars']:,} raw characters "
        f"({info['chars_normalized']:,} after normalization), {info['pieces']:,} model pieces "
        f"({info['chars_normalized'] / max(info['pieces'], 1):.2f} characters per piece), "
        f"{info['windows']:,} windows, {info['positions']:,} model positions.")
    add(f"- Throughput = raw characters / wall time of reading + encoding detection + normalization "
        f"+ structure + NER over all reports (`nlp.pipe`, {args.doc_batch} reports per batch), "
        f"median of the passes (column 'passes') after a warm-up on part of one report; "
        "peak memory = `ru_maxrss` of the configuration's own process (model loading included); "
        "'CPU s / wall s' = how many cores the configuration kept busy; 'other load' = share of "
        "the cores used by other processes meanwhile.")
    add("- Naive baseline: `transformers.pipeline(\"token-classification\", "
        "aggregation_strategy=\"simple\")` on each non-empty line, float32, same weights and "
        f"tokenizer, `model_max_length={info['max_length']}`, `stride={info['stride']}` (no "
        "normalization, no section marker).")
    add("")
    add("## Inference")
    add("")
    add("| configuration | NER batch | chars/s (median) | passes | min–max | vs naive | "
        "CPU s / wall s | peak RSS MiB | entities | other load |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    naive = results["configs"].get("naive")
    naive_rate = naive["rate"] if naive else None
    for key, r in results["configs"].items():
        if key == "naive":
            label = "naive baseline (float32)"
        elif key == "prep":
            label = "normalization + structure only"
        else:
            label = f"pipeline {r['job']['dtype']}"
        batch = r["job"].get("batch_size") or ("1 line" if key == "naive" else "–")
        ratio = f"{r['rate'] / naive_rate:.2f}×" if naive_rate else "–"
        rates = [r["chars"] / w for w in r["walls"]]
        add(f"| {label} | {batch} | **{_fmt(r['rate'])}** | {len(rates)} | "
            f"{_fmt(min(rates))}–{_fmt(max(rates))} | "
            f"{ratio} | {_median(r['cpus']) / _median(r['walls']):.2f} | {_fmt(r['peak_rss_mib'])} | "
            f"{r['entities']:,} | {100 * r['foreign_load']:.0f}% |")
    add("")
    add("## Ratios")
    add("")
    for line in results["ratios"]:
        add(f"- {line}")
    add("")
    train = results.get("train")
    if train:
        add("## Training")
        add("")
        add(f"Sentences of the seeds ({train['bfloat16']['mean_sentence_chars']:.0f} characters on "
            f"average), batches of {args.train_batch_size}, the step of `pipeline.training` "
            f"(forward, loss, backward, clipping, AdamW); median of {args.train_chunks} chunks of "
            f"{args.train_steps} steps after a warm-up step.")
        add("")
        add("| precision | sentences/s | chunks | peak RSS MiB | other load |")
        add("|---|---:|---:|---:|---:|")
        for key, label in (("bfloat16", "bf16 autocast (the default)"), ("float32", "float32")):
            t = train[key]
            add(f"| {label} | **{t['rate']:.1f}** | {', '.join(f'{x:.1f}' for x in t['rates'])} | "
                f"{_fmt(t['peak_rss_mib'])} | {100 * t['foreign_load']:.0f}% |")
        add("")
        add(f"bf16 / float32: **{train['bfloat16']['rate'] / train['float32']['rate']:.2f}×**.")
        add("")
    prof = results.get("profile")
    if prof:
        add("## Where the time goes")
        add("")
        if prof.get("stages"):
            total = prof["stages"]["total"]
            add(f"pyinstrument, one pass of `{prof['config']}` over the first {prof['files']} "
                f"report(s) ({total:.1f} s):")
            add("")
            add("| stage | share |")
            add("|---|---:|")
            rest = total
            for name, t in sorted(prof["stages"].items(), key=lambda kv: -kv[1]):
                if name == "total":
                    continue
                rest -= t
                add(f"| {name} | {100 * t / total:.1f}% |")
            add(f"| other (spaCy, Python glue) | {100 * max(rest, 0) / total:.1f}% |")
            add("")
        add(f"torch operators (self CPU time, {prof['config']}, attention `{prof.get('attn_implementation')}`):")
        add("")
        add("| operator | share |")
        add("|---|---:|")
        for name, share in prof["ops"]:
            add(f"| `{name}` | {100 * share:.1f}% |")
        add("")
    ceil = results.get("ceiling")
    if ceil:
        add("## FLOPs ceiling")
        add("")
        per_char = info["flops"] / results["chars"]
        add(f"The encoder costs {info['flops'] / info['positions'] / 1e6:.1f} MFLOPs per model position "
            f"(linear layers {2 * info['layers'] * (4 * info['hidden'] ** 2 + 2 * info['hidden'] * info['intermediate']) / 1e6:.1f} M, "
            f"the rest attention), i.e. **{per_char / 1e6:.1f} MFLOPs per raw character** "
            f"({info['positions'] / results['chars']:.2f} positions per character: "
            f"{info['chars_normalized'] / max(info['pieces'], 1):.2f} characters per piece, plus "
            "window overlap and the 3 special positions per window); "
            f"{info['flops'] / 1e12:.1f} TFLOPs for the whole input.")
        add("")
        add(f"| precision | matmul GFLOP/s measured ({ceil['m']}×384 · 384×1536) | ceiling chars/s | "
            "best measured | share of ceiling |")
        add("|---|---:|---:|---:|---:|")
        for dtype in ("bfloat16", "float32"):
            rate = ceil["gflops"][dtype]
            limit = rate * 1e9 / per_char
            best = max((r["rate"] for k, r in results["configs"].items()
                        if r["job"].get("dtype") == dtype and r["job"]["kind"] == "pipeline"
                        and r["job"].get("ner")), default=None)
            add(f"| {dtype} | {_fmt(rate)} | {_fmt(limit)} | {_fmt(best) if best else '–'} | "
                f"{f'{100 * best / limit:.0f}%' if best else '–'} |")
        add("")
        need = TARGET_CHARS_PER_S * per_char / 1e9
        add(f"{TARGET_CHARS_PER_S:,} characters/s would need {_fmt(need)} GFLOP/s of useful work.")
        add("")
    for line in results.get("notes", []):
        add(line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="trained pipeline folder (default: untrained, from --base-model)")
    parser.add_argument("--base-model", default="models/base/e5-small")
    parser.add_argument("--prune", action="store_true", help="prune the base vocabulary to the seeds")
    parser.add_argument("--seeds", default="seeds", help="folder of reports (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="only the first N reports")
    parser.add_argument("--bf16-batch-sizes", default="8,32", help="NER batch sizes in bf16")
    parser.add_argument("--fp32-batch-sizes", default="8,32", help="NER batch sizes in float32")
    parser.add_argument("--int8-batch-sizes", default="8,32", help="NER batch sizes in int8")
    parser.add_argument("--doc-batch", type=int, default=8, help="reports per nlp.pipe batch")
    parser.add_argument("--repeats", type=int, default=3,
                        help="passes of the default path (dtype auto) at the default NER batch size (the headline)")
    parser.add_argument("--other-repeats", type=int, default=1,
                        help="passes of every other configuration, the naive baseline included")
    parser.add_argument("--profile-reports", type=int, default=3,
                        help="reports profiled with pyinstrument (the first N)")
    parser.add_argument("--train-steps", type=int, default=4, help="timed steps per chunk")
    parser.add_argument("--train-chunks", type=int, default=3)
    parser.add_argument("--train-batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the workers (default: torch's)")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a short check run (not a measurement)")
    parser.add_argument("--out", default="BENCHMARKS.md", help="report file, '-' for none")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = args.limit or 2
        args.repeats = args.other_repeats = 1
        args.profile_reports = 1
        args.bf16_batch_sizes = args.bf16_batch_sizes if "--bf16-batch-sizes" in argv else "32"
        args.fp32_batch_sizes = args.fp32_batch_sizes if "--fp32-batch-sizes" in argv else "32"
        args.int8_batch_sizes = args.int8_batch_sizes if "--int8-batch-sizes" in argv else "32"
        args.train_steps, args.train_chunks = 1, 2
        args.train_batch_size = 4
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        job = json.loads(argv[1])
        print(json.dumps(WORKERS[job["kind"]](job)))
        return 0
    args = parse_args(argv)
    started = time.time()
    run_load = ForeignLoad().__enter__()
    files = report_files(ROOT / args.seeds if not Path(args.seeds).is_absolute() else Path(args.seeds),
                         args.limit)
    fnames = [str(p) for p in files]
    mach = machine()
    print(f"{mach['cpu']}, {mach['cores']} cores, torch {mach['torch']}; load {loadavg():.2f}",
          file=sys.stderr)

    results: dict[str, Any] = {"configs": {}, "ratios": [], "notes": [], "n_files": len(files)}
    with tempfile.TemporaryDirectory(prefix="govreport-bench-") as tmp_name:
        tmp = Path(tmp_name)
        model_dir, hf_dir, info = prepare_model(args, files, tmp)
        print(f"model ready: {info['model']}", file=sys.stderr)

        def measure(key: str, job: dict) -> None:
            job = {"files": fnames, "model_dir": str(model_dir), "doc_batch": args.doc_batch,
                   "repeats": args.repeats, **job}
            print(f"  {key} ...", end="", file=sys.stderr, flush=True)
            r = run_worker(job, args.threads)
            r["job"] = job
            r["rate"] = r["chars"] / _median(r["walls"])
            results["configs"][key] = r
            results["chars"] = r["chars"]
            if len(set(r["digests"])) > 1:
                results["notes"].append(f"**Non-deterministic**: {key} gave different entities "
                                        "on repeated passes.")
            print(f" {r['rate']:,.0f} chars/s, peak {r['peak_rss_mib']:,.0f} MiB, "
                  f"other load {100 * r['foreign_load']:.0f}%", file=sys.stderr)

        measure("prep", {"kind": "pipeline", "ner": False, "dtype": None, "batch_size": None,
                         "repeats": args.repeats})
        precisions = [("bfloat16", args.bf16_batch_sizes), ("int8", args.int8_batch_sizes),
                      ("float32", args.fp32_batch_sizes)]
        if not mach["bf16_native"] and "--bf16-batch-sizes" not in argv:
            precisions = precisions[1:]
            results["notes"].append("bfloat16 not measured: this CPU has no native bfloat16 "
                                    "(emulated, several times slower than float32; "
                                    "`--bf16-batch-sizes` measures it anyway).")
        for dtype, sizes in precisions:
            for bs in [int(x) for x in sizes.split(",") if x.strip()]:
                headline = dtype == mach["auto"] and bs == info["default_batch_size"]
                measure(f"{dtype}-{bs}", {"kind": "pipeline", "ner": True, "dtype": dtype,
                                          "batch_size": bs,
                                          "repeats": args.repeats if headline else args.other_repeats})
        if not args.no_naive:
            measure("naive", {"kind": "naive", "hf_dir": str(hf_dir), "stride": info["stride"],
                              "repeats": args.other_repeats})

        ours = {k: r for k, r in results["configs"].items() if k not in ("naive", "prep")}
        best_key = max(ours, key=lambda k: ours[k]["rate"])
        best = ours[best_key]
        ratios = results["ratios"]
        auto_key = f"{mach['auto']}-{info['default_batch_size']}"
        if auto_key in ours and "naive" in results["configs"]:
            ratios.append(f"**headline — the default path (`dtype = \"auto\"` = {mach['auto']}, NER "
                          f"batch {info['default_batch_size']}) / naive baseline: "
                          f"{ours[auto_key]['rate'] / results['configs']['naive']['rate']:.2f}×** "
                          f"({ours[auto_key]['rate']:,.0f} chars/s)")
        ratios.append(f"best configuration: {best_key} at {best['rate']:,.0f} chars/s = "
                      f"{best['rate'] / TARGET_CHARS_PER_S:.2f}× the {TARGET_CHARS_PER_S:,} chars/s "
                      "target")
        if "naive" in results["configs"]:
            naive = results["configs"]["naive"]
            ratios.append(f"best / naive baseline: **{best['rate'] / naive['rate']:.2f}×** "
                          f"(target {TARGET_VS_NAIVE:.0f}×); peak memory "
                          f"{best['peak_rss_mib'] / naive['peak_rss_mib']:.2f}× the naive one")
        for key, r in ours.items():
            dtype, bs = key.split("-")
            other = ours.get(f"float32-{bs}") if dtype != "float32" else None
            if other:
                ratios.append(f"{dtype} / float32 at NER batch {bs}: **{r['rate'] / other['rate']:.2f}×** "
                              f"speed, {r['peak_rss_mib'] / other['peak_rss_mib']:.2f}× peak memory")
        bf16 = {int(k.split("-")[1]): r for k, r in ours.items() if k.startswith("bfloat16")}
        if len(bf16) > 1:
            lo, hi = min(bf16), max(bf16)
            ratios.append(f"bf16 NER batch {hi} / batch {lo}: {bf16[hi]['rate'] / bf16[lo]['rate']:.2f}×")
        prep = results["configs"]["prep"]
        share = best["rate"] / prep["rate"]
        ratios.append(f"reading + normalization + structure alone: {prep['rate']:,.0f} chars/s, "
                      f"{100 * share:.1f}% of the best configuration's time")
        if not info["trained"]:
            results["notes"].append("Entity counts come from a randomly initialized head: "
                                    "meaningless as entities, but the same work as a trained model.")

        if not args.no_train:
            results["train"] = {}
            for key, bf in (("bfloat16", True), ("float32", False)):
                print(f"  train {key} ...", end="", file=sys.stderr, flush=True)
                r = run_worker({"kind": "train", "files": fnames, "model_dir": str(model_dir),
                                "bf16": bf, "batch_size": args.train_batch_size,
                                "steps": args.train_steps, "chunks": args.train_chunks}, args.threads)
                r["rate"] = _median(r["rates"])
                results["train"][key] = r
                print(f" {r['rate']:.1f} sentences/s", file=sys.stderr)
            t = results["train"]
            ratios.append(f"training bf16 / float32: **{t['bfloat16']['rate'] / t['float32']['rate']:.2f}×** "
                          "sentences/s")

        print("  matmul rate ...", file=sys.stderr)
        ceiling = run_worker({"kind": "gemm", "m": 2048, "seconds": 1.0 if args.quick else 3.0},
                             args.threads)
        ceiling["m"] = 2048
        results["ceiling"] = ceiling

        if not args.no_profile:
            print("  profile ...", file=sys.stderr)
            dtype, bs = best_key.split("-")
            prof = run_worker({"kind": "profile", "files": fnames, "model_dir": str(model_dir),
                               "dtype": dtype, "batch_size": int(bs), "doc_batch": args.doc_batch,
                               "profile_files": args.profile_reports,
                               "op_files": min(2, args.profile_reports)}, args.threads)
            prof["config"] = f"pipeline {dtype}, NER batch {bs}"
            prof["files"] = min(args.profile_reports, len(fnames))
            results["profile"] = prof

    run_load.__exit__()
    results["foreign_load"] = run_load.share
    report = build_report(args, argv, mach, info, results, started)
    print(report)
    if args.out != "-":
        out = ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
        old = out.read_text(encoding="utf-8") if out.is_file() else ""
        if KEEP_MARKER in old:  # hand-written analysis after the marker survives a re-run
            report += "\n" + old[old.index(KEEP_MARKER):]
        out.write_text(report, encoding="utf-8")
        print(f"written to {args.out}", file=sys.stderr)
    if args.json:
        results["info"], results["machine"] = info, mach
        Path(args.json).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
