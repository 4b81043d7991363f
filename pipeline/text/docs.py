"""spaCy ``Doc`` conventions shared by every component of the pipeline.

One token per character
    Every character of the normalized text is one token (whitespace included),
    so a character offset *is* a token index: ``doc[i]`` covers ``text[i]``.
    Chinese has no spaces to tokenize on, the model works on characters or on
    subword pieces with character offsets, and annotations are character spans;
    this convention makes every span representable without alignment loss.

Paragraphs
    ``doc.spans["paragraphs"]`` holds one span per paragraph; its ``label_`` is
    the paragraph's section (``review``, ``plan`` or ``other``).  Components
    that work per paragraph (the NER model, the rules) read them; a Doc without
    paragraphs is treated as one paragraph whose section is ``doc._.section``.

Raw offsets
    When a Doc was made from a raw file, ``doc.user_data["alignment"]`` holds
    two lists, raw start and raw end of each normalized character, and
    ``span._.raw_start`` / ``span._.raw_end`` map any span back into the raw
    file.  ``span._.score`` carries a model's confidence.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

PARAGRAPHS_KEY = "paragraphs"
ENTITIES_KEY = "entities"
ALIGNMENT_KEY = "alignment"


def _raw_start(span: Span) -> int | None:
    alignment = span.doc.user_data.get(ALIGNMENT_KEY)
    if alignment is None:
        return None
    return alignment[0][span.start_char]


def _raw_end(span: Span) -> int | None:
    alignment = span.doc.user_data.get(ALIGNMENT_KEY)
    if alignment is None:
        return None
    return alignment[1][span.end_char - 1]


def register_extensions() -> None:
    """Register the custom attributes once (idempotent)."""
    if not Doc.has_extension("section"):
        Doc.set_extension("section", default=None)
    if not Doc.has_extension("doc_id"):
        Doc.set_extension("doc_id", default=None)
    if not Span.has_extension("score"):
        Span.set_extension("score", default=None)
    if not Span.has_extension("raw_start"):
        Span.set_extension("raw_start", getter=_raw_start)
    if not Span.has_extension("raw_end"):
        Span.set_extension("raw_end", getter=_raw_end)


register_extensions()


def make_char_doc(vocab: Vocab, text: str) -> Doc:
    """A Doc with one token per character of ``text`` (``doc.text == text``)."""
    return Doc(vocab, words=list(text), spaces=[False] * len(text))


def paragraphs(doc: Doc) -> list[Span]:
    """The paragraph spans of ``doc``, or the whole Doc as one paragraph."""
    if PARAGRAPHS_KEY in doc.spans and len(doc.spans[PARAGRAPHS_KEY]):
        return list(doc.spans[PARAGRAPHS_KEY])
    return [Span(doc, 0, len(doc), label=doc._.section or "other")]


def set_paragraphs(doc: Doc, bounds: Iterable[tuple[int, int, str]]) -> None:
    """Store paragraphs given as (start_char, end_char, section) triples."""
    doc.spans[PARAGRAPHS_KEY] = [Span(doc, s, e, label=section) for s, e, section in bounds]


def set_alignment(doc: Doc, raw_starts: Sequence[int], raw_ends: Sequence[int]) -> None:
    """Attach the normalized->raw character alignment to ``doc``."""
    if len(raw_starts) != len(doc.text) or len(raw_ends) != len(doc.text):
        raise ValueError("alignment length must equal the text length")
    doc.user_data[ALIGNMENT_KEY] = (list(raw_starts), list(raw_ends))


def set_entities(doc: Doc, spans: Iterable[tuple[int, int, str, float | None]]) -> None:
    """Set ``doc.ents`` and the scored span group from (start, end, label, score)."""
    ents = []
    for start, end, label, score in spans:
        span = Span(doc, start, end, label=label)
        span._.score = score
        ents.append(span)
    doc.ents = ents
    doc.spans[ENTITIES_KEY] = ents
