"""The CRF layer (pipeline.model.crf): its likelihood against brute force, decoding
with learned transitions, training end to end (saved, reloaded, resumed, warm
started) and the errors of a model without transitions."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import spacy
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from train_data import tiny_train_config, write_tiny_corpus  # noqa: E402

from pipeline.model.build import load_pipeline  # noqa: E402
from pipeline.model.crf import FORBIDDEN, TRANSITIONS_FILE, TagTransitions, load_transitions  # noqa: E402
from pipeline.model.decoding import allowed_transitions, decode  # noqa: E402
from pipeline.model.encoders.loading import ModelLoadError  # noqa: E402
from pipeline.model.losses import IGNORE, crf_loss, distill_loss  # noqa: E402
from pipeline.model.tokenization import bio_labels  # noqa: E402
from pipeline.model.training import train  # noqa: E402
from pipeline.text.docs import make_char_doc  # noqa: E402

TAGS = ["O", "B-X", "I-X", "B-Y", "I-Y"]


def _brute_nll(em: torch.Tensor, tags: list[int], trans: torch.Tensor) -> float:
    """-log p(tags) by enumerating every tag sequence (IOB2-forbidden ones at FORBIDDEN)."""
    allowed = torch.from_numpy(allowed_transitions(TAGS)[1])
    scores = torch.where(allowed, trans, torch.full_like(trans, FORBIDDEN))

    def path_score(path):
        return sum(em[i, t] for i, t in enumerate(path)) + sum(scores[a, b] for a, b in zip(path, path[1:]))

    every = torch.stack([path_score(p) for p in itertools.product(range(len(TAGS)), repeat=len(tags))])
    return float(torch.logsumexp(every, 0) - path_score(tags))


def test_nll_matches_brute_force_and_skips_unlabelled_positions():
    torch.manual_seed(0)
    crf = TagTransitions(TAGS, np.random.default_rng(1).normal(size=(5, 5)))
    em = torch.randn(3, 6, 5)
    labels = torch.tensor([[IGNORE, 1, 2, IGNORE, 0, IGNORE],   # a special, then B-X I-X (gap) O
                           [IGNORE, 2, 0, 3, 4, IGNORE],        # a window that starts inside X
                           [IGNORE] * 6])                       # nothing labelled
    nll, pieces = crf.nll(em, labels)
    assert pieces.tolist() == [3, 4, 0]
    assert nll[0].item() == pytest.approx(_brute_nll(em[0, [1, 2, 4]], [1, 2, 0], crf.transitions.detach()), abs=1e-4)
    assert nll[1].item() == pytest.approx(_brute_nll(em[1, 1:5], [2, 0, 3, 4], crf.transitions.detach()), abs=1e-4)
    assert nll[2].item() == 0.0
    # per labelled piece, windows weighted; gradients reach the transitions and the emissions
    em.requires_grad_(True)
    loss = crf_loss(em, labels, torch.tensor([1.0, 0.5, 1.0]), crf)
    assert loss.item() == pytest.approx((nll[0] + 0.5 * nll[1]).item() / 7, abs=1e-5)
    loss.backward()
    assert crf.transitions.grad.abs().sum() > 0 and em.grad.abs().sum() > 0
    # a forbidden gold step (O -> I-X) is as unlikely as the FORBIDDEN score makes it
    bad, _ = crf.nll(em.detach()[:1], torch.tensor([[IGNORE, 0, 2, IGNORE, 0, IGNORE]]))
    assert bad.item() > 1e3


def test_distillation_with_a_crf_layer_uses_its_likelihood_for_the_gold_part():
    crf = TagTransitions(TAGS)
    logits = torch.randn(2, 4, 5)
    labels = torch.tensor([[IGNORE, 1, 2, IGNORE], [IGNORE, 0, 0, IGNORE]])
    weight = torch.tensor([1.0, 0.0])  # the second window: raw text, soft targets only
    teacher = torch.randn(2, 4, 5).log_softmax(-1)
    mixed = distill_loss(logits, labels, weight, teacher, temperature=2.0, alpha=0.0, crf=crf)
    assert mixed.item() == pytest.approx(crf_loss(logits[:1], labels[:1], weight[:1], crf).item())
    with pytest.raises(ValueError, match="edge_smoothing"):
        distill_loss(logits, labels, weight, teacher, temperature=2.0, alpha=0.5, edge_smoothing=0.1,
                     tags=TAGS, crf=crf)


def test_crf_decoding_adds_learned_transitions_to_the_constrained_viterbi():
    # piece 1 is a little likelier O than I-X: plain Viterbi cuts the name, a learned
    # B-X -> I-X bonus keeps it whole
    probs = np.array([[0.1, 0.8, 0.05, 0.03, 0.02],
                      [0.5, 0.05, 0.4, 0.03, 0.02],
                      [0.9, 0.02, 0.04, 0.02, 0.02]])
    zeros = np.zeros((5, 5))
    assert decode(probs, TAGS, "crf", transitions=zeros)[0] == decode(probs, TAGS, "viterbi")[0] == [1, 0, 0]
    bonus = zeros.copy()
    bonus[1, 2] = 1.0
    tags, scores = decode(probs, TAGS, "crf", transitions=bonus)
    assert tags == [1, 2, 0] and scores == pytest.approx([0.8, 0.4, 0.9])
    # learned scores never allow what IOB2 forbids
    huge = np.full((5, 5), 50.0)
    assert decode(probs[1:], TAGS, "crf", transitions=huge)[0][0] != 2
    with pytest.raises(ValueError, match="transitions"):
        decode(probs, TAGS, "crf")
    with pytest.raises(ValueError, match="transitions"):
        decode(probs, TAGS, "viterbi", transitions=zeros)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("crf")
    write_tiny_corpus(root)
    return root


def test_a_crf_model_trains_saves_and_reloads_with_its_transitions(corpus):
    cfg = tiny_train_config(corpus, "crf", decoding="crf", lr=3e-3, batch_size=4, epochs=3, patience=3)
    summary = train(cfg)
    assert summary["best_dev_f1"] is not None
    component = Path(cfg.output_dir) / "govreport_ner"
    saved = json.loads((component / TRANSITIONS_FILE).read_text())
    tags = bio_labels(cfg.labels)
    assert saved["tags"] == tags
    learned = np.array(saved["transitions"])
    assert learned.shape == (len(tags), len(tags)) and np.abs(learned).max() > 1e-3  # it moved from zeros
    from safetensors.torch import load_file

    assert not [k for k in load_file(str(component / "model" / "model.safetensors")) if "crf" in k]
    nlp = spacy.load(cfg.output_dir)
    ner = nlp.get_pipe("govreport_ner")
    assert ner.decoding == "crf" and np.allclose(ner.crf.to_numpy(), learned, atol=1e-5)
    text = "预计地区生产总值完成830亿元。" * 3
    doc = nlp(make_char_doc(nlp.vocab, text))
    assert all(e._.score is not None for e in doc.ents)
    # the same emissions without the learned transitions (the ablation's other row)
    plain = load_pipeline(cfg.output_dir, decoding="viterbi")
    assert plain.get_pipe("govreport_ner").decoding == "viterbi"
    plain(make_char_doc(plain.vocab, text))
    # saved again (e.g. with thresholds): the transitions stay
    nlp.to_disk(corpus / "crf-copy")
    assert load_transitions(corpus / "crf-copy" / "govreport_ner", tags) is not None


def test_a_crf_run_warm_starts_from_a_base_with_transitions(corpus):
    base = tiny_train_config(corpus, "crf-base", decoding="crf", lr=3e-3, batch_size=4)
    train(base)
    frozen = tiny_train_config(corpus, "crf-warm", decoding="crf", base_model=base.output_dir,
                               lr=0.0, crf_lr=0.0, epochs=1)
    train(frozen)
    tags = bio_labels(base.labels)
    before = load_transitions(Path(base.output_dir) / "govreport_ner", tags).to_numpy()
    after = load_transitions(Path(frozen.output_dir) / "govreport_ner", tags).to_numpy()
    assert np.array_equal(before, after) and np.abs(before).max() > 0


def test_a_killed_crf_run_resumes_to_the_same_transitions(corpus, monkeypatch):
    import pipeline.model.training as training

    class Killed(BaseException):
        pass

    over = dict(decoding="crf", epochs=3, patience=3, lr=3e-3, batch_size=4)
    whole = tiny_train_config(corpus, "crf-whole", **over)
    train(whole)
    cfg = tiny_train_config(corpus, "crf-killed", **over)
    real_save = training.save_checkpoint

    def save_then_die(path, identity, state, *args):
        real_save(path, identity, state, *args)
        if state.epoch == 1:
            raise Killed

    monkeypatch.setattr(training, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train(cfg)
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    train(cfg)
    a, b = (Path(c.output_dir) / "govreport_ner" / TRANSITIONS_FILE for c in (whole, cfg))
    assert json.loads(a.read_text()) == json.loads(b.read_text())


def test_crf_decoding_without_transitions_is_a_clear_error(corpus):
    cfg = tiny_train_config(corpus, "no-crf", epochs=1)
    train(cfg)
    with pytest.raises(ModelLoadError, match=TRANSITIONS_FILE):
        load_pipeline(cfg.output_dir, decoding="crf")
    (Path(cfg.output_dir) / "govreport_ner" / TRANSITIONS_FILE).write_text('{"tags": ["O"], "transitions": [[0]]}')
    with pytest.raises(ModelLoadError, match="corrupt transitions"):
        load_pipeline(cfg.output_dir)
    with pytest.raises(ValueError, match="edge_smoothing"):
        train(tiny_train_config(corpus, "crf-smooth", decoding="crf", edge_smoothing=0.1, epochs=1))
