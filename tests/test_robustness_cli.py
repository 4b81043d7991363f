"""Error paths of ``evaluate`` and ``annotate`` and the ad step of normalization
(issue #20, cases 6, 7 and 9): every error is one line naming the file (or split)
and the reason, with the documented exit code, never a traceback; ads are removed
in traditional as in simplified text, with offsets that still map back exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main as cli
from pipeline.text.normalize import NormalizeConfig, normalize, to_simplified

ROOT = Path(__file__).resolve().parent.parent

RECORD = {"id": "d#0", "text": "去年增长5%", "spans": [{"start": 2, "end": 6, "label": "VALUE"}]}


def jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The only line on stderr (no traceback, nothing else)."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


# --------------------------------------------------------------------------- case 6: evaluate


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if evaluate gets as far as loading a model (or the rule baseline)."""
    import pipeline.evaluation.systems

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the model was loaded before the data was checked")

    monkeypatch.setattr(pipeline.evaluation.systems, "load_model", refuse)


def evaluate(tmp_path: Path, *args: str) -> int:
    return cli(["evaluate", *args, "--model", "none", "--errors", str(tmp_path / "e.jsonl")])


def test_case06_evaluate_exits_2_when_no_document_matches(tmp_path, capsys, no_model_load):
    data = jsonl(tmp_path / "gold.jsonl", RECORD)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": ["d"], "test": ["other", "another"]}), encoding="utf-8")
    assert evaluate(tmp_path, "--data", str(data), "--split", "test", "--splits", str(splits)) == 2
    line = one_error_line(capsys)
    assert str(data) in line and str(splits) in line and "'test'" in line
    assert "none of its documents (2)" in line
    assert not (tmp_path / "e.jsonl").exists()


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_case06_evaluate_exits_2_on_an_empty_gold_file(tmp_path, capsys, no_model_load, content):
    good = jsonl(tmp_path / "good.jsonl", RECORD)
    empty = tmp_path / "empty.jsonl"
    empty.write_text(content, encoding="utf-8")
    assert evaluate(tmp_path, "--data", str(good), str(empty)) == 2
    assert one_error_line(capsys) == f"error: {empty}: no records"


@pytest.mark.parametrize("splits, reason", [
    ({"train": ["d"]}, "no split 'test' (splits: train)"),
    ({"train": ["d"], "test": []}, "split 'test' lists no documents"),
], ids=["unknown-split", "empty-split"])
def test_case06_evaluate_exits_2_on_a_split_without_documents(tmp_path, capsys, no_model_load,
                                                              splits, reason):
    data = jsonl(tmp_path / "gold.jsonl", RECORD)
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(splits), encoding="utf-8")
    assert evaluate(tmp_path, "--data", str(data), "--split", "test", "--splits", str(path)) == 2
    assert one_error_line(capsys) == f"error: {path}: {reason}"


def test_case06_evaluate_warns_when_part_of_a_split_is_missing(tmp_path, capsys):
    data = jsonl(tmp_path / "gold.jsonl", RECORD)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"test": ["d", "other"]}), encoding="utf-8")
    assert evaluate(tmp_path, "--data", str(data), "--split", "test", "--splits", str(splits)) == 0
    out = capsys.readouterr()
    assert "1 of the 2 documents of split 'test'" in out.err and "'other'" in out.err
    assert "(1 records;" in out.out


@pytest.mark.parametrize("second_text, reason", [
    ("去年增长6%", "with a different text"),
    ("去年增长5%", "counted twice"),
], ids=["different-text", "same-text"])
def test_case06_evaluate_exits_2_on_a_record_id_given_twice(tmp_path, capsys, no_model_load,
                                                            second_text, reason):
    a = jsonl(tmp_path / "a.jsonl", RECORD)
    b = jsonl(tmp_path / "b.jsonl", {**RECORD, "text": second_text})
    assert evaluate(tmp_path, "--data", str(a), str(b)) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {b}: [d#0] record id is also in {a}, ") and reason in line


def test_case06_evaluate_exits_2_on_unreadable_inputs(tmp_path, capsys, no_model_load):
    data = jsonl(tmp_path / "gold.jsonl", RECORD)
    missing = tmp_path / "nope.json"
    assert evaluate(tmp_path, "--data", str(data), "--split", "test", "--splits", str(missing)) == 2
    assert one_error_line(capsys) == f"error: {missing}: file not found"
    assert evaluate(tmp_path, "--data", str(tmp_path)) == 2
    assert one_error_line(capsys) == f"error: {tmp_path}: is a folder, not a file"


def test_case06_evaluate_exits_2_when_the_model_cannot_load(tmp_path, capsys):
    data = jsonl(tmp_path / "gold.jsonl", RECORD)
    model = tmp_path / "no-model"
    rc = cli(["evaluate", "--data", str(data), "--model", str(model), "--errors", str(tmp_path / "e.jsonl")])
    assert rc == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {model}: ")


# --------------------------------------------------------------------------- case 7: annotate


def annotate(*args: str) -> int:
    return cli(["annotate", *args])


def test_case07_validate_says_not_utf8_with_the_offset(tmp_path, capsys):
    bad_jsonl = tmp_path / "a.jsonl"
    bad_jsonl.write_bytes(json.dumps(RECORD).encode() + b"\n" + b'{"id": "\xc0\xaf"}\n')
    bad_inline = tmp_path / "a.txt"
    bad_inline.write_bytes("d#0\t去年[增长5%]{VALUE}\n".encode() + b"d#1\t\xff\n")
    for path, offset, line in ((bad_jsonl, len(json.dumps(RECORD)) + 1 + 8, 2),
                               (bad_inline, len("d#0\t去年[增长5%]{VALUE}\n".encode()) + 4, 2)):
        assert annotate("validate", str(path)) == 1
        err = capsys.readouterr().err.splitlines()
        assert err[0] == f"{path}: not UTF-8 (first bad byte at offset {offset}, line {line})"
        assert err[1:] == ["1 problem(s) in 1 file(s)"]


def test_case07_validate_runs_as_a_script_without_traceback(tmp_path):
    bad = tmp_path / "a.txt"
    bad.write_bytes(b"d#1\t\xc0\xaf\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "annotate", "validate", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == f"{bad}: not UTF-8 (first bad byte at offset 4, line 1)"


@pytest.mark.parametrize("args", [
    ["validate", "{tmp}/a.xyz"],
    ["validate", "{tmp}/a.jsonl", "{tmp}/b"],
])
def test_case07_annotate_usage_errors_exit_2(tmp_path, capsys, args):
    jsonl(tmp_path / "a.jsonl", RECORD)
    args = [a.format(tmp=tmp_path) for a in args]
    assert annotate(*args) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"annotate: {args[-1]}: ") and "--format" in line
    from pipeline.cli import annotate as module
    assert "2 on a usage" in module.__doc__


def _inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Bad input files: (path, the reason expected after ``path:``)."""
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "invalid.jsonl").write_text('{"id": "d#0", "text": "去年"\n', encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    return {
        "missing": (tmp_path / "missing.jsonl", " file not found"),
        "folder": (tmp_path / "folder.jsonl", " is a folder, not a file"),
        "invalid": (tmp_path / "invalid.jsonl", "1: malformed JSON: "),
        "empty": (tmp_path / "empty.jsonl", " no records"),
    }


@pytest.mark.parametrize("kind", ["missing", "folder", "invalid", "empty"])
def test_case07_validate_and_convert_report_bad_inputs_in_one_line(tmp_path, capsys, kind):
    path, reason = _inputs(tmp_path)[kind]
    assert annotate("validate", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:{reason}") and err[1:] == ["1 problem(s) in 1 file(s)"]

    out = tmp_path / "out.txt"
    assert annotate("convert", "--from", "jsonl", "--to", "inline", str(path), str(out)) == 1
    assert one_error_line(capsys).startswith(f"{path}:{reason}")
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing", "folder", "invalid", "empty"])
def test_case07_stats_reports_bad_inputs_in_one_line(tmp_path, capsys, kind):
    path, reason = _inputs(tmp_path)[kind]
    gold = tmp_path / "gold"
    gold.mkdir()
    jsonl(gold / "d.jsonl", RECORD)
    splits = tmp_path / "splits.json"
    splits.write_text('{"train": ["d"]}', encoding="utf-8")
    base = ["stats", "--readme", "-", "--gold", str(gold), "--splits", str(splits)]
    assert annotate(*base, "--round", "r", str(path), str(gold / "d.jsonl")) == 1
    assert one_error_line(capsys).startswith(f"{path}:{reason}")
    if kind in ("missing", "folder"):  # the splits file
        assert annotate(*base[:-1], str(path)) == 1
        assert one_error_line(capsys).startswith(f"{path}:{reason}")


@pytest.mark.parametrize("gold, reason", [
    ("missing", "not a folder"), ("file.jsonl", "not a folder"), ("empty", "no *.jsonl files"),
])
def test_case07_stats_exits_1_on_a_gold_folder_without_records(tmp_path, capsys, gold, reason):
    (tmp_path / "file.jsonl").write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    splits = tmp_path / "splits.json"
    splits.write_text('{"train": ["d"]}', encoding="utf-8")
    assert annotate("stats", "--readme", "-", "--gold", str(tmp_path / gold), "--splits", str(splits)) == 1
    assert one_error_line(capsys) == f"{tmp_path / gold}: {reason}"


def test_case07_stats_exits_2_on_a_readme_it_cannot_update(tmp_path, capsys):
    gold = tmp_path / "gold"
    gold.mkdir()
    jsonl(gold / "d.jsonl", RECORD)
    splits = tmp_path / "splits.json"
    splits.write_text('{"train": ["d"]}', encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    base = ["stats", "--gold", str(gold), "--splits", str(splits)]
    for target in (readme, tmp_path / "missing.md"):
        assert annotate(*base, "--readme", str(target)) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith(f"annotate: {target}: ")


def test_case07_preannotate_reports_bad_reports_and_setup_errors_in_one_line(tmp_path, capsys):
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.txt").write_text("  \n\n", encoding="utf-8")
    out = tmp_path / "out"
    for name in ("missing.txt", "folder.txt", "empty.txt", "blank.txt"):
        assert annotate("preannotate", str(tmp_path / name), "--out", str(out)) == 1
        line = one_error_line(capsys)
        assert line.startswith(f"error: {tmp_path / name}: "), line

    report = tmp_path / "report.txt"
    report.write_text("2024年地区生产总值增长6%左右。\n", encoding="utf-8")
    not_a_folder = tmp_path / "report.txt"
    assert annotate("preannotate", str(report), "--out", str(not_a_folder)) == 2
    assert one_error_line(capsys).startswith(f"annotate: {not_a_folder}: ")
    model = tmp_path / "no-model"
    assert annotate("preannotate", str(report), "--out", str(out), "--model", str(model)) == 2
    assert one_error_line(capsys).startswith(f"annotate: {model}: ")


# --------------------------------------------------------------------------- case 9: ads in traditional text


@pytest.mark.parametrize("config", [NormalizeConfig(), NormalizeConfig(t2s=False)], ids=["all", "no-t2s"])
def test_case09_traditional_ad_removed_entirely_and_offsets_map_back(config):
    raw = "一、政府工作報告\n依託manbetx客戶端的合作夥伴，萬博體育官網推進改革。\n"
    result = normalize(raw, config)
    ads = [c for c in result.changes if c.step == "ads"]
    assert [c.before for c in ads] == ["manbetx客戶端", "萬博體育官網"]
    assert [raw[c.raw_start:c.raw_end] for c in ads] == [c.before for c in ads]
    expected = "一、政府工作報告\n依託的合作夥伴，推進改革。"
    assert result.text == (to_simplified(expected) if config.t2s else expected)
    # Every character after the ads maps back to exactly one raw character, the
    # same one or its traditional form.
    tail = result.text.index("的")
    for i in range(tail, len(result.text)):
        raw_start, raw_end = result.raw_span(i, i + 1)
        assert raw_end - raw_start == 1
        assert to_simplified(raw[raw_start]) == to_simplified(result.text[i])
    assert raw[result.raw_span(tail, tail + 1)[0]] == "的"
    assert raw[slice(*result.raw_span(len(result.text) - 4, len(result.text)))] == "進改革。"
