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
