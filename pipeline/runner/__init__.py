"""The batch runner: raw report files in, entities and tables out, resumable.

- :mod:`~pipeline.runner.records`: a processed Doc -> annotation records, and
  :func:`~pipeline.runner.records.predict_reports`, the pure per-batch function
  every engine calls;
- :mod:`~pipeline.runner.inputs`: files, folders and globs -> reports (regular
  files only) and their ``doc_id``; each report's text, manifest and warnings;
  the model identity;
- :mod:`~pipeline.runner.outputs`: the output folder, a store that only grows:
  its lock (one run at a time), atomic writes and the combined files;
  :mod:`~pipeline.runner.pages` the displaCy page of a report;
- :mod:`~pipeline.runner.run`: :func:`~pipeline.runner.run.run`, the local engine
  and the progress bar; :mod:`~pipeline.runner.ray` the Ray Data engine.
"""
