"""The training losses of the ``govreport_ner`` component, on a batch of windows.

:func:`window_loss` is the token cross-entropy of fine-tuning (each window weighted,
optionally smoothed at entity edges: :func:`edge_positions`), or with a CRF layer
:func:`crf_loss` (the gold sequences' negative log-likelihood, :mod:`pipeline.model.crf`);
:func:`distill_loss` mixes either with the teacher's soft targets
(:mod:`pipeline.model.distillation`).
Positions labelled :data:`IGNORE` (specials, the section marker, empty pieces,
padding) count in neither.
"""

from __future__ import annotations

from typing import Sequence

import torch

IGNORE = -100  # label of positions the loss skips (specials, markers, empty pieces)


def edge_positions(labels: torch.Tensor, tags: Sequence[str]) -> torch.Tensor:
    """Where ``labels`` (tag ids, :data:`IGNORE` elsewhere) hold an entity's first or
    last piece: a ``B-`` tag, or an entity tag not followed by an ``I-`` tag."""
    begin = torch.tensor([t.startswith("B-") for t in tags])
    inside = torch.tensor([t.startswith("I-") for t in tags])
    valid = labels != IGNORE
    ids = labels.clamp(min=0)
    is_begin, is_inside = begin[ids] & valid, inside[ids] & valid
    next_inside = torch.zeros_like(is_inside)
    next_inside[:, :-1] = is_inside[:, 1:]
    return is_begin | ((is_begin | is_inside) & ~next_inside)


def window_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor,
                edge_smoothing: float = 0.0, tags: Sequence[str] | None = None) -> torch.Tensor:
    """Token cross-entropy, each window's tokens weighted by its ``weight``. With
    ``edge_smoothing`` ε > 0 (and the model's ``tags``), the target at an entity's
    first and last piece (:func:`edge_positions`) is smoothed: 1 − ε on the gold
    tag, ε spread evenly over all tags (boundary-aware training for long names,
    whose exact edges are the least certain)."""
    logits = logits.float()
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE,
                                           reduction="none")
    if edge_smoothing:
        if tags is None:
            raise ValueError("edge_smoothing needs the model's tags")
        uniform = -logits.log_softmax(-1).mean(-1)  # cross-entropy against the uniform distribution
        edges = edge_positions(labels, tags).float()
        ce = ce + edges * edge_smoothing * (uniform - ce)
    mask = (labels != IGNORE).float()
    return (ce * mask * weight[:, None]).sum() / mask.sum().clamp(min=1.0)


def crf_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, crf) -> torch.Tensor:
    """The gold tag sequences' negative log-likelihood under ``crf`` (a
    :class:`pipeline.model.crf.TagTransitions`), each window weighted by its
    ``weight``, per labelled piece (the scale of :func:`window_loss`)."""
    nll, pieces = crf.nll(logits, labels)
    return (nll * weight).sum() / pieces.sum().clamp(min=1).float()


def gold_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor,
              edge_smoothing: float = 0.0, tags: Sequence[str] | None = None, crf=None) -> torch.Tensor:
    """:func:`crf_loss` with a CRF layer, else :func:`window_loss`."""
    if crf is not None:
        if edge_smoothing:
            raise ValueError("edge_smoothing is for the token cross-entropy, not a CRF layer")
        return crf_loss(logits, labels, weight, crf)
    return window_loss(logits, labels, weight, edge_smoothing, tags)


def distill_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor,
                 teacher_logp: torch.Tensor, *, temperature: float, alpha: float,
                 edge_smoothing: float = 0.0, tags: Sequence[str] | None = None, crf=None) -> torch.Tensor:
    """``(1 - alpha)`` × the gold loss of the windows with ``weight`` > 0 (gold
    and silver; :func:`gold_loss`) + ``alpha`` × ``T²`` ×
    the mean KL divergence from the teacher's to the student's distribution at
    temperature ``T`` over every piece position (``labels`` ≠ ``IGNORE``). With a
    CRF layer the soft targets apply to the emissions (the logits)."""
    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"temperature must be > 0 and alpha in [0, 1], got {temperature}, {alpha}")
    logits = logits.float()
    mask = (labels != IGNORE).float()
    t = (teacher_logp.float() / temperature).log_softmax(-1)
    s = (logits / temperature).log_softmax(-1)
    kl = (t.exp() * (t - s)).sum(-1)
    kl = (kl * mask).sum() / mask.sum().clamp(min=1.0) * temperature ** 2
    gold = weight > 0
    ce = (gold_loss(logits[gold], labels[gold], weight[gold], edge_smoothing, tags, crf)
          if bool(gold.any()) else logits.sum() * 0.0)
    return (1.0 - alpha) * ce + alpha * kl
