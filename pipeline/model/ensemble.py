"""An ensemble of trained pipelines: their label probabilities averaged per piece.

:func:`load_ensemble` loads the first pipeline as it is (normalization, windows,
decoding, thresholds and span rules are its own) and runs every member's
model on the same windows (:class:`AveragedProbabilities`): each piece gets the
mean of the members' probabilities, then the first pipeline decodes as usual.
The members must read the text the same way: the same tags, scheme, section
markers and tokenizer vocabulary (models distilled or warm-started from one
another do; anything else raises ``ModelLoadError`` naming the member).

An ensemble is for measuring (``scripts/evaluate.py --ensemble``: an upper bound
of what one model distilled from it may reach), not for shipping: it cannot be
saved (:meth:`pipeline.model.ner.TransformerNER.to_disk` refuses).

Public API: :class:`AveragedProbabilities`, :func:`load_ensemble`.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Sequence

import torch

from pipeline.model.ner import FACTORY


class AveragedProbabilities(torch.nn.Module):
    """Calls each member on the same inputs; ``.logits`` of the result are the log
    of their mean softmax probabilities (so a softmax gives the mean back)."""

    saveable = False  # TransformerNER.to_disk refuses a runner of several models

    def __init__(self, members: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two models")
        self.members = torch.nn.ModuleList(members)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        probs = torch.stack([m(input_ids=input_ids, attention_mask=attention_mask).logits.float().softmax(-1)
                             for m in self.members]).mean(0)
        return SimpleNamespace(logits=probs.clamp_min(1e-12).log())


def load_ensemble(model_dirs: Sequence[str | os.PathLike[str]], *, dtype: str | None = None,
                  decoding: str | None = None):
    """The first pipeline of ``model_dirs`` with the mean probabilities of all of
    them (module doc); ``dtype`` and ``decoding`` as in
    :func:`pipeline.model.build.load_pipeline`."""
    from pipeline.model.build import load_pipeline
    from pipeline.model.encoders.loading import ModelLoadError

    if len(model_dirs) < 2:
        raise ValueError("an ensemble needs at least two model folders")
    nlp = load_pipeline(model_dirs[0], dtype=dtype, decoding=decoding)
    ner = nlp.get_pipe(FACTORY)
    runners = [ner.runner]
    for folder in model_dirs[1:]:
        other = load_pipeline(folder, dtype=dtype).get_pipe(FACTORY)
        for what in ("tags", "scheme", "section_context"):
            if getattr(other, what) != getattr(ner, what):
                raise ModelLoadError(f"{folder}: {what} {getattr(other, what)!r} differs from "
                                     f"{model_dirs[0]}'s {getattr(ner, what)!r}: not one ensemble")
        if other.tokenizer.get_vocab() != ner.tokenizer.get_vocab():
            raise ModelLoadError(f"{folder}: its tokenizer's vocabulary differs from {model_dirs[0]}'s: "
                                 "the members must read the same pieces")
        runners.append(other.runner)
    ner.runner = AveragedProbabilities(runners)
    nlp.meta["name"] = "ensemble of " + " + ".join(str(d) for d in model_dirs)
    return nlp
