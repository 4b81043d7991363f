"""Reliability of the batch runner and the pipeline on odd inputs and broken models.

Inputs that are empty, whitespace only, binary, GBK, Big5, UTF-16 with a BOM,
one 5 MB line, only punctuation, emoji and mixed scripts, or without any
entity: each gets a correct result or a clear error naming the file, and a
batch holding bad files still finishes every good one. A corrupt or
incomplete model folder raises an error naming the broken file. Two runs
over the same inputs give byte-identical outputs.

The pipelines are the real ones (normalization, structure, the rule baseline
or a govreport_ner component on a tiny random model built here).
"""

from __future__ import annotations

import codecs
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import spacy

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from ner_tiny import tiny_pipeline  # noqa: E402

from pipeline.annotation.jsonl import read_records  # noqa: E402
from pipeline.model.build import load_pipeline, rule_pipeline  # noqa: E402
from pipeline.model.encoders.loading import ModelLoadError  # noqa: E402
from pipeline.runner.outputs import ENTITIES_CSV, ENTITIES_JSONL, ERRORS_JSONL  # noqa: E402
from pipeline.runner.run import run  # noqa: E402
from pipeline.text.reading import decode_bytes  # noqa: E402
from pipeline.text.normalize import normalize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

REPORT = ("一、2023年工作回顾\n全年地区生产总值增长6.5%，一般公共预算收入完成12.3亿元。\n"
          "二、2024年工作安排\n主要预期目标是：地区生产总值增长6%左右。\n")
TRADITIONAL = ("一、2023年工作回顧\n全年地區生產總值增長6.5%，一般公共預算收入完成12.3億元。\n"
               "二、2024年工作安排\n主要預期目標是：地區生產總值增長6%左右。\n")
UNIT = "全年地区生产总值增长6.5%，一般公共预算收入完成12.3亿元；"
PROSE = "我们坚持以人民为中心的发展思想，扎实推进各项工作，持续改善民生福祉；"
BLOCK = PROSE * 49 + UNIT
"""Repeated into one 5 MB line (~1.7 M characters): a sentence with entities
every 50 sentences, like a report whose line breaks were lost."""
LONG_REPEATS = 5_000_000 // len(BLOCK.encode("utf-8")) + 1
PUNCTUATION = "。，、；：？！……——（）《》“”‘’【】\n!?.,;:()[]{}<>\"'-\n"
MIXED = ("一年来，“智慧城市🏙️”项目🚀建设完成，GDP增长5.2%😀，English words, русский, العربية, "
         "日本語のテキスト、한국어。\n今年目标：PM2.5浓度下降3%🌱。\n")
NO_ENTITIES = "各位代表：\n现在，我代表区人民政府向大会报告工作，请予审议。\n"

GOOD = ("utf8", "trad", "gbk", "big5", "utf16", "long", "punct", "mixed", "none")
BAD = {"empty": "empty", "blank": "empty", "binary": "binary"}


def write_inputs(folder: Path) -> Path:
    """One file per odd input (names without extension as in ``GOOD``/``BAD``)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "utf8": REPORT.encode("utf-8"),
        "trad": TRADITIONAL.encode("utf-8"),
        "gbk": REPORT.encode("gbk"),
        "big5": TRADITIONAL.encode("big5"),
        "utf16": codecs.BOM_UTF16_LE + REPORT.encode("utf-16-le"),
        "long": (BLOCK * LONG_REPEATS).encode("utf-8"),
        "punct": PUNCTUATION.encode("utf-8"),
        "mixed": MIXED.encode("utf-8"),
        "none": NO_ENTITIES.encode("utf-8"),
        "empty": b"",
        "blank": " \n\t\r\n\u3000\n".encode("utf-8"),
        "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    }
    for name, data in files.items():
        (folder / f"{name}.txt").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("odd") / "in")


def by_doc(out: Path) -> dict[str, list]:
    docs: dict[str, list] = {}
    for r in read_records(out / ENTITIES_JSONL, validate=False):
        docs.setdefault(r.doc_id, []).append(r)
    return docs


def spans_of(records) -> list[tuple]:
    return [(r.id, r.text, [(s.start, s.end, s.label) for s in r.spans]) for r in records]


def raw_text(record) -> str:
    return decode_bytes(Path(record.meta["source"]).read_bytes())[0]


def check_raw_offsets(records, exact: bool) -> None:
    """Raw offsets of paragraphs and spans point at the raw text they came from:
    the same text with ``exact`` (normalization changed nothing there), else the
    same text once normalized (spaces aside)."""
    def same(raw: str, text: str) -> bool:
        if exact:
            return raw == text
        return normalize(raw).text.replace(" ", "") == text.replace(" ", "")

    for r in records:
        raw = raw_text(r)
        assert 0 <= r.meta["raw_start"] <= r.meta["raw_end"] <= len(raw)
        assert same(raw[r.meta["raw_start"]:r.meta["raw_end"]], r.text)
        assert len(r.meta["raw_spans"]) == len(r.spans)
        for span, (rs, re_) in zip(r.spans, r.meta["raw_spans"]):
            assert 0 <= rs < re_ <= len(raw)
            assert same(raw[rs:re_], r.span_text(span))


# ---------------------------------------------------------------- a batch of odd inputs


@pytest.fixture(scope="module")
def rule_run(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("rules") / "out"
    return run([inputs], out, progress=False), out


def test_bad_files_fail_by_name_and_every_good_file_finishes(rule_run, inputs):
    summary, out = rule_run
    reasons = {Path(f.source).stem: f.reason for f in summary.failures}
    assert set(reasons) == set(BAD)
    for name, word in BAD.items():
        assert word in reasons[name]
    assert sorted(Path(p).stem for p in summary.processed) == sorted(GOOD)
    lines = [json.loads(line) for line in (out / ERRORS_JSONL).read_text("utf-8").splitlines()]
    errors = [e for e in lines if e["kind"] == "error"]
    assert sorted(Path(e["source"]).name for e in errors) == sorted(f"{n}.txt" for n in BAD)
    # Processed, with a warning: too few Han characters to be a Chinese report.
    warned = {Path(e["source"]).stem: e["reason"] for e in lines if e["kind"] == "warning"}
    assert sorted(warned) == ["mixed", "punct"] and all("Han" in r for r in warned.values())
    assert sorted(by_doc(out)) == sorted(GOOD)
    for name in GOOD:
        manifest = json.loads((out / "parts" / f"{name}.manifest.json").read_text("utf-8"))
        assert manifest["records"] >= 1
        assert (out / "html" / f"{name}.html").read_text("utf-8").rstrip().endswith("</html>")
    for name in BAD:
        assert not (out / "parts" / f"{name}.jsonl").exists()


def test_encodings_give_the_same_result_as_utf8(rule_run):
    _, out = rule_run
    docs = by_doc(out)
    utf8 = spans_of(docs["utf8"])
    assert {label for _, _, spans in utf8 for *_, label in spans} >= {"METRIC", "VALUE", "TARGET"}
    strip = [(i.split("#")[1], t, s) for i, t, s in utf8]
    for name in ("gbk", "utf16"):
        assert [(i.split("#")[1], t, s) for i, t, s in spans_of(docs[name])] == strip
        check_raw_offsets(docs[name], exact=True)
    encodings = {name: json.loads((out / "parts" / f"{name}.manifest.json").read_text())["encoding"]
                 for name in ("utf8", "gbk", "big5", "utf16")}
    assert encodings == {"utf8": "utf-8", "gbk": "gb18030", "big5": "big5", "utf16": "utf-16"}
    # Big5 (traditional): decoded, converted to simplified, same result as the UTF-8
    # traditional file and as the simplified original.
    big5 = [(i.split("#")[1], t, s) for i, t, s in spans_of(docs["big5"])]
    assert big5 == [(i.split("#")[1], t, s) for i, t, s in spans_of(docs["trad"])] == strip
    check_raw_offsets(docs["big5"], exact=False)


def test_five_megabyte_line(rule_run):
    _, out = rule_run
    records = by_doc(out)["long"]
    assert len((BLOCK * LONG_REPEATS).encode("utf-8")) >= 5_000_000
    assert sum(len(r.text) for r in records) == len(BLOCK) * LONG_REPEATS  # nothing lost
    expected = [e.text for e in rule_pipeline()(BLOCK).ents]
    assert len(expected) >= 2
    found = [r.span_text(s) for r in records for s in r.spans]
    assert found == expected * LONG_REPEATS
    check_raw_offsets(records, exact=True)


def test_punctuation_mixed_scripts_and_no_entities(rule_run):
    _, out = rule_run
    docs = by_doc(out)
    assert all(not r.spans for r in docs["punct"] + docs["none"])
    assert "".join(r.text for r in docs["none"]) == NO_ENTITIES.replace("\n", "")
    manifest = json.loads((out / "parts" / "none.manifest.json").read_text("utf-8"))
    assert manifest["entities"] == 0
    mixed = docs["mixed"]
    assert "🚀" in mixed[0].text and "한국어" in mixed[0].text and "русский" in mixed[0].text
    found = [(r.span_text(s), s.label, raw) for r in mixed
             for s, raw in zip(r.spans, r.meta["raw_spans"])]
    value = [(text, raw) for text, label, raw in found if label == "VALUE" and "5.2%" in text]
    assert value, found  # the quantity after the emoji and mixed scripts
    text, (rs, re_) = value[0]
    assert raw_text(mixed[0])[rs:re_] == text  # astral characters do not shift offsets
    check_raw_offsets(mixed, exact=False)


def test_cli_reports_each_bad_file_and_exit_status(rule_run, inputs, capsys):
    _, out = rule_run
    script = _infer_script()
    rc = script.main([str(inputs), "--out", str(out), "--model", "none", "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 1
    for name in BAD:
        assert f"{name}.txt" in printed
    assert "9 already done" in printed  # the re-run skips the finished reports


# ---------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    tiny_pipeline(root / "base").to_disk(root / "model")
    return root / "model"


def test_model_on_odd_inputs(tiny_model, inputs, tmp_path):
    small = tmp_path / "in"
    small.mkdir()
    for path in inputs.glob("*.txt"):
        if path.stem != "long":  # the 5 MB line is covered with the rules
            shutil.copy(path, small / path.name)
    summary = run([small], tmp_path / "out", model_dir=tiny_model, progress=False)
    assert sorted(Path(f.source).stem for f in summary.failures) == sorted(BAD)
    docs = by_doc(tmp_path / "out")
    assert sorted(docs) == sorted(n for n in GOOD if n != "long")
    for name, records in docs.items():
        for r in records:
            for s in r.spans:  # within the paragraph, scored, no empty span
                assert 0 <= s.start < s.end <= len(r.text) and 0.0 <= s.score <= 1.0
        check_raw_offsets(records, exact=name in ("utf8", "gbk", "utf16", "none"))


def _infer_script():
    spec = importlib.util.spec_from_file_location("infer_script", ROOT / "scripts" / "infer.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    return script


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


BROKEN = {
    # name: (change to the saved pipeline, file or folder the error must name)
    "truncated weights": (lambda d: _truncate(d / "govreport_ner/model/model.safetensors"),
                          "govreport_ner/model/model.safetensors"),
    "garbage weights": (lambda d: (d / "govreport_ner/model/model.safetensors").write_bytes(b"x" * 64),
                        "govreport_ner/model/model.safetensors"),
    "no weights": (lambda d: (d / "govreport_ner/model/model.safetensors").unlink(),
                   "govreport_ner/model"),
    "no model config": (lambda d: (d / "govreport_ner/model/config.json").unlink(),
                        "govreport_ner/model"),
    "corrupt model config": (lambda d: (d / "govreport_ner/model/config.json").write_text("{oops"),
                             "govreport_ner/model/config.json"),
    "no component cfg": (lambda d: (d / "govreport_ner/cfg").unlink(), "govreport_ner/cfg"),
    "corrupt component cfg": (lambda d: (d / "govreport_ner/cfg").write_text("{"), "govreport_ner/cfg"),
    "no config.cfg": (lambda d: (d / "config.cfg").unlink(), ""),
    "corrupt config.cfg": (lambda d: (d / "config.cfg").write_text("[nlp\nlang = "), ""),
    "no tokenizer": (lambda d: shutil.rmtree(d / "govreport_ner/tokenizer"),
                     "govreport_ner/tokenizer/tokenizer.json"),
    "corrupt tokenizer": (lambda d: (d / "govreport_ner/tokenizer/tokenizer.json").write_text('{"x":'),
                          "govreport_ner/tokenizer"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_model_folder_names_the_file(case, tiny_model, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(tiny_model, broken)
    change, named = BROKEN[case]
    change(broken)
    with pytest.raises(ModelLoadError) as error:
        load_pipeline(broken)
    assert str(broken / named).rstrip("/") in str(error.value)


def test_cli_with_a_broken_model_says_which_file(tiny_model, tmp_path, capsys):
    broken = tmp_path / "model"
    shutil.copytree(tiny_model, broken)
    _truncate(broken / "govreport_ner/model/model.safetensors")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.txt").write_text(REPORT, encoding="utf-8")
    rc = _infer_script().main([str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                               "--model", str(broken), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "model.safetensors" in err and "unreadable" in err


def test_missing_model_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.cfg"):
        load_pipeline(tmp_path / "nothing-here")


# ---------------------------------------------------------------- determinism


def _outputs(out: Path) -> dict[str, bytes]:
    files = [out / ENTITIES_JSONL, out / ENTITIES_CSV, *sorted((out / "html").glob("*.html"))]
    return {p.name: p.read_bytes() for p in files}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_two_inference_runs_give_identical_outputs(dtype, tiny_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in (("a", REPORT), ("b", MIXED), ("c", REPORT * 30 + MIXED * 5)):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    results = []
    for k in range(2):
        nlp = spacy.load(tiny_model, config={"components": {"govreport_ner": {"dtype": dtype,
                                                                              "batch_size": 4}}})
        out = tmp_path / f"out{k}"
        assert run([folder], out, nlp=nlp, progress=False).ok
        results.append(_outputs(out))
    assert results[0] == results[1]
    assert any(r.spans for r in read_records(tmp_path / "out0" / ENTITIES_JSONL, validate=False))


def test_two_rule_runs_give_identical_outputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(REPORT * 10, encoding="utf-8")
    (folder / "b.txt").write_bytes(TRADITIONAL.encode("big5"))
    outs = []
    for k in range(2):
        assert run([folder], tmp_path / f"out{k}", progress=False).ok
        outs.append(_outputs(tmp_path / f"out{k}"))
    assert outs[0] == outs[1]
