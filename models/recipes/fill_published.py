"""Put the outputs of models/recipes/published-scores.sh into the tables that quote them.

README.md: the test table (Results), the four precision tables (Precision: test and dev with this
CPU's kernels, then with its kernels limited to AVX2), the plain transformers export table;
models/govreport-ner/README.md: the dev/test table, from eval/*.json. (The learning curve's table
in models/README.md is v0.2's and its runs', written once in session 5: not refreshed here.) Each README block is
found by its first line, so the text around it stays as written.
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "published"


def block(name: str, first: str) -> str:
    """The table starting with ``first`` in runs/published/<name>: its lines up to the
    first blank line or message line (``errors:``, ``scores:``, ``Loading``)."""
    text = (OUT / name).read_text(encoding="utf-8")
    keep = []
    for line in text[text.index(first):].splitlines():
        if not line.strip() or line.startswith(("errors:", "scores:", "Loading")):
            break
        keep.append(line)
    return "\n".join(keep)


def replace_blocks(text: str, pattern: str, tables: list[str]) -> str:
    found = re.findall(pattern, text, re.DOTALL)
    assert len(found) == len(tables), (pattern, len(found), len(tables))
    it = iter(tables)
    return re.sub(pattern, lambda m: "```\n" + next(it) + "\n```", text, flags=re.DOTALL)


readme = ROOT / "README.md"
s = readme.read_text(encoding="utf-8")
s = replace_blocks(s, r"```\nScores: seqeval strict IOB2, entity level \(\d+ records; system: models/govreport-ner.*?\n```",
                   [block("test-dtypes.txt", "Scores: seqeval")])
s = replace_blocks(s, r"```\nF1, seqeval strict IOB2.*?\n```",
                   [block(f, "F1, seqeval") for f in ("test-dtypes.txt", "dev-dtypes.txt", "test-avx2.txt",
                                                      "dev-avx2.txt")])
s = replace_blocks(s, r"```\nScores: seqeval strict IOB2, entity level \(\d+ records; system: runs/hf-export.*?\n```",
                   [block("test-plain.txt", "Scores: seqeval")])
readme.write_text(s, encoding="utf-8")

card = ROOT / "models" / "govreport-ner" / "README.md"
c = card.read_text(encoding="utf-8")
rows = []
for split in ("dev", "test"):
    d = json.loads((ROOT / "models" / "govreport-ner" / "eval" / f"{split}.json").read_text(encoding="utf-8"))
    per = d["per_label"]
    rows.append(f"| {split} | {d['micro']['precision']:.3f} | {d['micro']['recall']:.3f} | {d['micro']['f1']:.3f} | "
                f"{d['macro']['f1']:.3f} | " + " | ".join(f"{per[k]['f1']:.3f}" for k in ("PROJECT", "METRIC", "TARGET", "VALUE"))
                + f" | {d['baseline']['micro']['f1']:.3f} |")
c, n = re.subn(r"(\| split \| micro P .*?\n\|---.*?\n)\| dev \|.*?\n\| test \|.*?\n", lambda m: m.group(1) + "\n".join(rows) + "\n", c,
               flags=re.DOTALL)
assert n == 1
card.write_text(c, encoding="utf-8")
print("README.md and the model card updated:\n" + "\n".join(rows))
