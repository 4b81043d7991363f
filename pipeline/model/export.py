"""The fine-tuned NER model as a plain Hugging Face token-classification folder.

:func:`export_hf` writes the ``govreport_ner`` component's weights and tokenizer
(IOB2 ``id2label``) to a folder that ``transformers.pipeline("token-classification",
model=OUT)`` and ``AutoModelForTokenClassification.from_pretrained(OUT)`` open
offline, without this package. What that plain use loses (written into the
folder's ``README.md``): the normalization in front of the model (traditional
characters, scraped-text damage, boilerplate), the paragraph windows, the
section marker after ``[CLS]`` (``[REVIEW]``/``[PLAN]``/``[OTHER]``: without it
the model must guess TARGET vs VALUE from the sentence alone), the decoding
(Viterbi, a CRF model's learned transitions, whole words), the span-edge rules and the per-label minimum span scores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.files import write_atomic

PLAIN_USE = """# {name}: plain token-classification export

Exported from `{source}` by `govreport-ner export-hf` (govreport-ner {version}).

```python
from transformers import pipeline
ner = pipeline("token-classification", model="{out}", aggregation_strategy="simple")
ner("预计地区生产总值增长6%左右。")
```

Labels (IOB2): {labels}.

What this plain use does not do, and the govreport-ner pipeline does
(`spacy.load` / `pipeline.model.build.load_pipeline`): normalization of the raw text
(OpenCC traditional-to-simplified, repair of scraped-text damage, boilerplate removal,
offsets back into the raw file); splitting into paragraphs and windows of at most
{max_length} positions (longer inputs are truncated here); the section marker token after
`[CLS]` ({markers}), which is how the model tells a plan TARGET from a review VALUE;
IOB2-constrained Viterbi decoding (with the learned transitions of a model trained with a
CRF layer) and whole-word span edges; the annotation rules on
span edges (punctuation, leading adverbs); the per-label minimum span scores (`min_score`,
chosen on dev), below which the pipeline drops a predicted span.
"""


def export_hf(model_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
              dtype: str = "float32") -> Path:
    """Write the NER model of the pipeline at ``model_dir`` to ``out`` (weights in
    ``dtype``, tokenizer, IOB2 labels, a README on plain use); returns ``out``."""
    import torch

    from pipeline import __version__
    from pipeline.model.build import load_pipeline
    from pipeline.model.ner import FACTORY, SECTION_MARKERS

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, not {dtype!r}")
    nlp = load_pipeline(model_dir, dtype="float32")
    if FACTORY not in nlp.pipe_names:
        raise ValueError(f"{model_dir}: the pipeline has no {FACTORY} component")
    ner = nlp.get_pipe(FACTORY)
    model = ner.model.to(getattr(torch, dtype))
    model.config.id2label = dict(enumerate(ner.tags))
    model.config.label2id = {tag: i for i, tag in enumerate(ner.tags)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    ner.tokenizer.model_max_length = ner.max_length
    ner.tokenizer.save_pretrained(out)
    write_atomic(out / "README.md", PLAIN_USE.format(
        name=nlp.meta.get("name", "govreport_ner"), source=model_dir, version=__version__, out=out,
        labels=", ".join(ner.tags), max_length=ner.max_length,
        markers=", ".join(SECTION_MARKERS.values()) if ner.section_context else "not used by this model"))
    write_atomic(out / "govreport_ner.json", json.dumps(
        {"source": str(model_dir), "scheme": ner.scheme, "section_context": ner.section_context,
         "max_length": ner.max_length, "labels": ner.labels}, ensure_ascii=False, indent=2))
    return out


class PlainTagger:
    """An exported folder run the plain way: ``transformers.pipeline("token-classification",
    aggregation_strategy="simple")`` on each text, nothing else (what a Hugging Face user
    gets; :func:`pipeline.evaluation.systems.evaluate` scores it like a model folder)."""

    def __init__(self, folder: str | os.PathLike[str], batch_size: int = 8) -> None:
        from transformers import pipeline as hf_pipeline

        self.folder = str(folder)
        self.tagger = hf_pipeline("token-classification", model=self.folder, aggregation_strategy="simple",
                                  batch_size=batch_size)

    def predict_records(self, records):
        """Copies of ``records`` with the plain pipeline's spans (edges stripped of spaces)."""
        from dataclasses import replace

        from pipeline.annotation.schema import Span

        texts = [r.text for r in records]
        out = []
        for record, found in zip(records, self.tagger(texts) if texts else []):
            spans, last = [], 0
            for e in sorted(found, key=lambda e: e["start"]):
                start, end = e["start"], e["end"]
                while start < end and record.text[start].isspace():
                    start += 1
                if start < end and start >= last:
                    spans.append(Span(start, end, e["entity_group"], float(e["score"])))
                    last = end
            out.append(replace(record, spans=spans, links=[]))
        return out


def is_plain_export(folder: str | os.PathLike[str]) -> bool:
    """A transformers token-classification folder, not a spaCy pipeline folder."""
    folder = Path(folder)
    return (folder / "config.json").is_file() and not (folder / "config.cfg").is_file()
