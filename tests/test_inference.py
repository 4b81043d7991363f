"""The batch runner: outputs, per-file errors, resuming after a crash, changed inputs.

The pipeline is a stand-in built here (one token per character, ``\\r``
dropped by the "normalizer" so raw offsets differ from normalized ones,
paragraphs per line, numbers as VALUE), so these tests check the runner only.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.runner import inputs, outputs, run as run_module
from pipeline.annotation.jsonl import read_records
from pipeline.text.docs import make_char_doc, set_alignment, set_entities, set_paragraphs
from pipeline.runner.inputs import find_reports, natural_doc_id
from pipeline.runner.outputs import ENTITIES_CSV, ENTITIES_JSONL, ERRORS_JSONL
from pipeline.runner.records import records_for_report
from pipeline.runner.run import run
from pipeline.text.reading import decode_bytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from fake_tty import FakeTTY  # noqa: E402

GOOD_1 = "一、2023年工作回顾\r\n地区生产总值增长6.5%。\r\n二、2024年工作目标\r\n粮食产量达到80万吨。\r\n"
GOOD_2 = "财政收入增长12%，居民收入增长7%。\n今年目标：新增就业3000人。\n"
GBK = "过去一年，固定资产投资增长9.1%。\n"
GOOD2 = natural_doc_id("sub/good2.txt")
"""``reports/sub/good2.txt``'s id: a file in a subfolder of the input root gets a
hash of its relative path (``good2-<8 hex>``), whatever else is in the batch."""


class CharTokenizer:
    """Stand-in normalizer: one token per character, ``\\r`` removed, raw alignment kept."""

    def __init__(self, vocab) -> None:  # noqa: ANN001
        self.vocab = vocab

    def __call__(self, raw: str) -> Doc:
        kept = [i for i, ch in enumerate(raw) if ch != "\r"]
        doc = make_char_doc(self.vocab, "".join(raw[i] for i in kept))
        set_alignment(doc, kept, [i + 1 for i in kept])
        return doc


@Language.component("test_inference_structure")
def structure(doc: Doc) -> Doc:
    bounds, pos = [], 0
    for line in doc.text.split("\n"):
        if line.strip():
            bounds.append((pos, pos + len(line), "plan" if "目标" in line else "review"))
        pos += len(line) + 1
    set_paragraphs(doc, bounds)
    return doc


CALLS: list[str] = []
"""First characters of every text the stand-in model saw."""


@Language.component("test_inference_ner")
def ner(doc: Doc) -> Doc:
    CALLS.append(doc.text[:12])
    if "BOOM" in doc.text:
        raise RuntimeError("model exploded")
    set_entities(doc, [(m.start(), m.end(), "VALUE", 0.9)
                       for m in re.finditer(r"\d+(?:\.\d+)?%", doc.text)])
    return doc


def stand_in() -> Language:
    nlp = spacy.blank("xx")
    nlp.tokenizer = CharTokenizer(nlp.vocab)
    nlp.add_pipe("test_inference_structure")
    nlp.add_pipe("test_inference_ner")
    return nlp


@pytest.fixture(autouse=True)
def clear_calls() -> None:
    CALLS.clear()


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "good1.txt").write_bytes(GOOD_1.encode("utf-8"))
    (folder / "sub" / "good2.txt").write_bytes(GOOD_2.encode("utf-8"))
    (folder / "gbk.txt").write_bytes(GBK.encode("gbk"))
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "SOURCES.tsv").write_text("file\tplace\n", encoding="utf-8")
    return folder


def entities(out: Path) -> list:
    return read_records(out / ENTITIES_JSONL, validate=False)


def doc_ids(out: Path) -> list[str]:
    return [r.doc_id for r in entities(out)]


def test_records_for_report_shape() -> None:
    records = records_for_report(stand_in(), Path("x/report.txt"), GOOD_1)
    assert [r.id for r in records] == ["report#0", "report#1", "report#2", "report#3"]
    assert [r.section for r in records] == ["review", "review", "plan", "review"]
    second = records[1]
    assert second.text == "地区生产总值增长6.5%。"
    assert [(second.span_text(s), s.label, s.score) for s in second.spans] == [("6.5%", "VALUE", 0.9)]
    meta = second.meta
    assert meta["source"] == "x/report.txt" and meta["paragraph"] == 1
    # Raw offsets point into the raw text, which still has the \r's.
    for r in records:
        assert GOOD_1[r.meta["raw_start"]:r.meta["raw_end"]] == r.text
    normalized_start = GOOD_1.replace("\r", "").index("粮食")
    assert records[3].meta["raw_start"] == GOOD_1.index("粮食") == normalized_start + 3
    (raw_start, raw_end), = meta["raw_spans"]
    assert GOOD_1[raw_start:raw_end] == "6.5%"


def test_run_writes_all_outputs_and_reports_bad_files(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run([reports], out, nlp=stand_in(), progress=False)

    assert not summary.ok
    assert sorted(summary.processed) == sorted(
        inputs._source(reports / p) for p in ("good1.txt", "sub/good2.txt", "gbk.txt"))
    assert [Path(f.source).name for f in summary.failures] == ["binary.txt"]
    assert "binary" in summary.failures[0].reason
    assert "binary.txt" in str(summary) and "FAILED" in str(summary)
    errors = [json.loads(x) for x in (out / ERRORS_JSONL).read_text("utf-8").splitlines()]
    assert [Path(e["source"]).name for e in errors] == ["binary.txt"]

    records = entities(out)
    # sorted by doc_id, paragraphs in order; SOURCES.tsv skipped
    assert [r.id for r in records] == [
        "gbk#0", "good1#0", "good1#1", "good1#2", "good1#3", f"{GOOD2}#0", f"{GOOD2}#1"]
    gbk = records[0]
    assert [gbk.span_text(s) for s in gbk.spans] == ["9.1%"]
    for r in records:  # raw offsets of every span point at the same text in the raw file
        raw = decode_bytes(Path(r.meta["source"]).read_bytes())[0]
        for span, (rs, re_) in zip(r.spans, r.meta.get("raw_spans", [])):
            assert raw[rs:re_] == r.span_text(span)

    with open(out / ENTITIES_CSV, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(r.spans) for r in records) == summary.entities == 4
    assert rows[0]["doc_id"] == "gbk" and rows[0]["text"] == "9.1%" and rows[0]["label"] == "VALUE"
    assert rows[0]["score"] == "0.9000" and rows[0]["id"] == "gbk#0"

    for doc_id in ("good1", GOOD2, "gbk"):
        page = (out / "html" / f"{doc_id}.html").read_text("utf-8")
        assert doc_id in page and "VALUE" in page
    assert "¶2 · plan" in (out / "html" / "good1.html").read_text("utf-8")
    assert not (out / "html" / "binary.html").exists()


def test_rerun_skips_finished_reports(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([reports], out, nlp=stand_in(), progress=False)
    before = (out / ENTITIES_JSONL).read_bytes()

    loaded = []
    summary = run([reports], out, nlp=lambda: loaded.append(1) or stand_in(), progress=False)
    assert summary.processed == [] and len(summary.skipped) == 3
    assert loaded == []  # the pipeline is not even loaded when nothing is left to do
    assert (out / ENTITIES_JSONL).read_bytes() == before


def test_crash_leftovers_are_completed_with_every_report_once(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([reports], out, nlp=stand_in(), progress=False)
    # A killed run: one report's part gone, temporary files left behind.
    (out / "parts" / f"{GOOD2}.jsonl").unlink()
    (out / "parts" / ".good1.jsonl.x1y2.tmp").write_text('{"id": "half', encoding="utf-8")
    (out / ".entities.jsonl.a1b2.tmp").write_text("half", encoding="utf-8")

    CALLS.clear()
    summary = run([reports], out, nlp=stand_in(), progress=False)
    assert [Path(p).name for p in summary.processed] == ["good2.txt"]
    assert CALLS == [GOOD_2[:12]]
    assert sorted(set(doc_ids(out))) == ["gbk", "good1", GOOD2]
    ids = [r.id for r in entities(out)]
    assert len(ids) == len(set(ids)) == 7
    assert not list(out.rglob("*.tmp"))


def test_kill_before_the_manifest_redoes_that_report(
        reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    real_write = outputs.write_atomic
    written = []

    def dying_write(path, data):  # noqa: ANN001, ANN202
        if str(path).endswith(outputs.MANIFEST_SUFFIX) and written:
            raise KeyboardInterrupt  # killed after the 1st report, mid-2nd
        real_write(path, data)
        if str(path).endswith(outputs.MANIFEST_SUFFIX):
            written.append(path)

    monkeypatch.setattr(outputs, "write_atomic", dying_write)
    with pytest.raises(KeyboardInterrupt):
        run([reports], out, nlp=stand_in(), progress=False)
    assert not (out / ENTITIES_JSONL).exists()  # combined files never half written
    monkeypatch.setattr(outputs, "write_atomic", real_write)

    summary = run([reports], out, nlp=stand_in(), progress=False)
    assert len(summary.processed) == 2 and len(summary.skipped) == 1
    ids = [r.id for r in entities(out)]
    assert len(ids) == len(set(ids)) == 7


def test_changed_input_or_model_is_redone(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([reports], out, nlp=stand_in(), progress=False)
    (reports / "good1.txt").write_text("新目标：增长8%。\n", encoding="utf-8")

    summary = run([reports], out, nlp=stand_in(), progress=False)
    assert [Path(p).name for p in summary.processed] == ["good1.txt"]
    good1 = [r for r in entities(out) if r.doc_id == "good1"]
    assert [r.text for r in good1] == ["新目标：增长8%。"]

    model = tmp_path / "model"
    model.mkdir()
    (model / "meta.json").write_text("{}", encoding="utf-8")
    summary = run([reports], out, model_dir=model, nlp=stand_in(), progress=False)
    assert len(summary.processed) == 3


def test_pipeline_error_fails_only_that_report(reports: Path, tmp_path: Path) -> None:
    (reports / "boom.txt").write_text("BOOM 增长1%\n", encoding="utf-8")
    (reports / "empty.txt").write_text(" \n", encoding="utf-8")
    out = tmp_path / "out"
    summary = run([reports], out, nlp=stand_in(), batch_size=8, progress=False)
    reasons = {Path(f.source).name: f.reason for f in summary.failures}
    assert set(reasons) == {"binary.txt", "boom.txt", "empty.txt"}
    assert "model exploded" in reasons["boom.txt"] and "empty" in reasons["empty.txt"]
    assert sorted(set(doc_ids(out))) == ["gbk", "good1", GOOD2]


def test_inputs_files_globs_and_duplicate_stems(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "report.txt").write_text("增长1%\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("named explicitly\n", encoding="utf-8")
    (tmp_path / "a" / "data.csv").write_text("x\n", encoding="utf-8")

    found, failures = find_reports([tmp_path / "a" / "report.txt", str(tmp_path / "*" / "*.txt"),
                                    tmp_path / "notes.md", tmp_path / "missing.txt"])
    assert [Path(f.source).name for f in failures] == ["missing.txt"]
    assert "no such file" in failures[0].reason
    assert [r.path.name for r in found] == ["report.txt", "report.txt", "notes.md"]
    assert len({r.doc_id for r in found}) == 3 and found[2].doc_id == "notes"
    # named on its own: its stem; found by the glob under a/ and b/: a hash of its relative path
    assert found[0].doc_id == "report" and found[1].doc_id == natural_doc_id("b/report.txt")

    found, failures = find_reports([tmp_path / "a"])
    assert [r.path.name for r in found] == ["report.txt"] and not failures


def test_cli_exit_status_and_default_model(
        reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import pipeline.cli.infer
    import pipeline.model.build

    spec = importlib.util.spec_from_file_location("infer_script", ROOT / "scripts" / "infer.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    monkeypatch.setattr(pipeline.cli.infer, "DEFAULT_MODEL", tmp_path / "no-model")
    loaded_with = []
    monkeypatch.setattr(pipeline.model.build, "load_pipeline",
                        lambda model_dir, **_: loaded_with.append(model_dir) or stand_in())

    rc = script.main([str(reports), "--out", str(tmp_path / "out"), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1 and loaded_with == [None]
    assert "no trained model found, using the rule baseline" in captured.err
    assert "binary.txt" in captured.out

    rc = script.main([str(reports / "good1.txt"), "--out", str(tmp_path / "out2"),
                      "--model", "none", "--batch-size", "2", "--no-progress"])
    assert rc == 0


# --------------------------------------------------------------------------- real pipelines


def test_real_rule_pipeline_end_to_end(tmp_path: Path) -> None:
    """The default loader (normalization + structure + rules) on a GBK report with
    CRLF line ends: entities found, raw offsets point at them in the raw file."""
    raw = ("一、2023年工作回顾\r\n全年地区生产总值增长6.5%，一般公共预算收入完成12.3亿元。\r\n"
           "二、2024年工作安排\r\n主要预期目标是：地区生产总值增长6%左右。\r\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "县_2024.txt").write_bytes(raw.encode("gbk"))
    summary = run([tmp_path / "in"], tmp_path / "out", progress=False)
    assert summary.ok and summary.entities > 0
    records = entities(tmp_path / "out")
    labels = {s.label for r in records for s in r.spans}
    assert {"METRIC", "VALUE", "TARGET"} <= labels
    for r in records:
        assert raw[r.meta["raw_start"]:r.meta["raw_end"]] == r.text
        for span, (rs, re_) in zip(r.spans, r.meta["raw_spans"]):
            assert raw[rs:re_] == r.span_text(span)


def _saved_tiny_model(tmp_path: Path) -> Path:
    """A tiny, random govreport_ner pipeline saved with ``dtype = "float32"``, and
    one report in ``tmp_path / "in"``."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from ner_tiny import save_tiny_base

    import pipeline.model.ner  # noqa: F401  (registers govreport_ner)

    nlp = spacy.blank("zh")
    nlp.add_pipe("govreport_ner", config={"base_model": str(save_tiny_base(tmp_path / "base")),
                                          "dtype": "float32", "max_length": 64})
    nlp.initialize()
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.txt").write_text("地区生产总值增长6.5%。\n", encoding="utf-8")
    return tmp_path / "model"


def test_trained_model_folder_through_the_real_loader(tmp_path: Path) -> None:
    """A (tiny, random) saved govreport_ner pipeline loads and runs; spans carry scores."""
    model = _saved_tiny_model(tmp_path)
    summary = run([tmp_path / "in"], tmp_path / "out", model_dir=model, progress=False)
    assert summary.ok
    spans = [s for r in entities(tmp_path / "out") for s in r.spans]
    assert spans and all(0.0 <= s.score <= 1.0 for s in spans)


def test_dtype_overrides_the_saved_precision_and_redoes_other_precisions(
        tmp_path: Path, monkeypatch) -> None:
    """``dtype`` reaches the loaded component; reports finished in another precision
    are redone, in the same one skipped; ``infer --dtype`` passes it through."""
    import pipeline.model.build as build
    from pipeline.cli.infer import main as infer_main

    model = _saved_tiny_model(tmp_path)
    loaded: list[str] = []
    real_load = build.load_pipeline

    def load(model_dir, *, dtype=None, decoding=None):
        nlp = real_load(model_dir, dtype=dtype, decoding=decoding)
        loaded.append(nlp.get_pipe("govreport_ner").precision)
        return nlp

    monkeypatch.setattr(build, "load_pipeline", load)
    out = tmp_path / "out"
    assert len(run([tmp_path / "in"], out, model_dir=model, progress=False).processed) == 1
    summary = run([tmp_path / "in"], out, model_dir=model, progress=False, dtype="float32")
    assert not summary.processed and len(summary.skipped) == 1  # the saved setting is float32
    assert infer_main([str(tmp_path / "in"), "--out", str(out), "--model", str(model),
                       "--no-progress", "--dtype", "int8"]) == 0
    assert loaded == ["float32", "int8"]
    assert run([tmp_path / "in"], out, model_dir=model, progress=False, dtype="int8").skipped
    with pytest.raises(ValueError, match="dtype"):
        run([tmp_path / "in"], out, nlp=spacy.blank("zh"), progress=False, dtype="int8")


def test_outputs_do_not_depend_on_how_reports_are_batched(tmp_path: Path) -> None:
    """predict_reports runs each report alone: batch sizes 1 and 3 give the same bytes
    (what lets the Ray engine match the local one, and a resumed run a fresh one)."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from ner_tiny import tiny_pipeline

    nlp = tiny_pipeline(tmp_path / "base", max_length=32, stride=8)
    (tmp_path / "in").mkdir()
    for i, text in enumerate([GOOD_1, GOOD_2 * 5, GOOD_2]):
        (tmp_path / "in" / f"r{i}.txt").write_text(text, encoding="utf-8")
    for size in (1, 3):
        run([tmp_path / "in"], tmp_path / f"out{size}", nlp=nlp, batch_size=size, progress=False)
    for name in ("entities.jsonl", "entities.csv", "html/r1.html"):
        one, three = (tmp_path / f"out{n}" / name for n in (1, 3))
        assert one.read_bytes() == three.read_bytes(), name
    assert any(r.spans for r in entities(tmp_path / "out1"))




def test_progress_moves_inside_a_long_report_and_per_report(tmp_path: Path, monkeypatch) -> None:
    """On a terminal the bar counts characters (rate, ETA) and moves while the model
    runs through one long report, not only when a report is finished."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from ner_tiny import tiny_pipeline

    nlp = tiny_pipeline(tmp_path / "base", max_length=32, stride=8)
    ner = nlp.get_pipe("govreport_ner")
    ner.batch_size = 2  # many forward passes in the long report
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_long.txt").write_text(GOOD_2 * 30, encoding="utf-8")
    (tmp_path / "in" / "b_short.txt").write_text(GOOD_1, encoding="utf-8")

    positions: list[tuple[int, int]] = []  # (bar position, finished reports) at each update
    real_move = run_module.Progress._move_to

    def spy(self, chars):
        real_move(self, chars)
        positions.append((self.bar.n, self.finished_reports))

    monkeypatch.setattr(run_module.Progress, "_move_to", spy)
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    summary = run([tmp_path / "in"], tmp_path / "out", nlp=nlp, progress=True)
    assert summary.ok and ner.progress is None  # the hook is removed afterwards
    long_chars = len(GOOD_2 * 30)
    inside = [n for n, finished in positions if finished == 0 and 0 < n < long_chars]
    assert len(set(inside)) >= 3  # moved several times within the first report
    assert positions[-1] == (long_chars + len(GOOD_1), 2)
    out = "".join(fake.parts)
    assert "reports 2/2" in out and "char/s" in out


@pytest.mark.parametrize("progress", [True, False])
def test_no_progress_output_when_not_a_terminal_or_disabled(tmp_path: Path, capsys, monkeypatch,
                                                            progress: bool) -> None:
    import sys

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.txt").write_text(GOOD_1, encoding="utf-8")
    if not progress:  # disabled even on a terminal
        monkeypatch.setattr(sys, "stderr", FakeTTY())
    run([tmp_path / "in"], tmp_path / "out", nlp=stand_in(), progress=progress)
    assert capsys.readouterr().err == ""
    if not progress:
        assert "".join(sys.stderr.parts) == ""
