"""Normalize damaged report text, keeping an alignment back to the raw text.

``normalize(raw)`` runs a sequence of switchable steps over the raw text of a
report.  Each step proposes *edits* (replace ``text[start:end]`` by a new
string); the edits are applied by one mechanism (:class:`_AlignedText`) that
keeps, for every character of the current text, the range of raw characters
it came from.  Whatever a step removes or repairs (boilerplate lines, ads,
mojibake, glosses, ...) is recorded as a :class:`Change` with its raw offsets,
never dropped silently.

Steps, in order (each can be switched off in :class:`NormalizeConfig`):

``escapes``      literal ``\\r\\n``/``\\n``/``\\t`` text, ``&nbsp;`` and other HTML
                 entities, zero-width characters, runs of U+FFFD
``mojibake``     GBK bytes decoded one byte off (``?。ㄒ唬┙y籌`` -> ``\ufffd（一）統籌``)
``pinyin``       pinyin glosses after characters (``區(qū)`` -> ``區``)
``ads``          injected advertisement tokens (``manbetx客户端``, traditional ``manbetx客戶端``)
``boilerplate``  site header/footer lines, navigation word lists
``footnotes``    inline footnote markers (``“三个圆满收官”[1]``)
``subscripts``   subscripts scraped onto lines of their own, joined back
                 (``细颗粒物（PM`` / ``2.5`` / ``）浓度`` -> ``细颗粒物（PM2.5）浓度``)
``stray_marks``  ``?`` left where a space or a character was lost
``t2s``          OpenCC traditional -> simplified
``whitespace``   line endings, blank lines, spaces between Chinese characters

Clean simplified text comes out unchanged except for whitespace.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Callable, Iterable, Iterator

from pipeline.text import mojibake
from pipeline.text.charsets import REPLACEMENT



# --------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizeConfig:
    """Which steps run. All on by default."""

    escapes: bool = True
    mojibake: bool = True
    pinyin: bool = True
    ads: bool = True
    boilerplate: bool = True
    footnotes: bool = True
    subscripts: bool = True
    stray_marks: bool = True
    t2s: bool = True
    whitespace: bool = True

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NormalizeConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown normalization steps: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class Change:
    """A recorded edit: ``raw[raw_start:raw_end]`` became ``after`` by ``step``."""

    step: str
    raw_start: int
    raw_end: int
    before: str
    after: str


@dataclass
class Normalized:
    """Normalized text with its alignment to the raw text.

    ``raw_starts[i]``/``raw_ends[i]``: the raw range that normalized character
    ``i`` came from.  Characters produced by one edit share the edit's range.
    """

    raw: str
    text: str
    raw_starts: list[int]
    raw_ends: list[int]
    changes: list[Change] = field(default_factory=list)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw offsets of the normalized span ``text[start:end]`` (end exclusive)."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) out of range for text of length {len(self.text)}")
        return self.raw_starts[start], self.raw_ends[end - 1]

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "alignment": [[s, e] for s, e in zip(self.raw_starts, self.raw_ends)],
            "changes": [asdict(c) for c in self.changes],
        }


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    new: str
    record: bool = True  # recorded as a Change
    charwise: bool = False  # len(new) == end - start and char i maps to char i


# --------------------------------------------------------------------------
# The alignment mechanism
# --------------------------------------------------------------------------


class _AlignedText:
    def __init__(self, raw: str):
        self.raw = raw
        self.text = raw
        self.starts = list(range(len(raw)))
        self.ends = list(range(1, len(raw) + 1))
        self.changes: list[Change] = []

    def apply(self, step: str, edits: Iterable[_Edit]) -> None:
        edits = sorted(edits, key=lambda e: (e.start, e.end))
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for edit in edits:
            if edit.start < pos:
                raise AssertionError(f"overlapping edits in step {step!r}")
            parts.append(self.text[pos : edit.start])
            starts.extend(self.starts[pos : edit.start])
            ends.extend(self.ends[pos : edit.start])
            if edit.end > edit.start:
                raw_start, raw_end = self.starts[edit.start], self.ends[edit.end - 1]
            else:  # pure insertion: anchor on the next character (or the end)
                raw_start = raw_end = self.starts[edit.start] if edit.start < len(self.text) else len(self.raw)
            if edit.charwise:
                assert len(edit.new) == edit.end - edit.start
                starts.extend(self.starts[edit.start : edit.end])
                ends.extend(self.ends[edit.start : edit.end])
            else:
                starts.extend([raw_start] * len(edit.new))
                ends.extend([raw_end] * len(edit.new))
            parts.append(edit.new)
            if edit.record:
                self.changes.append(Change(step, raw_start, raw_end, self.raw[raw_start:raw_end], edit.new))
            pos = edit.end
        parts.append(self.text[pos:])
        starts.extend(self.starts[pos:])
        ends.extend(self.ends[pos:])
        self.text = "".join(parts)
        self.starts, self.ends = starts, ends


def _regex_edits(pattern: re.Pattern, text: str, repl: str | Callable[[re.Match], str | None], **kw) -> list[_Edit]:
    edits = []
    for m in pattern.finditer(text):
        new = repl if isinstance(repl, str) else repl(m)
        if new is not None and new != m.group():
            edits.append(_Edit(m.start(), m.end(), new, **kw))
    return edits


# --------------------------------------------------------------------------
# Step: escapes
# --------------------------------------------------------------------------

_LITERAL_ESCAPES = re.compile(r"\\r\\n|\\n|\\r|\\t")
_ENTITY = re.compile(r"&(?:nbsp|ensp|emsp|amp|lt|gt|quot|apos|ldquo|rdquo|lsquo|rsquo|middot|hellip|mdash|#\d{2,6}|#x[0-9a-fA-F]{2,5});")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
_REPLACEMENT_RUN = re.compile(REPLACEMENT + "{2,}")


def _escapes(text: str) -> list[_Edit]:
    edits = _regex_edits(_LITERAL_ESCAPES, text, lambda m: "\t" if m.group() == "\\t" else "\n")
    edits += _regex_edits(_ENTITY, text, lambda m: html.unescape(m.group()).replace("\xa0", " "))
    edits += _regex_edits(_ZERO_WIDTH, text, "")
    edits += _regex_edits(_REPLACEMENT_RUN, text, REPLACEMENT)
    return edits


# --------------------------------------------------------------------------
# Step: mojibake (GBK bytes decoded one byte off): pipeline/text/mojibake.py
# --------------------------------------------------------------------------


def _mojibake(text: str) -> list[_Edit]:
    return [_Edit(start, end, new) for start, end, new in mojibake.repairs(text)]


# --------------------------------------------------------------------------
# Step: pinyin glosses
# --------------------------------------------------------------------------

_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_SYLLABLE = rf"[a-zü]*[{_TONE_VOWELS}][a-zü]*"
_PINYIN_GLOSS = re.compile(rf"(?<=[\u3400-\u9fff\uf900-\ufaff])\({_SYLLABLE}\)")
# A gloss whose "(" was swallowed together with the glossed character's
# byte by a misaligned decoder: ``?shù)`` -> one lost character.
_BROKEN_GLOSS = re.compile(rf"\?{_SYLLABLE}\)")


def _pinyin(text: str) -> list[_Edit]:
    return _regex_edits(_PINYIN_GLOSS, text, "") + _regex_edits(_BROKEN_GLOSS, text, REPLACEMENT)


# --------------------------------------------------------------------------
# Step: injected ads
# --------------------------------------------------------------------------

# Gambling-site spam injected into scraped pages; the brand names never occur
# in government reports. Matched on the text's simplified view, so that the
# traditional forms go too (``manbetx客戶端``, ``萬博體育官網``).
_AD = re.compile(
    r"(?:manbetx|betway|bet365|188bet|188金宝博|万博体育|亚博体育|开云体育|乐鱼体育|澳门新葡京|威尼斯人)"
    r"(?:客户端|官网|官方网站|下载|登录|app|APP)?",
    re.IGNORECASE,
)


def _simplified_view(text: str) -> str:
    """``text`` with each character converted on its own by OpenCC ``t2s`` (one
    whose conversion is not a single character stays): character for character,
    so a match in the view is a match at the same offsets in ``text``."""
    converted = {ch: to_simplified(ch) for ch in set(text)}
    return text.translate({ord(a): b for a, b in converted.items() if a != b and len(b) == 1})


def _ads(text: str) -> list[_Edit]:
    """Every ad, in simplified or traditional characters, removed."""
    return [_Edit(m.start(), m.end(), "") for m in _AD.finditer(_simplified_view(text))]


# --------------------------------------------------------------------------
# Step: boilerplate lines
# --------------------------------------------------------------------------

_META_KEYS = (
    "时间|作者|来源|阅读|评论|分享|字号|发文单位|发文时间|来源URL|来源网址|责任编辑|编辑|主办|承办|"
    "网站标识码|浏览次数|点击数|打印|关闭|内容摘要|正文|发布时间|发布日期|信息来源"
)
_META_LINE = re.compile(rf"^[ \t]*[（(]?(?:{_META_KEYS})[ \t]*[：:].*$|^[ \t]*(?:相关解读|Public domain|true|false)[ \t]*$")
_COUNT_LINE = re.compile(r"^[ \t]*\d{1,9}[ \t]*$")  # the number after "阅读：" / "评论："
_TITLE_KEY = re.compile(r"^[ \t]*(?:标题|報告人|报告人)[：:]")
_NAV_LINE_MAX = 15
_NAV_BLOCK_MIN = 4
_SENTENCE_MARKS = re.compile(r"[，。；！？,;!?]")


def _lines(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for m in re.finditer(r"\n", text):
        yield start, m.start()
        start = m.end()
    yield start, len(text)


def _boilerplate(text: str) -> list[_Edit]:
    lines = list(_lines(text))
    edits: list[_Edit] = []
    removed = set()

    for k, (s, e) in enumerate(lines):
        line = text[s:e]
        if _META_LINE.match(line) or (_COUNT_LINE.match(line) and k - 1 in removed):
            removed.add(k)
        elif m := _TITLE_KEY.match(line):
            edits.append(_Edit(s, s + m.end(), ""))

    # A trailing block of short lines without sentence punctuation is a
    # navigation word list (搜索热词, 相关链接 ...), not report text.
    block = []
    for k in range(len(lines) - 1, -1, -1):
        s, e = lines[k]
        line = text[s:e].strip()
        if not line or k in removed:
            continue
        if len(line) <= _NAV_LINE_MAX and not _SENTENCE_MARKS.search(line):
            block.append(k)
        else:
            break
    if len(block) >= _NAV_BLOCK_MIN:
        removed.update(block)

    for k in sorted(removed):
        s, e = lines[k]
        if e > s:
            edits.append(_Edit(s, e, ""))
    return edits


# --------------------------------------------------------------------------
# Steps: inline footnote markers; subscripts on lines of their own
# --------------------------------------------------------------------------

_FOOTNOTE = re.compile(r"(?<=[^\s\[\]])\[\d{1,3}\]")
# <sub> of the national reports' pages, scraped onto lines of their own ("细颗粒物（PM\n2.5\n）浓度",
# "广义货币M\n2\n增长"): a short number alone between a line ending in a capital and the sentence's rest.
_SUBSCRIPT = re.compile(r"(?<=[A-Z])([ \t]*\n[ \t]*)\d{1,2}(?:\.\d)?([ \t]*\n[ \t]*)(?=[）)、，和\u3400-\u9fff])")


def _footnotes(text: str) -> list[_Edit]:
    return _regex_edits(_FOOTNOTE, text, "")


def _subscripts(text: str) -> list[_Edit]:  # the two line breaks go; the digits keep their own raw offsets
    return [_Edit(*m.span(g), "") for m in _SUBSCRIPT.finditer(text) for g in (1, 2)]


# --------------------------------------------------------------------------
# Step: stray question marks
# --------------------------------------------------------------------------

_STRAY = re.compile(r"\?+")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _stray_replacement(m: re.Match) -> str | None:
    text = m.string
    before = text[m.start() - 1] if m.start() > 0 else "\n"
    after = text[m.end()] if m.end() < len(text) else "\n"
    if before.isascii() and after.isascii() and not (before.isspace() or after.isspace()):
        return None  # ASCII context: a real question mark (URLs, code)
    if len(m.group()) == 1 and _is_cjk(before) and (_is_cjk(after) or not after.isspace()):
        return REPLACEMENT  # one lost character
    return " "  # lost spaces (a byte of an ideographic space) or a lost bullet


def _stray_marks(text: str) -> list[_Edit]:
    return _regex_edits(_STRAY, text, _stray_replacement)


# --------------------------------------------------------------------------
# Step: traditional -> simplified
# --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """OpenCC ``t2s`` conversion."""
    return _opencc().convert(text)


def _t2s(text: str) -> list[_Edit]:
    edits = []
    for s, e in _lines(text):
        line = text[s:e]
        converted = to_simplified(line)
        if converted == line:
            continue
        if len(converted) == len(line):
            # Character-wise: keep one alignment entry per character.
            for i, (a, b) in enumerate(zip(line, converted)):
                if a != b:
                    edits.append(_Edit(s + i, s + i + 1, b, record=False, charwise=True))
        else:
            edits.append(_Edit(s, e, converted, record=False))
    return edits


# --------------------------------------------------------------------------
# Step: whitespace
# --------------------------------------------------------------------------

_HSPACE = "[ \t\u00a0\u3000\u2002\u2003\u2009\u202f\f\v]"
_LINE_EDGE = re.compile(rf"^{_HSPACE}+|{_HSPACE}+$", re.MULTILINE)
_INNER_SPACE = re.compile(rf"{_HSPACE}+")
_BLANK_LINES = re.compile(r"\n{2,}")


def _is_wide(ch: str) -> bool:
    return not ch.isascii()


def _inner_space(m: re.Match) -> str:
    text = m.string
    before, after = text[m.start() - 1], text[m.end()] if m.end() < len(text) else ""
    if _is_wide(before) or _is_wide(after):
        return ""
    return " "


def _whitespace_edges(text: str) -> list[_Edit]:
    text_edits = _regex_edits(re.compile(r"\r\n?"), text, "\n", record=False)
    return text_edits


def _whitespace(text: str) -> list[_Edit]:
    return _regex_edits(_LINE_EDGE, text, "", record=False) + [
        e for e in _regex_edits(_INNER_SPACE, text, _inner_space, record=False) if not _touches_edge(text, e)
    ]


def _touches_edge(text: str, edit: _Edit) -> bool:
    before = text[edit.start - 1] if edit.start > 0 else "\n"
    after = text[edit.end] if edit.end < len(text) else "\n"
    return before == "\n" or after == "\n"


def _blank_lines(text: str) -> list[_Edit]:
    edits = _regex_edits(_BLANK_LINES, text, "\n", record=False)
    lead = len(text) - len(text.lstrip("\n"))
    if lead:
        edits = [e for e in edits if e.start >= lead] + [_Edit(0, lead, "", record=False)]
    trail = len(text) - len(text.rstrip("\n"))
    if trail and len(text) - trail >= lead:
        edits = [e for e in edits if e.end <= len(text) - trail] + [_Edit(len(text) - trail, len(text), "", record=False)]
    return edits


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

_STEPS: list[tuple[str, Callable[[str], list[_Edit]]]] = [
    ("escapes", _escapes),
    ("mojibake", _mojibake),
    ("pinyin", _pinyin),
    ("ads", _ads),
    ("boilerplate", _boilerplate),
    ("footnotes", _footnotes),
    ("subscripts", _subscripts),
    ("stray_marks", _stray_marks),
    ("t2s", _t2s),
    ("whitespace", _whitespace),
]


def normalize(raw: str, config: NormalizeConfig | None = None) -> Normalized:
    """Normalize ``raw`` report text; see the module docstring for the steps."""
    config = config or NormalizeConfig()
    doc = _AlignedText(raw)
    doc.apply("newlines", _whitespace_edges(doc.text))
    for name, step in _STEPS:
        if getattr(config, name):
            doc.apply(name, step(doc.text))
    if config.whitespace:
        doc.apply("whitespace", _blank_lines(doc.text))
    return Normalized(raw=raw, text=doc.text, raw_starts=doc.starts, raw_ends=doc.ends, changes=doc.changes)
