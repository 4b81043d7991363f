"""The govreport_ner component: alignment, windows, decoding, section context,
batching and the save/load round trip, on tiny models built here."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import spacy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from ner_tiny import SAMPLE, save_tiny_base, tiny_tokenizer  # noqa: E402

from pipeline.annotation.schema import Record  # noqa: E402
from pipeline.text.docs import make_char_doc, set_paragraphs  # noqa: E402
from pipeline.model.ner import SECTION_MARKERS, ModelNotReady, TransformerNER, predict_records
from pipeline.model import precision  # noqa: E402
from pipeline.model.tokenization import (
    CharVocab,
    bio_labels,
    encode,
    owner_window,
    spans_to_tags,
    tags_to_spans,
    windows,
)

# ---------------------------------------------------------------- windows


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 300), size=st.integers(1, 40), data=st.data())
def test_windows_cover_every_piece_and_owner_is_unique(n, size, data):
    stride = data.draw(st.integers(0, size - 1))
    spans = windows(n, size, stride)
    assert all(0 <= s < e <= n or (n == 0 and s == e == 0) for s, e in spans)
    assert all(e - s <= size for s, e in spans)
    assert spans[0][0] == 0 and spans[-1][1] == n
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 > s1 and e2 > e1 and e1 - s2 >= stride  # consecutive windows share >= stride
    owner = owner_window(n, spans)
    assert len(owner) == n
    for i, w in enumerate(owner):
        s, e = spans[w]
        assert s <= i < e
        # no other window has the piece further from its edges
        for s2, e2 in spans:
            if s2 <= i < e2:
                assert min(i - s2, e2 - 1 - i) <= min(i - s, e - 1 - i)


def test_windows_reject_bad_stride():
    with pytest.raises(ValueError):
        windows(10, 4, 4)


# ---------------------------------------------------------------- alignment


def test_subword_offsets_are_trimmed_and_disjoint():
    tok = tiny_tokenizer()
    text = " 预计地区 生产总值增长2.8%"
    enc = encode(text, tok, "subword")
    pieces = tok.convert_ids_to_tokens(enc.ids)
    assert "地区生产" in pieces or "地区" in pieces  # multi-character pieces exist
    covered = [i for s, e in enc.offsets for i in range(s, e)]
    assert covered == sorted(set(covered))  # no character in two pieces
    assert set(covered) == {i for i, ch in enumerate(text) if not ch.isspace()}
    for (s, e), piece in zip(enc.offsets, pieces):
        assert text[s:e] == piece.lstrip("▁")


def test_char_scheme_one_piece_per_character():
    tok = tiny_tokenizer()
    text = "预计 PM2.5☃"
    enc = encode(text, tok, "char", CharVocab(tok))
    assert len(enc) == len(text)
    assert enc.offsets[2] == (2, 2)  # the space is an empty piece
    assert enc.ids[0] == tok.convert_tokens_to_ids("预")
    assert enc.ids[-1] == tok.unk_token_id


def test_boundary_inside_piece_is_counted_and_snapped_outward():
    # pieces: 预计 | 地区生产 | 总值 ; gold METRIC 地区生产总值 starts at a piece edge,
    # gold METRIC 生产总值 starts inside the piece 地区生产
    offsets = [(0, 2), (2, 6), (6, 8)]
    tags, stats = spans_to_tags(offsets, [(2, 8, "METRIC")])
    assert tags == ["O", "B-METRIC", "I-METRIC"] and stats.inside_piece == 0
    tags, stats = spans_to_tags(offsets, [(4, 8, "METRIC")])
    assert tags == ["O", "B-METRIC", "I-METRIC"]
    assert (stats.boundaries, stats.inside_piece) == (2, 1)
    assert tags_to_spans(offsets, tags, [1.0] * 3) == [(2, 8, "METRIC", 1.0)]


def test_spans_sharing_a_piece_after_snapping_keep_the_first():
    offsets = [(0, 4), (4, 6)]
    tags, stats = spans_to_tags(offsets, [(0, 2, "METRIC"), (2, 4, "VALUE")])
    assert tags == ["B-METRIC", "O"] and stats.conflicts == 1


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_char_scheme_round_trips_any_spans(data):
    text = SAMPLE[:60]
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=10)))
    labels = ["PROJECT", "METRIC", "TARGET", "VALUE"]
    spans = [(a, b, data.draw(st.sampled_from(labels))) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    enc = encode(text, tiny_tokenizer(), "char")
    tags, stats = spans_to_tags(enc.offsets, spans)
    assert stats.inside_piece == 0
    got = tags_to_spans(enc.offsets, tags, [0.5] * len(tags))
    assert [(s, e, lab) for s, e, lab, _ in got] == spans


def test_decoding_fixes_illegal_inside_tags_and_averages_scores():
    offsets = [(i, i + 1) for i in range(7)]
    tags = ["O", "I-METRIC", "I-METRIC", "B-VALUE", "I-TARGET", "O", "I-VALUE"]
    scores = [0.9, 0.6, 0.8, 0.5, 0.4, 0.9, 0.3]
    spans = tags_to_spans(offsets, tags, scores)
    assert [(s, e, lab) for s, e, lab, _ in spans] == [
        (1, 3, "METRIC"), (3, 4, "VALUE"), (4, 5, "TARGET"), (6, 7, "VALUE")]
    assert spans[0][3] == pytest.approx(0.7)


def test_decoding_trims_whitespace_and_skips_empty_pieces():
    text = "ab cd"
    offsets = [(0, 1), (1, 2), (2, 2), (3, 4), (4, 5)]
    tags = ["O", "B-PROJECT", "I-PROJECT", "I-PROJECT", "O"]
    assert tags_to_spans(offsets, tags, [1.0] * 5, text) == [(1, 4, "PROJECT", 1.0)]


# ---------------------------------------------------------------- component with an oracle model


class OracleTagger(torch.nn.Module):
    """Tags each piece from its vocabulary id alone (no context); numbers are
    TARGET when the window's marker is [PLAN], VALUE otherwise. Like a real
    model short of context, it says O for the first and last piece of a window,
    so only the merge by centrality gets every piece right."""

    def __init__(self, vocab_size, tags, tag_of_id, plan_id=None, number_ids=()):
        super().__init__()
        self.config = SimpleNamespace(num_labels=len(tags), max_position_embeddings=512)
        self.tags = tags
        self.table = torch.full((vocab_size, len(tags)), 0.0)
        self.table[:, 0] = 4.0
        for i, tag in tag_of_id.items():
            self.table[i] = 0.0
            self.table[i, tags.index(tag)] = 4.0
        self.plan_id, self.number_ids = plan_id, list(number_ids)
        self.calls = []

    def get_input_embeddings(self):
        return torch.nn.Embedding(self.table.shape[0], 1)

    def forward(self, input_ids, attention_mask):
        self.calls.append(input_ids.clone())
        logits = self.table[input_ids].clone()
        for row in range(input_ids.shape[0]):
            plan = self.plan_id is not None and input_ids[row, 1] == self.plan_id
            for i in self.number_ids:
                where = input_ids[row] == i
                logits[row, where] = 0.0
                logits[row, where, self.tags.index("B-TARGET" if plan else "B-VALUE")] = 4.0
        lengths = attention_mask.sum(1)
        for row in range(input_ids.shape[0]):
            first, last = 2, int(lengths[row]) - 2  # after [CLS] [MARKER], before [SEP]
            logits[row, [first, last]] = self.table[0]
        return SimpleNamespace(logits=logits)


def _oracle_ner(scheme="char", max_length=12, stride=3, section_context=True, batch_size=4):
    nlp = spacy.blank("zh")
    ner = nlp.add_pipe("govreport_ner", config={
        "scheme": scheme, "max_length": max_length, "stride": stride,
        "section_context": section_context, "batch_size": batch_size, "dtype": "float32"})
    tok = tiny_tokenizer()
    if section_context:
        tok.add_tokens(list(SECTION_MARKERS.values()), special_tokens=True)
    tags = bio_labels(ner.labels)
    ids = lambda text: [tok.convert_tokens_to_ids(c) for c in text]  # noqa: E731
    tag_of_id = {i: "B-METRIC" for i in ids("地")}  # 地区生产总值 is a METRIC
    tag_of_id.update({i: "I-METRIC" for i in ids("区生产总值")})
    plan_id = tok.convert_tokens_to_ids("[PLAN]") if section_context else None
    model = OracleTagger(len(tok), tags, tag_of_id, plan_id, ids("8"))
    ner.set_model(model, tok, cast=False)
    return nlp, ner, model


def test_long_text_windows_merge_without_loss_or_duplicates():
    nlp, ner, model = _oracle_ner(max_length=12, stride=3)
    unit = "预计地区生产总值完成"  # METRIC at 2..8 of each 10-character unit
    text = unit * 9  # 90 pieces, windows of 10 pieces: METRICs cross window edges
    doc = nlp(make_char_doc(nlp.vocab, text))
    size = ner.max_length - ner.n_special
    wins = windows(len(text), size, ner.stride)
    assert len(wins) > 5
    assert any(s < 10 * k + 8 and e > 10 * k + 2 and not (s <= 10 * k + 2 and 10 * k + 8 <= e)
               for k in range(9) for s, e in wins)  # some entity straddles a window edge
    got = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    assert got == [(10 * k + 2, 10 * k + 8, "METRIC") for k in range(9)]
    assert list(doc.spans["entities"]) == list(doc.ents)
    assert all(e._.score == pytest.approx(torch.softmax(torch.tensor([4.0] + [0.0] * 8), 0)[0].item())
               for e in doc.ents)
    sent = sum(int((c[:, 2:] != ner.tokenizer.pad_token_id).sum()) for c in model.calls)
    assert sent >= len(text)  # every piece went to the model at least once


def test_subword_scheme_on_long_text():
    nlp, ner, _ = _oracle_ner(scheme="subword", max_length=8, stride=2)
    # 地区生产 is one piece whose first char is 地 -> the oracle has no entry for
    # the whole piece, so only check the spans are in range, disjoint, whole pieces
    text = "预计地区生产总值完成830亿元。" * 6
    doc = nlp(make_char_doc(nlp.vocab, text))
    ends = {e for _, e in ner.encode(text).offsets}
    starts = {s for s, _ in ner.encode(text).offsets}
    last = 0
    for ent in doc.ents:
        assert ent.start_char >= last and ent.start_char in starts and ent.end_char in ends
        last = ent.end_char
    assert len(doc.ents) == 6  # the number 8 in each sentence


def test_section_marker_reaches_the_model_per_paragraph():
    nlp, ner, model = _oracle_ner(max_length=40)
    text = "完成830。\n力争830。"
    doc = make_char_doc(nlp.vocab, text)
    set_paragraphs(doc, [(0, 6, "review"), (7, 13, "plan")])
    doc = nlp(doc)
    # the oracle tags the digit 8; the span widens to the whole number 830
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
        (2, 5, "VALUE"), (9, 12, "TARGET")]
    markers = {int(c[r, 1]) for c in model.calls for r in range(c.shape[0])}
    assert markers == {ner.tokenizer.convert_tokens_to_ids(m) for m in ("[REVIEW]", "[PLAN]")}


def test_section_of_a_doc_without_paragraphs_and_ablation():
    nlp, ner, model = _oracle_ner(max_length=40)
    doc = make_char_doc(nlp.vocab, "力争830")
    doc._.section = "plan"
    assert [e.label_ for e in nlp(doc).ents] == ["TARGET"]
    nlp, ner, model = _oracle_ner(max_length=40, section_context=False)
    doc = make_char_doc(nlp.vocab, "力争830")
    doc._.section = "plan"
    assert [e.label_ for e in nlp(doc).ents] == ["VALUE"]
    assert len(ner.windows(ner.encode("力争"), "plan")[0].input_ids) == 2 + 2  # [CLS] 力 争 [SEP]


def test_pipe_batches_windows_across_docs():
    nlp, ner, model = _oracle_ner(max_length=12, stride=3, batch_size=4)
    texts = ["预计地区生产总值完成" * k for k in (1, 3, 2, 5)]
    docs = list(nlp.pipe([make_char_doc(nlp.vocab, t) for t in texts], batch_size=8))
    assert [len(d.ents) for d in docs] == [1, 3, 2, 5]
    assert all(c.shape[0] <= 4 for c in model.calls)
    assert max(c.shape[0] for c in model.calls) == 4  # windows of several docs share a batch


def test_component_without_model_raises():
    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_ner")
    with pytest.raises(ModelNotReady):
        nlp(make_char_doc(nlp.vocab, "地区"))


# ---------------------------------------------------------------- tiny random transformer


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    return save_tiny_base(tmp_path_factory.mktemp("ner") / "base")


def _tiny_nlp(base_dir, **config):
    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_ner", config={"base_model": str(base_dir), "dtype": "float32", "max_length": 64, **config})
    nlp.initialize()
    return nlp


def _ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


@pytest.mark.parametrize("scheme", ["subword", "char"])
def test_save_load_round_trip_offline(base_dir, tmp_path, monkeypatch, scheme):
    nlp = _tiny_nlp(base_dir, scheme=scheme, max_length=24, stride=6)
    nlp.get_pipe("govreport_ner").style_rules = scheme == "subword"  # saved either way
    text = SAMPLE * 2
    before = nlp(make_char_doc(nlp.vocab, text))
    assert len(before.ents) > 0  # a random head tags something
    nlp.to_disk(tmp_path / "pipe")
    files = {p.relative_to(tmp_path / "pipe").as_posix() for p in (tmp_path / "pipe").rglob("*")}
    assert {"govreport_ner/cfg", "govreport_ner/model/model.safetensors",
            "govreport_ner/tokenizer/tokenizer.json", "config.cfg"} <= files

    def no_network(*args, **kwargs):
        raise AssertionError("network access during spacy.load")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = spacy.load(tmp_path / "pipe")
    ner = loaded.get_pipe("govreport_ner")
    assert (ner.scheme, ner.max_length, ner.stride) == (scheme, 24, 6)
    assert ner.style_rules == (scheme == "subword")
    assert ner.tokenizer.convert_tokens_to_ids("[PLAN]") != ner.tokenizer.unk_token_id
    after = loaded(make_char_doc(loaded.vocab, text))
    assert _ents(after) == _ents(before)
    assert [e._.score for e in after.ents] == pytest.approx([e._.score for e in before.ents], abs=1e-5)


def test_bfloat16_weights_are_saved_and_restored(base_dir, tmp_path):
    nlp = _tiny_nlp(base_dir, dtype="bfloat16")
    ner = nlp.get_pipe("govreport_ner")
    assert next(ner.model.parameters()).dtype == torch.bfloat16
    doc = nlp(make_char_doc(nlp.vocab, SAMPLE))
    assert all(isinstance(e._.score, float) and 0 < e._.score <= 1 for e in doc.ents)
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    assert next(loaded.get_pipe("govreport_ner").model.parameters()).dtype == torch.bfloat16
    assert _ents(loaded(make_char_doc(loaded.vocab, SAMPLE))) == _ents(doc)


def test_precision_resolution(monkeypatch):
    assert precision.resolve_precision("float32") == "float32"
    assert precision.resolve_precision("int8") == "int8"
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert precision.resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: False)
    assert precision.resolve_precision("auto") == "int8"  # bf16 would be emulated: int8
    with pytest.raises(ValueError, match="float16"):
        precision.resolve_precision("float16")


def test_unknown_dtype_is_refused_at_construction(base_dir):
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        _tiny_nlp(base_dir, dtype="fp8")


def test_int8_runs_a_quantized_copy_and_saves_float_weights(base_dir, tmp_path):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    nlp = _tiny_nlp(base_dir, dtype="int8")
    ner = nlp.get_pipe("govreport_ner")
    assert ner.precision == "int8" and ner.runner is not ner.model
    kinds = {type(m) for m in ner.runner.modules()}
    assert DynamicLinear in kinds  # the encoder's Linear layers are int8
    assert isinstance(ner.runner.classifier, torch.nn.Linear)  # the head stays float32
    assert all(p.dtype == torch.float32 for p in ner.model.parameters())
    doc = nlp(make_char_doc(nlp.vocab, SAMPLE))
    assert all(0 < e._.score <= 1 for e in doc.ents)
    # int8 approximates float32: on the same weights most tags agree
    wins = ner.windows(ner.encode(SAMPLE), "review")
    b = [p.argmax(-1) for p in ner.window_probs(wins)]
    ner.runner = ner.model
    a = [p.argmax(-1) for p in ner.window_probs(wins)]
    agree = sum(int((x == y).sum()) for x, y in zip(a, b)) / sum(len(x) for x in a)
    assert agree >= 0.8
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    lner = loaded.get_pipe("govreport_ner")
    assert lner.precision == "int8" and all(p.dtype == torch.float32 for p in lner.model.parameters())
    assert _ents(loaded(make_char_doc(loaded.vocab, SAMPLE))) == _ents(doc)


def test_auto_precision_follows_the_cpu(base_dir, monkeypatch):
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: False)
    ner = _tiny_nlp(base_dir, dtype="auto").get_pipe("govreport_ner")
    assert ner.precision == "int8" and ner.runner is not ner.model
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    ner = _tiny_nlp(base_dir, dtype="auto").get_pipe("govreport_ner")
    assert ner.precision == "bfloat16" and ner.runner is ner.model
    assert next(ner.model.parameters()).dtype == torch.bfloat16


def test_pipe_equals_call_and_blank_zh_docs(base_dir):
    nlp = _tiny_nlp(base_dir, max_length=20, stride=5, batch_size=3)
    texts = [SAMPLE[:k] for k in (15, 70, 40, 120)]
    one_by_one = [_ents(nlp(make_char_doc(nlp.vocab, t))) for t in texts]
    batched = [_ents(d) for d in nlp.pipe([make_char_doc(nlp.vocab, t) for t in texts], batch_size=4)]
    assert batched == one_by_one
    doc = nlp("城镇登记失业率 控制在4.5%以内")  # blank zh: the space is not a token
    assert all(not e.text[0].isspace() and not e.text[-1].isspace() for e in doc.ents)


def test_predict_records(base_dir):
    nlp = _tiny_nlp(base_dir)
    records = [Record(id="d#1", text=SAMPLE[:30], meta={"section": "plan"}),
               Record(id="d#2", text=SAMPLE[30:80])]
    seen = []
    out = predict_records(nlp, records, batch_size=2, section_of=lambda r: seen.append(r.id) or "review")
    assert seen == ["d#1", "d#2"]
    assert [r.id for r in out] == ["d#1", "d#2"] and out[0].meta == {"section": "plan"}
    for rec in out:
        assert all(0 <= s.start < s.end <= len(rec.text) and 0 < s.score <= 1 for s in rec.spans)
    assert isinstance(nlp.get_pipe("govreport_ner"), TransformerNER)


def test_empty_docs_and_empty_paragraphs():
    nlp, ner, model = _oracle_ner()
    docs = list(nlp.pipe([make_char_doc(nlp.vocab, ""), make_char_doc(nlp.vocab, "   ")]))
    assert [len(d.ents) for d in docs] == [0, 0] and model.calls == []
    doc = make_char_doc(nlp.vocab, "预计地区生产总值完成\n\n")
    set_paragraphs(doc, [(0, 10, "review"), (11, 11, "other")])
    assert [(e.start_char, e.end_char) for e in nlp(doc).ents] == [(2, 8)]


def test_style_rules_trim_span_edges_only_for_the_project():
    """The project's boundary rules trim a trailing comma off a predicted span;
    with ``style_rules`` off (a benchmark's labels, e.g. CLUENER's 《book》) the
    span is kept as the model tagged it."""
    nlp, ner, model = _oracle_ner(max_length=40)
    comma = ner.tokenizer.convert_tokens_to_ids("，")
    model.table[comma] = 0.0
    model.table[comma, ner.tags.index("I-METRIC")] = 4.0
    text = "预计地区生产总值，完成"

    def spans():
        return [(e.start_char, e.end_char, e.label_) for e in nlp(make_char_doc(nlp.vocab, text)).ents]

    assert ner.style_rules and spans() == [(2, 8, "METRIC")]
    ner.style_rules = False
    assert spans() == [(2, 9, "METRIC")]
    assert ner.cfg()["style_rules"] is False


def test_int8_leaves_down_projections_in_float32(base_dir):
    ner = _tiny_nlp(base_dir).get_pipe("govreport_ner")
    names = precision.int8_layers(ner.model)
    assert names and all("classifier" not in n for n in names)
    sizes = {n: (m.in_features, m.out_features) for n, m in ner.model.named_modules()
             if isinstance(m, torch.nn.Linear)}
    assert {n for n, (i, o) in sizes.items() if o < i} == set(sizes) - set(names)
    assert any(n.endswith("intermediate.dense") for n in names)  # the widening FFN layer is int8
    assert not any(n.endswith("output.dense") and "attention" not in n for n in names)


def test_smoothing_before_int8_keeps_the_float_function():
    lin = torch.nn.Linear(8, 8)
    x = torch.randn(5, 8)
    scale = torch.rand(8) + 0.5
    expected = lin(x)
    with torch.no_grad():
        lin.weight.mul_(scale)
    assert torch.allclose(precision.SmoothedLinear(lin, 1 / scale)(x), expected, atol=1e-5)


TWO_PROCESSES = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ner_tiny import SAMPLE, tiny_pipeline
with tempfile.TemporaryDirectory() as tmp:
    nlp = tiny_pipeline(Path(tmp) / "base")
    texts = [SAMPLE * 2, SAMPLE, "预计地区生产总值完成830亿元。"] * 2
    ents = lambda d: [(e.start_char, e.end_char, e.label_) for e in d.ents]
    one = [ents(d) for d in nlp.pipe(texts)]
    two = [ents(d) for d in nlp.pipe(texts, n_process=2, batch_size=2)]
    print("same" if one == two and any(one) else "different", one, two)
"""


def test_pipe_with_two_processes_gives_the_same_entities():
    """spaCy forks the workers of ``n_process``; the component must not hang in
    them (it did: the parent's OpenMP pool), and the results are the same. In a
    subprocess with a time limit, so that a hang is a failure."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", TWO_PROCESSES, str(Path(__file__).parent / "fixtures")],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("same"), done.stdout[-2000:]


def test_sentence_windows_hold_whole_sentences_without_overlap():
    from pipeline.model.tokenization import sentence_starts, sentence_windows, windows

    # pieces of 2 characters: sentences of 3, 4, 2, 9 and 1 pieces
    lengths = [3, 4, 2, 9, 1]
    starts = [sum(lengths[:i]) for i in range(1, len(lengths))]  # [3, 7, 9, 18]
    n = sum(lengths)
    assert sentence_windows(n, 8, 2, starts) == [(0, 7), (7, 9), (9, 17), (10, 18), (18, 19)]
    # the 9-piece sentence is longer than a window: the overlapping windows of `windows`
    assert [(a - 9, b - 9) for a, b in sentence_windows(n, 8, 2, starts)[2:4]] == windows(9, 8, 2)
    assert sentence_windows(5, 8, 2, [2]) == [(0, 5)]
    big = sentence_windows(n, 10, 2, starts)
    assert big == [(0, 9), (9, 19)]
    covered = [i for a, b in big for i in range(a, b)]
    assert covered == list(range(n))  # every piece once: no recomputed positions

    text = "增长6%。完成，好！再见"
    offsets = [(0, 2), (2, 4), (4, 5), (5, 7), (7, 8), (8, 9), (9, 10), (10, 10), (10, 12)]
    assert sentence_starts(text, offsets) == [3, 8]  # after "。" and "！"; the empty piece 7 starts nothing
    assert sentence_starts(text, [(0, 2), (2, 4), (5, 7)]) == [2]  # a "。" that no piece covers


def test_component_sentence_windows_need_the_text_and_predict_alike(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    from ner_tiny import tiny_pipeline

    nlp = tiny_pipeline(tmp_path / "base", max_length=16, stride=4)
    ner = nlp.get_pipe("govreport_ner")
    text = "预计地区生产总值完成830亿元。城镇登记失业率控制在4.5%以内。" * 2
    enc = ner.encode(text)
    plain = ner.windows(enc, "plan", text)
    ner.sentence_windows = True
    packed = ner.windows(enc, "plan", text)
    assert sum(len(w.input_ids) for w in packed) < sum(len(w.input_ids) for w in plain)
    assert sorted({i for w in packed for i in range(w.start, w.end)}) == list(range(len(enc)))
    with pytest.raises(ValueError, match="text"):
        ner.windows(enc, "plan")
    doc = nlp(text)  # the whole pipeline runs with the packed windows
    assert all(e._.score is not None for e in doc.ents)


def test_pad_batch_rounds_the_width_up_to_a_multiple_within_the_limit():
    from pipeline.model.ner import pad_batch, padded_width

    ids, mask = pad_batch([[5, 6, 7], [8]], 0, multiple=4)
    assert ids.tolist() == [[5, 6, 7, 0], [8, 0, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert padded_width(33, multiple=32, limit=40) == 40  # never past the limit
    assert padded_width(50, multiple=32, limit=40) == 50  # nor below the longest row
    assert padded_width(7) == 7 and padded_width(64, multiple=32) == 64


def test_padded_batches_give_the_same_probabilities_and_few_shapes(base_dir, monkeypatch):
    """Padding every forward pass to a multiple of PAD_MULTIPLE changes no probability
    (the attention mask hides the padding) and leaves few distinct batch widths."""
    import pipeline.model.ner as ner_module

    nlp = _tiny_nlp(base_dir, max_length=64, stride=16, batch_size=3)
    ner = nlp.get_pipe("govreport_ner")
    texts = [SAMPLE[:n] for n in range(3, len(SAMPLE), 5)] + [SAMPLE * 3]
    wins = [w for t in texts for w in ner.windows(ner.encode(t), "review")]
    widths = []
    real_forward = ner.runner.forward

    def spy(*args, **kwargs):
        widths.append(kwargs["input_ids"].shape[1])
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(ner.runner, "forward", spy)
    padded = ner.window_probs(wins)
    assert set(widths) <= {w for w in range(ner_module.PAD_MULTIPLE, 65, ner_module.PAD_MULTIPLE)} | {64}
    assert sum(len(b) * w for b, w in zip(ner.window_batches(wins), widths)) == ner.padded_positions(wins)
    monkeypatch.setattr(ner_module, "PAD_MULTIPLE", 1)
    widths.clear()
    exact = ner.window_probs(wins)
    assert len(set(widths)) > 2  # without rounding, the widths follow the windows
    assert all(p.shape == q.shape and torch.allclose(p, q, atol=1e-5) for p, q in zip(padded, exact))
    assert ner.padded_positions(wins) < sum(len(b) * 64 for b in ner.window_batches(wins))
