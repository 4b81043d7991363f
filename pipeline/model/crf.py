"""Learned tag transitions: a linear-chain CRF over the component's piece tags.

A model trained with ``decoding = "crf"`` has, next to its token-classification
head, a ``(tags, tags)`` matrix of transition scores (:class:`TagTransitions`),
trained end to end with the encoder: the gold loss is the negative log-likelihood
of the gold tag sequence (:meth:`TagTransitions.nll`) instead of each piece's own
cross-entropy, so that the emissions (the head's logits) and the transitions
together score whole sequences. Transitions that IOB2 forbids (``I-X`` after
``O`` or after another label) are never allowed, learned or not.

At inference the component decodes with :func:`pipeline.model.decoding.decode`
(``method = "crf"``): the Viterbi path over the pieces' log-probabilities plus
the learned scores (a log-softmax differs from the logits by one constant per
piece, which no path can change). The first piece of a paragraph may not be
``I-X``; the first labelled piece of a training window may (windows can start
inside an entity), so no start scores are learned.

The pieces a window's loss sees are its labelled positions (labels ≠ ``IGNORE``):
specials, the section marker and pieces that cover no character are skipped, as
decoding skips them.

The matrix is saved as ``transitions.json`` in the component's folder
(:func:`save_transitions`, :func:`load_transitions`).

Public API: :data:`TRANSITIONS_FILE`, :class:`TagTransitions`, :func:`save_transitions`,
:func:`load_transitions`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from pipeline.model.decoding import allowed_transitions
from pipeline.model.losses import IGNORE

TRANSITIONS_FILE = "transitions.json"  # in the component's folder
FORBIDDEN = -1e4  # the score of a transition IOB2 forbids, in training (decoding: -inf)


class TagTransitions(torch.nn.Module):
    """Learned scores ``transitions[i, j]`` of tag ``j`` following tag ``i`` (zeros
    at first: plain IOB2-constrained Viterbi)."""

    def __init__(self, tags: Sequence[str], transitions: np.ndarray | None = None) -> None:
        super().__init__()
        self.tags = list(tags)
        n = len(self.tags)
        init = torch.zeros(n, n) if transitions is None else torch.as_tensor(transitions, dtype=torch.float32)
        if init.shape != (n, n):
            raise ValueError(f"transitions of shape {tuple(init.shape)} for {n} tags")
        self.transitions = torch.nn.Parameter(init.clone())
        self.register_buffer("allowed", torch.from_numpy(allowed_transitions(self.tags)[1]), persistent=False)

    def scores(self) -> torch.Tensor:
        """The transition scores with IOB2's forbidden transitions at :data:`FORBIDDEN`."""
        return torch.where(self.allowed, self.transitions, torch.full_like(self.transitions, FORBIDDEN))

    def to_numpy(self) -> np.ndarray:
        """The learned scores (float64) for :func:`pipeline.model.decoding.decode`."""
        return self.transitions.detach().double().cpu().numpy()

    def nll(self, emissions: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(nll, pieces)`` per window: the negative log-likelihood of the gold tags
        ``labels`` (``(windows, positions)``, :data:`IGNORE` where no piece is
        labelled) under ``emissions`` (``(windows, positions, tags)`` logits) and
        the transitions, and how many labelled pieces each window has (a window
        with none has ``nll`` 0)."""
        emissions = emissions.float()
        keep = labels != IGNORE
        pieces = keep.sum(1)
        n_windows, _, n_tags = emissions.shape
        width = int(pieces.max()) if n_windows else 0
        if width == 0:
            return emissions.sum((1, 2)) * 0.0, pieces
        # the labelled positions of each window moved to its front, in order
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]
        em = emissions.gather(1, order[..., None].expand(-1, -1, n_tags))
        tags = labels.gather(1, order).clamp(min=0)
        mask = torch.arange(width)[None, :] < pieces[:, None]
        trans = self.scores()
        gold = (em.gather(2, tags[..., None]).squeeze(-1) * mask).sum(1)
        gold = gold + (trans[tags[:, :-1], tags[:, 1:]] * mask[:, 1:]).sum(1)
        alpha = em[:, 0]
        for i in range(1, width):
            step = torch.logsumexp(alpha[:, :, None] + trans[None], dim=1) + em[:, i]
            alpha = torch.where(mask[:, i, None], step, alpha)
        nll = torch.logsumexp(alpha, dim=1) - gold
        return torch.where(pieces > 0, nll, torch.zeros_like(nll)), pieces


def save_transitions(transitions: TagTransitions, folder: str | Path) -> None:
    """Write ``folder/transitions.json``: the tags and the learned scores."""
    data = {"tags": transitions.tags, "transitions": transitions.to_numpy().round(6).tolist()}
    (Path(folder) / TRANSITIONS_FILE).write_text(json.dumps(data), encoding="utf-8")


def load_transitions(folder: str | Path, tags: Sequence[str]) -> TagTransitions | None:
    """The transitions saved in ``folder`` (``None`` when it has none); a corrupt
    file, or one for other ``tags``, raises
    :class:`~pipeline.model.encoders.loading.ModelLoadError` naming it."""
    from pipeline.model.encoders.loading import ModelLoadError

    path = Path(folder) / TRANSITIONS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved_tags, matrix = list(data["tags"]), np.asarray(data["transitions"], dtype=np.float64)
        if saved_tags != list(tags):
            raise ValueError(f"saved for tags {saved_tags}, not {list(tags)}")
        return TagTransitions(saved_tags, matrix)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise ModelLoadError(f"{path}: corrupt transitions ({type(err).__name__}: {err})") from err
