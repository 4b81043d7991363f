"""The speed benchmark (``govreport-ner benchmark``) end to end on tiny models: a
student measured beside its teacher, the naive baseline run with the teacher's
weights, and the report naming both. Only the report's structure is checked:
speed is measured by the benchmark itself, never in a test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ner_tiny import tiny_pipeline  # noqa: E402

REPORT = ("政府工作报告\n\n一、2023年工作回顾\n\n全年地区生产总值增长6.5%，粮食产量稳定。\n\n"
          "二、2024年主要目标\n\n地区生产总值增长6%左右。\n")


def test_student_beside_teacher_with_the_teachers_naive_baseline(tmp_path: Path) -> None:
    from pipeline.cli.benchmark import main

    tiny_pipeline(tmp_path / "base-s", max_length=32, stride=8).to_disk(tmp_path / "student")
    tiny_pipeline(tmp_path / "base-t", max_length=48, stride=12).to_disk(tmp_path / "teacher")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(REPORT * 3, encoding="utf-8")
    out, raw = tmp_path / "BENCH.md", tmp_path / "bench.json"
    assert main(["--model", str(tmp_path / "student"), "--teacher", str(tmp_path / "teacher"),
                 "--seeds", str(seeds), "--quick", "--no-train", "--no-profile",
                 "--bf16-batch-sizes", "", "--int8-batch-sizes", "", "--fp32-batch-sizes", "4",
                 "--out", str(out), "--json", str(raw)]) == 0
    results = json.loads(raw.read_text(encoding="utf-8"))
    assert set(results["configs"]) == {"prep", "float32-4", "teacher float32-4", "naive"}
    # the naive baseline reads the teacher's weights, with the teacher's windows
    naive_job = results["configs"]["naive"]["job"]
    assert "teacher" in naive_job["hf_dir"] and naive_job["stride"] == 12
    assert results["configs"]["teacher float32-4"]["job"]["model_dir"] == str(tmp_path / "teacher")
    page = out.read_text(encoding="utf-8")
    assert "| teacher float32 | 4 |" in page and "| pipeline float32 | 4 |" in page
    assert "naive baseline (float32, teacher weights)" in page
    assert "the teacher's weights and tokenizer, `model_max_length=48`, `stride=12`" in page
    assert "the same path of the teacher" not in page  # no auto-precision row was measured
