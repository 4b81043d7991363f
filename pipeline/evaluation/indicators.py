"""How well METRICs are matched to canonical indicators, on labelled gold mentions.

A labels file (``annotations/indicators/metric_keys.jsonl``) holds gold METRIC
mentions with the indicator ``key`` an annotator gave them (``null``: none of the
table's). :func:`evaluate_matcher` scores a matcher on them: per way of matching
(``exact``, ``alias``, ``embedding``), how many mentions it matched and the
precision of those matches; over all, precision, recall (of the mentions that
have a key) and F1 of the keys given. :func:`sweep_thresholds` scores the
embedding threshold on a grid, so it is chosen on one split (dev) and reported
on another (test).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.annotation.scores import prf
from pipeline.tables.indicators import IndicatorMatch, IndicatorMatcher

__all__ = ["Mention", "read_mentions", "evaluate_matcher", "sweep_thresholds", "best_threshold",
           "markdown_table"]


@dataclass(frozen=True)
class Mention:
    id: str
    text: str
    split: str
    key: str | None


def read_mentions(path: str | Path) -> list[Mention]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Mention(d["id"], d["text"], d["split"], d["key"]))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{n}: not a labelled mention ({err})") from err
    return out


def _score(mentions: Sequence[Mention], matches: Sequence[IndicatorMatch]) -> dict[str, Any]:
    by_how: dict[str, dict[str, int]] = {}
    for mention, m in zip(mentions, matches):
        if m.how == "none":
            continue
        row = by_how.setdefault(m.how, {"matched": 0, "correct": 0})
        row["matched"] += 1
        row["correct"] += m.key == mention.key
    for row in by_how.values():
        row["precision"] = round(row["correct"] / row["matched"], 4) if row["matched"] else 0.0
    correct = sum(m.key == x.key for x, m in zip(mentions, matches) if m.key is not None)
    given = sum(m.key is not None for m in matches)
    keyed = sum(x.key is not None for x in mentions)
    return {"mentions": len(mentions), "with_key": keyed, "by_how": by_how,
            **prf(correct, given, keyed), "correct": correct, "given": given}


def evaluate_matcher(mentions: Sequence[Mention], matcher: IndicatorMatcher) -> dict[str, Any]:
    return _score(mentions, matcher.match([m.text for m in mentions]))


def sweep_thresholds(mentions: Sequence[Mention], matcher: IndicatorMatcher,
                     thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """The scores at each embedding threshold (one embedding pass)."""
    texts = [m.text for m in mentions]
    looked = [matcher.table.lookup(t) for t in texts]
    rest = [t for t, m in zip(texts, looked) if m.how == "none"]
    nearest = dict(zip(rest, matcher.nearest(rest))) if rest else {}
    out = []
    for th in thresholds:
        matches = [matcher.embedding_match(nearest[t], th) if t in nearest else m for t, m in zip(texts, looked)]
        out.append({"threshold": th, **_score(mentions, matches)})
    return out


def best_threshold(sweep: Sequence[dict[str, Any]], min_precision: float) -> float | None:
    """The lowest threshold whose embedding matches reach ``min_precision`` (with at
    least one match at or above it), else ``None`` (no embedding match is good enough)."""
    ok = [row["threshold"] for row in sweep
          if row["by_how"].get("embedding", {}).get("matched", 0) > 0
          and row["by_how"]["embedding"]["precision"] >= min_precision]
    return min(ok) if ok else None


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    """One row per split: mentions, per-way matches and precision, overall P/R/F1."""
    lines = ["| split | mentions | with a key | exact (precision) | alias (precision) | embedding (precision) "
             "| none | P | R | F1 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for split, r in results.items():
        cells = []
        for how in ("exact", "alias", "embedding"):
            row = r["by_how"].get(how)
            cells.append(f"{row['matched']} ({row['precision']:.3f})" if row else "0")
        none = r["mentions"] - sum(v["matched"] for v in r["by_how"].values())
        lines.append(f"| {split} | {r['mentions']} | {r['with_key']} | " + " | ".join(cells)
                     + f" | {none} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |")
    return "\n".join(lines) + "\n"
