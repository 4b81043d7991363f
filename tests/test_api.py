"""The public Python API: `pipeline.__all__`, and the README's "Python API" section
that lists it with examples (the runnable ones are run here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline

ROOT = Path(__file__).resolve().parent.parent
NOT_RUN = "# not run by the tests"


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Python API\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _section(), re.DOTALL)


def test_the_readme_lists_exactly_the_public_names():
    used = set(re.findall(r"\bpipeline\.([A-Za-z_]+)\b", "\n".join(_blocks())))
    assert used == set(pipeline.__all__)


def test_import_is_cheap_and_every_name_resolves():
    out = subprocess.run([sys.executable, "-c", "import sys, pipeline; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    for name in pipeline.__all__:
        assert getattr(pipeline, name).__name__ == name
    with pytest.raises(AttributeError):
        pipeline.no_such_name  # noqa: B018


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(index, tmp_path):
    code = _blocks()[index]
    if NOT_RUN in code:
        compile(code, f"README example {index}", "exec")  # still valid Python
        return
    for name in ("models", "seeds", "annotations"):  # the repository's data, outputs in tmp
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
