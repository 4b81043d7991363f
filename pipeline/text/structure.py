"""Document structure: paragraphs, sentences and sections (review / plan / other).

A government work report reviews the past year (or five years) and then sets
out this year's targets and tasks.  Whether a quantity is a VALUE (achieved)
or a TARGET (planned) depends on which part it is in, so every paragraph gets
a section label:

- ``review``: past work (``2020年工作回顾``, ``过去五年``, ``一年来``)
- ``plan``: this year's or the next years' targets and tasks (``2021年主要任务``,
  ``主要预期目标``, ``今年工作安排``, ``今后五年``)
- ``other``: front matter, greetings, closing words, glossaries

Headings switch the section; cue phrases at the start of a paragraph switch
it too (reports without headings).  ``infer_section`` labels a lone paragraph
from its own wording, for annotation files that carry no section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.text.docs import PARAGRAPHS_KEY, set_paragraphs

SECTIONS: tuple[str, ...] = ("review", "plan", "other")
"""The sections of a report; also the allowed values of an annotation record's
``meta["section"]``."""

SENTENCE_ENDS = "。；！？;!?\n"  # full-width and ASCII forms (spec rule 6), and the newline
"""Characters that end a sentence; no span may contain one."""

# Closing quotes and brackets right after an end mark belong to the sentence they close.
SENTENCE_END = SENTENCE_ENDS.replace("\n", "")
_CLOSERS = "”’」』）)》"
_SENTENCE = re.compile(rf"[^{SENTENCE_END}\n]*(?:[{SENTENCE_END}]+[{_CLOSERS}]*|$)")
# Without the end marks: the runs between them (a carriage return ends one too,
# for text that was not normalized).
_SENTENCE_BODY = re.compile(rf"[^{SENTENCE_ENDS}\r]+")

LIST_JOINERS: tuple[str, ...] = ("、", "和", "及", "与", "以及")
"""Words that join the items of a list (A、B和C); with ``commas``, ，and , too."""


def is_list_join(gap: str, *, commas: bool = False) -> bool:
    """Whether the text ``gap`` between two items is exactly one list joiner."""
    return gap in LIST_JOINERS or (commas and gap in ("，", ","))

_NUMBERED = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|\ufffd?[（(])")
_TOP_LEVEL = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、)")

_REVIEW_HEADING = re.compile(r"回顾|过去[一五]年|过去的一年|发展成就|工作总结")
# "一、2021年工作", "一、关于2012年政府工作": the past year when it opens the report,
# this year after a review.
_BARE_YEAR_HEADING = re.compile(r"^[一二三四五六七八九十]+、(?:关于)?\d{4}年(?:度)?(?:的)?(?:政府)?工作$")
_PLAN_HEADING = re.compile(
    r"主要任务|重点工作|工作重点|发展思路|工作安排|目标任务|预期目标|总体要求|总体思路|工作建议|今后[一五]年|"
    r"指导原则和发展目标|发展目标和主要任务|奋斗目标|"
    r"\d{4}年(?:政府)?(?:的)?工作(?:的)?(?:总体要求|主要任务|安排|重点|部署|思路)|今年(?:的)?工作|"
    r"\d{4}年国民经济(?:和社会发展)?计划|主要指标|"
    # a five-year plan as a top-level heading: "二、关于“十五”计划" (not "“十三五”规划圆满收官")
    r"^[一二三四五六七八九十]+、(?:关于)?“[一二三四五六七八九十]+五”(?:计划|规划)(?:纲要)?$"
)
# Only as a top-level heading ("三、加强政府自身建设"): inside a review the
# same words head a subsection about last year's work.
_PLAN_TOP_HEADING = re.compile(
    r"政府自身建设|建设人民满意的|服务型政府|"
    # national reports: after the review, each top-level heading is a task of the
    # year ahead, opening with its verb ("二、继续扩大内需…", "三、采取有力措施…")
    r"^[一二三四五六七八九十]+、(?:继续|促进|大力|推进|认真|千方百计|实施|贯彻|努力|加快|加强|深化|坚持|"
    r"进一步|积极|切实|全面|着力|扎实|稳步|巩固|提高|扩大|做好|采取|保证|坚定|统筹|推动|发展|"
    r"搞好|抓好|改善|完善|健全|建设|保持)"
)
# The achievements of the past year as a top-level heading of old national reports
# ("一、国民经济在调整、改革、整顿、提高中取得了新的进展").
_REVIEW_TOP_HEADING = re.compile(r"取得了?[^，。]{0,8}(?:进展|成就|成绩|胜利)")
_OTHER_HEADING = re.compile(r"名词解释|名词注释|注释$|说明$")

_REVIEW_CUE = re.compile(r"^(?:一年来|过去一年|在?过去的一年|过去五年|五年来|回顾过去|刚刚过去的|\d{4}年(?:是|，|,)?[^。]{0,20}(?:一年来|极不平凡))")
_PLAN_CUE = re.compile(
    r"^(?:\d{4}年|今年|明年)?[^。]{0,20}(?:主要预期目标|总体要求|工作的总体要求)|^今后五年|"
    r"^(?:\d{4}年|今年)(?:，|,)?[^。]{0,10}重点(?:抓好|做好)|^(?:\d{4}年|今年)(?:政府)?工作(?:总)?的指导思想"
)

# Cue words inside a sentence (annotation spec, "Labels").
_PLAN_WORDS = re.compile(r"力争|确保|计划|预期|目标|将|到20\d\d年|今年|明年|今后|要|推动|加快|实施|推进")
_REVIEW_WORDS = re.compile(r"完成了|实现了|累计|同比|比上年|一年来|过去|五年来|去年|上年|达到了|取得|建成|完成|实现|新增")


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the normalized text: ``text[start:end]`` and its section."""

    index: int
    start: int
    end: int
    text: str
    section: str

    def sentences(self) -> list[tuple[int, int]]:
        """Sentence offsets relative to the paragraph."""
        return split_sentences(self.text)


def split_sentences(text: str, *, marks: bool = True) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets; never splits inside numbers like ``6.5%``.

    With ``marks`` (the default) a sentence keeps its end marks and the closing
    quotes after them, and leading whitespace is skipped; without, sentences are
    the non-empty runs between end characters, as they are (the rule baseline's
    clauses)."""
    if not marks:
        return [m.span() for m in _SENTENCE_BODY.finditer(text)]
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    return spans


def _is_heading(line: str) -> bool:
    if _TOP_LEVEL.match(line):
        return True
    return len(line) <= 40 and not re.search(r"[。；;！!？?]$", line)


def heading_section(line: str, current: str = "other") -> str | None:
    """The section a heading line opens, or None if it is no section heading."""
    if not _is_heading(line):
        return None
    if _BARE_YEAR_HEADING.match(line):
        return "review" if current == "other" else "plan"
    if _OTHER_HEADING.search(line):
        return "other"
    if _REVIEW_HEADING.search(line):
        return "review"
    if _PLAN_HEADING.search(line) and (_TOP_LEVEL.match(line) or len(line) <= 30):
        return "plan"
    if _TOP_LEVEL.match(line) and _REVIEW_TOP_HEADING.search(line) and current == "other":
        return "review"
    if _TOP_LEVEL.match(line) and _PLAN_TOP_HEADING.search(line) and current != "other":
        return "plan"
    return None


def cue_section(line: str) -> str | None:
    """The section a paragraph's opening words announce, or None."""
    if _REVIEW_CUE.search(line):
        return "review"
    if _PLAN_CUE.search(line):
        return "plan"
    return None


def split_paragraphs(text: str) -> list[Paragraph]:
    """Paragraphs (non-empty lines) of normalized text, each with its section."""
    paragraphs = []
    section = "other"
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        stripped = line.strip()
        if stripped:
            heading = heading_section(stripped, section)
            cue = None if heading else cue_section(stripped)
            if heading:
                section = heading
            elif cue == "plan" or (cue and section == "other"):
                section = cue  # the plan part opens, or a report without headings
            # Otherwise a cue labels its own paragraph only ("过去一年，…" in a plan).
            paragraphs.append(Paragraph(len(paragraphs), start, end, line, cue or section))
        start = end + 1
    return paragraphs


def infer_section(text: str) -> str:
    """Section of a lone paragraph from its own wording (no document context)."""
    label = heading_section(text.strip()) or cue_section(text.strip())
    if label:
        return label
    plan = len(_PLAN_WORDS.findall(text))
    review = len(_REVIEW_WORDS.findall(text))
    if plan == review == 0:
        return "other"
    return "plan" if plan > review else "review"


@Language.factory("govreport_structure", default_config={})
def make_structure(nlp: Language, name: str) -> "StructureComponent":
    return StructureComponent()


class StructureComponent:
    """Sets ``doc.spans["paragraphs"]`` (label = section) and sentence starts."""

    def __call__(self, doc: Doc) -> Doc:
        if PARAGRAPHS_KEY in doc.spans and len(doc.spans[PARAGRAPHS_KEY]):
            return doc  # paragraphs given by the caller (annotation records) are kept
        paragraphs = split_paragraphs(doc.text)
        set_paragraphs(doc, [(p.start, p.end, p.section) for p in paragraphs])
        # One token per character: sentence starts by character offset.
        sent_start = numpy.full((len(doc), 1), -1, dtype="int32").astype("uint64")
        for p in paragraphs:
            for s, _ in p.sentences():
                sent_start[p.start + s, 0] = 1
        if len(doc):
            sent_start[0, 0] = 1
            doc.from_array([SENT_START], sent_start)
        return doc

    def to_disk(self, path, exclude=tuple()) -> None:  # stateless
        pass

    def from_disk(self, path, exclude=tuple()) -> "StructureComponent":
        return self
