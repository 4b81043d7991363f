"""Text layer: raw files -> text, normalization with alignment, structure, the spaCy tokenizer, Doc conventions."""
