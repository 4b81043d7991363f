"""From piece probabilities to well-formed IOB2 tags, and spans to whole words.

:func:`decode` picks one tag per piece of a paragraph from the model's label
probabilities (rows of a ``(pieces, tags)`` array):

``argmax``
    Each piece its most probable tag, on its own. Ill-formed sequences (``I-X``
    after ``O`` or after another label) are then repaired by
    :func:`pipeline.model.tokenization.tags_to_spans`, which turns them into
    fragments (``飞`` + ``园区``).
``viterbi``
    The most probable tag sequence among the well-formed ones: the product of
    the pieces' probabilities is maximized under the IOB2 constraints (``I-X``
    only after ``B-X`` or ``I-X``, never first). No transition scores are
    learned; the constraint alone decides between a fragment and a whole name.
``crf``
    The same Viterbi search with learned transition scores added to the
    log-probabilities (``transitions[i, j]``: tag ``j`` after tag ``i``), those
    of a model trained with a CRF layer (:mod:`pipeline.model.crf`).

Pieces that cover no character (``mask`` false) are not decoded: they get
``O`` and do not interrupt an entity (``tags_to_spans`` skips them too).

:func:`snap_to_words` widens a character span so that it neither starts nor
ends inside a Latin word or a number (``ojects`` -> ``Projects``, ``200兆瓦``
after ``1`` -> ``1200兆瓦``), whatever piece boundaries the model saw.

Public API: :data:`DECODERS`, :func:`decode`, :func:`allowed_transitions`,
:func:`snap_to_words`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DECODERS: tuple[str, ...] = ("viterbi", "argmax", "crf")


def allowed_transitions(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(start, transition)``: which tags may open a sequence, and which tag
    ``j`` may follow tag ``i`` (``transition[i, j]``), under IOB2."""
    def inside_of(tag: str) -> str | None:
        prefix, _, label = tag.partition("-")
        return label if prefix == "I" else None

    start = np.array([inside_of(t) is None for t in tags])
    transition = np.ones((len(tags), len(tags)), dtype=bool)
    for j, tag in enumerate(tags):
        label = inside_of(tag)
        if label is not None:
            transition[:, j] = [prev in (f"B-{label}", f"I-{label}") for prev in tags]
    return start, transition


def decode(probs: np.ndarray, tags: Sequence[str], method: str = "viterbi",
           mask: Sequence[bool] | None = None,
           transitions: np.ndarray | None = None) -> tuple[list[int], list[float]]:
    """Tag indices and their probabilities for each row of ``probs`` (see module
    doc); ``transitions`` (``(tags, tags)`` learned scores) only with ``crf``."""
    if method not in DECODERS:
        raise ValueError(f"unknown decoding {method!r} (expected one of {', '.join(DECODERS)})")
    if (method == "crf") != (transitions is not None):
        raise ValueError("crf decoding needs learned transitions, and only it takes them")
    probs = np.asarray(probs, dtype=np.float64)
    n = len(probs)
    keep = np.arange(n) if mask is None else np.flatnonzero(np.asarray(mask, dtype=bool))
    chosen = np.zeros(n, dtype=np.int64)  # tag 0 is "O"
    if len(keep):
        rows = probs[keep]
        chosen[keep] = rows.argmax(-1) if method == "argmax" else _viterbi(rows, tags, transitions)
    scores = probs[np.arange(n), chosen] if n else np.zeros(0)
    return chosen.tolist(), scores.tolist()


def _viterbi(rows: np.ndarray, tags: Sequence[str], learned: np.ndarray | None = None) -> np.ndarray:
    start, transition = allowed_transitions(tags)
    penalty = np.where(transition, 0.0 if learned is None else np.asarray(learned, np.float64), -np.inf)
    emissions = np.log(np.clip(rows, 1e-12, None))
    score = np.where(start, emissions[0], -np.inf)
    back = np.zeros(rows.shape, dtype=np.int64)
    for i in range(1, len(rows)):
        candidates = score[:, None] + penalty  # previous tag x next tag
        back[i] = candidates.argmax(0)
        score = candidates[back[i], np.arange(len(tags))] + emissions[i]
    path = np.zeros(len(rows), dtype=np.int64)
    path[-1] = int(score.argmax())
    for i in range(len(rows) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _in_word(text: str, i: int) -> bool:
    """True when ``text[i]`` belongs to a Latin word or a number: an ASCII letter
    or digit, or a ``.``/``,`` between two digits (``4.5``, ``1,200``)."""
    ch = text[i]
    if ch.isascii() and ch.isalnum():
        return True
    return (ch in ".," and 0 < i < len(text) - 1
            and text[i - 1].isdigit() and text[i + 1].isdigit())


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` widened to whole Latin words and numbers at both edges."""
    while 0 < start < len(text) and _in_word(text, start - 1) and _in_word(text, start):
        start -= 1
    while 0 < end < len(text) and _in_word(text, end - 1) and _in_word(text, end):
        end += 1
    return start, end
