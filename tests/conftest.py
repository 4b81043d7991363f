from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_files() -> list[Path]:
    """The reports in seeds/: the five original seeds and every report SOURCES.tsv lists."""
    files = sorted(SEEDS.glob("*.txt"))
    listed = (SEEDS / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(files) == 5 + len(listed), "seeds/ must hold the 5 seeds and every SOURCES.tsv report"
    return files
