"""Annotation layer: the record format, validator, JSONL and splits, converters, datasets, scores, corpus statistics."""
