"""The benchmark's measurements: each configuration runs in a fresh process
(:func:`run_worker`, ``python -m pipeline.benchmark.workers JOB``) so that
configurations don't contaminate each other's memory and threads."""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
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
    from pipeline.text.reading import decode_bytes

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

    import pipeline.model.ner  # noqa: F401  (registers govreport_ner)

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
    files = [Path(p) for p in job["files"]]
    model_dir = Path(job["model_dir"])
    if job["ner"]:
        nlp, ner = load_nlp(model_dir, job["dtype"], job["batch_size"])
    else:
        from pipeline.model.build import blank_pipeline

        nlp, ner = blank_pipeline(), None
    rss_loaded = peak_rss_mib()
    warm = read_all(files[:1])[0][: job.get("warmup_chars", 4000)]
    list(nlp.pipe([warm]))

    def one_pass() -> list[list[tuple[int, int, str]]]:
        return [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
                for doc in nlp.pipe(read_all(files), batch_size=job["doc_batch"])]

    model_dtype = str(next(ner.model.parameters()).dtype) if ner else None
    return _timed_passes(job, files, one_pass, rss_loaded, model_dtype)


def _timed_passes(job: dict, files: list[Path], one_pass: Callable[[], list], rss_loaded: float,
                  model_dtype: str | None) -> dict:
    """``job["repeats"]`` timed calls of ``one_pass`` (reading included; it returns the
    entities of each report), and the worker's result dict."""
    import torch

    walls, cpus, digests, n_ents = [], [], [], 0
    with ForeignLoad() as load:
        for _ in range(job["repeats"]):
            w0, c0 = time.perf_counter(), time.process_time()
            ents = one_pass()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            digests.append(entity_digest(ents))
            n_ents = sum(map(len, ents))
    return {
        "chars": sum(len(t) for t in read_all(files)), "walls": walls, "cpus": cpus,
        "entities": n_ents, "digests": digests, "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": peak_rss_mib(), "threads": torch.get_num_threads(),
        "model_dtype": model_dtype, "foreign_load": load.share,
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
    def one_pass() -> list[list[tuple[int, int, str]]]:
        return [[(int(e["start"]), int(e["end"]), e["entity_group"])
                 for para in _naive_paragraphs(text) for e in clf(para, stride=stride)]
                for text in read_all(files)]

    return _timed_passes(job, files, one_pass, rss_loaded, str(clf.model.dtype))


def _sentence_dataset(files: list[Path], n: int, seed: int):
    """``n`` sentences of the reports (normalized, with their paragraph's section),
    drawn at random; no gold spans (labels do not change the cost of a step)."""
    from datasets import Dataset

    from pipeline.model.build import blank_pipeline
    from pipeline.text.docs import paragraphs

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
    """Training steps as in :func:`pipeline.model.training.train`: bf16 autocast or float32."""
    _quiet()
    import torch
    from torch.utils.data import DataLoader

    from pipeline.model.training import (
        collate_windows,
        make_features,
        make_optimizer,
        seed_everything,
        window_loss,
    )

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
                        collate_fn=collate_windows(tokenizer.pad_token_id or 0))
    batches = list(loader)
    optimizer = make_optimizer(model, lr=5e-5, weight_decay=0.01)
    autocast = dict(device_type="cpu", dtype=torch.bfloat16, enabled=job["bf16"])
    model.train()
    rss_loaded = peak_rss_mib()

    def step(batch: dict) -> None:
        with torch.autocast(**autocast):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = window_loss(logits, batch["labels"], batch["weight"])
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
    proc = subprocess.run([sys.executable, "-m", "pipeline.benchmark.workers", json.dumps(job)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {job['kind']} failed (exit {proc.returncode})")
    return json.loads(lines[-1])

if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(WORKERS[job["kind"]](job)))
