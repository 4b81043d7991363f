"""Build or load the user-facing pipeline.

``nlp(raw_text)``: normalization (the tokenizer) -> structure (paragraphs,
sentences, sections) -> entity recognizer (the fine-tuned transformer, or the
rule baseline when no model is given).  Every entity carries offsets into the
raw text (``span._.raw_start``/``span._.raw_end``).
"""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from . import structure  # noqa: F401  (registers govreport_structure)
from . import tokenizer  # noqa: F401  (registers the tokenizer)
from .normalize import NormalizeConfig

LANG = "xx"  # language-neutral: tokenization is ours, one token per character
MAX_CHARS = 10_000_000
"""``nlp.max_length``: spaCy's default (1,000,000, sized for its parser) would
reject a long single-line report; every component here is linear in the text
length and works per paragraph. 10 M characters is ~30 MB of Chinese text."""


def blank_pipeline(normalize: NormalizeConfig | None = None) -> Language:
    """Tokenizer (normalization) + structure, no entity recognizer yet."""
    steps = (normalize or NormalizeConfig()).to_dict()
    config = {"nlp": {"tokenizer": {"@tokenizers": "govreport.ReportTokenizer.v1", "steps": steps}}}
    nlp = spacy.blank(LANG, config=config)
    nlp.max_length = MAX_CHARS
    nlp.add_pipe("govreport_structure")
    return nlp


def rule_pipeline(normalize: NormalizeConfig | None = None) -> Language:
    """The rule baseline behind normalization and structure."""
    from . import rules  # noqa: F401  (registers govreport_rules)

    nlp = blank_pipeline(normalize)
    nlp.add_pipe("govreport_rules")
    return nlp


def load_pipeline(model_dir: str | Path | None = None, *, dtype: str | None = None) -> Language:
    """Load a trained pipeline directory, or the rule pipeline when ``None``.

    ``dtype`` overrides the NER component's inference precision (``auto``,
    ``float32``, ``bfloat16``, ``int8``; see :mod:`pipeline.precision`); ``None``
    keeps the saved setting.

    A missing or broken folder raises :class:`pipeline.encoders.ModelLoadError`
    naming the folder or the file that is wrong.
    """
    if model_dir is None:
        return rule_pipeline()
    from . import ner  # noqa: F401  (registers govreport_ner)
    from .encoders import ModelLoadError

    model_dir = Path(model_dir)
    if not (model_dir / "config.cfg").is_file():
        raise ModelLoadError(f"{model_dir}: not a pipeline directory (no config.cfg)")
    try:
        overrides = {"components": {"govreport_ner": {"dtype": dtype}}} if dtype else {}
        nlp = spacy.load(model_dir, config=overrides)
        nlp.max_length = MAX_CHARS
        return nlp
    except ModelLoadError:
        raise
    except Exception as err:  # spaCy / JSON / OS errors often omit the path
        raise ModelLoadError(f"{model_dir}: cannot load the pipeline "
                             f"({type(err).__name__}: {err})") from err
