"""Well-formed decoding (IOB2-constrained Viterbi) and whole-word span edges."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from pipeline.model.decoding import allowed_transitions, decode, snap_to_words  # noqa: E402
from pipeline.model.tokenization import bio_labels, tags_to_spans  # noqa: E402
from pipeline.text.docs import make_char_doc  # noqa: E402

TAGS = bio_labels(["PROJECT", "TARGET"])  # O B-P I-P B-T I-T


def well_formed(seq: list[str]) -> bool:
    prev = "O"
    for tag in seq:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


def test_allowed_transitions_are_iob2():
    start, trans = allowed_transitions(TAGS)
    assert start.tolist() == [True, True, False, True, False]
    i_p = TAGS.index("I-PROJECT")
    assert [TAGS[i] for i in np.flatnonzero(trans[:, i_p])] == ["B-PROJECT", "I-PROJECT"]
    assert trans[:, TAGS.index("B-TARGET")].all() and trans[:, 0].all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 10_000))
def test_viterbi_is_the_best_well_formed_sequence(n, seed):
    """Brute force over every tag sequence: Viterbi's is well-formed and no
    well-formed sequence has a higher product of probabilities."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(TAGS)) * 0.5, size=n)
    chosen, scores = decode(probs, TAGS, "viterbi")
    assert well_formed([TAGS[i] for i in chosen])
    assert scores == pytest.approx([probs[i, t] for i, t in enumerate(chosen)])
    best = max((np.prod([probs[i, t] for i, t in enumerate(seq)]), seq)
               for seq in itertools.product(range(len(TAGS)), repeat=n)
               if well_formed([TAGS[t] for t in seq]))
    assert np.prod(scores) == pytest.approx(best[0])


def test_argmax_takes_each_piece_on_its_own():
    probs = np.array([[0.1, 0.8, 0.05, 0.05, 0.0], [0.6, 0.0, 0.4, 0.0, 0.0]])
    assert decode(probs, TAGS, "argmax")[0] == [1, 0]
    with pytest.raises(ValueError, match="unknown decoding"):
        decode(probs, TAGS, "greedy")


def test_viterbi_joins_a_name_argmax_cuts_in_two():
    """飞 | 机 | 园区: the middle piece is slightly more O than I-PROJECT.
    Argmax gives two fragments (the I- after O starts a second entity);
    the best well-formed sequence is one project."""
    probs = np.array([
        [0.05, 0.90, 0.03, 0.01, 0.01],   # B-PROJECT
        [0.50, 0.02, 0.46, 0.01, 0.01],   # O by a hair
        [0.05, 0.02, 0.90, 0.02, 0.01],   # I-PROJECT
    ])
    offsets = [(0, 1), (1, 2), (2, 4)]
    spans = {}
    for method in ("argmax", "viterbi"):
        chosen, scores = decode(probs, TAGS, method)
        spans[method] = [(s, e, lab) for s, e, lab, _ in
                         tags_to_spans(offsets, [TAGS[i] for i in chosen], scores)]
    assert spans["argmax"] == [(0, 1, "PROJECT"), (2, 4, "PROJECT")]
    assert spans["viterbi"] == [(0, 4, "PROJECT")]


def test_empty_pieces_are_not_decoded_and_do_not_break_an_entity():
    probs = np.array([[0.0, 1.0, 0, 0, 0], [0.0, 0.0, 0, 0, 1.0], [0.0, 0.0, 1.0, 0, 0]])
    chosen, _ = decode(probs, TAGS, "viterbi", mask=[True, False, True])
    assert [TAGS[i] for i in chosen] == ["B-PROJECT", "O", "I-PROJECT"]
    assert decode(probs[:0], TAGS, "viterbi") == ([], [])
    assert decode(probs, TAGS, "viterbi", mask=[False] * 3)[0] == [0, 0, 0]


@pytest.mark.parametrize("text,span,expected", [
    ("Projects 4.5 percent", (1, 8), (0, 8)),       # inside a word: the whole word
    ("Projects 4.5 percent", (9, 14), (9, 20)),     # 4.5 p -> 4.5 percent
    ("装机1200兆瓦", (3, 8), (2, 8)),                 # 200兆瓦 -> 1200兆瓦
    ("增长6.5%", (4, 6), (2, 6)),                     # 5% -> 6.5%
    ("增长1,200万", (5, 8), (2, 8)),
    ("PM2.5平均浓度", (0, 4), (0, 5)),
    ("地区生产总值", (2, 4), (2, 4)),                 # Chinese: unchanged
    ("GDP，增长", (0, 3), (0, 3)),
    ("a.b", (0, 1), (0, 1)),                          # a dot between letters ends a word
])
def test_snap_to_words(text, span, expected):
    assert snap_to_words(text, *span) == expected


def test_the_component_never_cuts_a_latin_word_or_a_number():
    """A random tiny model on English and mixed text: every entity edge is a
    word edge, and the same probabilities decoded by argmax keep that too."""
    from ner_tiny import save_tiny_base
    import spacy
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save_tiny_base(Path(tmp) / "base")
        nlp = spacy.blank("zh")
        nlp.add_pipe("govreport_ner", config={"base_model": str(Path(tmp) / "base"), "dtype": "float32",
                                              "max_length": 64, "scheme": "char"})
        nlp.initialize()
        ner = nlp.get_pipe("govreport_ner")
        text = ("The Projects will raise GDP by 4.5 percent and build 1200 MW of PM2.5 monitors. "
                "全年装机1200兆瓦，增长6.5%。") * 3
        seen = 0
        for method in ("viterbi", "argmax"):
            ner.decoding = method
            doc = nlp(make_char_doc(nlp.vocab, text))
            for ent in doc.ents:
                assert snap_to_words(text, ent.start_char, ent.end_char) == (ent.start_char, ent.end_char)
                seen += 1
            spans = [(e.start_char, e.end_char) for e in doc.ents]
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        assert seen > 0  # a random head tags something
        assert ner.cfg()["decoding"] == "argmax"
        with pytest.raises(ValueError, match="unknown decoding"):
            nlp2 = spacy.blank("zh")
            nlp2.add_pipe("govreport_ner", config={"decoding": "beam"})
