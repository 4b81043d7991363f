"""Statistics of the gold corpus and inter-annotator agreement, as Markdown.

``scripts/annotate.py stats`` writes both tables into ``annotations/README.md``
between the ``STATISTICS`` markers, so the numbers there always come from the
files, never from typing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Sequence

from pipeline.annotation.jsonl import read_records, read_splits
from pipeline.annotation.schema import LABELS, AnnotationError, Record
from pipeline.annotation.scores import score

BEGIN = "<!-- STATISTICS:BEGIN — filled in by a script; do not edit by hand -->"
END = "<!-- STATISTICS:END -->"


def read_gold(folder: str | Path) -> list[Record]:
    """All records of the ``*.jsonl`` files in ``folder``, in file order.

    Raises :class:`AnnotationError` naming the folder when it is not a folder or
    holds no ``*.jsonl`` file, or naming the file that cannot be read, holds no
    record or has an invalid one."""
    if not Path(folder).is_dir():
        raise AnnotationError("not a folder", str(folder))
    paths = sorted(Path(folder).glob("*.jsonl"))
    if not paths:
        raise AnnotationError("no *.jsonl files", str(folder))
    records: list[Record] = []
    for path in paths:
        records += read_records(path, require_records=True)
    return records


def split_table(records: Sequence[Record], splits: dict[str, list[str]]) -> str:
    """Documents, paragraphs, characters and entities per label for each split."""
    owner = {doc_id: name for name, ids in splits.items() for doc_id in ids}
    unsplit = sorted({r.doc_id for r in records} - set(owner))
    names = list(splits) + (["(no split)"] if unsplit else [])
    rows = []
    totals: Counter = Counter()
    for name in names:
        part = [r for r in records if owner.get(r.doc_id, "(no split)") == name]
        labels = Counter(s.label for r in part for s in r.spans)
        row = Counter(documents=len({r.doc_id for r in part}), paragraphs=len(part),
                      characters=sum(len(r.text) for r in part), **labels)
        row["entities"] = sum(labels.values())
        totals.update(row)
        rows.append((name, row))
    rows.append(("**total**", totals))
    cols = ["documents", "paragraphs", "characters", *LABELS, "entities"]
    lines = ["| split | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in rows:
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:,}" for c in cols) + " |")
    share = {name: row["entities"] / max(1, totals["entities"]) for name, row in rows[:-1]}
    lines.append("")
    lines.append("Share of entities: " + ", ".join(f"{n} {s:.0%}" for n, s in share.items()) + ".")
    return "\n".join(lines)


def document_table(records: Sequence[Record], splits: dict[str, list[str]]) -> str:
    """Entities per label for each document."""
    owner = {doc_id: name for name, ids in splits.items() for doc_id in ids}
    docs = list(dict.fromkeys(r.doc_id for r in records))
    lines = ["| document | split | paragraphs | " + " | ".join(LABELS) + " |", "|---" * (len(LABELS) + 3) + "|"]
    for doc in docs:
        part = [r for r in records if r.doc_id == doc]
        labels = Counter(s.label for r in part for s in r.spans)
        lines.append(f"| {doc} | {owner.get(doc, '-')} | {len(part)} | " + " | ".join(str(labels[l]) for l in LABELS) + " |")
    return "\n".join(lines)


def agreement_table(first: Sequence[Record], second: Sequence[Record]) -> str:
    """Strict span F1 between two independent passes over the same paragraphs."""
    result = score(first, second)
    docs = len({r.doc_id for r in first})
    lines = [
        f"{len(first)} paragraphs from {docs} documents, annotated twice independently; "
        "strict span match (same start, end and label), first pass as reference.",
        "",
        "| label | first pass | second pass | agreed | F1 |",
        "|---|---|---|---|---|",
    ]
    for label in LABELS:
        m = result["per_label"].get(label)
        n_first = sum(1 for r in first for s in r.spans if s.label == label)
        n_second = sum(1 for r in second for s in r.spans if s.label == label)
        agreed = round(m["recall"] * n_first) if m else 0
        lines.append(f"| {label} | {n_first} | {n_second} | {agreed} | {m['f1'] if m else 0:.3f} |")
    micro = result["micro"]
    lines.append(f"| **micro** | {sum(len(r.spans) for r in first)} | {sum(len(r.spans) for r in second)} | "
                 f"{round(micro['recall'] * sum(len(r.spans) for r in first))} | {micro['f1']:.3f} |")
    return "\n".join(lines)


def _agreement(first: Sequence[Record], second: Sequence[Record],
               first_file: str | Path, second_file: str | Path) -> str:
    """:func:`agreement_table` of two passes read from these files; an
    :class:`AnnotationError` naming them when they are not over the same paragraphs."""
    try:
        return agreement_table(first, second)
    except ValueError as e:
        raise AnnotationError(f"cannot be compared with {second_file}: {e}", str(first_file)) from e


AgreementRound = tuple[str, "str | Path", "str | Path"]
"""``(name, first pass JSONL, second pass JSONL)`` of one agreement study."""


def statistics_markdown(gold_folder: str | Path, splits_file: str | Path,
                        rounds: Sequence[AgreementRound] = (), *,
                        skip_missing_rounds: bool = True) -> str:
    """The per-split and per-document tables, then one agreement table per round
    and, with several rounds, one over all of them. A round whose two files do not
    both exist is left out, or, with ``skip_missing_rounds=False``, is an error.

    Raises :class:`AnnotationError` naming the file (or folder) and the reason
    for gold, splits or round files that cannot be read, hold no record or are
    invalid."""
    records = read_gold(gold_folder)
    splits = read_splits(splits_file)
    parts = ["### Per split", "", split_table(records, splits), "", "### Per document", "",
             document_table(records, splits)]
    found = [(name, a, b, read_records(a, require_records=True), read_records(b, require_records=True))
             for name, a, b in rounds
             if not skip_missing_rounds or (Path(a).exists() and Path(b).exists())]
    if found:
        parts += ["", "### Agreement"]
    for name, a, b, first, second in found:
        parts += ["", f"**{name}.** " + _agreement(first, second, a, b)]
    if len(found) > 1:
        first = [r for *_, passed, _ in found for r in passed]
        second = [r for *_, passed in found for r in passed]
        parts += ["", "**All rounds.** " + agreement_table(first, second)]
    return "\n".join(parts)


def write_into_readme(readme: str | Path, markdown: str) -> None:
    """Replace the text between the STATISTICS markers of ``readme``.

    Raises ``OSError`` when the file cannot be read or written and ``ValueError``
    (naming the file) when it is not UTF-8 or has no markers."""
    path = Path(readme)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8") from None
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{path}: no {BEGIN!r} ... {END!r} markers")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{markdown}\n{END}", text), encoding="utf-8")
