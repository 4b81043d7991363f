"""Text -> model pieces, character spans <-> piece tags, and sliding windows.

Everything that maps between characters and model pieces lives here, and both
training (:mod:`pipeline.model.training`) and inference (:mod:`pipeline.model.ner`) go
through the same three functions:

:func:`encode`
    A text as model pieces, each with the character range it covers. Two
    schemes: ``"subword"`` uses the fast tokenizer's own pieces and offsets;
    ``"char"`` gives every character its own piece (the vocabulary's piece for
    that character, or ``▁`` + character, else the unknown piece), so every
    character boundary is representable. Piece ranges are trimmed of
    whitespace and never overlap; a piece that covers no character (a lone
    ``▁``, a space) gets an empty range and is neither labelled nor decoded.

:func:`spans_to_tags`
    Gold character spans as IOB2 tags on pieces. A span whose boundary falls
    inside a piece is snapped outward to whole pieces, and counted in
    :class:`AlignmentStats`.

:func:`tags_to_spans`
    Predicted piece tags (with probabilities) back to scored character spans,
    with the usual fix-up for an ``I-`` that does not continue an entity.

:func:`windows` and :func:`owner_window` cut a long piece sequence into
overlapping windows and pick, for each piece, the window where it is most
central, so every piece is predicted exactly once; :func:`sentence_windows`
(with :func:`sentence_starts`) cuts it at sentence ends instead, without overlap.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

from pipeline.annotation.style import trim_span
from pipeline.text.structure import SENTENCE_ENDS

Scheme = Literal["subword", "char"]
SCHEMES: tuple[str, ...] = ("subword", "char")

OUTSIDE = "O"


def bio_labels(labels: Iterable[str]) -> list[str]:
    """``["O", "B-X", "I-X", ...]`` for entity labels ``X``: the model's label list."""
    out = [OUTSIDE]
    for label in labels:
        out += [f"B-{label}", f"I-{label}"]
    return out


@dataclass
class Encoding:
    """Model pieces of one text: vocabulary ids and trimmed character ranges."""

    ids: list[int]
    offsets: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class AlignmentStats:
    """Counts of gold boundaries that fall inside a piece (and were snapped outward)."""

    boundaries: int = 0
    inside_piece: int = 0
    spans: int = 0
    conflicts: int = 0  # spans dropped because snapping made them share a piece
    examples: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, other: AlignmentStats) -> None:
        self.boundaries += other.boundaries
        self.inside_piece += other.inside_piece
        self.spans += other.spans
        self.conflicts += other.conflicts
        self.examples.extend(other.examples[: max(0, 20 - len(self.examples))])

    @property
    def inside_fraction(self) -> float:
        return self.inside_piece / self.boundaries if self.boundaries else 0.0




class CharVocab:
    """One vocabulary id per character: the piece ``c`` or ``▁c``, else the same
    for ``c`` through the tokenizer's normalizer (full-width ``，`` -> ``,``),
    else the unknown id. Whitespace maps to ``▁`` (unknown id when absent).
    Lookups are cached; the mapping depends only on the tokenizer.
    """

    def __init__(self, tokenizer) -> None:
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        self.unk_id: int = tokenizer.unk_token_id
        self.space_id: int = self.vocab.get("▁", self.unk_id)
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.normalizer = getattr(backend, "normalizer", None)
        self._cache: dict[str, int] = {}

    def __call__(self, ch: str) -> int:
        idx = self._cache.get(ch)
        if idx is None:
            idx = self.space_id if ch.isspace() else self._lookup(ch)
            self._cache[ch] = idx
        return idx

    def _lookup(self, ch: str) -> int:
        candidates = [ch]
        if self.normalizer is not None:
            normalized = self.normalizer.normalize_str(ch).strip()
            if normalized and normalized != ch:
                candidates.append(normalized)
        for text in candidates:
            for piece in (text, "▁" + text):
                if piece in self.vocab:
                    return self.vocab[piece]
        return self.unk_id


def _strip_space(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else (start, start)


def encode(text: str, tokenizer, scheme: Scheme, char_vocab: CharVocab | None = None) -> Encoding:
    """``text`` as pieces (no special tokens) with trimmed, non-overlapping char ranges."""
    if scheme == "char":
        lookup = char_vocab or CharVocab(tokenizer)
        offsets = [(i, i + 1) if not ch.isspace() else (i, i) for i, ch in enumerate(text)]
        return Encoding([lookup(ch) for ch in text], offsets)
    if scheme != "subword":
        raise ValueError(f"unknown scheme {scheme!r} (expected one of {', '.join(SCHEMES)})")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    # Overlapping ranges go to the later piece: a lone "▁" is reported as
    # covering the first character of the piece after it.
    offsets: list[tuple[int, int]] = []
    next_start = len(text)
    for start, end in reversed(enc["offset_mapping"]):
        end = min(end, next_start)
        start, end = _strip_space(text, min(start, end), end)
        offsets.append((start, end))
        if start < end:
            next_start = start
    return Encoding(list(enc["input_ids"]), offsets[::-1])


def spans_to_tags(
    offsets: Sequence[tuple[int, int]], spans: Iterable[tuple[int, int, str]]
) -> tuple[list[str | None], AlignmentStats]:
    """IOB2 tags on pieces for gold character spans ``(start, end, label)``.

    A piece belongs to a span when it shares a character with it, so a span
    whose boundary falls inside a piece grows to whole pieces (counted in the
    returned stats). Empty pieces get ``None`` (not trained on). When snapping
    makes two spans claim one piece the earlier span keeps it and the later is
    dropped (counted as a conflict).
    """
    tags: list[str | None] = [OUTSIDE if s < e else None for s, e in offsets]
    stats = AlignmentStats()
    for start, end, label in sorted(spans):
        stats.spans += 1
        covered = [i for i, (s, e) in enumerate(offsets) if s < e and s < end and start < e]
        for boundary in (start, end):
            stats.boundaries += 1
            if any(s < boundary < e for s, e in offsets):
                stats.inside_piece += 1
                stats.examples.append((label, start, end))
        if not covered or any(tags[i] != OUTSIDE for i in covered):
            stats.conflicts += 1
            continue
        tags[covered[0]] = f"B-{label}"
        for i in covered[1:]:
            tags[i] = f"I-{label}"
    return tags, stats


def tags_to_spans(
    offsets: Sequence[tuple[int, int]],
    tags: Sequence[str],
    scores: Sequence[float],
    text: str | None = None,
) -> list[tuple[int, int, str, float]]:
    """Scored character spans ``(start, end, label, score)`` from piece tags.

    Pieces with an empty range are skipped (they neither start nor end an
    entity). An ``I-X`` that does not continue an ``X`` entity starts one
    (IOB2 fix-up). The score is the mean of the pieces' probabilities. With
    ``text``, the span's edges are trimmed to the annotation boundary rules
    (whitespace, punctuation: :func:`pipeline.annotation.style.trim_span`).
    """
    out: list[tuple[int, int, str, float]] = []
    cur: list | None = None  # [start, end, label, [scores]]

    def close() -> None:
        if cur is not None:
            start, end = cur[0], cur[1]
            if text is not None:
                start, end = trim_span(text, start, end)
            if start < end:
                out.append((start, end, cur[2], sum(cur[3]) / len(cur[3])))

    for (s, e), tag, score in zip(offsets, tags, scores):
        if s >= e:
            continue
        prefix, _, label = tag.partition("-")
        if prefix == "I" and cur is not None and cur[2] == label:
            cur[1] = e
            cur[3].append(score)
        elif prefix in ("B", "I"):
            close()
            cur = [s, e, label, [score]]
        else:
            close()
            cur = None
    close()
    return out


def windows(n: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Windows ``[start, end)`` of at most ``size`` pieces over ``n`` pieces,
    consecutive windows sharing ``stride`` pieces; the last one ends at ``n``."""
    if size < 1:
        raise ValueError(f"window size must be positive, got {size}")
    if not 0 <= stride < size:
        raise ValueError(f"stride must be in [0, {size}), got {stride}")
    if n <= size:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, n)
        out.append((max(0, end - size), end))
        if end == n:
            return out
        start += size - stride


def sentence_starts(text: str, offsets: Sequence[tuple[int, int]]) -> list[int]:
    """The indices of the pieces (character ranges ``offsets`` into ``text``) that
    start a sentence: a sentence end (``SENTENCE_ENDS``) closes the text before
    them, ending the previous piece or between the two."""
    starts: list[int] = []
    end = 0  # the end of the text covered by the pieces so far
    for i, (s, e) in enumerate(offsets):
        if s == e:  # an empty piece (e.g. a lone metaspace) starts nothing
            continue
        if i and any(ch in SENTENCE_ENDS for ch in text[max(end - 1, 0):s]):
            starts.append(i)
        end = max(end, e)
    return starts


def sentence_windows(n: int, size: int, stride: int, starts: Sequence[int]) -> list[tuple[int, int]]:
    """Windows ``[start, end)`` of at most ``size`` pieces over ``n`` pieces that
    hold whole sentences (``starts``: the pieces that begin one) and do not
    overlap: each window takes as many sentences as fit. A sentence longer than
    ``size`` gets the overlapping windows of :func:`windows` (``stride`` pieces
    shared). Fewer positions than :func:`windows`, which recomputes ``stride``
    pieces per window, and no window cuts a sentence that fits in one."""
    if n <= size:
        return [(0, n)]
    bounds = sorted({c for c in starts if 0 < c < n} | {n})
    out: list[tuple[int, int]] = []
    start = 0
    while start < n:
        later = bounds[bisect.bisect_right(bounds, start):]
        fitting = bisect.bisect_right(later, start + size)
        if fitting:
            end = later[fitting - 1]
            out.append((start, end))
        else:  # the sentence at start is longer than a window
            end = later[0]
            out += [(start + a, start + b) for a, b in windows(end - start, size, stride)]
        start = end
    return out


def owner_window(n: int, spans: Sequence[tuple[int, int]]) -> list[int]:
    """For each of ``n`` pieces, the index of the window where it is most central
    (largest distance to the window's nearer edge; earlier window on ties)."""
    owner = [-1] * n
    best = [-1] * n
    for w, (start, end) in enumerate(spans):
        for i in range(start, end):
            centrality = min(i - start, end - 1 - i)
            if centrality > best[i]:
                best[i], owner[i] = centrality, w
    if -1 in owner:
        raise ValueError("windows do not cover every piece")
    return owner
