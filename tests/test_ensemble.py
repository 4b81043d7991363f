"""Ensembles (pipeline.model.ensemble): the members' probabilities averaged per piece,
members that do not read the text alike refused, never saved; evaluate --ensemble."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ner_tiny import SAMPLE, tiny_pipeline  # noqa: E402
from train_data import write_tiny_corpus  # noqa: E402

from pipeline.model.build import load_pipeline  # noqa: E402
from pipeline.model.encoders.loading import ModelLoadError  # noqa: E402
from pipeline.model.ensemble import load_ensemble  # noqa: E402


def _saved(folder: Path, noise_seed: int | None = None, labels: list[str] | None = None) -> Path:
    """A tiny pipeline saved to ``folder``: its random weights shifted by seeded noise
    (another model of the same shape), or with other ``labels``."""
    if labels is None:
        nlp = tiny_pipeline(folder.with_name(folder.name + "-base"))
    else:
        from ner_tiny import save_tiny_base

        from pipeline.model.build import blank_pipeline

        nlp = blank_pipeline()
        base = save_tiny_base(folder.with_name(folder.name + "-base"))
        nlp.add_pipe("govreport_ner", config={"base_model": str(base), "dtype": "float32", "labels": labels,
                                              "max_length": 64, "stride": 16})
        nlp.initialize()
    if noise_seed is not None:
        gen = torch.Generator().manual_seed(noise_seed)
        with torch.no_grad():
            for p in nlp.get_pipe("govreport_ner").model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    nlp.to_disk(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    return _saved(root / "a", 1), _saved(root / "b", 2)


def _window_probs(nlp, text: str):
    ner = nlp.get_pipe("govreport_ner")
    enc = ner.encode(text)
    return ner.window_probs(ner.windows(enc, "plan", text))


def test_an_ensemble_averages_its_members_probabilities(models):
    a, b = models
    mean = [(x + y) / 2 for x, y in zip(_window_probs(load_pipeline(a), SAMPLE),
                                        _window_probs(load_pipeline(b), SAMPLE))]
    both = load_ensemble([a, b])
    got = _window_probs(both, SAMPLE)
    assert len(got) == len(mean) and all(torch.allclose(g, m, atol=1e-5) for g, m in zip(got, mean))
    assert not torch.allclose(got[0], _window_probs(load_pipeline(a), SAMPLE)[0], atol=1e-3)
    doc = both(SAMPLE)  # decodes with the first member's settings
    assert all(e._.score is not None for e in doc.ents)
    assert both.meta["name"] == f"ensemble of {a} + {b}"
    with pytest.raises(ValueError, match="cannot be saved"):
        both.to_disk(a.parent / "saved-ensemble")
    with pytest.raises(ValueError, match="at least two"):
        load_ensemble([a])


def test_members_that_read_the_text_differently_are_refused(models, tmp_path):
    a, _ = models
    other = _saved(tmp_path / "labels", labels=["PROJECT"])
    with pytest.raises(ModelLoadError, match="tags"):
        load_ensemble([a, other])


def test_evaluate_scores_an_ensemble_and_tunes_its_thresholds(models, tmp_path, capsys):
    from pipeline.cli.evaluate import main

    a, b = models
    write_tiny_corpus(tmp_path)
    data = ["--data", str(tmp_path / "gold.jsonl"), "--splits", str(tmp_path / "splits.json"), "--split", "dev"]
    out = tmp_path / "dev.json"
    assert main([*data, "--model", str(a), "--ensemble", str(b), "--json", str(out),
                 "--errors", str(tmp_path / "errors.jsonl")]) == 0
    assert json.loads(out.read_text())["system"] == f"ensemble of {a} + {b}"
    tuned = tmp_path / "dev.thresholds.json"
    assert main([*data, "--model", str(a), "--ensemble", str(b), "--tune-min-score", "--json", str(tuned)]) == 0
    assert json.loads(tuned.read_text())["model"].startswith("ensemble of")
    with pytest.raises(SystemExit):
        main([*data, "--model", str(a), "--ensemble", str(b), "--tune-min-score", "--write-min-score"])
    assert "--ensemble" in capsys.readouterr().err
