"""Build pipeline/data/report_chars.txt: the characters of ordinary report text.

Mojibake repair needs to tell real report text from garbled text; garbled GBK
text is made of characters that government reports never use.  The table
holds every character seen at least MIN_COUNT times in the normalized seed
reports (mojibake repair off, so damaged runs do not count), in simplified and
traditional form.  Re-run after adding reports:

    python scripts/build_char_table.py seeds/*.txt     # or: govreport-ner char-table seeds/*.txt
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import opencc

from pipeline.text.normalize import NormalizeConfig, normalize
from pipeline.text.reading import read_report

MIN_COUNT = 3
OUT = Path(__file__).resolve().parents[1] / "data" / "report_chars.txt"


def main(paths: list[str] | None = None) -> int:
    """Rebuild the table from the report files ``paths``."""
    paths = list(sys.argv[1:] if paths is None else paths)
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if paths else 2
    config = NormalizeConfig(mojibake=False, stray_marks=False)
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(normalize(read_report(path), config).text)
    chars = {ch for ch, n in counts.items() if n >= MIN_COUNT and not ch.isascii() and not ch.isspace()}
    s2t = opencc.OpenCC("s2t")
    chars |= {t for ch in list(chars) for t in s2t.convert(ch)}
    chars.discard("\ufffd")
    text = "".join(sorted(chars))
    OUT.write_text("\n".join(text[i : i + 80] for i in range(0, len(text), 80)) + "\n", encoding="utf-8")
    print(f"{len(chars)} characters -> {OUT}")
    return 0
