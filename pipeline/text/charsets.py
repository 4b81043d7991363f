"""Character-frequency knowledge shared by encoding detection and mojibake repair.

"Common" characters are the first-level (frequent) hanzi of GB2312 and Big5,
plus ASCII and the punctuation of ordinary Chinese text.  Garbled text (a file
decoded with the wrong codec, GBK bytes read one byte off) is dominated by
rare hanzi, bopomofo, kana, box drawing and other symbols; real report text is
dominated by common characters, simplified or traditional.
"""

from __future__ import annotations

from functools import lru_cache

REPLACEMENT = "\ufffd"  # U+FFFD: where a character was lost or could not be decoded
COMMON_PUNCTUATION = set("，。、；：？！“”‘’（）《》〈〉「」『』【】—…·％　－～〔〕•・")


@lru_cache(maxsize=65536)
def is_common(ch: str) -> bool:
    """True for ASCII, everyday punctuation and first-level GB2312/Big5 hanzi."""
    if ch.isascii() or ch in COMMON_PUNCTUATION:
        return True
    try:
        gb = ch.encode("gb2312")
        if len(gb) == 2 and 0xB0 <= gb[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        big5 = ch.encode("big5")
        if len(big5) == 2 and 0xA4 <= big5[0] <= 0xC6:
            return True
    except UnicodeEncodeError:
        pass
    return False


def rare_count(text: str) -> int:
    """Number of characters in ``text`` that are not common (whitespace aside)."""
    return sum(1 for ch in text if not ch.isspace() and not is_common(ch))


def rare_fraction(text: str) -> float:
    """Fraction of the non-whitespace characters of ``text`` that are rare."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    return rare_count(text) / len(chars)


@lru_cache(maxsize=1)
def _report_chars() -> frozenset[str]:
    from importlib.resources import files

    text = files("pipeline").joinpath("data/report_chars.txt").read_text(encoding="utf-8")
    return frozenset(text.replace("\n", ""))


def is_report_char(ch: str) -> bool:
    """True for characters that ordinary report text uses (see scripts/build_char_table.py)."""
    return ch.isascii() or ch in COMMON_PUNCTUATION or ch in _report_chars()


def unusual_count(text: str) -> int:
    """Number of non-whitespace characters of ``text`` that reports do not use."""
    return sum(1 for ch in text if not ch.isspace() and not is_report_char(ch))
