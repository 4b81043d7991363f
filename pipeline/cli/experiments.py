"""Experiment log: one row per training run, from the files each run wrote.

    python scripts/experiments.py runs/*/ [--at-epoch 6] [--readme models/README.md] [--marker NAME]
    govreport-ner experiments runs/*/ ...          # the same

Reads ``train_config.toml``, ``train_summary.json`` and ``train_log.jsonl`` of
each run folder and prints a Markdown table (the settings in :data:`SHOWN`,
best dev F1 and its epoch, per-label dev F1 at that epoch, and with
``--at-epoch N`` the dev F1 of every run at epoch N, for comparing short
ablations with longer runs). A run folder with ``eval/dev.<decoding>.json``
files (``scripts/evaluate.py --split dev --decoding D --json ...`` on its saved
model) also gets the dev micro F1 of each decoding, and the per-label F1 of the
run's own decoding (its ``decoding`` setting), or else of the first one in
:data:`DECODINGS` that is there, instead of the training loop's. A run folder with
``eval/dev.thresholds.json`` (``scripts/evaluate.py --split dev --tune-min-score --json ...``)
also gets the dev micro F1 with the per-label minimum span scores chosen on dev (in
sample) and left one document out, and PROJECT's F1 left out: the estimate of the
configuration a model ships in.
With ``--readme`` the table replaces the text between the EXPERIMENTS markers
of that file (``--marker NAME``: the markers ``EXPERIMENTS:NAME:BEGIN`` and
``EXPERIMENTS:NAME:END``, for a second table).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

BEGIN, END = "<!-- EXPERIMENTS:BEGIN (scripts/experiments.py) -->", "<!-- EXPERIMENTS:END -->"
SHOWN = ("base_model", "scheme", "section_context", "max_length", "lr", "warmup_ratio", "epochs",
         "stop_after_epoch", "batch_size", "silver_files")
DECODINGS = ("viterbi", "argmax", "crf")  # eval/dev.<decoding>.json, preferred first
LABELS = ("PROJECT", "METRIC", "TARGET", "VALUE")


def markers(name: str | None = None) -> tuple[str, str]:
    """The BEGIN/END comment lines of a table in a README (``name``: a second table)."""
    if not name:
        return BEGIN, END
    return (f"<!-- EXPERIMENTS:{name}:BEGIN (scripts/experiments.py) -->",
            f"<!-- EXPERIMENTS:{name}:END -->")


def _dev_evaluations(folder: Path) -> dict[str, dict]:
    out = {}
    for decoding in DECODINGS:
        path = folder / "eval" / f"dev.{decoding}.json"
        if path.is_file():
            out[decoding] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _thresholds(folder: Path) -> dict | None:
    path = folder / "eval" / "dev.thresholds.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def run_row(folder: Path) -> dict | None:
    try:
        cfg = tomllib.loads((folder / "train_config.toml").read_text(encoding="utf-8"))
        log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text(encoding="utf-8").splitlines() if line]
    except FileNotFoundError:
        return None
    if not log:
        return None
    best = max(log, key=lambda e: e["dev_f1"] or 0.0)
    finished = (folder / "train_summary.json").is_file()
    return {"run": folder.name, "cfg": cfg, "best": best, "log": log, "epochs_run": len(log),
            "finished": finished, "evaluations": _dev_evaluations(folder), "thresholds": _thresholds(folder)}


def table(rows: list[dict], at_epoch: int | None = None, shown: tuple[str, ...] = SHOWN) -> str:
    evaluated = [d for d in DECODINGS if any(d in r.get("evaluations", {}) for r in rows)]
    tuned = any(r.get("thresholds") for r in rows)
    head = ["run", *shown, "epochs run", *([f"dev F1 at epoch {at_epoch}"] if at_epoch else []),
            "best epoch", "dev F1", *[f"dev F1 {d}" for d in evaluated], *LABELS,
            *(["+ min_score in sample", "left one document out", "PROJECT left out"] if tuned else [])]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        cfg, best = r["cfg"], r["best"]
        evaluations = r.get("evaluations", {})
        cells = [r["run"] + ("" if r["finished"] else " (stopped)")]
        cells += [str(cfg.get(k, "")) for k in shown]
        cells.append(str(r["epochs_run"]))
        if at_epoch:
            at = [e["dev_f1"] for e in r["log"] if e["epoch"] == at_epoch]
            cells.append(f"{at[0]:.3f}" if at and at[0] is not None else "–")
        cells += [str(best["epoch"]), f"{best['dev_f1']:.3f}"]
        cells += [f"{evaluations[d]['micro']['f1']:.3f}" if d in evaluations else "–" for d in evaluated]
        own = cfg.get("decoding")
        order = ([own] if own in evaluations else []) + [d for d in DECODINGS if d in evaluations]
        preferred = evaluations[order[0]] if order else None
        if preferred is not None:
            per_label = {label: v["f1"] for label, v in preferred["per_label"].items()}
        else:
            per_label = best.get("dev_per_label") or {}
        cells += [f"{per_label.get(label, 0):.3f}" for label in LABELS]
        if tuned:
            found = r.get("thresholds")
            left = (found or {}).get("left_out")
            cells += [f"{found['after']['micro']['f1']:.3f}" if found else "–",
                      f"{left['micro']['f1']:.3f}" if left else "–",
                      f"{left['per_label']['PROJECT']['f1']:.3f}" if left and "PROJECT" in left["per_label"] else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner experiments", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--at-epoch", type=int, default=None, help="add each run's dev F1 at this epoch")
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--marker", default=None, help="name of the table's markers in --readme")
    parser.add_argument("--shown", default=",".join(SHOWN),
                        help="comma-separated settings shown as columns (default: %(default)s)")
    args = parser.parse_args(argv)
    rows = [r for r in (run_row(f) for f in args.runs if f.is_dir()) if r]
    text = table(rows, args.at_epoch, tuple(k for k in args.shown.split(",") if k))
    print(text)
    if args.readme:
        content = args.readme.read_text(encoding="utf-8")
        begin, end = markers(args.marker)
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(content):
            print(f"{args.readme}: no experiment markers {begin}", file=sys.stderr)
            return 1
        args.readme.write_text(pattern.sub(lambda _: f"{begin}\n{text}\n{end}", content), encoding="utf-8")
    return 0
