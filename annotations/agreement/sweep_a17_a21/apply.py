"""Check or apply gold sweep decisions (A17–A21).

A decision file is JSONL, one decision per line:
  {"id": "<record id>", "remove": [[start, end, "LABEL", "text"], ...],
   "add": [[start, end, "LABEL", "text"], ...], "rule": "A17", "reason": "..."}
Offsets index the record's text; "text" must equal text[start:end] (catches
off-by-one). Removed spans must be in the gold; added spans must not overlap
the spans left. Links follow a span that is replaced by one of the same label
overlapping it; links of a removed span are dropped (and reported).

  python annotations/agreement/sweep_a17_a21/apply.py check  annotations/agreement/sweep_a17_a21/A17.jsonl ...
  python annotations/agreement/sweep_a17_a21/apply.py apply  annotations/agreement/sweep_a17_a21/*.jsonl --log OUT.md
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from pipeline.annotation.jsonl import read_records, write_records  # noqa: E402
from pipeline.annotation.schema import Link, Span  # noqa: E402
from pipeline.annotation.validate import validate_records  # noqa: E402

GOLD = Path(__file__).resolve().parents[2] / "gold"


def load_gold():
    files = {}
    for path in sorted(GOLD.glob("*.jsonl")):
        files[path] = read_records(path)
    index = {r.id: (path, k) for path, recs in files.items() for k, r in enumerate(recs)}
    return files, index


def apply_one(record, d):
    """The record's new spans and links, or raise ValueError naming the problem."""
    text = record.text
    spans = list(record.spans)
    for what in ("remove", "add"):
        for item in d.get(what, []):
            if len(item) != 4:
                raise ValueError(f"{what} item {item!r}: expected [start, end, LABEL, text]")
            s, e, label, surface = item
            if text[s:e] != surface:
                raise ValueError(f"{what} {item!r}: text[{s}:{e}] is {text[s:e]!r}")
    removed = []
    for s, e, label, _ in d.get("remove", []):
        hit = [k for k, sp in enumerate(spans) if (sp.start, sp.end, sp.label) == (s, e, label)]
        if not hit:
            raise ValueError(f"remove [{s}, {e}, {label}]: no such gold span "
                             f"(gold: {[(sp.start, sp.end, sp.label, text[sp.start:sp.end]) for sp in spans]})")
        removed.append(spans[hit[0]])
    kept = [sp for sp in spans if sp not in removed]
    added = [Span(s, e, label) for s, e, label, _ in d.get("add", [])]
    for a in added:
        for b in kept + [x for x in added if x is not a]:
            if a.start < b.end and b.start < a.end:
                raise ValueError(f"add [{a.start}, {a.end}, {a.label}] overlaps [{b.start}, {b.end}, {b.label}] "
                                 f"{text[b.start:b.end]!r}")
    new_spans = sorted(kept + added, key=lambda sp: sp.start)
    # links: map old span objects to new indices
    def new_index(old):
        if old in kept:
            return new_spans.index(old)
        for a in added:
            if a.label == old.label and a.start < old.end and old.start < a.end:
                return new_spans.index(a)
        return None
    links, dropped = [], []
    for link in record.links:
        h, t = new_index(spans[link.head]), new_index(spans[link.tail])
        if h is None or t is None:
            dropped.append(link)
        else:
            links.append(Link(h, t))
    return new_spans, links, dropped


def main(argv):
    mode, *rest = argv
    log = None
    if "--log" in rest:
        k = rest.index("--log")
        log = Path(rest[k + 1])
        rest = rest[:k] + rest[k + 2:]
    files, index = load_gold()
    problems, rows, touched = 0, [], set()
    for dpath in rest:
        for n, line in enumerate(Path(dpath).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{dpath}:{n}"
            try:
                d = json.loads(line)
                if d.get("id") not in index:
                    raise ValueError(f"unknown record id {d.get('id')!r}")
                if not d.get("rule") or not d.get("reason"):
                    raise ValueError("a decision needs 'rule' and 'reason'")
                path, k = index[d["id"]]
                record = files[path][k]
                spans, links, dropped = apply_one(record, d)
                trial = record.__class__(id=record.id, text=record.text, spans=spans,
                                         doc_id=record.doc_id, meta=record.meta, links=links)
                bad = validate_records([trial], str(path))
                if bad:
                    raise ValueError("; ".join(p.reason for p in bad))
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
                print(f"{where}: {err}")
                problems += 1
                continue
            files[path][k] = trial
            touched.add(path)
            if dropped:
                print(f"{where}: note: {len(dropped)} link(s) dropped in {d['id']}")
            t = record.text
            before = "、".join(f"{x[3]} {x[2]}" for x in d.get("remove", [])) or "—"
            after = "、".join(f"{x[3]} {x[2]}" for x in d.get("add", [])) or "—"
            rows.append(f"| {d['id']} | {before} | {after} | {d['rule']} | {d['reason']} |")
    print(f"{len(rows)} decision(s) apply cleanly, {problems} problem(s)")
    if mode == "apply" and not problems:
        for path in sorted(touched):
            write_records(path, files[path])
        if log:
            log.write_text("| id | before | after | rule | reason |\n|---|---|---|---|---|\n"
                           + "\n".join(rows) + "\n", encoding="utf-8")
        print(f"wrote {len(touched)} gold file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
