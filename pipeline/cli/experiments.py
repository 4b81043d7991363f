"""Experiment log: one row per training run, from the files each run wrote.

    python scripts/experiments.py runs/*/ [--at-epoch 6] [--readme models/README.md]
    govreport-ner experiments runs/*/ ...          # the same

Reads ``train_config.toml``, ``train_summary.json`` and ``train_log.jsonl`` of
each run folder and prints a Markdown table (the settings in :data:`SHOWN`,
best dev F1 and its epoch, per-label dev F1 at that epoch, and with
``--at-epoch N`` the dev F1 of every run at epoch N, for comparing short
ablations with longer runs); with ``--readme`` the table replaces the text
between the EXPERIMENTS markers of that file.
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
            "finished": finished}


def table(rows: list[dict], at_epoch: int | None = None) -> str:
    labels = ("PROJECT", "METRIC", "TARGET", "VALUE")
    head = ["run", *SHOWN, "epochs run", *([f"dev F1 at epoch {at_epoch}"] if at_epoch else []),
            "best epoch", "dev F1", *labels]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        cfg, best = r["cfg"], r["best"]
        cells = [r["run"] + ("" if r["finished"] else " (stopped)")]
        cells += [str(cfg.get(k, "")) for k in SHOWN]
        cells.append(str(r["epochs_run"]))
        if at_epoch:
            at = [e["dev_f1"] for e in r["log"] if e["epoch"] == at_epoch]
            cells.append(f"{at[0]:.3f}" if at and at[0] is not None else "–")
        cells += [str(best["epoch"]), f"{best['dev_f1']:.3f}"]
        cells += [f"{(best.get('dev_per_label') or {}).get(l, 0):.3f}" for l in labels]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govreport-ner experiments", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--at-epoch", type=int, default=None, help="add each run's dev F1 at this epoch")
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args(argv)
    rows = [r for r in (run_row(f) for f in args.runs if f.is_dir()) if r]
    text = table(rows, args.at_epoch)
    print(text)
    if args.readme:
        content = args.readme.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(content):
            print(f"{args.readme}: no experiment markers", file=sys.stderr)
            return 1
        args.readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", content), encoding="utf-8")
    return 0
