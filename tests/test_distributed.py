"""The Ray engine (``pipeline.runner.ray``): same outputs as the local runner.

Skipped only when the optional extra ``.[ray]`` is not installed (``make test``
installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import spacy

pytest.importorskip("ray.data", reason="the optional extra .[ray] is not installed")

import ray.data  # noqa: E402

from pipeline.runner.ray import RayOptions, ReportPredictor  # noqa: E402
from pipeline.runner.run import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from ner_tiny import tiny_pipeline  # noqa: E402

REPORT = (
    "政府工作报告\n\n一、2023年工作回顾\n\n全年地区生产总值增长6.5%，粮食产量稳定。\n\n"
    "建成幸福路综合管廊工程。\n\n二、2024年主要目标\n\n地区生产总值增长6%左右。\n"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full pipeline (normalization, structure, NER) with a tiny random encoder."""
    root = tmp_path_factory.mktemp("model")
    tiny_pipeline(root / "base", max_length=32, stride=8).to_disk(root / "pipeline")
    return root / "pipeline"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    (folder / "utf8.txt").write_text(REPORT, encoding="utf-8")
    (folder / "long.txt").write_text(REPORT * 6, encoding="utf-8")  # many windows
    (folder / "gbk.txt").write_bytes(REPORT.replace("6.5", "7.1").encode("gbk"))
    (folder / "trad.txt").write_text("政府工作報告\n\n地區生產總值增長5%。\n", encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\x00\x01binary\xff" * 20)
    return folder


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_ray_with_two_workers_writes_the_local_bytes(tiny_model: Path, inputs: Path,
                                                     tmp_path: Path) -> None:
    local = run([inputs], tmp_path / "local", model_dir=tiny_model, batch_size=3, progress=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = True  # the user's setting
    remote = run([inputs], tmp_path / "ray", model_dir=tiny_model, batch_size=1, progress=False,
                 engine="ray", ray_options=RayOptions(num_workers=2))
    # The engine turns Ray Data's bars off for its run only (process-global settings).
    assert ray.data.DataContext.get_current().enable_progress_bars is True

    assert sorted(remote.processed) == sorted(local.processed) and len(local.processed) == 4
    # The bad file is reported, by name, and the others are all there.
    assert [Path(f.source).name for f in remote.failures] == ["broken.txt"]
    assert remote.entities == local.entities
    local_files, ray_files = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert set(local_files) == set(ray_files)
    assert {"entities.jsonl", "entities.csv", "targets.csv", "attainment.csv", "summary.html",
            "html/long.html", "errors.jsonl"} <= set(ray_files)
    different = [name for name in local_files if local_files[name] != ray_files[name]]
    assert different == []

    # A re-run resumes: nothing left to do, so Ray is not even started.
    again = run([inputs], tmp_path / "ray", model_dir=tiny_model, progress=False, engine="ray")
    assert again.processed == [] and len(again.skipped) == 4


def test_worker_reports_failing_files_and_keeps_the_others(tmp_path: Path) -> None:
    """The actor's batch function, run here without Ray: a file that fails to
    decode and one that fails in the pipeline get their reasons; the rest
    their records."""
    files = {"good.txt": REPORT.encode("utf-8"), "boom.txt": "BOOM 增长1%\n".encode("utf-8"),
             "undecodable.txt": b"\x00\x00binary"}
    keys = [(tmp_path / name).resolve().as_posix() for name in files]
    predictor = ReportPredictor(None, 1, {k: (Path(k).stem, Path(k).name) for k in keys})
    rules = predictor.nlp

    def exploding(text: str):  # noqa: ANN202
        if text.startswith("BOOM"):
            raise RuntimeError("model exploded")
        return rules(text)

    predictor.nlp = exploding
    out = predictor({"path": keys, "bytes": list(files.values())})
    assert out["path"] == keys
    good, boom, undecodable = (dict(zip(out, row)) for row in zip(*out.values()))
    assert good["error"] == "" and '"id": "good#0"' in good["records"]
    assert boom["records"] == "" and "RuntimeError: model exploded" in boom["error"]
    assert undecodable["records"] == "" and "binary" in undecodable["error"]


def test_ray_engine_refuses_an_in_memory_pipeline(inputs: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model_dir"):
        run([inputs], tmp_path / "out", nlp=spacy.blank("zh"), engine="ray", progress=False)
    with pytest.raises(ValueError, match="engine"):
        run([inputs], tmp_path / "out", engine="dask", progress=False)
