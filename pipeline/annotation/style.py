"""The project's span-boundary rules (spec rules 4 and 6): which characters may
open or close a span, and :func:`trim_span` that shrinks a prediction until
its edges obey them. Benchmarks annotated by other conventions skip them
(``style_rules=False`` in :mod:`pipeline.annotation.validate`).
"""

from __future__ import annotations

import unicodedata

# Quotation and title marks that may stay inside a name (spec rule 4), as
# opening -> closing pairs. ASCII quotes pair with themselves.
NAME_MARKS: dict[str, str] = {
    "“": "”", "‘": "’", "《": "》", "「": "」", "『": "』", "〈": "〉",
    '"': '"', "'": "'",
}
_CLOSING_MARKS: dict[str, str] = {close: open_ for open_, close in NAME_MARKS.items()}

# Symbols that are part of a quantity and may end a span (增长6%, 12℃, 5㎡).
# Characters of Unicode category N* (², ³, ½) are never punctuation anyway.
QUANTITY_END_SYMBOLS = "%％‰‱℃℉°′″"
# Symbols that may begin a span when a digit follows (¥100, -3.2%, +5%).
QUANTITY_START_SYMBOLS = "¥￥$＄€£+＋-－−±"


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _partner_index(text: str, i: int) -> int | None:
    """Index of the closing mark matching the opening mark ``text[i]`` (nesting aware)."""
    open_, close = text[i], NAME_MARKS[text[i]]
    depth = 0
    for j in range(i + 1, len(text)):
        ch = text[j]
        if ch == close and depth == 0:
            return j
        if open_ != close:
            if ch == open_:
                depth += 1
            elif ch == close:
                depth -= 1
    return None


def _opener_index(text: str, j: int) -> int | None:
    """Index of the opening mark matching the closing mark ``text[j]`` (nesting aware)."""
    close = text[j]
    open_ = _CLOSING_MARKS[close]
    depth = 0
    for i in range(j - 1, -1, -1):
        ch = text[i]
        if ch == open_ and depth == 0:
            return i
        if open_ != close:
            if ch == close:
                depth += 1
            elif ch == open_:
                depth -= 1
    return None


# A bracketed part of a name at its end: 中南高科·清苑新经济产业园（二期）.
_NAME_BRACKETS = {"）": "（", ")": "("}


def _ends_with_name_bracket(surface: str) -> bool:
    """The span ends with a closing bracket whose opener is inside it, after the name's start."""
    close = surface[-1]
    if close not in _NAME_BRACKETS:
        return False
    opener = surface.rfind(_NAME_BRACKETS[close], 0, len(surface) - 1)
    return opener > 0 and close not in surface[opener + 1 : -1]


def _edge_fault(surface: str) -> tuple[str, str] | None:
    """Why a span with this text has a bad first or last character, or ``None``.

    Whitespace is never allowed at either end. Punctuation and symbols (Unicode
    P* and S*) are allowed only as: an opening quotation/title mark whose
    partner closes inside the span, or a closing mark whose partner opens
    inside it, when the span is not one name wrapped whole in those marks
    (“护旗”系列专项行动 is fine, “清河行动” is not); a closing bracket at the
    end whose opener follows the name's first character (产业园（二期）); a quantity symbol at the end
    (%, ‰, ℃, °, CJK unit squares such as ㎡); a currency or sign symbol at the
    start when a digit follows (¥100, -3.2%).
    """
    if not surface:
        return "both", "empty span"
    first, last = surface[0], surface[-1]
    if first.isspace():
        return "start", f"span begins with whitespace {first!r}"
    if last.isspace():
        return "end", f"span ends with whitespace {last!r}"
    wrapped = (
        first in NAME_MARKS and len(surface) > 1 and _partner_index(surface, 0) == len(surface) - 1
    )
    if wrapped:
        return "both", f"span is wrapped whole in {first}{last}: marks around a name stay outside"
    if _is_punct(first):
        ok = (
            (first in NAME_MARKS and _partner_index(surface, 0) is not None)
            or (first in QUANTITY_START_SYMBOLS and len(surface) > 1 and surface[1].isdigit())
        )
        if not ok:
            return "start", f"span begins with punctuation {first!r}"
    if _is_punct(last) and len(surface) > 1:
        ok = (
            (last in _CLOSING_MARKS and _opener_index(surface, len(surface) - 1) is not None)
            or _ends_with_name_bracket(surface)
            or last in QUANTITY_END_SYMBOLS
            or 0x3380 <= ord(last) <= 0x33FF  # CJK compatibility unit squares: ㎡ ㎞ ㎏ …
        )
        if not ok:
            return "end", f"span ends with punctuation {last!r}"
    return None


def boundary_problem(surface: str) -> str | None:
    """Why a span with this text has a bad first or last character, or ``None``
    (the rules are in :func:`_edge_fault`)."""
    fault = _edge_fault(surface)
    return None if fault is None else fault[1]


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``text[start:end]`` until its edges obey the boundary rules
    (whitespace, punctuation, marks wrapping a whole name); may return an
    empty span (``start == end``). Used to clean model predictions."""
    while start < end:
        fault = _edge_fault(text[start:end])
        if fault is None:
            break
        side = fault[0]
        if side in ("start", "both"):
            start += 1
        if side in ("end", "both") and end > start:
            end -= 1
    return start, max(start, end)
