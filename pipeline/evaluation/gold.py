"""Gold records fit for scoring: read from files, kept to one split, and refused
when nothing would be scored or a record id is given twice.

Every refusal is an :class:`~pipeline.annotation.schema.AnnotationError`, one line
naming the file (the data file, or the splits file for a split) and the reason,
so that ``govreport-ner evaluate`` stops before any model is loaded instead of
printing a table of zeros or scores that count a paragraph twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from pipeline.annotation.jsonl import read_records
from pipeline.annotation.schema import AnnotationError, Record


def read_gold_files(paths: Sequence[str | os.PathLike[str]]) -> list[Record]:
    """The records of every file, in order, not validated.

    Raises :class:`AnnotationError` for a file that cannot be read, has a
    malformed line or holds no record, and for a record id given twice (in one
    file or two): with a different text the pair would score offsets into two
    texts, with the same text its entities would be counted twice.
    """
    records: list[Record] = []
    seen: dict[str, tuple[str, str]] = {}  # record id -> (file, text)
    for path in paths:
        for record in read_records(path, validate=False, require_records=True):
            if record.id in seen:
                first, text = seen[record.id]
                why = ("its entities would be counted twice" if text == record.text
                       else "with a different text")
                raise AnnotationError(f"record id is also in {first}, {why}", str(path), None, record.id)
            seen[record.id] = (str(path), record.text)
            records.append(record)
    return records


def split_records(records: Sequence[Record], splits: Mapping[str, Sequence[str]], split: str,
                  splits_file: str | os.PathLike[str], source: str) -> tuple[list[Record], list[str]]:
    """The records of the documents of ``split``, and the documents of the split
    that no record has (in the splits file's order).

    Raises :class:`AnnotationError` naming ``splits_file`` when the split is not
    in it, lists no document, or none of its documents is in the records
    (``source`` names where they came from).
    """
    if split not in splits:
        raise AnnotationError(f"no split {split!r} (splits: {', '.join(splits) or 'none'})",
                              str(splits_file))
    docs = list(splits[split])
    if not docs:
        raise AnnotationError(f"split {split!r} lists no documents", str(splits_file))
    wanted = set(docs)
    kept = [r for r in records if r.doc_id in wanted]
    if not kept:
        raise AnnotationError(f"split {split!r}: none of its documents ({len(docs)}) is in {source}",
                              str(splits_file))
    present = {r.doc_id for r in kept}
    return kept, [d for d in docs if d not in present]
