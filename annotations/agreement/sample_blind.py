"""sample_blind.py OUT_DIR N_PER_DOC HELPER=DOC,DOC ...: blind second-pass files for a gold round.

For each pre-annotated report ``annotations/work/pre/DOC.txt`` (inline markup), N_PER_DOC random
paragraphs of at least 30 characters are drawn (seed 0; a paragraph whose text repeats an earlier
one, such as a page's copy, is skipped), their spans removed, and dealt round-robin to the
helpers that do NOT correct DOC themselves. Writes ``OUT_DIR/for_<helper>.txt`` (inline markup,
meta lines kept), the files that the annotator brief's step 1 names. Example (round 5):

    .venv/bin/python annotations/agreement/sample_blind.py annotations/work/blind 8 \\
        helper1=全国_1978_e7ccbd9d helper2=河北省_2018_0e6e9327,...
"""
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.annotation.convert import inline_to_records, records_to_inline  # noqa: E402

PRE = ROOT / "annotations" / "work" / "pre"


def main(out_dir: str, per_doc: str, assignments: list[str]) -> None:
    owner = {}
    for item in assignments:
        helper, _, docs = item.partition("=")
        for doc in filter(None, docs.split(",")):
            owner[doc] = helper
    helpers = sorted({h for h in owner.values()})
    if len(helpers) < 2:
        raise SystemExit("need at least two helpers (nobody annotates their own report blind)")
    rng = random.Random(0)
    dealt: dict[str, list] = {h: [] for h in helpers}
    turn = 0
    for doc in sorted(owner):
        records = inline_to_records((PRE / f"{doc}.txt").read_text(encoding="utf-8"), doc)
        seen, pool = set(), []
        for r in records:
            if len(r.text) >= 30 and r.text not in seen:
                pool.append(r)
            seen.add(r.text)
        others = [h for h in helpers if h != owner[doc]]
        for r in sorted(rng.sample(pool, min(int(per_doc), len(pool))), key=lambda r: r.meta["paragraph"]):
            r.spans, r.links = [], []
            dealt[others[turn % len(others)]].append(r)
            turn += 1
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for helper, records in dealt.items():
        path = Path(out_dir) / f"for_{helper}.txt"
        path.write_text(records_to_inline(records), encoding="utf-8")
        print(f"{path}: {len(records)} paragraphs")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
