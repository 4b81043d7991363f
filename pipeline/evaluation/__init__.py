"""Evaluation of whole systems against gold records.

Scores are entity-level, strict IOB2 (:mod:`pipeline.annotation.scores`).

- :mod:`~pipeline.evaluation.gold`: gold records read from files and kept to a
  split, refused when nothing would be scored or a record id is given twice;
- :mod:`~pipeline.evaluation.systems`: run the NER model and the rule baseline
  on gold records and score both (:func:`~pipeline.evaluation.systems.evaluate`);
- :mod:`~pipeline.evaluation.errors`: every false positive and false negative,
  classified and with context;
- :mod:`~pipeline.evaluation.report`: the scores as tables, and the output files;
- :mod:`~pipeline.evaluation.end_to_end`: the targets table against gold, end to end.
"""
