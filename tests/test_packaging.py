"""govreport-ner package: the shipped pipeline as wheels that install into a fresh venv
and load by name, offline, from another folder."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from pipeline.model.packaging import PackagingError, card_version, package_meta, spacy_performance

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "govreport-ner"
SEED = ROOT / "seeds" / "004_751be6e086fe62a8.txt"

LOAD_BY_NAME = """
import json, sys, spacy
nlp = spacy.load("xx_govreport_ner")
doc = nlp(open(sys.argv[1], encoding="utf-8").read())
import pipeline
print(json.dumps({"ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
                  "pipeline_from": pipeline.__file__, "meta": nlp.meta["performance"]}))
"""


def test_meta_has_spacy_performance_sources_licence_and_the_card_version(tmp_path):
    meta = package_meta(MODEL)
    test = json.loads((MODEL / "eval" / "test.json").read_text(encoding="utf-8"))
    assert meta["version"] == card_version(MODEL)
    assert meta["performance"]["ents_f"] == test["micro"]["f1"]
    assert set(meta["performance"]["ents_per_type"]) == {"PROJECT", "METRIC", "TARGET", "VALUE"}
    assert meta["sources"] and "MIT" in meta["license"] and "training reports" in meta["training_data"]
    (tmp_path / "README.md").write_text("# a card without a version\n")
    with pytest.raises(PackagingError, match="no version"):
        card_version(tmp_path)
    with pytest.raises(PackagingError, match="test evaluation"):
        spacy_performance(tmp_path / "eval" / "test.json")


def test_wheel_installs_into_a_fresh_venv_and_loads_by_name_offline(tmp_path):
    from pipeline.cli.package import main
    from pipeline.model.build import load_pipeline
    from pipeline.text.reading import read_report

    dist = tmp_path / "dist"
    assert main(["--out", str(dist)]) == 0
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["govreport_ner", "xx_govreport_ner"]

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    # the dependencies (torch, spaCy, ...) from this environment, not this checkout's code:
    # a path line in a .pth adds site-packages without running its .pth files (the editable install)
    purelib = subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      text=True).strip()
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, wheels)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([str(python), "-c", LOAD_BY_NAME, str(SEED)], cwd=elsewhere, capture_output=True,
                         text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    installed = json.loads(out.stdout.strip().splitlines()[-1])
    assert installed["pipeline_from"].startswith(purelib)  # the wheel's code, not the checkout's
    assert installed["meta"]["ents_f"] == pytest.approx(package_meta(MODEL)["performance"]["ents_f"], abs=1e-9)
    doc = load_pipeline(MODEL)(read_report(SEED))
    expected = [[e.start_char, e.end_char, e.label_] for e in doc.ents]
    assert expected and installed["ents"] == expected
