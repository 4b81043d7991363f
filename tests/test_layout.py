"""The package layout and the command line: layers without upward imports or
cycles, small modules, thin scripts, one ``govreport-ner`` command; and the
runner's state that must not depend on where or how it runs (resume keys, the
model identity, Ray's settings, the missing-extra error)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline
from pipeline.cli import COMMANDS, main
from pipeline.model.build import rule_pipeline
from pipeline.runner import inputs as runner_inputs
from pipeline.runner.inputs import model_identity
from pipeline.runner.run import run

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipeline"
LAYERS = ("files", "text", "annotation", "model", "tables", "runner", "evaluation", "benchmark", "cli")
REPORT = "一、2023年工作回顾\n地区生产总值增长6.5%。\n二、2024年工作目标\n粮食产量达到80万吨。\n"


# --------------------------------------------------------------------------- layout


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every ``pipeline`` module ``path`` imports, at the top or inside functions."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "pipeline" or m.startswith("pipeline.")}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else -1


def test_imports_only_go_down_the_layers():
    upward = sorted(f"{_module(p)} -> {m}" for p in PACKAGE.rglob("*.py")
                    if p.name != "__main__.py" for m in _imports(p) if _layer(m) > _layer(_module(p)))
    assert upward == []


def test_no_import_cycles():
    graph = {_module(p): {m for m in _imports(p) if m != _module(p)} for p in PACKAGE.rglob("*.py")
             if p.name != "__init__.py"}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    assert sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if b in graph and reaches(b, a)) == []


def test_modules_are_small_and_scripts_are_shims():
    big = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert big == {}
    for script in (ROOT / "scripts").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 40, script.name
        assert "from pipeline.cli." in text, script.name


# --------------------------------------------------------------------------- command line


def test_dispatch_lists_and_runs_the_commands(tmp_path, capsys):
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in ("infer", "train", "evaluate", "annotate", "normalize", "benchmark", "encoder"):
        assert name in COMMANDS and f"  {name} " in listed
    assert main([]) == 2 and main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err

    report = tmp_path / "r.txt"
    report.write_text("地區生產總值增長6.5%", encoding="utf-8")
    assert main(["normalize", str(report)]) == 0
    assert capsys.readouterr().out == "地区生产总值增长6.5%\n"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name, capsys):
    try:
        rc = main([name, "--help"])
    except SystemExit as done:  # argparse's --help
        rc = done.code
    assert rc == 0
    assert capsys.readouterr().out.strip()


def test_console_script_and_python_m_are_the_same_command():
    script = Path(sys.executable).parent / "govreport-ner"
    commands = [[sys.executable, "-m", "pipeline", "--help"]]
    if script.is_file():
        commands.append([str(script), "--help"])
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0 and "encoder" in done.stdout, command


# --------------------------------------------------------------------------- runner state


def test_resume_keys_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("a", "b"):
        (reports / f"{name}.txt").write_text(REPORT, encoding="utf-8")
    out = tmp_path / "out"
    nlp = rule_pipeline()
    monkeypatch.chdir(tmp_path)
    first = run(["reports"], out, nlp=nlp, progress=False)
    assert len(first.processed) == 2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the same inputs, named from another folder
    again = run([reports], out, nlp=nlp, progress=False)
    assert again.processed == [] and len(again.skipped) == 2
    manifest = json.loads((out / "parts" / "a.manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"] == (reports / "a.txt").resolve().as_posix()


def _model_folder(root: Path) -> Path:
    (root / "ner").mkdir(parents=True)
    (root / "config.cfg").write_text("[nlp]\n", encoding="utf-8")
    (root / "ner" / "cfg").write_text("{}", encoding="utf-8")
    return root


def test_model_identity_is_model_files_settings_and_version(tmp_path, monkeypatch):
    model = _model_folder(tmp_path / "model")
    identity = model_identity(model, {"precision": "int8"})
    assert identity == model_identity(model, {"precision": "int8"})
    assert pipeline.__version__ in identity and pipeline.__version__ in model_identity(None)
    # A setting that changes the outputs changes it; so does a model file.
    assert model_identity(model, {"precision": "bfloat16"}) != identity
    (model / "ner" / "cfg").write_text('{"labels": []}', encoding="utf-8")
    assert model_identity(model, {"precision": "int8"}) != identity
    # So does the package version (its source files do not: see the next test).
    changed = model_identity(model, {"precision": "int8"})
    baseline = model_identity(None)
    monkeypatch.setattr(runner_inputs, "__version__", "9.9.9")
    assert model_identity(model, {"precision": "int8"}) != changed and model_identity(None) != baseline


def test_a_docstring_edit_keeps_the_model_identity(tmp_path):
    """The identity computed by an edited copy of the package equals this one's."""
    model = _model_folder(tmp_path / "model")
    copy = tmp_path / "src" / "pipeline"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    structure = copy / "text" / "structure.py"
    structure.write_text(structure.read_text(encoding="utf-8").replace(
        '"""Document structure:', '"""Document structure (edited):', 1), encoding="utf-8")
    code = ("import json, sys; from pipeline.runner.inputs import model_identity; "
            "print(json.dumps([model_identity(None), model_identity(sys.argv[1], {'precision': 'int8'})]))")
    done = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True, text=True,
                          cwd=tmp_path / "src", env={"PYTHONPATH": str(tmp_path / "src"), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "(edited)" in (copy / "text" / "structure.py").read_text(encoding="utf-8")
    assert json.loads(done.stdout) == [model_identity(None), model_identity(model, {"precision": "int8"})]


def test_missing_ray_extra_is_reported_precisely(tmp_path, monkeypatch, capsys):
    import pipeline.cli.infer
    from pipeline.runner import ray as ray_engine

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ray_engine.RayNotInstalledError, match=r"pip install -e '\.\[ray\]'"):
        ray_engine._import_ray()
    report = tmp_path / "r.txt"
    report.write_text(REPORT, encoding="utf-8")
    rc = pipeline.cli.infer.main([str(report), "--out", str(tmp_path / "out"), "--model", "none",
                                  "--engine", "ray", "--no-progress"])
    assert rc == 2 and "the Ray engine needs the optional extra" in capsys.readouterr().err

    def broken(*args, **kwargs):  # an ImportError that is not the missing extra
        raise ImportError("cannot import name 'x' from 'somewhere'")

    monkeypatch.setattr(pipeline.cli.infer, "run", broken)
    with pytest.raises(ImportError, match="somewhere"):
        pipeline.cli.infer.main([str(report), "--out", str(tmp_path / "out"), "--model", "none",
                                 "--no-progress"])


def test_one_settings_dataclass_feeds_factory_component_and_training():
    import spacy

    from pipeline.model.ner import FACTORY
    from pipeline.model.settings import DEFAULTS, NERSettings
    from pipeline.model.training import TrainConfig

    meta = spacy.Language.get_factory_meta(FACTORY)
    assert meta.default_config == DEFAULTS.config()
    nlp = spacy.blank("xx")
    ner = nlp.add_pipe(FACTORY, config={"max_length": 64})
    assert ner.settings == NERSettings(max_length=64) and ner.cfg() == NERSettings(max_length=64).config()
    train = TrainConfig()
    shared = train.ner_settings()
    assert shared == NERSettings(base_model=train.base_model)  # the training defaults are the component's
