"""The gold corpus: files validate, the split is by whole documents."""

from pathlib import Path

import pytest

from pipeline.annotations import read_records, read_splits, validate_file
from pipeline.corpus_stats import agreement_table, split_table

ROOT = Path(__file__).resolve().parent.parent
GOLD = sorted((ROOT / "annotations" / "gold").glob("*.jsonl"))
SPLITS = ROOT / "annotations" / "splits.json"


def test_there_is_gold_data():
    assert len(GOLD) >= 10


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.stem)
def test_gold_file_validates(path):
    assert validate_file(path) == []


def test_gold_ids_unique_across_files():
    assert validate_file(*GOLD) == []


def test_split_is_by_whole_document():
    splits = read_splits(SPLITS)  # raises if a document is in two splits
    assert set(splits) == {"train", "dev", "test"}
    docs_per_file = {path.stem: {r.doc_id for r in read_records(path)} for path in GOLD}
    for stem, docs in docs_per_file.items():
        assert docs == {stem}, f"{stem}: one document per file"
    assigned = [d for ids in splits.values() for d in ids]
    assert sorted(assigned) == sorted(docs_per_file), "every gold document is in exactly one split"
    assert len(splits["test"]) >= 2 and len(splits["dev"]) >= 2
    assert any(d[:3].isdigit() for d in splits["test"]), "a seed report is in test"
    assert any(not d[:3].isdigit() for d in splits["test"]), "a non-seed report is in test"


def test_test_share_of_entities():
    splits = read_splits(SPLITS)
    counts = {name: sum(len(r.spans) for d in ids for r in read_records(ROOT / "annotations" / "gold" / f"{d}.jsonl"))
              for name, ids in splits.items()}
    share = counts["test"] / sum(counts.values())
    assert 0.12 <= share <= 0.25, share


def test_statistics_tables_count_what_is_there(tmp_path):
    records = read_records(GOLD[0])
    table = split_table(records, {"train": [records[0].doc_id]})
    total = sum(len(r.spans) for r in records)
    assert f"| {len(records)} |" in table and f"{total:,} |" in table
    assert "F1 |" in agreement_table(records, records) and "| **micro** |" in agreement_table(records, records)
    assert "1.000 |" in agreement_table(records, records)


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.stem)
def test_gold_round_trips_losslessly(path):
    from pipeline.convert import (doccano_to_records, inline_to_records, labelstudio_to_records,
                                  records_to_doccano, records_to_inline, records_to_labelstudio)

    records = read_records(path)
    inline = records_to_inline(records)
    assert inline_to_records(inline) == records                 # JSONL -> inline -> JSONL
    assert records_to_inline(inline_to_records(inline)) == inline  # inline -> JSONL -> inline
    assert doccano_to_records(records_to_doccano(records)) == records
    assert labelstudio_to_records(records_to_labelstudio(records)) == records
