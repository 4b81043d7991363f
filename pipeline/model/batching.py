"""Training windows into batches: padding (:func:`collate_windows`) and batches of
windows of similar length in random order (:class:`LengthGroupedBatches`)."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from pipeline.model.losses import IGNORE
from pipeline.model.ner import pad_batch


def collate_windows(pad_id: int) -> Callable[[list[dict]], dict[str, torch.Tensor]]:
    """The ``DataLoader`` collate function of :func:`make_features` rows: padded
    ``input_ids``, ``attention_mask``, ``labels`` (:data:`IGNORE` on padding) and
    ``weight``; the rows' ``teacher_logp`` too when they have one (zeros on padding)."""
    def collate(rows: list[dict]) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([r["input_ids"] for r in rows], pad_id)
        labels, _ = pad_batch([r["labels"] for r in rows], IGNORE)
        weight = torch.tensor([r["weight"] for r in rows], dtype=torch.float)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": labels, "weight": weight}
        if "teacher_logp" in rows[0]:
            soft = torch.zeros(*ids.shape, len(rows[0]["teacher_logp"][0]))
            for i, row in enumerate(rows):
                soft[i, :len(row["teacher_logp"])] = torch.tensor(row["teacher_logp"])
            batch["teacher_logp"] = soft
        return batch

    return collate


class LengthGroupedBatches:
    """A batch sampler: each epoch, the windows in random order are cut into groups
    of 50 batches, each group sorted by length and cut into batches, and the
    batches shuffled (Hugging Face's ``group_by_length``): batches of windows of
    similar length pad little, and their order stays random. Draws from
    ``generator``, so a resumed run sees the same batches."""

    GROUP = 50  # batches per sorted group

    def __init__(self, lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> None:
        self.lengths, self.batch_size, self.generator = list(lengths), batch_size, generator

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        size = self.batch_size * self.GROUP
        batches: list[list[int]] = []
        for start in range(0, len(order), size):
            group = sorted(order[start:start + size], key=lambda i: -self.lengths[i])
            batches += [group[k:k + self.batch_size] for k in range(0, len(group), self.batch_size)]
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]
