"""scripts/experiments.py: the experiment table from run folders."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("experiments", ROOT / "scripts" / "experiments.py")
experiments = importlib.util.module_from_spec(spec)
spec.loader.exec_module(experiments)


def _run(folder: Path, lr: float, f1s: list[float], finished: bool = True) -> Path:
    folder.mkdir()
    (folder / "train_config.toml").write_text(f"lr = {lr}\nepochs = {len(f1s)}\n", encoding="utf-8")
    (folder / "train_log.jsonl").write_text("".join(
        json.dumps({"epoch": i + 1, "dev_f1": f, "dev_per_label": {"TARGET": f / 2}}) + "\n"
        for i, f in enumerate(f1s)), encoding="utf-8")
    if finished:
        (folder / "train_summary.json").write_text("{}", encoding="utf-8")
    return folder


def test_table_best_epoch_and_f1_at_an_epoch(tmp_path: Path) -> None:
    long = _run(tmp_path / "long", 2e-4, [0.1, 0.5, 0.7, 0.6])
    short = _run(tmp_path / "short", 1e-4, [0.2], finished=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{experiments.BEGIN}\nold\n{experiments.END}\nafter\n", encoding="utf-8")
    assert experiments.main([str(long), str(short), "--at-epoch", "2", "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in text.splitlines()
            if line.startswith("| long") or line.startswith("| short")}
    head = [c.strip("| ") for c in text.splitlines()[2].split(" | ")]
    col = {name: head.index(name) for name in ("dev F1 at epoch 2", "best epoch", "dev F1", "TARGET")}
    assert [rows["long"][col[k]] for k in col] == ["0.500", "3", "0.700", "0.350"]
    assert "short (stopped)" in rows and rows["short (stopped)"][col["dev F1 at epoch 2"]] == "–"


def test_dev_evaluations_per_decoding_and_a_named_table(tmp_path: Path) -> None:
    """A run folder with eval/dev.<decoding>.json gets one column per decoding and
    the per-label F1 of viterbi; a second table lives between its own markers."""
    run = _run(tmp_path / "run", 2e-4, [0.5, 0.6])
    (run / "eval").mkdir()
    for decoding, f1 in (("viterbi", 0.72), ("argmax", 0.70)):
        (run / "eval" / f"dev.{decoding}.json").write_text(json.dumps(
            {"micro": {"f1": f1}, "per_label": {"PROJECT": {"f1": f1 - 0.1}}}), encoding="utf-8")
    plain = _run(tmp_path / "plain", 1e-4, [0.4])
    from pipeline.cli.experiments import markers

    begin, end = markers("new")
    readme = tmp_path / "README.md"
    readme.write_text(f"{experiments.BEGIN}\nfirst\n{experiments.END}\n{begin}\nold\n{end}\n", encoding="utf-8")
    assert experiments.main([str(run), str(plain), "--readme", str(readme), "--marker", "new",
                             "--shown", "lr"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "first" in text and "old" not in text
    lines = text.splitlines()
    head = [c.strip("| ") for c in lines[lines.index(begin) + 1].split(" | ")]
    assert head[:3] == ["run", "lr", "epochs run"]
    rows = {line.split(" | ")[0].strip("| "): [c.strip("| ") for c in line.split(" | ")]
            for line in lines if line.startswith("| run") or line.startswith("| plain")}
    assert [rows["run"][head.index(k)] for k in ("dev F1", "dev F1 viterbi", "dev F1 argmax", "PROJECT")] == [
        "0.600", "0.720", "0.700", "0.620"]
    assert [rows["plain"][head.index(k)] for k in ("dev F1 viterbi", "dev F1 argmax")] == ["–", "–"]
    assert experiments.main([str(run), "--readme", str(readme), "--marker", "missing"]) == 1


def test_a_crf_run_shows_the_per_label_f1_of_its_own_decoding(tmp_path: Path) -> None:
    run = _run(tmp_path / "crf", 1e-4, [0.5])
    with (run / "train_config.toml").open("a", encoding="utf-8") as f:
        f.write('decoding = "crf"\n')
    (run / "eval").mkdir()
    for decoding, f1 in (("viterbi", 0.70), ("crf", 0.74)):
        (run / "eval" / f"dev.{decoding}.json").write_text(json.dumps(
            {"micro": {"f1": f1}, "per_label": {"PROJECT": {"f1": f1 - 0.1}}}), encoding="utf-8")
    lines = experiments.table([experiments.run_row(run)], shown=("decoding",)).splitlines()
    head = [c.strip("| ") for c in lines[0].split(" | ")]
    row = [c.strip("| ") for c in lines[2].split(" | ")]
    assert [row[head.index(k)] for k in ("decoding", "dev F1 viterbi", "dev F1 crf", "PROJECT")] == [
        "crf", "0.700", "0.740", "0.640"]


def test_thresholds_chosen_on_dev_add_the_shipped_configurations_estimate(tmp_path: Path) -> None:
    tuned = _run(tmp_path / "tuned", 1e-4, [0.5])
    plain = _run(tmp_path / "plain", 1e-4, [0.4])
    (tuned / "eval").mkdir()
    (tuned / "eval" / "dev.thresholds.json").write_text(json.dumps(
        {"before": {"micro": {"f1": 0.80}}, "after": {"micro": {"f1": 0.83}},
         "left_out": {"micro": {"f1": 0.82}, "per_label": {"PROJECT": {"f1": 0.71}}}}), encoding="utf-8")
    rows = [experiments.run_row(f) for f in (tuned, plain)]
    lines = experiments.table(rows, shown=()).splitlines()
    head = [c.strip("| ") for c in lines[0].split(" | ")]
    cols = ("+ min_score in sample", "left one document out", "PROJECT left out")
    cells = {line.split(" | ")[0].strip("| "): [c.strip("| ") for c in line.split(" | ")] for line in lines[2:]}
    assert [cells["tuned"][head.index(c)] for c in cols] == ["0.830", "0.820", "0.710"]
    assert [cells["plain"][head.index(c)] for c in cols] == ["–", "–", "–"]
    assert "left one document out" not in experiments.table(rows[1:], shown=())
