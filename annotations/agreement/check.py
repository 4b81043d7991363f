"""check.py PRE DONE [--partial]: an annotator's corrected file against its pre-annotation.

DONE (inline markup) must hold PRE's records in order, with the same ids, texts and meta
(``--partial``: the first N of them), and spans that pass the validator; prints the
paragraphs and the spans per label. Used by the annotation helpers (annotator_brief.md).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pipeline.annotation.convert import inline_to_records  # noqa: E402
from pipeline.annotation.validate import validate_records  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--partial"]
partial = "--partial" in sys.argv
pre_path, done_path = args[0], args[1]
pre = inline_to_records(Path(pre_path).read_text(encoding="utf-8"), pre_path)
try:
    done = inline_to_records(Path(done_path).read_text(encoding="utf-8"), done_path)
except Exception as exc:  # parse errors name the line
    print(f"PARSE ERROR: {exc}")
    sys.exit(1)
bad = 0
if partial and len(done) < len(pre):
    print(f"partial: {len(done)} of {len(pre)} paragraphs (up to {done[-1].id if done else 'none'})")
elif len(done) != len(pre):
    print(f"record count differs: pre {len(pre)}, done {len(done)}")
    bad += 1
for i, (a, b) in enumerate(zip(pre, done)):
    if a.id != b.id:
        print(f"#{i}: id {b.id!r} should be {a.id!r}"); bad += 1
    if a.text != b.text:
        j = next((k for k, (x, y) in enumerate(zip(a.text, b.text)) if x != y), min(len(a.text), len(b.text)))
        print(f"{a.id}: text differs at char {j}: pre {a.text[j:j+20]!r} done {b.text[j:j+20]!r}"); bad += 1
    if a.meta != b.meta:
        print(f"{a.id}: meta line changed"); bad += 1
for p in validate_records(done, done_path):
    print(p); bad += 1
changed = sum(1 for a, b in zip(pre, done) if [(s.start, s.end, s.label) for s in a.spans] != [(s.start, s.end, s.label) for s in b.spans])
if bad:
    print(f"{bad} problem(s)")
    sys.exit(1)
counts = {}
for r in done:
    for s in r.spans:
        counts[s.label] = counts.get(s.label, 0) + 1
print(f"OK: {len(done)} paragraphs, {changed} changed vs pre-annotation, spans {counts}")
