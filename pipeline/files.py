"""Files every layer writes: atomic replacement and spreadsheet-friendly CSV.

:func:`write_atomic` writes through a temporary file in the same folder and
``os.replace``, so a reader (or a run killed half-way) sees the old file or the
complete new one, never a part. :func:`bom_csv` is the CSV text of the runner's
``entities.csv`` and the ``targets.csv`` table: UTF-8 with a BOM so that
spreadsheet programs read the Chinese text, ``\n`` line ends.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so the file is either the old one or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def bom_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with ``header`` then ``rows``, a UTF-8 BOM first and ``\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()
