"""Build or load the user-facing pipeline.

``nlp(raw_text)``: normalization (the tokenizer) -> structure (paragraphs,
sentences, sections) -> entity recognizer (the fine-tuned transformer, or the
rule baseline when no model is given).  Every entity carries offsets into the
raw text (``span._.raw_start``/``span._.raw_end``).
"""

from __future__ import annotations

import os
from pathlib import Path

import spacy
from spacy.language import Language

from pipeline.model.encoders.loading import ModelLoadError
from pipeline.text import structure  # noqa: F401  (registers govreport_structure)
from pipeline.text import tokenizer  # noqa: F401  (registers the tokenizer)
from pipeline.text.normalize import NormalizeConfig

NO_MODEL = "none"
"""The model argument that means the rule baseline (``--model none``)."""

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
    from pipeline.model import rules  # noqa: F401  (registers govreport_rules)

    nlp = blank_pipeline(normalize)
    nlp.add_pipe("govreport_rules")
    return nlp


def load_pipeline(model_dir: str | Path | None = None, *, dtype: str | None = None,
                  decoding: str | None = None) -> Language:
    """Load a trained pipeline directory, or the rule pipeline when ``None``.

    ``dtype`` overrides the NER component's inference precision (``auto``,
    ``float32``, ``bfloat16``, ``int8``; see :mod:`pipeline.model.precision`); ``None``
    keeps the saved setting. ``decoding`` (``viterbi`` or ``argmax``, see
    :mod:`pipeline.model.decoding`) overrides how piece tags are chosen likewise.

    A missing or broken folder raises :class:`~pipeline.model.encoders.loading.ModelLoadError`
    naming the folder or the file that is wrong.
    """
    if model_dir is None:
        return rule_pipeline()
    from pipeline.model import ner  # noqa: F401  (registers govreport_ner; imports torch)

    model_dir = Path(model_dir)
    if not (model_dir / "config.cfg").is_file():
        raise ModelLoadError(f"{model_dir}: not a pipeline directory (no config.cfg)")
    try:
        settings = {k: v for k, v in (("dtype", dtype), ("decoding", decoding)) if v}
        overrides = {"components": {"govreport_ner": settings}} if settings else {}
        nlp = spacy.load(model_dir, config=overrides)
        nlp.max_length = MAX_CHARS
        return nlp
    except ModelLoadError:
        raise
    except Exception as err:  # spaCy / JSON / OS errors often omit the path
        raise ModelLoadError(f"{model_dir}: cannot load the pipeline "
                             f"({type(err).__name__}: {err})") from err


def save_ner_setting(model_dir: str | os.PathLike[str], name: str, value) -> None:
    """Set one setting of a saved pipeline's NER component in its ``config.cfg``
    (atomically; the weights are untouched), e.g. ``min_score`` after
    ``evaluate --tune-min-score``. The folder must load afterwards: it is checked."""
    from pipeline.files import write_atomic
    from pipeline.model.settings import NERSettings

    if name not in NERSettings.names():
        raise ValueError(f"{name!r} is not a setting of the NER component")
    path = Path(model_dir) / "config.cfg"
    if not path.is_file():
        raise ModelLoadError(f"{model_dir}: not a pipeline directory (no config.cfg)")
    config = spacy.util.load_config(path)
    config["components"]["govreport_ner"][name] = value
    old = path.read_text(encoding="utf-8")
    write_atomic(path, config.to_str())
    try:
        load_pipeline(model_dir)
    except Exception:
        write_atomic(path, old)
        raise


def model_path(model: str | os.PathLike[str] | None) -> Path | None:
    """A model argument as a folder: ``None`` or ``"none"`` (any case,
    :data:`NO_MODEL`) -> ``None``, the rule baseline; anything else -> its path."""
    if model is None or str(model).lower() == NO_MODEL:
        return None
    return Path(model)


def saved_precision(model_dir: str | os.PathLike[str]) -> str | None:
    """The precision the saved pipeline's NER component runs in on this machine
    (its ``dtype`` setting, ``auto`` resolved for this CPU); ``None`` when the
    folder has no readable config or no NER component."""
    try:
        config = spacy.util.load_config(Path(model_dir) / "config.cfg")
        dtype = config["components"]["govreport_ner"]["dtype"]
    except Exception:  # noqa: BLE001 - loading the folder reports what is wrong
        return None
    from pipeline.model.precision import resolve_precision  # imports torch

    try:
        return resolve_precision(dtype)
    except ValueError:
        return None
