"""compare_blind.py NAME BLIND_DONE... : a gold round's agreement snapshot and its disagreements.

Each blind second-pass file (``annotations/work/blind/helperN.done.txt``, inline markup) holds
paragraphs of reports that other helpers corrected in full (``annotations/work/done/DOC.txt``).
Writes ``annotations/agreement/NAME_first_pass.jsonl`` (those paragraphs as the first pass
corrected them) and ``NAME_second_pass.jsonl`` (the blind pass), the inputs of
``scripts/annotate.py stats --round``, and prints every paragraph where the two passes differ
(strict: same start, end and label) for adjudication. Example (round 5):

    .venv/bin/python annotations/agreement/compare_blind.py round5 annotations/work/blind/helper*.done.txt
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.annotation.convert import inline_to_records  # noqa: E402
from pipeline.annotation.jsonl import write_records  # noqa: E402

DONE = ROOT / "annotations" / "work" / "done"


def main(name: str, blind_files: list[str]) -> int:
    second = [r for f in blind_files for r in inline_to_records(Path(f).read_text(encoding="utf-8"), f)]
    corrected: dict[str, dict] = {}
    first = []
    for r in second:
        if r.doc_id not in corrected:
            path = DONE / f"{r.doc_id}.txt"
            corrected[r.doc_id] = {x.id: x for x in inline_to_records(path.read_text(encoding="utf-8"), str(path))}
        a = corrected[r.doc_id][r.id]
        if a.text != r.text:
            raise SystemExit(f"{r.id}: the blind text differs from the corrected report's")
        a.links = []
        first.append(a)
    for r in second:
        r.links = []
    out = ROOT / "annotations" / "agreement"
    write_records(out / f"{name}_first_pass.jsonl", first)
    write_records(out / f"{name}_second_pass.jsonl", second)
    differ = 0
    for a, b in zip(first, second):
        sa = {(s.start, s.end, s.label) for s in a.spans}
        sb = {(s.start, s.end, s.label) for s in b.spans}
        if sa == sb:
            continue
        differ += 1
        print(f"## {a.id}\n{a.text}")
        for tag, only in (("first only", sa - sb), ("second only", sb - sa)):
            for s, e, label in sorted(only):
                print(f"  {tag:11s} [{s},{e}] {label:7s} {a.text[s:e]}")
        print()
    print(f"{differ} of {len(first)} paragraphs differ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
