"""Step ``mojibake`` of :mod:`pipeline.text.normalize`: GBK bytes decoded one byte off.

``?。ㄒ唬┙y籌`` -> ``\ufffd（一）統籌``: :func:`repairs` finds each misaligned run and the text
that replaces it (re-decoding the run's bytes at the right offset where a cheap decoding
exists, else U+FFFD); the normalizer applies them as edits, so the alignment stays its own.
"""

from __future__ import annotations

import re

from pipeline.text.charsets import REPLACEMENT, is_report_char, unusual_count

# In a misaligned run, a GBK pair decoded as a full-width punctuation mark was
# later narrowed to ASCII by the web page; map it back before re-encoding.
_NARROWED = {"!": "！", "(": "（", ")": "）", ",": "，", ":": "：", ";": "；", "?": "？"}
_MAX_RUN = 40


def _gbk_bytes(ch: str) -> bytes | None:
    if ch == "€":  # byte 0x80 in Windows code page 936, not in Python's gbk
        return b"\x80"
    try:
        return ch.encode("gbk")
    except UnicodeEncodeError:
        return None


# Costs for the re-decoding search: a common character is free, a rare one
# costs 1, a byte that cannot be placed (half of a character the damaging
# decoder dropped) costs a little more than a rare character.
_RARE_COST = 1.0
_SKIP_COST = 1.2
_ASCII_COST = 0.5


def _decode_lost_bytes(data: bytes) -> tuple[float, str]:
    """Cheapest GBK reading of ``data`` where bytes may have been lost.

    Dynamic programming over byte positions: decode a double-byte pair, an
    ASCII byte, or skip one byte (a character whose other half was lost,
    shown as one U+FFFD per lost stretch).  Returns (cost, text).
    """
    n = len(data)
    best: list[tuple[float, str] | None] = [None] * (n + 1)
    best[0] = (0.0, "")
    for i in range(n):
        if best[i] is None:
            continue
        cost, text = best[i]
        options = []
        if data[i] < 0x80:
            options.append((i + 1, _ASCII_COST, chr(data[i])))
        elif i + 1 < n:
            try:
                ch = data[i : i + 2].decode("gbk")
            except UnicodeDecodeError:
                ch = None
            if ch is not None and len(ch) == 1:
                options.append((i + 2, 0.0 if is_report_char(ch) else _RARE_COST, ch))
        skip = "" if text.endswith(REPLACEMENT) else REPLACEMENT
        options.append((i + 1, _SKIP_COST if skip else 0.6, skip))
        for j, step_cost, emitted in options:
            candidate = (cost + step_cost, text + emitted)
            if best[j] is None or candidate[0] < best[j][0]:
                best[j] = candidate
    return best[n]


def _run_body(text: str, start: int) -> tuple[list[bytes], int]:
    """Bytes of the candidate damaged run starting at ``text[start]``.

    The run continues over double-byte GBK characters and narrowed punctuation
    and ends after the first single-byte character that can be a GBK trail
    byte (where the misaligned decoder fell back into step).
    """
    chunks: list[bytes] = []
    i = start
    while i < len(text) and len(chunks) < _MAX_RUN:
        ch = text[i]
        if ch == "?":
            break
        if ch in _NARROWED and i + 1 < len(text) and not text[i + 1].isascii():
            chunks.append(_NARROWED[ch].encode("gbk"))
        else:
            data = _gbk_bytes(ch)
            if data is None or ch.isspace():
                break
            if len(data) == 1:
                if 0x40 <= data[0] <= 0xFE and chunks:
                    chunks.append(data)
                    i += 1
                break
            chunks.append(data)
        i += 1
    return chunks, i


def _repair_run(text: str, lost: int, start: int) -> tuple[int, str] | None:
    """Best repair of the run after ``lost`` question marks; (end, new text) or None.

    The damaged run is re-encoded to the GBK bytes it was decoded from and
    re-decoded in step; of all run lengths, the one whose repair removes the
    most rare characters wins.  A repair is accepted only when the result is
    ordinary text and clearly better than the damaged run.
    """
    chunks, _ = _run_body(text, start)
    best: tuple[float, int, str] | None = None
    for n in range(2, len(chunks) + 1):
        damage = unusual_count(text[start : start + n])
        # The run's first byte is the orphaned half of a lost character.
        cost, repaired = _decode_lost_bytes(b"".join(chunks[:n])[1:])
        readable = len(repaired.replace(REPLACEMENT, ""))
        gain = damage - cost
        odd = sum(1 for ch in repaired if ch != REPLACEMENT and not is_report_char(ch))
        if odd == 0 and (gain >= 2 or (gain >= 1 and cost == 0)) and gain >= damage / 2 and cost <= 1 + readable / 5 and (best is None or gain >= best[0]):
            best = (gain, start + n, repaired.lstrip(REPLACEMENT))
    if best is None:
        return None
    end = best[1]
    if end < len(text) and text[end] == "€":
        end += 1  # a stray single byte (0x80 "€") where the decoder fell back into step
    return end, REPLACEMENT * lost + best[2]


_LOST_MARKS = re.compile(r"\?+")


def _unrepairable_end(text: str, start: int) -> int | None:
    """End of a damaged run that could not be re-decoded, or None if the text is fine.

    The run is garbage when it holds at least two characters that reports
    never use; it is then replaced by one U+FFFD up to its last such character
    rather than left as mojibake or guessed.
    """
    _, end = _run_body(text, start)
    unusual = [i for i in range(start, end) if not is_report_char(text[i])]
    if len(unusual) < 2:
        return None
    return unusual[-1] + 1


def repairs(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, new)``: each misaligned run of ``text`` and what replaces it."""
    edits = []
    pos = 0
    for m in _LOST_MARKS.finditer(text):
        if m.start() < pos:
            continue
        repair = _repair_run(text, len(m.group()), m.end())
        if repair is not None:
            end, new = repair
            # Garbage left between the repaired part and the end of the run.
            _, body_end = _run_body(text, m.end())
            tail = [i for i in range(end, body_end) if not is_report_char(text[i])]
            if tail:
                end, new = tail[-1] + 1, new + REPLACEMENT
        elif (end := _unrepairable_end(text, m.end())) is not None:
            new = REPLACEMENT
        else:
            continue
        edits.append((m.start(), end, new))
        pos = end
    return edits
