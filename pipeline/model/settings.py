"""The settings of the ``govreport_ner`` component, written once.

:class:`NERSettings` feeds the spaCy factory's ``default_config``
(:func:`pipeline.model.ner.make_ner`), the component itself
(:class:`pipeline.model.ner.TransformerNER`) and the training config
(:class:`pipeline.model.training.TrainConfig`, whose defaults for these keys
are the ones here and whose :meth:`~pipeline.model.training.TrainConfig.ner_settings`
builds the component's settings). No torch here: reading settings is cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pipeline.annotation.schema import LABELS


@dataclass
class NERSettings:
    """What the component is configured with (``[components.govreport_ner]`` in a
    pipeline's ``config.cfg``). ``labels``, ``scheme``, ``section_context`` and
    ``style_rules`` must match the weights and are restored from the saved
    component; the others can be overridden when loading."""

    base_model: str | None = None  # encoder folder or name that initialize() loads
    labels: list[str] = field(default_factory=lambda: list(LABELS))  # entity labels
    scheme: str = "subword"  # "subword" (tokenizer pieces) or "char" (one piece per character)
    section_context: bool = True  # section marker token after [CLS]
    max_length: int = 256  # model positions per window, specials included
    stride: int = 64  # pieces shared by consecutive windows
    sentence_windows: bool = False  # long paragraphs cut at sentence ends into windows that do not overlap
    batch_size: int = 32  # windows per forward pass at inference
    dtype: str = "auto"  # inference precision (pipeline.model.precision)
    style_rules: bool = True  # trim predicted span edges to the project's rules
    decoding: str = "viterbi"  # piece tags: "viterbi" (well-formed IOB2), "argmax" or "crf" (learned transitions; pipeline.model.decoding)
    min_score: dict[str, float] = field(default_factory=dict)  # per label: spans scoring below are dropped
    # (chosen on dev by ``evaluate --tune-min-score``; {}: keep every span)

    def config(self) -> dict[str, Any]:
        """The settings as a spaCy component config (plain JSON values)."""
        return asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DEFAULTS = NERSettings()
"""The defaults, shared by the factory and the training config."""
