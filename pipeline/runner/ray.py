"""The batch runner's engine on Ray Data: ``run(..., engine="ray")``.

:func:`pipeline.runner.run.run` finds the inputs, reads their manifests,
skips finished reports and writes every output; only the prediction moves
here. :func:`predict_on_ray` reads the pending files with
``ray.data.read_binary_files`` and maps batches of them through
:class:`ReportPredictor`, a Ray actor that loads the pipeline once and calls
the same per-batch function as the local engine,
:func:`pipeline.runner.records.predict_reports`. Results stream back to the
driver, which saves each report as it arrives (so a killed run resumes like a
local one). Because ``predict_reports`` never mixes reports, the outputs are
byte-identical to the local engine's whatever the batching and the number
of workers.

The workers must see the input files and the model folder at the same paths
as the driver (one machine, or a shared file system on a cluster), and have
this package installed. ``ray`` is the optional extra ``.[ray]``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dataclasses import dataclass

from pipeline.annotation.jsonl import dumps_records, parse_records
from pipeline.annotation.schema import Record
from pipeline.runner.inputs import Pending
from pipeline.runner.records import Failure, ReportText, predict_reports
from pipeline.text.reading import ReportReadError, decode_bytes

INSTALL_HINT = "the Ray engine needs the optional extra: pip install -e '.[ray]'"


class RayNotInstalledError(ImportError):
    """``ray`` (with Ray Data) is not installed: the optional extra ``.[ray]`` is missing.
    Only this error means that; any other ``ImportError`` is a real failure."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray engine runs.

    ``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``, ...);
    ``None`` starts a local Ray on this machine and stops it afterwards.
    ``num_workers``: model replicas (Ray actors); ``None``: as many as the
    cluster's CPUs allow at ``cpus_per_worker`` each, which is also each
    worker's number of torch threads.
    """

    address: str | None = None
    num_workers: int | None = None
    cpus_per_worker: int = 1


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise RayNotInstalledError(f"{INSTALL_HINT} ({err})") from None
    return ray


def _key(path: str | os.PathLike[str]) -> str:
    """One spelling per file, for matching Ray's row paths to the reports."""
    return Path(path).resolve().as_posix()


class ReportPredictor:
    """Ray Data actor: the pipeline loaded once; batches of raw files in,
    each file's records (JSONL text) or failure reason out."""

    def __init__(self, model_dir: str | None, threads: int, reports: dict[str, tuple[str, str]],
                 dtype: str | None = None):
        import torch

        from pipeline.model.build import load_pipeline

        torch.set_num_threads(threads)
        self.nlp = load_pipeline(model_dir, dtype=dtype)
        self.reports = reports  # path key -> (doc_id, source)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        keys = [_key(p) for p in batch["path"]]
        texts: list[ReportText] = []
        errors: dict[str, str] = {}
        for key, data in zip(keys, batch["bytes"]):
            doc_id, source = self.reports[key]
            try:
                text, _ = decode_bytes(bytes(data), source)
            except ReportReadError as err:  # changed since the driver read it
                errors[key] = err.reason
            else:
                texts.append(ReportText(doc_id, source, text))
        results = iter(predict_reports(self.nlp, texts))
        out: dict[str, list[str]] = {"path": keys, "records": [], "error": []}
        for key in keys:
            result = errors[key] if key in errors else next(results)
            if isinstance(result, Failure):
                result = result.reason
            out["records"].append("" if isinstance(result, str) else dumps_records(result))
            out["error"].append(result if isinstance(result, str) else "")
        return out


def _num_workers(ray, options: RayOptions) -> int:
    if options.num_workers is not None:
        return options.num_workers
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // options.cpus_per_worker)


def predict_on_ray(pending: Sequence[Pending], *, model_dir: str | os.PathLike[str] | None,
                   batch_size: int, options: RayOptions, dtype: str | None = None
                   ) -> Iterator[tuple[Pending, list[Record] | Failure]]:
    """Each pending report with its records or failure, in completion order.

    Starts a local Ray when ``options.address`` is ``None`` and none is running
    (and stops it at the end); otherwise connects to ``options.address``.
    """
    if options.cpus_per_worker < 1 or (options.num_workers is not None and options.num_workers < 1):
        raise ValueError("num_workers and cpus_per_worker must be at least 1")
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=options.address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    context, progress_bars = None, None
    try:
        # Ray Data's settings are process-global: changed for this run only.
        context = ray.data.DataContext.get_current()
        progress_bars = context.enable_progress_bars
        context.enable_progress_bars = False  # the runner shows its own
        by_key = {_key(p.report.path): p for p in pending}
        reports = {k: (p.report.doc_id, p.report.source) for k, p in by_key.items()}
        workers = _num_workers(ray, options)
        # Reading is I/O: no CPU reserved for it (so the workers can hold every core)
        # and one read task at a time (else Ray starts a process per file).
        # One block per file: Ray hands whole blocks to the actors, so files packed
        # into a few blocks would keep the other workers idle.
        files = ray.data.read_binary_files(list(by_key), include_paths=True, num_cpus=0,
                                           concurrency=1, override_num_blocks=len(by_key))
        results = files.map_batches(
            ReportPredictor,
            fn_constructor_kwargs={"model_dir": None if model_dir is None else _key(model_dir),
                                   "threads": options.cpus_per_worker, "reports": reports,
                                   "dtype": dtype},
            batch_size=batch_size, batch_format="numpy",
            # One batch in flight per actor: otherwise the first actor to start
            # queues the first batches and the others wait for work.
            compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
            num_cpus=options.cpus_per_worker,
        )
        for row in results.iter_rows():
            item = by_key[row["path"]]
            if row["error"]:
                yield item, Failure(item.report.source, row["error"])
            else:
                yield item, parse_records(row["records"])
    finally:
        if context is not None:
            context.enable_progress_bars = progress_bars
        if started:
            ray.shutdown()
