"""``govreport-ner benchmark``: inference and training throughput (see
:mod:`pipeline.benchmark`); writes ``BENCHMARKS.md``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.benchmark.report import _median, build_report, machine
from pipeline.benchmark.workers import (
    FACTORY,
    KEEP_MARKER,
    ROOT,
    TARGET_CHARS_PER_S,
    TARGET_VS_NAIVE,
    ForeignLoad,
    _quiet,
    load_nlp,
    loadavg,
    read_all,
    report_files,
    run_worker,
)

# --------------------------------------------------------------------------- preparation


def prepare_model(args, model: str | None, files: list[Path], tmp: Path) -> tuple[Path, Path, dict]:
    """The pipeline folder to benchmark (the trained pipeline ``model``, or an
    untrained one from ``args.base_model``) and a plain HF folder (float32 model +
    tokenizer) with the same weights for the naive baseline, both under ``tmp``;
    plus facts about the model and the FLOPs of the windows it runs on the reports."""
    _quiet()
    import torch

    from pipeline.annotation.schema import LABELS
    from pipeline.model.build import blank_pipeline
    from pipeline.model.ner import load_base_model
    from pipeline.text.docs import paragraphs

    info: dict[str, Any] = {}
    tmp.mkdir(parents=True, exist_ok=True)
    if model:
        model_dir = Path(model)
        nlp, ner = load_nlp(model_dir, "float32")
        info["model"] = f"trained pipeline `{model_dir}`"
        info["trained"] = True
    else:
        torch.manual_seed(0)
        nlp = blank_pipeline()
        ner = nlp.add_pipe(FACTORY, config={"base_model": args.base_model, "dtype": "float32"})
        model, tokenizer = load_base_model(args.base_model, LABELS)
        if args.prune:
            from pipeline.model.encoders.pruning import prune_vocabulary, read_corpus

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
        sentence_windows=ner.sentence_windows,
        default_batch_size=ner.batch_size, labels=cfg.num_labels,
    )
    # FLOPs of the windows the component runs (multiply-add = 2 FLOPs), no padding.
    d, f, layers, labels = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.num_labels
    flops, positions, padded, pieces, n_windows, chars_norm = 0, 0, 0, 0, 0, 0
    for doc in blank_pipeline().pipe(read_all(files)):
        chars_norm += len(doc.text)
        doc_windows = []
        for para in paragraphs(doc):
            enc = ner.encode(para.text)
            if not any(s < e for s, e in enc.offsets):
                continue
            pieces += len(enc)
            doc_windows += ner.windows(enc, para.label_, para.text)
        # the forward passes of one report alone (the default of --doc-batch), padding included
        padded += ner.padded_positions(doc_windows)
        for w in doc_windows:
            n = len(w.input_ids)
            positions += n
            n_windows += 1
            flops += layers * (2 * n * (4 * d * d + 2 * d * f) + 4 * n * n * d) + 2 * n * d * labels
    info.update(flops=flops, positions=positions, padded_positions=padded, pieces=pieces, windows=n_windows,
                chars_normalized=chars_norm)
    return model_dir, hf_dir, info

# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    import pipeline.benchmark

    parser = argparse.ArgumentParser(prog="govreport-ner benchmark",
                                     description=pipeline.benchmark.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="trained pipeline folder (default: untrained, from --base-model)")
    parser.add_argument("--teacher", help="also measure this trained pipeline (the teacher of a distilled "
                        "--model) at the same precisions, and run the naive baseline with ITS weights")
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
        model_dir, hf_dir, info = prepare_model(args, args.model, files, tmp / "model")
        print(f"model ready: {info['model']}", file=sys.stderr)
        if args.teacher:
            teacher_dir, hf_dir, info["teacher"] = prepare_model(args, args.teacher, files, tmp / "teacher")
            print(f"teacher ready: {info['teacher']['model']}", file=sys.stderr)

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
        if args.teacher:
            for dtype, sizes in precisions:
                for bs in [int(x) for x in sizes.split(",") if x.strip()]:
                    measure(f"teacher {dtype}-{bs}", {"kind": "pipeline", "ner": True, "dtype": dtype,
                                                      "batch_size": bs, "model_dir": str(teacher_dir),
                                                      "repeats": args.other_repeats})
        if not args.no_naive:
            stride = info["teacher"]["stride"] if args.teacher else info["stride"]
            measure("naive", {"kind": "naive", "hf_dir": str(hf_dir), "stride": stride,
                              "repeats": args.other_repeats})

        ours = {k: r for k, r in results["configs"].items()
                if k not in ("naive", "prep") and not k.startswith("teacher ")}
        best_key = max(ours, key=lambda k: ours[k]["rate"])
        best = ours[best_key]
        ratios = results["ratios"]
        auto_key = f"{mach['auto']}-{info['default_batch_size']}"
        if auto_key in ours and "naive" in results["configs"]:
            ratios.append(f"**headline — the default path (`dtype = \"auto\"` = {mach['auto']}, NER "
                          f"batch {info['default_batch_size']}) / naive baseline: "
                          f"{ours[auto_key]['rate'] / results['configs']['naive']['rate']:.2f}×** "
                          f"({ours[auto_key]['rate']:,.0f} chars/s)")
        teacher_auto = results["configs"].get(f"teacher {auto_key}")
        if teacher_auto and auto_key in ours:
            ratios.append(f"the default path of `--model` / the same path of the teacher: "
                          f"**{ours[auto_key]['rate'] / teacher_auto['rate']:.2f}×**")
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
