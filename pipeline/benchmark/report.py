"""The machine the benchmark runs on, and the Markdown report of its results."""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from pipeline.benchmark.workers import (
    TARGET_CHARS_PER_S,
)

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
    from pipeline.model.precision import ISA_LIMITS, cpu_supports_bf16, resolve_precision

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
        + ("long paragraphs cut at sentence ends without overlap (`sentence_windows`)."
           if info.get("sentence_windows") else f"stride {info['stride']}."))
    add(f"- Input: {results['n_files']} reports of `{args.seeds}`, {results['chars']:,} raw characters "
        f"({info['chars_normalized']:,} after normalization), {info['pieces']:,} model pieces "
        f"({info['chars_normalized'] / max(info['pieces'], 1):.2f} characters per piece), "
        f"{info['windows']:,} windows, {info['positions']:,} model positions "
        f"({info['positions'] / results['chars']:.3f} per raw character; with the padding of batches "
        f"of one report's windows: {info['padded_positions'] / results['chars']:.3f}).")
    add(f"- Throughput = raw characters / wall time of reading + encoding detection + normalization "
        f"+ structure + NER over all reports (`nlp.pipe`, {args.doc_batch} reports per batch), "
        f"median of the passes (column 'passes') after a warm-up on part of one report; "
        "peak memory = `ru_maxrss` of the configuration's own process (model loading included); "
        "'CPU s / wall s' = how many cores the configuration kept busy; 'other load' = share of "
        "the cores used by other processes meanwhile.")
    teacher = info.get("teacher")
    if teacher:
        add(f"- Teacher (rows 'teacher …'): {teacher['model']}. {teacher['layers']} layers, "
            f"{teacher['params'] / 1e6:.1f} M parameters, {teacher['windows']:,} windows, "
            f"{teacher['positions']:,} model positions "
            f"({teacher['positions'] / results['chars']:.2f} per raw character; the model's: "
            f"{info['positions'] / results['chars']:.2f}).")
    naive_of = teacher or info
    add("- Naive baseline: `transformers.pipeline(\"token-classification\", "
        "aggregation_strategy=\"simple\")` on each non-empty line, float32, "
        f"{'the teacher' if teacher else 'the same'}'s weights and tokenizer, "
        f"`model_max_length={naive_of['max_length']}`, `stride={naive_of['stride']}` (no "
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
            label = f"naive baseline (float32{', teacher weights' if teacher else ''})"
        elif key == "prep":
            label = "normalization + structure only"
        else:
            label = f"{'teacher' if key.startswith('teacher ') else 'pipeline'} {r['job']['dtype']}"
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
            f"average), batches of {args.train_batch_size}, the step of `pipeline.model.training` "
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
                        and r["job"].get("ner") and not k.startswith("teacher ")), default=None)
            add(f"| {dtype} | {_fmt(rate)} | {_fmt(limit)} | {_fmt(best) if best else '–'} | "
                f"{f'{100 * best / limit:.0f}%' if best else '–'} |")
        add("")
        need = TARGET_CHARS_PER_S * per_char / 1e9
        add(f"{TARGET_CHARS_PER_S:,} characters/s would need {_fmt(need)} GFLOP/s of useful work.")
        add("")
    for line in results.get("notes", []):
        add(line)
    return "\n".join(lines) + "\n"
