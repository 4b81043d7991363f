"""Read raw report files into text, detecting the encoding.

Reports arrive as UTF-8 (with or without BOM), GB18030/GBK, Big5 or UTF-16.
A file that is binary or cannot be decoded raises :class:`ReportReadError`
naming the file; nothing is ever decoded into silent garbage.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.text.charsets import rare_fraction

# Legacy encodings tried when a file is not UTF-8. GB18030 (a superset of GBK
# and GB2312) decodes most Big5 byte strings too, into rare characters, so
# every candidate that decodes is scored and the most "common" text wins.
_LEGACY = ("gb18030", "big5")


class ReportReadError(ValueError):
    """A report file could not be read as text."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without BOM: the decoding (LE or BE) that reads as common text."""
    if len(data) % 2:
        return None
    best = None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            score = rare_fraction(text)
            if score < 0.5 and (best is None or score < best[0]):
                best = (score, text, encoding)
    return None if best is None else (best[1], best[2])


def _looks_like_text(text: str) -> bool:
    """Reject decodings full of control characters or unassigned code points."""
    if not text:
        return True
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or 0xE000 <= ord(ch) <= 0xF8FF)
    return bad / len(text) < 0.01


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data``; return ``(text, encoding)`` or raise :class:`ReportReadError`."""
    encoding = _bom_encoding(data)
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            raise ReportReadError(name, f"has a {encoding} byte-order mark but does not decode: {err.reason}") from None
        return text.lstrip("\ufeff"), encoding
    if b"\x00" in data:
        decoded = _decode_utf16_without_bom(data)
        if decoded is None:
            raise ReportReadError(name, "looks binary (contains NUL bytes), not a text report")
        return decoded
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _looks_like_text(text):
            return text, "utf-8"
        raise ReportReadError(name, "looks binary (control characters), not a text report")
    decoded = []
    for encoding in _LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            decoded.append((rare_fraction(text), encoding, text))
    if decoded:
        score, encoding, text = min(decoded)
        if score < 0.5:
            return text, encoding
    raise ReportReadError(name, "is not valid UTF-8, GB18030/GBK, Big5 or UTF-16 text (binary or corrupt?)")


def read_report(path: str | Path) -> str:
    """Read a report file and return its text (encoding detected)."""
    return read_report_with_encoding(path)[0]


def read_report_with_encoding(path: str | Path) -> tuple[str, str]:
    """Read a report file; return ``(text, encoding)``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ReportReadError(path, "is a directory, not a report file") from None
    except OSError as err:
        raise ReportReadError(path, f"cannot be read: {err.strerror}") from None
    return decode_bytes(data, str(path))
