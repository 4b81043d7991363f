"""The pipeline's tokenizer: raw report text -> normalized character Doc.

spaCy runs the tokenizer first, so normalization lives here: ``nlp(raw)``
normalizes the raw text (:mod:`pipeline.text.normalize`), builds a Doc with one
token per normalized character (:mod:`pipeline.text.docs`) and attaches the
alignment, so ``span._.raw_start``/``span._.raw_end`` of every entity point
into the raw file.  The normalization steps are part of the saved pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from pipeline.text.docs import make_char_doc, set_alignment
from pipeline.text.normalize import NormalizeConfig, normalize


class ReportTokenizer:
    """Normalizes raw text and returns a one-token-per-character Doc."""

    def __init__(self, vocab: Vocab, config: NormalizeConfig | None = None):
        self.vocab = vocab
        self.config = config or NormalizeConfig()

    def __call__(self, raw: str) -> Doc:
        normalized = normalize(raw, self.config)
        doc = make_char_doc(self.vocab, normalized.text)
        set_alignment(doc, normalized.raw_starts, normalized.raw_ends)
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    # Serialization: the normalization steps are the tokenizer's only state.
    def to_bytes(self, *, exclude=tuple()) -> bytes:
        return json.dumps(self.config.to_dict()).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude=tuple()) -> "ReportTokenizer":
        self.config = NormalizeConfig.from_dict(json.loads(data))
        return self

    def to_disk(self, path, *, exclude=tuple()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "normalize.json").write_bytes(self.to_bytes())

    def from_disk(self, path, *, exclude=tuple()) -> "ReportTokenizer":
        return self.from_bytes((Path(path) / "normalize.json").read_bytes())


@registry.tokenizers("govreport.ReportTokenizer.v1")
def create_report_tokenizer(steps: dict[str, bool] | None = None):
    """Registered factory: ``[nlp.tokenizer] @tokenizers = "govreport.ReportTokenizer.v1"``."""
    config = NormalizeConfig.from_dict(steps or {})

    def make(nlp) -> ReportTokenizer:
        return ReportTokenizer(nlp.vocab, config)

    return make
