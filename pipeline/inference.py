"""The batch runner: raw report files in, entities out, resumable.

:func:`predict_reports` is the unit of work: raw reports through the
pipeline into annotation records, one per paragraph, each report on its own
(a pure function, called by the local engine here and by the Ray engine in
:mod:`pipeline.distributed`). :func:`run` applies it to files, folders and
globs and writes, under the output folder:

``entities.jsonl``
    Every paragraph of every report as an annotation record
    (:mod:`pipeline.annotations`): id ``<doc_id>#<paragraph index>``, the
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
    One ``{"source", "reason"}`` line per input that failed in this run.
``targets.csv``, ``targets.parquet``
    One row per TARGET/VALUE linked to its METRIC or PROJECT
    (:mod:`pipeline.targets`, columns :data:`pipeline.targets.TARGET_COLUMNS`):
    report, place, year, section, metric, kind, the text and its normalized
    quantity (:mod:`pipeline.quantities`), offsets in the paragraph and in the
    raw file.
``summary.html``
    Every metric's targets and values across the processed reports, as a
    table and a bar chart (self-contained, renders offline).

Records carry ``links`` (:mod:`pipeline.linking`: from the pipeline's
``govreport_linker`` when it has one, else computed here) and ``meta`` keys
``place`` and ``year`` (:mod:`pipeline.metadata`, from the report's opening
lines).

Resuming. Each report's results go first to ``parts/<doc_id>.jsonl`` and
``html/<doc_id>.html``, then its manifest ``parts/<doc_id>.manifest.json``
(source, size, mtime, sha256 of the input bytes, model identity). Every file
is written to a temporary file and renamed into place, and the manifest comes
last, so a report is finished iff its manifest matches the input and model of
the current run. A re-run skips finished reports, redoes changed ones, and
rebuilds the combined files (atomically, sorted by ``doc_id``) from the parts
of this run's inputs: whenever a run is killed, no output is half written and
the next run completes it with every report exactly once.

A file that cannot be read (binary, undecodable, empty) or that fails in the
pipeline is reported with its name and reason; the batch goes on.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import html
import io
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy import displacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import __version__
from pipeline.annotations import (
    ID_SEPARATOR,
    LABELS,
    Link,
    Record,
    Span,
    read_records,
    write_atomic,
    write_records,
)
from pipeline.docs import ENTITIES_KEY, paragraphs
from pipeline.linking import LINKS_KEY, link_spans
from pipeline.metadata import report_metadata
from pipeline.reading import ReportReadError, decode_bytes

ENTITIES_JSONL = "entities.jsonl"
ENTITIES_CSV = "entities.csv"
TARGETS_CSV = "targets.csv"
TARGETS_PARQUET = "targets.parquet"
SUMMARY_HTML = "summary.html"
ERRORS_JSONL = "errors.jsonl"
PARTS_DIR = "parts"
HTML_DIR = "html"
MANIFEST_SUFFIX = ".manifest.json"

REPORT_SUFFIXES: tuple[str, ...] = (".txt",)
"""Files taken from folders and globs; a file named on its own is always taken."""

CSV_COLUMNS: tuple[str, ...] = (
    "doc_id", "id", "section", "label", "text", "score", "start", "end", "raw_start", "raw_end",
)

COLORS: dict[str, str] = {
    "PROJECT": "#7aecec", "METRIC": "#feca74", "TARGET": "#ff9561", "VALUE": "#aa9cfc",
}

BASELINE_IDENTITY = f"rule-baseline/govreport-ner-{__version__}"


# --------------------------------------------------------------------------- one report


def _entities(doc: Doc) -> list:
    if ENTITIES_KEY in doc.spans:
        return sorted(doc.spans[ENTITIES_KEY], key=lambda s: (s.start_char, s.end_char))
    return list(doc.ents)


def _doc_links(doc: Doc, ents: list) -> set[tuple[int, int]] | None:
    """The pipeline's links as (head, tail) pairs of entity *bounds*, or None."""
    pairs = doc.user_data.get(LINKS_KEY)
    if pairs is None:
        return None
    group = list(doc.spans[ENTITIES_KEY]) if ENTITIES_KEY in doc.spans else list(doc.ents)
    key = [(e.start_char, e.end_char, e.label_) for e in group]
    return {(key[h], key[t]) for h, t in pairs}


def records_from_doc(doc: Doc, doc_id: str, source: str) -> list[Record]:
    """The records of a processed report Doc, one per paragraph, in order, with
    ``links`` and the report's ``place`` and ``year`` in ``meta``."""
    ents = _entities(doc)
    doc_links = _doc_links(doc, ents)
    info = report_metadata(doc.text)
    records = []
    for index, para in enumerate(paragraphs(doc)):
        p0, p1 = para.start_char, para.end_char
        spans: list[Span] = []
        raw_spans: list[list[int]] = []
        keys: list[tuple[int, int, str]] = []
        for ent in ents:
            if p0 <= ent.start_char and ent.end_char <= p1:
                spans.append(Span(ent.start_char - p0, ent.end_char - p0, ent.label_, ent._.score))
                raw_spans.append([ent._.raw_start, ent._.raw_end])
                keys.append((ent.start_char, ent.end_char, ent.label_))
        if doc_links is None:
            links = link_spans(para.text, spans)
        else:
            links = [Link(h, t) for h, hk in enumerate(keys) for t, tk in enumerate(keys)
                     if (hk, tk) in doc_links]
        meta: dict[str, Any] = {"source": source, "paragraph": index, "section": para.label_,
                                "place": info.place, "year": info.year}
        if para._.raw_start is not None:  # the Doc came from a raw file
            meta.update(raw_start=para._.raw_start, raw_end=para._.raw_end, raw_spans=raw_spans)
        records.append(Record(id=f"{doc_id}{ID_SEPARATOR}{index}", doc_id=doc_id,
                              text=para.text, spans=spans, meta=meta, links=links))
    return records


def records_for_report(nlp: Language, path: str | os.PathLike[str], raw_text: str, *,
                       doc_id: str | None = None, source: str | None = None) -> list[Record]:
    """Run ``nlp`` on one report's raw text; its records (see :func:`records_from_doc`).

    ``doc_id`` defaults to the file's stem and ``source`` to the path.
    """
    path = Path(path)
    return records_from_doc(nlp(raw_text), doc_id or path.stem, source or path.as_posix())


@dataclass(frozen=True)
class ReportText:
    """One report's decoded raw text, as the per-batch function takes it."""

    doc_id: str
    source: str
    text: str


def predict_reports(nlp: Language, reports: Sequence[ReportText]) -> list[list[Record] | Failure]:
    """The per-batch function of every engine: each report's records, or a
    :class:`Failure` with the reason when the pipeline fails on it.

    Pure: each report is one ``nlp`` call (the NER batches the windows of that
    report only), so a report's records depend on its text and the pipeline,
    never on which other reports share the batch. The local runner and the Ray
    engine (:mod:`pipeline.distributed`) therefore write the same bytes
    however they group the reports.
    """
    results: list[list[Record] | Failure] = []
    for report in reports:
        try:
            results.append(records_from_doc(nlp(report.text), report.doc_id, report.source))
        except Exception as err:  # noqa: BLE001 - reported per file, the batch goes on
            results.append(Failure(report.source, _reason(err)))
    return results


# displaCy's ent renderer is quadratic in the length of one text; very long
# paragraphs (a report pasted as one line) are shown in blocks of this size.
HTML_BLOCK_CHARS = 4000


def _display_blocks(record: Record) -> Iterator[tuple[int, int]]:
    """(start, end) blocks of a paragraph, cut only between entities."""
    spans = sorted((s.start, s.end) for s in record.spans)
    start, k = 0, 0
    while start < len(record.text):
        end = min(start + HTML_BLOCK_CHARS, len(record.text))
        while k < len(spans) and spans[k][1] <= end:
            k += 1
        if k < len(spans) and spans[k][0] < end:  # an entity crosses the cut: cut before it
            end = max(spans[k][0], start + 1) if spans[k][0] > start else spans[k][1]
        yield start, end
        start = end


def render_html(records: Sequence[Record], title: str) -> str:
    """One report as an HTML page: displaCy entities, one block per paragraph."""
    docs = []
    for i, r in enumerate(records):
        for b, (start, end) in enumerate(_display_blocks(r) if r.text else [(0, 0)]):
            docs.append({
                "text": r.text[start:end],
                "ents": [{"start": s.start - start, "end": s.end - start, "label": s.label}
                         for s in r.spans if start <= s.start and s.end <= end],
                "title": html.escape(f"¶{r.meta.get('paragraph', i)} · {r.section or '?'}") if b == 0 else None,
            })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # displaCy warns about paragraphs without entities
        body = displacy.render(docs, style="ent", manual=True, page=False,
                               options={"colors": COLORS, "ents": list(LABELS)})
    legend = " ".join(
        f'<mark style="background: {color}; padding: 0.2em 0.5em">{label}</mark>'
        for label, color in COLORS.items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; margin: 2em; max-width: 60em">\n'
        f"<h1>{html.escape(title)}</h1>\n<p>{legend}</p>\n{body}\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Report:
    """One input file: where it is, its ``doc_id`` and its ``source`` as recorded."""

    path: Path
    doc_id: str
    source: str


@dataclass(frozen=True)
class Failure:
    """An input that produced no results, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def _is_report_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in REPORT_SUFFIXES \
        and not path.name.startswith(".")


def _folder_reports(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if _is_report_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _source(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def find_reports(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[Report], list[Failure]]:
    """Resolve files, folders (``*.txt`` found recursively, hidden ones skipped) and
    globs (matching ``*.txt`` files and folders) into reports, each once.

    ``doc_id`` is the file stem; stems shared by several files get a short hash
    of the path appended. An input that matches nothing is a :class:`Failure`.
    """
    found: list[Path] = []
    failures: list[Failure] = []
    for item in inputs:
        path = Path(item)
        if path.is_file():
            paths = [path]
        elif path.is_dir():
            paths = _folder_reports(path)
            if not paths:
                failures.append(Failure(str(item), "folder holds no report files (*.txt)"))
        else:
            matches = [Path(m) for m in sorted(glob.glob(str(item), recursive=True))]
            paths = [p for m in matches
                     for p in (_folder_reports(m) if m.is_dir() else [m] if _is_report_file(m) else [])]
            if not paths:
                reason = "no report files match this pattern" if matches or glob.has_magic(str(item)) \
                    else "no such file or folder"
                failures.append(Failure(str(item), reason))
        found.extend(paths)

    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    stems: dict[str, int] = {}
    for p in unique.values():
        stems[p.stem] = stems.get(p.stem, 0) + 1
    reports = []
    for resolved, p in unique.items():
        doc_id = p.stem
        if stems[doc_id] > 1:
            doc_id += "-" + hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
        reports.append(Report(p, doc_id, _source(p)))
    return reports, failures


def _files_digest(root: Path, pattern: str, *, content: bool) -> str:
    """Hash of the files under ``root`` matching ``pattern``: names and contents,
    or (for big model weights) names, sizes and mtimes."""
    digest = hashlib.sha256()
    files = (q for q in root.rglob(pattern) if q.is_file() and "__pycache__" not in q.parts)
    for p in sorted(files):
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        if content:
            digest.update(hashlib.sha256(p.read_bytes()).digest())
        else:
            st = p.stat()
            digest.update(f"{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def model_identity(model_dir: str | os.PathLike[str] | None) -> str:
    """What decides whether earlier results are still valid: the model folder
    (file names, sizes, mtimes) or the rule baseline, and the ``pipeline``
    package (the contents of its code and data files)."""
    code = _files_digest(Path(__file__).resolve().parent, "*", content=True)
    if model_dir is None:
        return f"{BASELINE_IDENTITY}+code:{code}"
    root = Path(model_dir)
    return f"model:{root.name}:{_files_digest(root, '*', content=False)}+code:{code}"


# --------------------------------------------------------------------------- output folder


class OutputFolder:
    """The layout of an output folder and its atomic writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.parts = self.root / PARTS_DIR
        self.html = self.root / HTML_DIR

    def part(self, doc_id: str) -> Path:
        return self.parts / f"{doc_id}.jsonl"

    def manifest(self, doc_id: str) -> Path:
        return self.parts / f"{doc_id}{MANIFEST_SUFFIX}"

    def page(self, doc_id: str) -> Path:
        return self.html / f"{doc_id}.html"

    def remove_stray_temp_files(self) -> None:
        """Temporary files a killed run left behind (``write_atomic``'s ``.<name>.*.tmp``)."""
        for folder in (self.root, self.parts, self.html):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def is_done(self, report: Report, manifest: dict[str, Any]) -> bool:
        """Whether ``report`` has complete results for this input and model."""
        try:
            stored = json.loads(self.manifest(report.doc_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        keys = ("source", "sha256", "model")
        return all(stored.get(k) == manifest[k] for k in keys) \
            and self.part(report.doc_id).is_file() and self.page(report.doc_id).is_file()

    def save(self, report: Report, records: Sequence[Record], manifest: dict[str, Any]) -> None:
        """Write one report's page, part and (last, as the commit) manifest."""
        write_atomic(self.page(report.doc_id), render_html(records, report.doc_id))
        write_records(self.part(report.doc_id), records, validate=False)
        done = {**manifest, "records": len(records),
                "entities": sum(len(r.spans) for r in records)}
        write_atomic(self.manifest(report.doc_id), json.dumps(done, ensure_ascii=False, indent=1))

    def discard(self, report: Report) -> None:
        """Remove a report's results (its input now fails)."""
        for path in (self.manifest(report.doc_id), self.part(report.doc_id),
                     self.page(report.doc_id)):
            path.unlink(missing_ok=True)

    def combine(self, reports: Sequence[Report], failures: Sequence[Failure]) -> int:
        """Rebuild ``entities.jsonl``, ``entities.csv``, ``targets.csv``,
        ``targets.parquet``, ``summary.html`` and ``errors.jsonl``; returns the
        number of entities."""
        from pipeline import targets

        records: list[Record] = []
        for report in sorted(reports, key=lambda r: r.doc_id):
            records.extend(read_records(self.part(report.doc_id), validate=False))
        write_records(self.root / ENTITIES_JSONL, records, validate=False)
        write_atomic(self.root / ENTITIES_CSV, csv_text(records))
        rows = targets.rows_from_records(records)
        targets.write_csv(rows, self.root / TARGETS_CSV)
        try:
            targets.write_parquet(rows, self.root / TARGETS_PARQUET)
        except ImportError as err:  # pyarrow missing: the CSV has the same rows
            warnings.warn(f"{TARGETS_PARQUET} not written: {err}", stacklevel=2)
        write_atomic(self.root / SUMMARY_HTML, targets.render_summary(rows))
        write_atomic(self.root / ERRORS_JSONL, "".join(
            json.dumps({"source": f.source, "reason": f.reason}, ensure_ascii=False) + "\n"
            for f in failures))
        return sum(len(r.spans) for r in records)


def csv_text(records: Iterable[Record]) -> str:
    """One CSV row per entity (:data:`CSV_COLUMNS`), with a UTF-8 BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        raw_spans = r.meta.get("raw_spans") or [[None, None]] * len(r.spans)
        for span, (raw_start, raw_end) in zip(r.spans, raw_spans):
            writer.writerow([r.doc_id, r.id, r.section, span.label, r.span_text(span),
                             "" if span.score is None else f"{span.score:.4f}",
                             span.start, span.end,
                             "" if raw_start is None else raw_start,
                             "" if raw_end is None else raw_end])
    return "\ufeff" + buffer.getvalue()


# --------------------------------------------------------------------------- the run


@dataclass
class RunSummary:
    """What a run did. ``ok`` is false when any input failed."""

    out: Path
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    entities: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [f"{len(self.processed)} report(s) processed, {len(self.skipped)} already done, "
                 f"{len(self.failures)} failed; {self.entities} entities in "
                 f"{self.out / ENTITIES_JSONL}"]
        lines += [f"  FAILED {f}" for f in self.failures]
        return "\n".join(lines)


def _read(report: Report, model: str) -> tuple[str, dict[str, Any]]:
    """A report's text and its manifest (raises :class:`ReportReadError`)."""
    try:
        data = report.path.read_bytes()
        stat = report.path.stat()
    except OSError as err:
        raise ReportReadError(report.source, f"cannot be read: {err.strerror}") from None
    text, encoding = decode_bytes(data, report.source)
    if not text.strip():
        raise ReportReadError(report.source, "is empty (no text)")
    manifest = {"source": report.source, "size": len(data), "mtime_ns": stat.st_mtime_ns,
                "sha256": hashlib.sha256(data).hexdigest(), "encoding": encoding, "model": model}
    return text, manifest


def _reason(err: Exception) -> str:
    if isinstance(err, ReportReadError):
        return err.reason
    return f"pipeline failed: {type(err).__name__}: {err}"


ENGINES: tuple[str, ...] = ("local", "ray")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray engine runs (:mod:`pipeline.distributed`).

    ``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``, ...);
    ``None`` starts a local Ray on this machine and stops it afterwards.
    ``num_workers``: model replicas (Ray actors); ``None``: as many as the
    cluster's CPUs allow at ``cpus_per_worker`` each, which is also each
    worker's number of torch threads.
    """

    address: str | None = None
    num_workers: int | None = None
    cpus_per_worker: int = 1


@dataclass
class Pending:
    """A report to process: its manifest, its length, and (local engine) its text."""

    report: Report
    manifest: dict[str, Any]
    chars: int
    text: str | None = None


def run(inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
        model_dir: str | os.PathLike[str] | None = None,
        nlp: Language | Callable[[], Language] | None = None,
        batch_size: int = 8, force: bool = False, progress: bool = True,
        engine: str = "local", ray_options: RayOptions | None = None) -> RunSummary:
    """Run the pipeline over ``inputs`` (files, folders, globs) into ``out``.

    The pipeline is ``build.load_pipeline(model_dir)`` (``None``: the rule
    baseline), loaded only when some report needs processing; ``nlp`` (a
    ``Language`` or a function returning one) replaces it (local engine only).
    The local engine runs one report at a time; with ``engine="ray"``,
    ``batch_size`` reports go to a worker's :func:`predict_reports` at a time
    (outputs never depend on it). ``progress`` shows a bar (characters/s, ETA,
    moving inside a long report) when stderr is a terminal. ``force``
    redoes finished reports. Failed inputs are in the summary and
    ``errors.jsonl``.

    ``engine="ray"`` runs :func:`predict_reports` on Ray Data workers
    (:mod:`pipeline.distributed`, settings in ``ray_options``); reading the inputs'
    manifests, resuming and writing the outputs stay here, so both engines
    write the same files.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "ray" and nlp is not None:
        raise ValueError("engine='ray' loads the pipeline from model_dir in each worker; "
                         "pass model_dir, not nlp")
    folder = OutputFolder(out)
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.remove_stray_temp_files()
    identity = model_identity(model_dir)
    reports, failures = find_reports(inputs)
    summary = RunSummary(folder.root, failures=list(failures))

    pending: list[Pending] = []
    done: list[Report] = []
    for report in reports:
        try:
            text, manifest = _read(report, identity)
        except ReportReadError as err:
            summary.failures.append(Failure(report.source, _reason(err)))
            folder.discard(report)
            continue
        if not force and folder.is_done(report, manifest):
            summary.skipped.append(report.source)
            done.append(report)
        else:
            # The Ray workers read the file themselves: keep no text for them.
            pending.append(Pending(report, manifest, len(text), text if engine == "local" else None))

    if pending:
        bar = Progress(sum(p.chars for p in pending), len(pending), progress)
        if not progress and model_dir is not None:
            _quiet_model_loading()
        if engine == "ray":
            from pipeline.distributed import predict_on_ray

            results = predict_on_ray(pending, model_dir=model_dir, batch_size=batch_size,
                                     options=ray_options or RayOptions())
        else:
            results = _predict_locally(pending, nlp, model_dir, bar)
        done += _save_all(results, folder, summary, bar)

    summary.entities = folder.combine(done, summary.failures)
    return summary


def _quiet_model_loading() -> None:
    """No "Loading weights" bar from transformers (``--no-progress``)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # the rule baseline needs no transformers
        return
    hf_logging.disable_progress_bar()


def _predict_locally(pending: list[Pending], nlp: Language | Callable[[], Language] | None,
                     model_dir: str | os.PathLike[str] | None,
                     progress: "Progress") -> Iterator[tuple[Pending, list[Record] | Failure]]:
    """Load the pipeline now (so that its loading time is not counted as
    processing), then yield each report's results as soon as it is done."""
    if isinstance(nlp, Language):
        pipeline = nlp
    elif nlp is not None:
        pipeline = nlp()
    else:
        from pipeline.build import load_pipeline

        pipeline = load_pipeline(model_dir)
    ner = pipeline.get_pipe("govreport_ner") if "govreport_ner" in pipeline.pipe_names else None

    def results() -> Iterator[tuple[Pending, list[Record] | Failure]]:
        progress.start()
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
        """Start the clock (after the model is loaded)."""
        if self.enabled and self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="char", unit_scale=True, file=sys.stderr,
                            desc=self._desc(), smoothing=0.1, dynamic_ncols=True)

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
              summary: RunSummary, progress: Progress) -> list[Report]:
    """Write each report's results as they come (or record its failure)."""
    finished: list[Report] = []
    progress.start()
    try:
        for item, result in results:
            if isinstance(result, Failure):
                summary.failures.append(result)
                folder.discard(item.report)
            else:
                folder.save(item.report, result, item.manifest)
                summary.processed.append(item.report.source)
                finished.append(item.report)
            progress.report_done(item.chars, len(summary.failures))
    finally:
        progress.close()
    return finished
