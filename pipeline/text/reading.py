"""Read raw report files into text, detecting the encoding.

Reports arrive as UTF-8 (with or without BOM), GB18030/GBK, Big5 or UTF-16.
Only regular files are read (symbolic links followed): a FIFO, socket, device
or dangling symbolic link raises :class:`ReportReadError` ("not a regular file
(FIFO)") at once, without waiting on it. A file that is binary or cannot be
decoded raises :class:`ReportReadError` naming the file; nothing is ever
decoded into silent garbage.

A few invalid bytes are tolerated, as scraped files have them (a stray byte, a
last character cut in half): at most :data:`MAX_INVALID` invalid byte
sequences, and at most one per :data:`BYTES_PER_INVALID` bytes of the file (one
is always allowed), as long as the rest decodes. Each invalid sequence becomes
one U+FFFD, so the decoded text, the "raw text" whose character offsets the
pipeline reports, has one character where the bad bytes were and every offset
after it stays exact; :attr:`Decoded.invalid` holds their byte offsets in the
file. Beyond that the file is refused, naming the first invalid byte.

:func:`report_warnings` says what a reader of a decoded report should know:
its invalid bytes, and text with few Han characters (under
:data:`MIN_HAN_FRACTION` of its non-space characters: probably not a Chinese
report, processed anyway).
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.text.charsets import REPLACEMENT, rare_fraction

# Legacy encodings tried when a file is not UTF-8. GB18030 (a superset of GBK
# and GB2312) decodes most Big5 byte strings too, into rare characters, so
# every candidate that decodes is scored and the most "common" text wins.
_LEGACY = ("gb18030", "big5")

MAX_INVALID = 8
"""Invalid byte sequences a file may hold and still be read (each as one U+FFFD)."""
BYTES_PER_INVALID = 10_000
"""...and at most one per this many bytes of the file (at least one per file)."""
MIN_HAN_FRACTION = 0.3
"""Below this share of Han characters among its non-space characters a report is flagged."""

_BOMS = (  # (bytes, codec, encoding reported)
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


class ReportReadError(ValueError):
    """A report file could not be read as text."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Decoded:
    """A decoded report: its text, the encoding detected, and the byte offsets
    (in the file) of the invalid byte sequences read as one U+FFFD each."""

    text: str
    encoding: str
    invalid: tuple[int, ...] = ()


# ---------------------------------------------------------------- files


def file_kind(mode: int) -> str | None:
    """What a ``st_mode`` is when it is not a regular file (``None`` when it is)."""
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((kind for test, kind in kinds if test(mode)), "special file")


def _kind_reason(kind: str) -> str:
    return "is a directory, not a report file" if kind == "directory" else f"not a regular file ({kind})"


def not_regular_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a report file one can read (``None``: a regular file,
    symbolic links followed): ``"not a regular file (FIFO)"``, ``"not a regular
    file (dangling symbolic link)"``, ``"no such file"``, ..."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not a regular file (dangling symbolic link)" if os.path.islink(path) else "no such file"
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    kind = file_kind(mode)
    return None if kind is None else _kind_reason(kind)


def read_regular_file(path: str | os.PathLike[str], name: str | None = None
                      ) -> tuple[bytes, os.stat_result]:
    """The bytes and ``stat`` of a regular file; anything else raises
    :class:`ReportReadError` with the reason, at once: the file is opened
    non-blocking and checked with ``fstat`` before it is read, so a FIFO never
    blocks and a file swapped for one after a check is still refused."""
    name = str(path) if name is None else name
    reason = not_regular_reason(path)
    if reason is not None:
        raise ReportReadError(name, reason)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise ReportReadError(name, not_regular_reason(path) or f"cannot be read: {err.strerror}") from None
    try:
        st = os.fstat(fd)
        kind = file_kind(st.st_mode)
        if kind is not None:
            raise ReportReadError(name, _kind_reason(kind))
        with open(fd, "rb", closefd=False) as f:
            return f.read(), st
    except OSError as err:
        raise ReportReadError(name, f"cannot be read: {err.strerror}") from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- decoding


def invalid_allowed(size: int) -> int:
    """Invalid byte sequences a file of ``size`` bytes may hold: at most
    :data:`MAX_INVALID`, one per :data:`BYTES_PER_INVALID` bytes, at least one."""
    return min(MAX_INVALID, max(1, size // BYTES_PER_INVALID))


def _decode_lenient(data: bytes, codec: str, limit: int, base: int = 0) -> tuple[str, tuple[int, ...]]:
    """``data`` decoded with each invalid byte sequence read as one U+FFFD, and
    the sequences' offsets (plus ``base``); stops after ``limit + 1`` of them."""
    pieces: list[str] = []
    invalid: list[int] = []
    pos = 0
    while True:
        try:
            pieces.append(data[pos:].decode(codec))
            return "".join(pieces), tuple(invalid)
        except UnicodeDecodeError as err:
            pieces += [data[pos:pos + err.start].decode(codec), REPLACEMENT]
            invalid.append(base + pos + err.start)
            pos += err.end
            if len(invalid) > limit:
                return "".join(pieces), tuple(invalid)


def _tolerable(text: str, invalid: tuple[int, ...], limit: int) -> bool:
    """Few enough invalid sequences, and something else decoded."""
    return len(invalid) <= limit and (not invalid or bool(text.replace(REPLACEMENT, "").strip()))


def _too_many(invalid: tuple[int, ...], limit: int, codec: str) -> str:
    label = codec.upper()
    if len(invalid) > limit:
        return (f"more than {limit} invalid byte sequence{'s' if limit > 1 else ''} as {label}, "
                f"the first at byte {invalid[0]} (up to {MAX_INVALID}, and 1 per "
                f"{BYTES_PER_INVALID:,} bytes, are read as U+FFFD)")
    return f"invalid {label} at byte {invalid[0]}" if invalid else f"not {label} text"


def _bom_encoding(data: bytes) -> tuple[int, str, str] | None:
    for bom, codec, encoding in _BOMS:
        if data.startswith(bom):
            return len(bom), codec, encoding
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


def _best_legacy(data: bytes, limit: int | None) -> Decoded | None:
    """The legacy decoding that reads as the most common text (score under 0.5):
    strict when ``limit`` is ``None``, else with up to ``limit`` invalid sequences."""
    decoded = []
    for encoding in _LEGACY:
        if limit is None:
            try:
                text, invalid = data.decode(encoding), ()
            except UnicodeDecodeError:
                continue
        else:
            text, invalid = _decode_lenient(data, encoding, limit)
            if not _tolerable(text, invalid, limit):
                continue
        if _looks_like_text(text):
            decoded.append((rare_fraction(text), encoding, text, invalid))
    if decoded:
        score, encoding, text, invalid = min(decoded)
        if score < 0.5:
            return Decoded(text, encoding, invalid)
    return None


def decode_report(data: bytes, name: str = "<bytes>") -> Decoded:
    """Decode ``data`` (see the module's docstring for the encodings and the
    invalid bytes tolerated) or raise :class:`ReportReadError` naming ``name``."""
    limit = invalid_allowed(len(data))
    bom = _bom_encoding(data)
    if bom:
        skip, codec, encoding = bom
        text, invalid = _decode_lenient(data[skip:], codec, limit, base=skip)
        if not _tolerable(text, invalid, limit):
            raise ReportReadError(name, f"has a {encoding} byte-order mark but does not decode: "
                                        f"{_too_many(invalid, limit, codec)}")
        return Decoded(text.lstrip("\ufeff"), encoding, invalid)
    if b"\x00" in data:
        utf16 = _decode_utf16_without_bom(data)
        if utf16 is None:
            raise ReportReadError(name, "looks binary (contains NUL bytes), not a text report")
        return Decoded(*utf16)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _looks_like_text(text):
            return Decoded(text, "utf-8")
        raise ReportReadError(name, "looks binary (control characters), not a text report")
    legacy = _best_legacy(data, None)
    if legacy is not None:
        return legacy
    # A few invalid bytes: UTF-8 first (legacy text is never UTF-8 with only a
    # few bad bytes), then the legacy encodings.
    text, invalid = _decode_lenient(data, "utf-8", limit)
    if _tolerable(text, invalid, limit) and _looks_like_text(text):
        return Decoded(text, "utf-8", invalid)
    legacy = _best_legacy(data, limit)
    if legacy is not None:
        return legacy
    raise ReportReadError(name, "is not valid UTF-8, GB18030/GBK, Big5 or UTF-16 text "
                                f"(binary or corrupt?): {_too_many(invalid, limit, 'utf-8')}")


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data``; return ``(text, encoding)`` or raise :class:`ReportReadError`
    (:func:`decode_report` without the invalid bytes' offsets)."""
    decoded = decode_report(data, name)
    return decoded.text, decoded.encoding


# ---------------------------------------------------------------- what to know


def han_fraction(text: str) -> float | None:
    """The share of Han characters among the non-space characters (``None``: no such character)."""
    chars = [ord(ch) for ch in text if not ch.isspace()]
    if not chars:
        return None
    han = sum(1 for c in chars if any(lo <= c <= hi for lo, hi in _HAN_RANGES))
    return han / len(chars)


def report_warnings(decoded: Decoded) -> list[str]:
    """What a reader should know about a decoded report: the invalid byte
    sequences read as U+FFFD (with their byte offsets), and text with under
    :data:`MIN_HAN_FRACTION` Han characters (probably not a Chinese report)."""
    warnings = []
    if decoded.invalid:
        n = len(decoded.invalid)
        warnings.append(f"{n} invalid byte sequence{'s' if n > 1 else ''} ({decoded.encoding}) read as "
                        f"U+FFFD, at byte {', '.join(map(str, decoded.invalid))}")
    fraction = han_fraction(decoded.text)
    if fraction is not None and fraction < MIN_HAN_FRACTION:
        warnings.append(f"only {fraction:.0%} of its non-space characters are Han (under "
                        f"{MIN_HAN_FRACTION:.0%}): probably not a Chinese report; processed anyway")
    return warnings


def read_report_decoded(path: str | Path) -> Decoded:
    """Read a regular report file and decode it (raises :class:`ReportReadError`)."""
    data, _ = read_regular_file(path)
    return decode_report(data, str(path))


def read_report(path: str | Path) -> str:
    """Read a report file and return its text (encoding detected)."""
    return read_report_decoded(path).text


def read_report_with_encoding(path: str | Path) -> tuple[str, str]:
    """Read a report file; return ``(text, encoding)``."""
    decoded = read_report_decoded(path)
    return decoded.text, decoded.encoding


def text_files(paths: Iterable[str | os.PathLike[str]], what: str = "corpus") -> list[Path]:
    """The files of a text corpus: each path a file, or a folder whose ``*.txt`` files
    (recursively, sorted) it contributes. A missing path or a folder without ``*.txt``
    raises ``FileNotFoundError`` naming it as part of ``what``."""
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(entry.rglob("*.txt"))
            if not found:
                raise FileNotFoundError(f"{what} folder {entry} has no *.txt files")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        else:
            raise FileNotFoundError(f"{what} {entry} does not exist")
    return files
