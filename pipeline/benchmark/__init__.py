"""Inference and training throughput of the pipeline: ``govreport-ner benchmark [--model DIR]``
(or ``scripts/benchmark.py``).

Measures, in one run, on the reports in ``seeds/`` and with one set of model
weights:

* **our pipeline end to end** (read the file, detect the encoding, normalize,
  structure, NER) in bfloat16 (where the CPU runs it natively), int8 and
  float32 at a few NER batch sizes (windows per forward pass); the headline is
  the precision ``dtype = "auto"`` picks on this machine: characters per second (raw characters of the input
  files), the median of ``--repeats`` passes over all reports, after one
  warm-up report;
* **normalization + structure alone** (the same, without the NER component);
* **a naive baseline**: ``transformers.pipeline("token-classification",
  aggregation_strategy="simple")`` called on each non-empty line of each
  report, with the *same* weights and tokenizer (saved from the component to
  a temporary folder), float32, one paragraph per call, the tokenizer's
  ``model_max_length`` set to the component's ``max_length`` and
  ``stride`` = the component's, so that it reads all the text through windows
  of the same size as ours (the pipeline's default would truncate long
  paragraphs at 512 pieces);
* **training throughput** (sentences per second) with bf16 autocast vs
  float32, through the same step as :mod:`pipeline.model.training` (forward, token
  cross-entropy, backward, clipping, AdamW), on sentences of the seeds;
* **peak memory** (``ru_maxrss``) of each configuration, each run in a fresh
  subprocess so that configurations don't contaminate each other;
* a **profile** (pyinstrument, if installed) of the fastest configuration,
  split into pipeline stages, and torch's operator table;
* a **FLOPs ceiling**: the model's FLOPs for the windows the pipeline actually
  runs, divided by the matrix-multiplication rate measured on this machine.

Without ``--model`` the pipeline is built from the base encoder
(``--base-model``) with a randomly initialized classification head: the same
architecture and FLOPs as a trained model, but its entities are meaningless
(the output says so). ``--prune`` prunes the vocabulary to the seeds first
(memory only; FLOPs are unchanged).

The table, ratios, machine description and command are printed and written
to ``--out`` (default ``BENCHMARKS.md``; ``--out -`` writes nothing).
``--quick`` is a short run to check that everything works (a few reports,
one repeat, one batch size per dtype, few training steps): its numbers are
not the benchmark.

Modules: :mod:`~pipeline.benchmark.workers` (one configuration, measured in a
fresh process: ``python -m pipeline.benchmark.workers JOB``),
:mod:`~pipeline.benchmark.report` (the machine and the Markdown report); the
command is :mod:`pipeline.cli.benchmark`.
"""
