"""A gold round's corrected reports (rounds 4 and 5) -> gold files, seeds and the train split.

For each ``annotations/work/done/<doc>.txt`` named on the command line (inline markup, checked
against its pre-annotation by ``annotations/agreement/check.py``): the records are validated, their
``meta.source`` points at ``seeds/<doc>.txt`` and the draft's links are dropped; the records go
to ``annotations/gold/<doc>.jsonl`` (an existing gold file is never overwritten), the raw report
is copied from ``../shared/corpus`` to ``seeds/`` with its ``SOURCES.tsv`` row, and the document
joins the ``train`` split. Run from the repository root:

    .venv/bin/python annotations/agreement/import_done.py annotations/work/done/*.txt
"""

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.annotation.convert import inline_to_records  # noqa: E402
from pipeline.annotation.jsonl import write_records  # noqa: E402
from pipeline.annotation.validate import validate_records  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def main(paths: list[str]) -> int:
    splits_path = ROOT / "annotations" / "splits.json"
    splits = json.loads(splits_path.read_text(encoding="utf-8"))
    in_split = {d for ids in splits.values() for d in ids}
    sources = {line.split("\t", 1)[0]: line for line in
               (CORPUS / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    seed_rows = (ROOT / "seeds" / "SOURCES.tsv").read_text(encoding="utf-8")
    for path in map(Path, paths):
        doc = path.stem
        gold = ROOT / "annotations" / "gold" / f"{doc}.jsonl"
        if gold.exists() or doc in in_split:
            raise SystemExit(f"{doc}: already gold or in a split")
        records = inline_to_records(path.read_text(encoding="utf-8"), str(path))
        for r in records:
            if r.doc_id != doc:
                raise SystemExit(f"{path}: record {r.id} is of {r.doc_id}")
            r.meta["source"] = f"seeds/{doc}.txt"
            r.links = []
        problems = validate_records(records, str(path))
        if problems:
            raise SystemExit("\n".join(map(str, problems)))
        raw = CORPUS / f"{doc}.txt"
        text = raw.read_text(encoding="utf-8")
        for r in records:  # the offsets point into the raw report
            start, end = r.meta["raw_start"], r.meta["raw_end"]
            if not text[start:end].strip():
                raise SystemExit(f"{r.id}: raw offsets {start}-{end} are empty in {raw}")
        write_records(gold, records)
        shutil.copyfile(raw, ROOT / "seeds" / raw.name)
        if f"\n{raw.name}\t" not in "\n" + seed_rows:
            seed_rows = seed_rows.rstrip("\n") + "\n" + sources[raw.name] + "\n"
        splits["train"].append(doc)
        spans = sum(len(r.spans) for r in records)
        print(f"{doc}: {len(records)} records, {spans} spans -> {gold.relative_to(ROOT)}")
    splits["train"].sort()
    (ROOT / "seeds" / "SOURCES.tsv").write_text(seed_rows, encoding="utf-8")
    splits_path.write_text(json.dumps(splits, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
