"""Scores as plain-text tables (model and rule baseline side by side; F1 across
precisions) and the two output files, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from pipeline.annotation.scores import SCHEME, _label_order
from pipeline.files import write_atomic

BASELINE = "rule baseline"
"""The ``"system"`` of a result that scores only the rule baseline."""

METRICS: tuple[str, ...] = ("precision", "recall", "f1")

_NA = "n/a"
"""A system column that was not scored (the baseline on a benchmark's labels)."""


def _row(label: str, columns: Sequence[dict[str, Any] | str | None], support: int) -> str:
    cells = []
    for scores in columns:
        if scores is None or isinstance(scores, str):
            cells += [scores or "-"] * len(METRICS)
        else:
            cells += [f"{scores[m]:.3f}" for m in METRICS]
    return f"{label:<10}" + "".join(f"{c:>8}" for c in cells) + f"{support:>10}"


def format_table(result: dict[str, Any]) -> str:
    """The scores as a table: label, P, R, F1 for the system and (when it is a
    model) the rule baseline side by side (``n/a`` when it was not scored), and
    the gold support."""
    baseline = result.get("baseline")
    has_model = result.get("system") != BASELINE
    systems = [result] + ([baseline] if has_model and baseline is not None else [])
    names = ["model", BASELINE] if has_model else [BASELINE]
    na: list[str] = [_NA] if has_model and baseline is None else []
    width = 8 * len(METRICS)
    lines = [
        f"Scores: {SCHEME} ({result.get('records', '?')} records; "
        f"system: {result.get('system', '?')}"
        + (f", {result['dtype']}" if result.get("dtype") else "")
        + (f", {result['decoding']} decoding" if result.get("decoding") else "") + ")",
        " " * 10 + "".join(f"{n:>{width}}" for n in names),
        f"{'label':<10}" + "".join(f"{h:>8}" for _ in names for h in ("P", "R", "F1"))
        + f"{'support':>10}",
    ]
    labels = _label_order({label for s in systems for label in s["per_label"]})
    for label in labels:
        support = next(s["per_label"][label]["support"] for s in systems if label in s["per_label"])
        lines.append(_row(label, [s["per_label"].get(label) for s in systems] + na, support))
    for avg in ("micro", "macro"):
        lines.append(_row(avg, [s[avg] for s in systems] + na, result[avg]["support"]))
    return "\n".join(lines)


def format_f1_comparison(results: dict[str, dict[str, Any]], reference: str) -> str:
    """Per-label and micro/macro F1 of several runs of one model side by side
    (e.g. one per precision), each with its difference to ``reference`` in points."""
    ref = results[reference]
    names = list(results)
    labels = _label_order({label for r in results.values() for label in r["per_label"]})
    width = max(14, *(len(n) + 2 for n in names))
    lines = [f"F1, {SCHEME} ({ref.get('records', '?')} records; system: {ref.get('system', '?')}; "
             f"difference to {reference} in points)",
             f"{'label':<10}" + "".join(f"{n:>{width}}" for n in names) + f"{'support':>10}"]

    def cell(r: dict[str, Any], key: str) -> str:
        f1 = (r[key] if key in ("micro", "macro") else r["per_label"].get(key, {})).get("f1", 0.0)
        base = (ref[key] if key in ("micro", "macro") else ref["per_label"].get(key, {})).get("f1", 0.0)
        return f"{f1:.3f}" if r is ref else f"{f1:.3f} ({100 * (f1 - base):+.1f})"

    for key in labels + ["micro", "macro"]:
        support = ref[key]["support"] if key in ("micro", "macro") else ref["per_label"][key]["support"]
        lines.append(f"{key:<10}" + "".join(f"{cell(results[n], key):>{width}}" for n in names)
                     + f"{support:>10}")
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], result: dict[str, Any]) -> None:
    """Write the scores as indented JSON, atomically."""
    write_atomic(path, json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def write_errors(path: str | os.PathLike[str], found: Sequence[dict[str, Any]]) -> None:
    """Write errors as JSONL (one error a line), atomically."""
    write_atomic(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in found))
