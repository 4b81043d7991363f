"""Interruption: ``scripts/infer.py`` killed with SIGKILL in the middle of a
batch, then re-run, leaves every report exactly once in the outputs and no
corrupt file; the result equals an uninterrupted run's.

The runner is a real subprocess (the rule baseline, so no model is needed)
over six generated reports, two reports per ``nlp.pipe`` batch; it is killed
as soon as the first report's part file appears (polled), killed a second
time at the next new part file of the re-run, and then run to completion.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.annotation.jsonl import read_records
from pipeline.runner.outputs import ENTITIES_CSV, ENTITIES_JSONL, ERRORS_JSONL, MANIFEST_SUFFIX

ROOT = Path(__file__).resolve().parent.parent
N_REPORTS = 6
TIMEOUT = 120  # seconds for one runner process; a hang fails the test instead of blocking


def make_reports(folder: Path) -> list[str]:
    """Six reports of ~30,000 characters each, different numbers in each."""
    folder.mkdir(parents=True)
    names = []
    for k in range(N_REPORTS):
        lines = [f"{2020 + k}年政府工作报告", "一、过去一年工作回顾"]
        for i in range(300):
            lines.append(f"全年地区生产总值增长{k}.{i % 10}%，一般公共预算收入完成{i + k}.5亿元，"
                         f"新增城镇就业{1000 + i}人。")
        lines.append(f"二、{2021 + k}年工作安排")
        for i in range(300):
            lines.append(f"主要预期目标是：地区生产总值增长{k + 5}%左右，城镇登记失业率控制在{i % 5}.5%以内。")
        name = f"report{k}"
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        names.append(name)
    return names


def infer(inputs: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "infer.py"), str(inputs), "--out", str(out),
         "--model", "none", "--batch-size", "2", "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parts(out: Path) -> set[str]:
    folder = out / "parts"
    return {p.name for p in folder.glob("*.jsonl")} if folder.is_dir() else set()


def kill_at_new_part(inputs: Path, out: Path) -> int:
    """Start the runner, SIGKILL it as soon as a part file appears that was not
    there before; the number of manifests (finished reports) left behind."""
    before = parts(out)
    proc = infer(inputs, out)
    deadline = time.monotonic() + TIMEOUT
    try:
        while parts(out) <= before:
            if proc.poll() is not None:
                pytest.fail(f"the runner ended before it could be killed:\n{proc.stdout.read()}")
            if time.monotonic() > deadline:
                pytest.fail("no part file appeared in time")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return len(list((out / "parts").glob(f"*{MANIFEST_SUFFIX}")))


def complete(inputs: Path, out: Path) -> str:
    proc = infer(inputs, out)
    output, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, output
    return output


def check_outputs(out: Path, names: list[str]) -> None:
    """Every report exactly once, every file whole and consistent."""
    records = read_records(out / ENTITIES_JSONL)  # validates every record
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids))
    assert sorted({r.doc_id for r in records}) == names
    for name in names:
        paragraphs = [r.meta["paragraph"] for r in records if r.doc_id == name]
        assert paragraphs == list(range(len(paragraphs)))  # each paragraph once, in order
        manifest = json.loads((out / "parts" / f"{name}{MANIFEST_SUFFIX}").read_text("utf-8"))
        assert manifest["records"] == len(paragraphs)
        assert (out / "html" / f"{name}.html").read_text("utf-8").rstrip().endswith("</html>")
    with open(out / ENTITIES_CSV, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(r.spans) for r in records) > 0
    assert (out / ERRORS_JSONL).read_text("utf-8") == ""
    assert not list(out.rglob("*.tmp"))


def test_sigkill_mid_batch_then_rerun(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    names = make_reports(inputs)
    out = tmp_path / "out"

    finished = kill_at_new_part(inputs, out)
    assert finished < N_REPORTS  # really killed in the middle
    assert not (out / ENTITIES_JSONL).exists()  # combined files are only written at the end
    finished_again = kill_at_new_part(inputs, out)
    assert finished <= finished_again < N_REPORTS

    output = complete(inputs, out)
    assert f"{finished_again} already done" in output
    check_outputs(out, names)

    # The same as a run that was never interrupted.
    clean = tmp_path / "clean"
    complete(inputs, clean)
    for name in (ENTITIES_JSONL, ENTITIES_CSV):
        assert (out / name).read_bytes() == (clean / name).read_bytes()
