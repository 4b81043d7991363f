"""The canonical indicator table and the matcher (exact, alias, embedding, none)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from ner_tiny import save_tiny_base  # noqa: E402

from pipeline.tables.indicators import EncoderEmbedder, IndicatorMatcher, IndicatorTableError, load_table  # noqa: E402

HEADLINE = ["地区生产总值", "一般公共预算收入", "固定资产投资", "社会消费品零售总额", "城镇居民人均可支配收入",
            "农村居民人均可支配收入", "城镇新增就业", "城镇调查失业率", "居民消费价格涨幅", "单位地区生产总值能耗",
            "PM2.5平均浓度", "粮食产量", "研发经费投入强度", "进出口总额", "实际利用外资", "规模以上工业增加值"]


def test_the_shipped_table_covers_the_headline_indicators():
    table = load_table()
    assert len(table.indicators) >= 40 and table.version >= 1
    names = {i.name for i in table.indicators}
    assert set(HEADLINE) <= names
    assert all(i.key.isascii() and i.key == i.key.lower() for i in table.indicators)
    assert table.embedding_threshold is not None and 0 < table.embedding_threshold < 1
    assert table.by_key["cpi"].lower_is_better and not table.by_key["gdp"].lower_is_better


@pytest.mark.parametrize("written, key, how", [
    ("地区生产总值", "gdp", "exact"),
    ("全市地区生产总值", "gdp", "exact"),        # scope prefix stripped
    ("GDP", "gdp", "alias"),
    ("ＧＤＰ", "gdp", "alias"),                   # full-width letters
    ("国内 生产总值", "gdp", "alias"),            # whitespace
    ("全县规上工业增加值", "industrial_value_added", "exact"),   # 规上 = 规模以上
    ("城镇调查失业率", "surveyed_unemployment", "exact"),
    ("城镇登记失业率", "registered_unemployment", "exact"),     # related indicators stay apart
    ("第三产业增加值占比", None, "none"),
    ("投资", None, "none"),
])
def test_lookup_by_name_and_alias(written, key, how):
    m = load_table().lookup(written)
    assert (m.key, m.how) == (key, how)
    assert (m.name is None) == (key is None)


def _write(tmp_path, body: str):
    path = tmp_path / "t.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_bad_table_is_refused_with_the_file_and_the_entry(tmp_path):
    cases = {
        'version = 1\n[[indicator]]\nkey = "a"\nname = "甲"\n[[indicator]]\nkey = "a"\nname = "乙"\n': "duplicate",
        '[[indicator]]\nkey = "a"\nname = "甲"\naliases = ["丙"]\n[[indicator]]\nkey = "b"\nname = "乙"\n'
        'aliases = ["丙"]\n': "both",
        '[[indicator]]\nkey = "A-1"\nname = "甲"\n': "lower_snake_case",
        '[[indicator]]\nkey = "a"\nname = "甲"\ncolour = 1\n': "unknown field",
        '[[indicator]]\nname = "甲"\n': "needs string",
        'version = 1\n': "no [[indicator]]",
        '[[indicator\n': "cannot read",
    }
    for body, words in cases.items():
        path = _write(tmp_path, body)
        with pytest.raises(IndicatorTableError, match=re.escape(words)) as err:
            load_table(path)
        assert str(path) in str(err.value)


class FakeEmbed:
    """Vectors by hand: each text maps to a fixed direction; counts its calls."""

    def __init__(self, vectors: dict[str, list[float]]):
        self.vectors, self.calls = vectors, 0

    def __call__(self, texts):
        self.calls += 1
        rows = np.array([self.vectors.get(t, [0.0, 0.0, 1.0]) for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _small_table(tmp_path):
    return load_table(_write(tmp_path, '[match]\nscope_prefixes = ["全县"]\nembedding_threshold = 0.9\n'
                                       '[[indicator]]\nkey = "gdp"\nname = "地区生产总值"\naliases = ["GDP"]\n'
                                       '[[indicator]]\nkey = "jobs"\nname = "城镇新增就业"\n'))


def test_embedding_matches_above_the_threshold_only(tmp_path):
    embed = FakeEmbed({"地区生产总值": [1, 0, 0], "GDP": [1, 0, 0], "城镇新增就业": [0, 1, 0],
                       "经济总产出": [0.95, 0.05, 0], "就业人数": [0.5, 0.5, 0]})
    matcher = IndicatorMatcher(_small_table(tmp_path), embed)
    near, far, exact = matcher.match(["全县经济总产出", "就业人数", "GDP"])
    assert (near.key, near.how, near.nearest) == ("gdp", "embedding", "地区生产总值") and near.score >= 0.9
    assert (far.key, far.how) == (None, "none") and far.score < 0.9
    assert (exact.key, exact.how, exact.score) == ("gdp", "alias", None)
    calls = embed.calls
    assert matcher.match(["全县经济总产出"])[0] == near and embed.calls == calls  # cached
    # a stricter threshold turns the match into none
    assert IndicatorMatcher(_small_table(tmp_path), embed, threshold=0.9999).match(["经济总产出"])[0].how == "none"


def test_without_an_embedder_only_names_and_aliases_match(tmp_path):
    matcher = IndicatorMatcher(_small_table(tmp_path))
    assert [m.how for m in matcher.match(["GDP", "经济总产出"])] == ["alias", "none"]


def test_encoder_embedder_gives_unit_vectors_from_any_model_folder(tmp_path):
    base = save_tiny_base(tmp_path / "tiny")
    embed = EncoderEmbedder(base)
    vectors = embed(["地区生产总值", "城镇新增就业", "地区生产总值"])
    assert vectors.shape[0] == 3 and vectors.shape[1] > 0
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])


def test_matcher_scores_by_way_of_matching_and_the_threshold_sweep(tmp_path):
    from pipeline.evaluation.indicators import Mention, best_threshold, evaluate_matcher, sweep_thresholds

    embed = FakeEmbed({"地区生产总值": [1, 0, 0], "GDP": [1, 0, 0], "城镇新增就业": [0, 1, 0],
                       "经济总产出": [0.99, 0.01, 0], "新增就业人数": [0.1, 0.9, 0], "工业产出": [0.8, 0.2, 0]})
    mentions = [Mention("d#1", "GDP", "dev", "gdp"), Mention("d#2", "经济总产出", "dev", "gdp"),
                Mention("d#3", "新增就业人数", "dev", "jobs"), Mention("d#4", "工业产出", "dev", None),
                Mention("d#5", "地区生产总值", "dev", "gdp")]
    table = _small_table(tmp_path)
    result = evaluate_matcher(mentions, IndicatorMatcher(table, embed, threshold=0.5))
    assert result["by_how"]["exact"] == {"matched": 1, "correct": 1, "precision": 1.0}
    assert result["by_how"]["alias"]["matched"] == 1
    assert result["by_how"]["embedding"] == {"matched": 3, "correct": 2, "precision": 0.6667}
    assert (result["given"], result["correct"], result["with_key"]) == (5, 4, 4)
    sweep = sweep_thresholds(mentions, IndicatorMatcher(table, embed, threshold=1.0), [0.5, 0.98, 0.999])
    assert [row["by_how"].get("embedding", {}).get("matched", 0) for row in sweep] == [3, 2, 1]
    # 工业产出 (cosine 0.97, no key) is the wrong match; above 0.98 only right ones remain
    assert best_threshold(sweep, 1.0) == 0.98
    assert best_threshold(sweep, 1.01) is None


def test_the_indicators_command_tunes_on_dev_and_reports_test(tmp_path, capsys):
    import json

    from pipeline.cli.targets import main

    labels = tmp_path / "keys.jsonl"
    rows = [("d#1", "GDP", "dev", "gdp"), ("d#2", "投资", "dev", None), ("t#1", "城镇新增就业", "test", "urban_new_jobs"),
            ("t#2", "企业", "test", None)]
    labels.write_text("".join(json.dumps({"id": i, "text": t, "split": s, "key": k}, ensure_ascii=False) + "\n"
                              for i, t, s, k in rows), encoding="utf-8")
    out = tmp_path / "eval.json"
    base = save_tiny_base(tmp_path / "tiny")
    assert main(["indicators", "--labels", str(labels), "--encoder", str(base), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| test, names and aliases | 2 | 1 |" in printed and "threshold sweep on dev" in printed
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["results"]["test, names and aliases"]["recall"] == 1.0
    # a split without mentions is a usage error, not a crash
    assert main(["indicators", "--labels", str(labels), "--report", "nosuch", "--encoder", str(base)]) == 2
    assert "no mentions of split 'nosuch'" in capsys.readouterr().err
