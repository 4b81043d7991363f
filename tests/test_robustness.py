"""Robustness of the batch runner as a demanding new user meets it (issue #20).

One test per case of the issue, named after it:

- 01: a run whose inputs all fail (a mistyped name, a file that became
  unreadable) leaves the finished outputs as they were;
- 02: the output folder is a store that only grows (combined files describe
  every finished report in it) with one writer at a time (a lock naming the
  PID that holds it; a killed holder's lock is taken over);
- 03: a bad ``--out`` is one line and exit status 2, before any model loads;
- 04: a few invalid bytes become U+FFFD and a warning with their byte offsets,
  raw offsets stay exact; more are refused, naming the first one;
- 05: text with few Han characters is flagged and still processed;
- 08: FIFOs, devices and dangling symlinks are refused by name, named directly
  or found in a folder; ``normalize FIFO`` refuses at once;
- 10: ``doc_id`` does not depend on the other inputs; files follow the umask;
- 11: progress: no bar at all when disabled or not on a terminal (the
  transformers "Loading weights" bar included), the rate counts processing
  time only, the bar moves inside a long one-line report.

The pipelines are the rule baseline, a stand-in with a fake clock, or the
tiny random model of ``tests/fixtures/ner_tiny.py``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.tokens import Doc

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from fake_tty import FakeTTY  # noqa: E402
from ner_tiny import tiny_pipeline  # noqa: E402

from pipeline.annotation.jsonl import read_records  # noqa: E402
from pipeline.model.build import rule_pipeline  # noqa: E402
from pipeline.runner import run as run_module  # noqa: E402
from pipeline.runner.inputs import find_reports  # noqa: E402
from pipeline.runner.outputs import ENTITIES_JSONL, ERRORS_JSONL  # noqa: E402
from pipeline.runner.run import run  # noqa: E402
from pipeline.text.reading import decode_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for a subprocess; a hang fails the test instead of blocking

REPORT = ("一、2023年工作回顾\n全年地区生产总值增长6.5%，一般公共预算收入完成12.3亿元。\n"
          "二、2024年工作安排\n主要预期目标是：地区生产总值增长6%左右，城镇登记失业率控制在5.5%以内。\n")
ENGLISH = ("Report on the Work of the Government\nLast year the gross domestic product grew by 6.5%, "
           "and general public budget revenue reached 12.3 billion yuan.\nThis year the main target "
           "is growth of about 6%.\n")


def infer(*argv: str | Path) -> int:
    """``govreport-ner infer`` in this process, rule baseline, no bar."""
    from pipeline.cli.infer import main

    return main([str(a) for a in argv] + ["--model", "none", "--no-progress"])


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def doc_ids(out: Path) -> list[str]:
    return sorted({r.doc_id for r in read_records(out / ENTITIES_JSONL, validate=False)})


def error_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / ERRORS_JSONL).read_text("utf-8").splitlines()]


def write_reports(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        (folder / f"{name}.txt").write_text(REPORT.replace("6.5%", f"{k + 1}.5%"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    tiny_pipeline(root / "base").to_disk(root / "model")
    return root / "model"


# --------------------------------------------------------------------------- 01


def test_case01_a_failed_run_keeps_the_finished_outputs(tmp_path, capsys):
    reports = write_reports(tmp_path / "reports", ["a", "b"])
    out = tmp_path / "out"
    assert infer(reports, "--out", out) == 0
    before = snapshot(out)
    assert before[ENTITIES_JSONL] and before["entities.csv"] and before["summary.html"]
    capsys.readouterr()

    # A mistyped input: exit 1, the failure printed, nothing in the folder changed.
    assert infer(tmp_path / "typo.txt", "--out", out) == 1
    printed = capsys.readouterr().out
    assert "typo.txt" in printed and "no such file" in printed
    assert snapshot(out) == before

    # A finished report whose input now fails keeps its results too.
    (reports / "a.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert infer(reports / "a.txt", "--out", out) == 1
    assert "binary" in capsys.readouterr().out
    assert snapshot(out) == before


# --------------------------------------------------------------------------- 02

HOLD_LOCK = """
import sys, time
from pipeline.runner.outputs import OutputFolder
with OutputFolder(sys.argv[1]).locked():
    print("locked", flush=True)
    time.sleep(600)
"""


def test_case02_runs_into_one_folder_add_up_and_never_overlap(tmp_path, capsys):
    a = write_reports(tmp_path / "A", ["a1", "a2"])
    b = write_reports(tmp_path / "B", ["b1", "b2", "b3"])
    out = tmp_path / "out"
    assert infer(a, "--out", out) == 0
    assert infer(b / "b1.txt", "--out", out) == 0
    # The combined files describe every finished report in the folder.
    assert doc_ids(out) == ["a1", "a2", "b1"]
    entities = sum(len(r.spans) for r in read_records(out / ENTITIES_JSONL, validate=False))
    assert f"{entities} entities" in capsys.readouterr().out

    # A second writer is refused at once, naming the folder and the PID holding it.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(out)
        assert infer(b / "b2.txt", "--out", out) == 2
        err = capsys.readouterr().err
        assert str(out) in err and f"PID {holder.pid}" in err and len(err.strip().splitlines()) == 1
        assert snapshot(out) == before
    finally:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays behind
        holder.wait(timeout=TIMEOUT)
        holder.stdout.close()

    # The killed holder's lock is stale: the next run takes it over.
    assert infer(b / "b2.txt", "--out", out) == 0
    assert doc_ids(out) == ["a1", "a2", "b1", "b2"]


# --------------------------------------------------------------------------- 03


def test_case03_a_bad_out_is_one_line_and_exit_status_2(tmp_path, capsys, monkeypatch):
    import pipeline.model.build

    loaded = []
    monkeypatch.setattr(pipeline.model.build, "load_pipeline",
                        lambda model_dir, **_: loaded.append(model_dir) or rule_pipeline())
    report = write_reports(tmp_path / "in", ["r"]) / "r.txt"
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me\n", encoding="utf-8")
    bad = [a_file, a_file / "sub"] + ([Path("/proc/self")] if Path("/proc/self").is_dir() else [])
    for out in bad:
        assert infer(report, "--out", out) == 2, out
        err = capsys.readouterr().err
        assert str(out) in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
    assert loaded == []  # refused before the model loads
    assert a_file.read_text(encoding="utf-8") == "keep me\n"


# --------------------------------------------------------------------------- 04


def test_case04_a_few_invalid_bytes_are_a_warning_with_their_offsets(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    data = REPORT.encode("utf-8")
    cut_at = data.index("二、".encode("utf-8"))  # a stray byte between two lines
    mid = data[:cut_at] + b"\xff" + data[cut_at:]
    (folder / "mid.txt").write_bytes(mid)
    ends = (REPORT.rstrip("\n")).encode("utf-8")
    (folder / "cut.txt").write_bytes(ends[:-1])  # the last character cut in half
    many = bytearray(data * 3)
    for k in range(10, len(many), 40):
        many[k] = 0xFF
    (folder / "many.txt").write_bytes(bytes(many))
    out = tmp_path / "out"

    summary = run([folder], out, progress=False)
    assert [Path(f.source).name for f in summary.failures] == ["many.txt"]
    assert "byte 10" in summary.failures[0].reason  # the first bad offset is named
    assert sorted(Path(p).name for p in summary.processed) == ["cut.txt", "mid.txt"]
    warned = {Path(w.source).name: w.reason for w in summary.warnings}
    assert f"byte {cut_at}" in warned["mid.txt"] and f"byte {len(ends) - 3}" in warned["cut.txt"]
    assert f"byte {cut_at}" in str(summary)
    lines = error_lines(out)
    kinds = {(Path(e["source"]).name, e["kind"]) for e in lines}
    assert kinds == {("many.txt", "error"), ("mid.txt", "warning"), ("cut.txt", "warning")}

    # Raw offsets stay exact: the bad byte is one character (U+FFFD) of the raw text.
    text, encoding = decode_bytes(mid)
    assert encoding == "utf-8" and text.index("\ufffd") == len(data[:cut_at].decode("utf-8"))
    records = [r for r in read_records(out / ENTITIES_JSONL, validate=False) if r.doc_id == "mid"]
    after = 0
    for r in records:
        assert text[r.meta["raw_start"]:r.meta["raw_end"]] == r.text
        for span, (rs, re_) in zip(r.spans, r.meta["raw_spans"]):
            assert text[rs:re_] == r.span_text(span)
            after += rs > text.index("\ufffd")
    assert after >= 2


# --------------------------------------------------------------------------- 05


def test_case05_non_chinese_text_is_flagged_and_still_processed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "english.txt").write_text(ENGLISH, encoding="utf-8")
    (folder / "chinese.txt").write_text(REPORT, encoding="utf-8")
    out = tmp_path / "out"
    summary = run([folder], out, progress=False)
    assert summary.ok and sorted(Path(p).name for p in summary.processed) == ["chinese.txt", "english.txt"]
    assert [Path(w.source).name for w in summary.warnings] == ["english.txt"]
    assert "Han" in summary.warnings[0].reason and "english.txt" in str(summary)
    assert [(Path(e["source"]).name, e["kind"]) for e in error_lines(out)] == [("english.txt", "warning")]
    assert doc_ids(out) == ["chinese", "english"]


# --------------------------------------------------------------------------- 08


def test_case08_special_files_are_refused_with_the_reason(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    dangling = tmp_path / "gone.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    folder = write_reports(tmp_path / "folder", ["good"])
    os.mkfifo(folder / "pipe.txt")
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    inputs = [fifo, dangling, folder]
    expected = {str(fifo): "not a regular file (FIFO)", str(dangling): "not a regular file (dangling symbolic link)",
                str(folder / "pipe.txt"): "not a regular file (FIFO)",
                str(folder / "gone.txt"): "not a regular file (dangling symbolic link)"}
    if Path("/dev/null").exists():
        inputs.append(Path("/dev/null"))
        expected["/dev/null"] = "not a regular file (character device)"
    sock_path = tmp_path / "s.txt"
    if len(str(sock_path)) < 100:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(sock_path))
        inputs.append(sock_path)
        expected[str(sock_path)] = "not a regular file (socket)"

    reports, failures = find_reports(inputs)
    assert [r.path.name for r in reports] == ["good.txt"]
    assert {f.source: f.reason for f in failures} == expected

    summary = run(inputs, tmp_path / "out", progress=False)
    assert sorted(Path(p).name for p in summary.processed) == ["good.txt"]
    assert len(summary.failures) == len(expected)

    done = subprocess.run([sys.executable, "-m", "pipeline", "normalize", str(fifo)], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1 and done.stdout == ""
    assert str(fifo) in done.stderr and "not a regular file (FIFO)" in done.stderr


# --------------------------------------------------------------------------- 10


def test_case10_doc_ids_do_not_depend_on_the_batch_and_files_follow_the_umask(tmp_path):
    a = write_reports(tmp_path / "A", ["good"])
    write_reports(a / "sub", ["good"])
    b = tmp_path / "B"
    b.mkdir()
    (b / "good.txt").write_text(REPORT.replace("6.5%", "9.9%"), encoding="utf-8")
    out = tmp_path / "out"

    assert [r.doc_id for r in find_reports([a / "good.txt"])[0]] == ["good"]
    found = [r.doc_id for r in find_reports([a])[0]]
    assert found[0] == "good" and found[1].startswith("good-") and found[1] != "good"
    assert found == [r.doc_id for r in find_reports([a, b])[0]][:2]  # companions change nothing

    first = run([a / "good.txt"], out, progress=False)
    assert len(first.processed) == 1
    second = run([a / "good.txt", b / "good.txt"], out, progress=False)
    assert [Path(p).parent.name for p in second.processed] == ["B"]  # A's good.txt is not redone
    assert len(second.skipped) == 1
    third = run([b / "good.txt"], out, progress=False)  # alone again: the same id, nothing to redo
    assert third.processed == [] and len(third.skipped) == 1
    ids = doc_ids(out)
    assert len(ids) == 2 and "good" in ids
    manifest = json.loads((out / "parts" / "good.manifest.json").read_text("utf-8"))
    assert manifest["input"] == (a / "good.txt").resolve().as_posix()

    old = os.umask(0o027)
    try:
        run([a], tmp_path / "out2", progress=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out2").rglob("*") if p.is_file()]
    assert len(files) >= 8
    modes = {p.relative_to(tmp_path / "out2").as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o640)}, modes


# --------------------------------------------------------------------------- 11




NOW = [0.0]
"""The fake clock of the stand-in pipeline below."""


@Language.component("test_robustness_tick")
def tick(doc: Doc) -> Doc:
    NOW[0] += 1.0  # each report takes one second
    return doc


def test_case11_progress_counts_processing_only_and_shows_no_bar_when_off(tmp_path, capsys, monkeypatch,
                                                                         tiny_model):
    folder = write_reports(tmp_path / "in", ["r1", "r2"])
    # Not a terminal: no bar at all, not even transformers' "Loading weights".
    assert run([folder], tmp_path / "out1", model_dir=tiny_model, progress=True).ok
    assert capsys.readouterr().err == ""
    # --no-progress on a terminal: nothing either.
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    assert run([folder], tmp_path / "out2", model_dir=tiny_model, progress=False).ok
    assert "".join(fake.parts) == ""
    monkeypatch.undo()

    # The rate is characters over processing time: loading the model (1000 s on the
    # fake clock) is not in it.
    NOW[0] = 0.0
    monkeypatch.setattr(run_module, "clock", lambda: NOW[0])

    def load():
        NOW[0] += 1000.0
        nlp = rule_pipeline()
        nlp.add_pipe("test_robustness_tick")
        return nlp

    summary = run([folder], tmp_path / "out3", nlp=load, progress=False)
    chars = sum(len(p.read_text(encoding="utf-8")) for p in folder.glob("*.txt"))
    assert summary.seconds == 2.0 and summary.chars_s == chars / 2
    assert f"{chars / 2:,.0f} chars/s" in str(summary)
    monkeypatch.undo()

    # The bar moves inside a long report that is one single line.
    nlp = tiny_pipeline(tmp_path / "base", max_length=32, stride=8)
    nlp.get_pipe("govreport_ner").batch_size = 2
    line = REPORT.replace("\n", "") * 20
    (tmp_path / "long").mkdir()
    (tmp_path / "long" / "line.txt").write_text(line, encoding="utf-8")
    positions: list[int] = []
    real_move = run_module.Progress._move_to

    def spy(self, chars):
        real_move(self, chars)
        positions.append(self.bar.n)

    monkeypatch.setattr(run_module.Progress, "_move_to", spy)
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    assert run([tmp_path / "long"], tmp_path / "out4", nlp=nlp, progress=True).ok
    assert len({n for n in positions if 0 < n < len(line)}) >= 3
    assert positions[-1] == len(line)
