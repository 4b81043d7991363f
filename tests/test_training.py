"""Training: config loading, features through the component's alignment, and
short end-to-end runs on a tiny random model (early stopping, silver data,
accumulation, the written pipeline)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import spacy
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from train_data import make_records, tiny_train_config, write_tiny_corpus  # noqa: E402

from pipeline.annotation.dataset import load_dataset  # noqa: E402
from pipeline.annotation.jsonl import write_records  # noqa: E402
from pipeline.annotation.schema import Record  # noqa: E402
from pipeline.text.docs import make_char_doc, set_paragraphs  # noqa: E402
from pipeline.model.tokenization import tags_to_spans  # noqa: E402
from pipeline.model.training import (  # noqa: E402
    IGNORE,
    CheckpointMismatch,
    TrainConfig,
    load_config,
    make_features,
    make_nlp,
    save_config,
    train,
)
from pipeline.cli.train import main  # noqa: E402

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write_tiny_corpus(root)
    # silver record ids must not clash with gold ones
    silver = [Record(id="silver-" + r.id, text=r.text, spans=r.spans, doc_id=r.doc_id, meta=r.meta)
              for r in make_records(6, 2, "train") + make_records(3, 3, "dev")]
    write_records(root / "silver.jsonl", silver)
    return root


def _cfg(corpus: Path, out: str, **over) -> TrainConfig:
    return tiny_train_config(corpus, out, **over)


# ---------------------------------------------------------------- config


def test_default_config_file_loads_and_overrides_apply(tmp_path):
    assert load_config() == TrainConfig()  # the file and the dataclass give one recipe
    cfg = load_config(overrides=["lr=3e-5", "scheme=char", 'data_files=["a.jsonl", "b.jsonl"]',
                                 "bf16=false", "epochs=4", "silver_weight=1"])
    assert (cfg.lr, cfg.scheme, cfg.data_files, cfg.bf16, cfg.epochs) == (
        3e-5, "char", ["a.jsonl", "b.jsonl"], False, 4)
    assert isinstance(cfg.silver_weight, float)
    save_config(cfg, tmp_path / "used.toml")
    assert load_config(tmp_path / "used.toml") == cfg
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(overrides=["learning_rate=1"])
    with pytest.raises(ValueError, match="bf16"):
        load_config(overrides=["bf16=yes"])
    with pytest.raises(ValueError, match="epochs"):
        load_config(overrides=["epochs=2.5"])


def test_help_lists_config_keys(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "grad_accum" in capsys.readouterr().out


# ---------------------------------------------------------------- features


@pytest.mark.parametrize("scheme", ["char", "subword"])
def test_features_use_the_component_windows_and_alignment(corpus, scheme):
    cfg = _cfg(corpus, "unused", scheme=scheme, max_length=16, stride=4)
    nlp = make_nlp()
    ner = nlp.add_pipe("govreport_ner", config={"base_model": cfg.base_model, "scheme": scheme,
                                                "max_length": 16, "stride": 4, "dtype": "float32"})
    nlp.initialize()
    records = make_records(4, 5, "x")
    ds = load_dataset(records)
    feats = make_features(ner, ds, weight=0.5)
    assert len(feats) > len(records)  # long paragraphs give several windows
    assert len(feats) == sum(len(ner.windows(ner.encode(r.text), r.section)) for r in records)
    assert set(feats["weight"]) == {0.5}
    # the first window of the first record: specials ignored, pieces labelled, spans recoverable
    first = feats[0]
    assert len(first["input_ids"]) == len(first["labels"]) <= 16
    assert first["labels"][:2] == [IGNORE, IGNORE] and first["labels"][-1] == IGNORE
    rec = records[0]
    enc = ner.encode(rec.text)
    w = ner.windows(enc, rec.section)[0]
    tags = [ner.tags[x] if x != IGNORE else "O" for x in first["labels"][w.prefix:-1]]
    got = tags_to_spans(enc.offsets[w.start:w.end], tags, [1.0] * len(tags))
    w_end = enc.offsets[w.end - 1][1]  # gold spans clipped to the window
    clipped = [(s.start, min(s.end, w_end), s.label) for s in rec.spans if s.start < w_end]
    assert [(s, e, lab) for s, e, lab, _ in got] == clipped


# ---------------------------------------------------------------- end to end


def test_train_writes_a_loadable_pipeline(corpus):
    cfg = _cfg(corpus, "run", grad_accum=2)
    summary = train(cfg)
    out = Path(cfg.output_dir)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [1, 2]
    assert all(0.0 <= e["dev_f1"] <= 1.0 and set(e["dev_per_label"]) <= {"PROJECT", "METRIC", "TARGET", "VALUE"}
               for e in log)
    n_batches = -(-summary["train_windows"] // cfg.batch_size)
    assert summary["steps"] == 2 * -(-n_batches // 2)  # grad accumulation: ceil(batches / 2) per epoch
    assert summary["dev_boundary_inside_fraction"] == 0.0  # char scheme: every boundary representable
    assert load_config(out / "train_config.toml") == cfg
    nlp = spacy.load(out)
    ner = nlp.get_pipe("govreport_ner")
    assert (ner.scheme, ner.max_length, ner.stride) == ("char", 24, 6)
    doc = nlp(make_char_doc(nlp.vocab, "预计地区生产总值完成830亿元。" * 4))
    assert all(e._.score is not None for e in doc.ents)


def test_training_learns_and_section_decides_target_vs_value(corpus):
    cfg = _cfg(corpus, "learn", epochs=12, patience=12, lr=3e-3, batch_size=4, bf16=True)
    summary = train(cfg)
    assert summary["best_dev_f1"] > 0.8
    nlp = spacy.load(cfg.output_dir)
    text = "预计城镇登记失业率完成830亿元。"
    labels = {}
    for section in ("plan", "review"):
        doc = make_char_doc(nlp.vocab, text)
        set_paragraphs(doc, [(0, len(doc), section)])  # kept by govreport_structure
        labels[section] = {e.text: e.label_ for e in nlp(doc).ents}
    assert labels["plan"].get("830亿元") == "TARGET"
    assert labels["review"].get("830亿元") == "VALUE"


def test_early_stopping_keeps_the_best_epoch_and_silver_skips_held_out_docs(corpus):
    cfg = _cfg(corpus, "stop", epochs=6, patience=1, lr=0.0, silver_files=[str(corpus / "silver.jsonl")])
    summary = train(cfg)
    log = [json.loads(line) for line in (Path(cfg.output_dir) / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2  # lr 0: no gain after epoch 1, patience 1
    assert summary["best_epoch"] == 1 and log[0]["best"] and not log[1]["best"]
    gold_only = train(_cfg(corpus, "stop-gold", epochs=1, lr=0.0))
    nlp = make_nlp()
    ner = nlp.add_pipe("govreport_ner", config={"base_model": cfg.base_model, "scheme": "char",
                                                "max_length": 24, "stride": 6, "dtype": "float32"})
    nlp.initialize()
    silver_train = load_dataset(str(corpus / "silver.jsonl")).filter(lambda r: r["doc_id"].startswith("train"))
    assert summary["train_windows"] == gold_only["train_windows"] + len(make_features(ner, silver_train))


def test_same_seed_same_run(corpus):
    a = train(_cfg(corpus, "seed-a", epochs=1, max_steps=3))
    b = train(_cfg(corpus, "seed-b", epochs=1, max_steps=3))
    la = json.loads((corpus / "seed-a" / "train_log.jsonl").read_text().splitlines()[0])
    lb = json.loads((corpus / "seed-b" / "train_log.jsonl").read_text().splitlines()[0])
    assert a["steps"] == 3 and la["train_loss"] == lb["train_loss"] and la["dev_f1"] == lb["dev_f1"]


@pytest.mark.parametrize("bf16", [False, True])
def test_same_seed_same_dev_f1(corpus, bf16):
    """Two 3-epoch runs with one seed reach the same, non-trivial dev F1 (and the
    same per-epoch log); bf16 autocast included. Another seed trains differently."""
    runs = [train(_cfg(corpus, f"det-{bf16}-{k}", epochs=3, lr=3e-3, batch_size=4, bf16=bf16))
            for k in range(2)]
    assert runs[0]["best_dev_f1"] > 0.3  # a model that learned something, not an all-O tie
    assert round(runs[0]["best_dev_f1"], 3) == round(runs[1]["best_dev_f1"], 3)
    logs = [[json.loads(line) for line in (corpus / f"det-{bf16}-{k}" / "train_log.jsonl")
             .read_text().splitlines()] for k in range(2)]
    for entry in logs:
        for e in entry:
            e.pop("seconds")
    assert logs[0] == logs[1]
    other = train(_cfg(corpus, f"det-{bf16}-other", epochs=1, lr=3e-3, batch_size=4, bf16=bf16,
                       seed=8))
    first = json.loads((corpus / f"det-{bf16}-other" / "train_log.jsonl").read_text().splitlines()[0])
    assert first["train_loss"] != logs[0][0]["train_loss"]
    assert other["steps"] == -(-runs[0]["train_windows"] // 4)


def test_stop_after_epoch_keeps_the_schedule(corpus):
    """A short ablation (stop_after_epoch) follows the full run's schedule up to
    where it stops: its epochs are identical to the full run's first epochs."""
    full = _cfg(corpus, "sched-full", epochs=3, patience=3, lr=3e-3, batch_size=4, bf16=False)
    short = _cfg(corpus, "sched-short", epochs=3, patience=3, lr=3e-3, batch_size=4, bf16=False,
                 stop_after_epoch=2)
    train(full), train(short)
    log_full, log_short = ([json.loads(line) for line in (Path(c.output_dir) / "train_log.jsonl")
                            .read_text().splitlines()] for c in (full, short))
    assert len(log_full) == 3 and len(log_short) == 2
    for a, b in zip(log_full, log_short):
        assert (a["step"], a["train_loss"], a["dev_f1"]) == (b["step"], b["train_loss"], b["dev_f1"])


# ---------------------------------------------------------------- resuming


def _log(cfg: TrainConfig) -> list[dict]:
    entries = [json.loads(line) for line in (Path(cfg.output_dir) / "train_log.jsonl").read_text().splitlines()]
    for e in entries:
        e.pop("seconds")
    return entries


def _weights(cfg: TrainConfig) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(cfg.output_dir) / "govreport_ner" / "model" / "model.safetensors"))


class Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


@pytest.mark.parametrize("where", ["after-checkpoint", "mid-epoch"])
def test_a_killed_run_resumes_to_the_uninterrupted_result(corpus, monkeypatch, where):
    """Killed right after epoch 2's checkpoint, or half-way through epoch 3, then
    started again: the same log, the same best epoch and the same weights as
    the run that was never interrupted; the checkpoint is gone at the end."""
    import pipeline.model.training as training

    over = dict(epochs=4, patience=4, lr=3e-3, batch_size=4, bf16=False)
    whole = _cfg(corpus, f"whole-{where}", **over)
    train(whole)
    cfg = _cfg(corpus, f"killed-{where}", **over)
    real_save, real_loss = training.save_checkpoint, training.gold_loss
    calls = {"loss": 0}

    def save_then_die(path, identity, state, *args):
        real_save(path, identity, state, *args)
        if state.epoch == 2:
            if where == "after-checkpoint":
                raise Killed
            calls["at_checkpoint"] = calls["loss"]

    def loss_then_die(*args):
        calls["loss"] += 1
        if "at_checkpoint" in calls and calls["loss"] > calls["at_checkpoint"] + 3:
            raise Killed  # the fourth batch of epoch 3
        return real_loss(*args)

    monkeypatch.setattr(training, "save_checkpoint", save_then_die)
    monkeypatch.setattr(training, "gold_loss", loss_then_die)
    with pytest.raises(Killed):
        train(cfg)
    assert (Path(cfg.output_dir) / training.CHECKPOINT).exists()
    assert [e["epoch"] for e in _log(cfg)] == [1, 2]
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    monkeypatch.setattr(training, "gold_loss", real_loss)
    resumed = train(cfg)
    assert _log(cfg) == _log(whole)
    assert resumed["best_epoch"] == json.loads((Path(whole.output_dir) / "train_summary.json").read_text())["best_epoch"]
    a, b = _weights(whole), _weights(cfg)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (Path(cfg.output_dir) / training.CHECKPOINT).exists()


def test_a_checkpoint_of_other_settings_is_refused_and_resume_false_starts_over(corpus, monkeypatch, capsys):
    import pipeline.model.training as training

    cfg = _cfg(corpus, "mismatch", epochs=3, patience=3)
    real_save = training.save_checkpoint

    def save_then_die(*args):
        real_save(*args)
        raise Killed

    monkeypatch.setattr(training, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train(cfg)
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    other = dataclasses.replace(cfg, lr=5e-4)
    with pytest.raises(CheckpointMismatch, match=r"lr: 0\.001 in the checkpoint, 0\.0005 now"):
        train(other)
    # a setting added to the trainer since (absent from the checkpoint) counts as its default
    from pipeline.model.training import identity_differences, run_identity

    ident = run_identity(cfg, [corpus / "gold.jsonl"])
    older = {"settings": {k: v for k, v in ident["settings"].items() if k != "edge_smoothing"},
             "data": ident["data"]}
    assert identity_differences(older, ident, TrainConfig) == []
    assert identity_differences(older, run_identity(dataclasses.replace(cfg, edge_smoothing=0.1),
                                                    [corpus / "gold.jsonl"]), TrainConfig) == [
        "edge_smoothing: 0.0 in the checkpoint, 0.1 now"]
    assert identity_differences(ident, run_identity(cfg, [corpus / "splits.json"]), TrainConfig) == [
        "the data or splits files have changed"]
    # the command line: one line naming the checkpoint, exit 2
    sets = sum((["--set", f"{k}={json.dumps(v)}"] for k, v in dataclasses.asdict(other).items()), [])
    assert main(sets) == 2
    err = capsys.readouterr().err
    assert "checkpoint of a run with other settings" in err and "Traceback" not in err
    summary = train(dataclasses.replace(cfg, resume=False, lr=5e-4))
    assert summary["steps"] > 0 and [e["epoch"] for e in _log(cfg)] == [1, 2, 3]


def test_train_command_errors_are_one_line_with_exit_2(corpus, capsys):
    """An unknown key, a wrong type, a missing config file: usage errors (exit 2)
    before anything loads; a missing base model or data file: one line, exit 2."""
    for argv in (["--set", "learning_rate=1"], ["--set", "epochs=2.5"],
                 ["--config", str(corpus / "no-such.toml")]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "config:" in capsys.readouterr().err
    cfg = _cfg(corpus, "errors")
    sets = sum((["--set", f"{k}={json.dumps(v)}"] for k, v in dataclasses.asdict(cfg).items()), [])
    assert main(sets + ["--set", f'base_model="{corpus / "no-base"}"']) == 2
    err = capsys.readouterr().err
    assert "cannot load the base model" in err and "no-base" in err and "Traceback" not in err
    assert main(sets + ["--set", f'data_files=["{corpus / "none-*.jsonl"}"]']) == 2
    assert "no annotation file matches" in capsys.readouterr().err


def test_train_fraction_keeps_a_fixed_nested_share_of_the_documents(corpus):
    from pipeline.model.training import subset_documents

    docs = [f"d{i}" for i in range(31)] * 2
    quarter, half = subset_documents(docs, 0.25, 0), subset_documents(docs, 0.5, 0)
    assert (len(quarter), len(half), len(subset_documents(docs, 1.0, 0))) == (8, 16, 31)
    assert quarter <= half and subset_documents(docs, 0.25, 0) == quarter
    assert subset_documents(docs, 0.25, 1) != quarter
    summary = train(_cfg(corpus, "fraction", epochs=1, train_fraction=0.5))
    assert len(summary["train_documents"]) == 2  # ceil(0.5 * 3 training documents)
    assert summary["train_windows"] < train(_cfg(corpus, "fraction-all", epochs=1, max_steps=1))["train_windows"]
    with pytest.raises(ValueError, match="train_fraction"):
        train(_cfg(corpus, "fraction-bad", train_fraction=0.0))


def test_edge_smoothing_changes_the_target_only_at_entity_edges(corpus):
    from pipeline.model.tokenization import bio_labels
    from pipeline.model.training import edge_positions, window_loss

    tags = bio_labels(["PROJECT", "METRIC"])  # O B-P I-P B-M I-M
    t = {tag: i for i, tag in enumerate(tags)}
    row = [IGNORE, t["O"], t["B-PROJECT"], t["I-PROJECT"], t["I-PROJECT"], t["B-METRIC"],
           t["O"], t["B-METRIC"], t["I-METRIC"], IGNORE]
    labels = torch.tensor([row])
    assert edge_positions(labels, tags)[0].tolist() == [
        False, False, True, False, True, True, False, True, True, False]
    torch.manual_seed(0)
    logits = torch.randn(1, len(row), len(tags))
    weight = torch.ones(1)
    plain = window_loss(logits, labels, weight)
    assert window_loss(logits, labels, weight, 0.0, tags) == plain
    eps = 0.2
    logp = logits.log_softmax(-1)[0]
    edges = edge_positions(labels, tags)[0]
    expected = []
    for i, y in enumerate(row):
        if y == IGNORE:
            continue
        ce = -logp[i, y]
        expected.append((1 - eps) * ce - eps * logp[i].mean() if edges[i] else ce)
    assert window_loss(logits, labels, weight, eps, tags).item() == pytest.approx(
        torch.stack(expected).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="tags"):
        window_loss(logits, labels, weight, eps)
    smoothed = train(_cfg(corpus, "edge", epochs=1, max_steps=2, edge_smoothing=0.1))
    plain_run = train(_cfg(corpus, "edge-off", epochs=1, max_steps=2))
    logs = [json.loads((corpus / name / "train_log.jsonl").read_text().splitlines()[0]) for name in ("edge", "edge-off")]
    assert smoothed["steps"] == plain_run["steps"] == 2 and logs[0]["train_loss"] != logs[1]["train_loss"]


def test_length_grouped_batches_cover_every_window_once_with_little_padding():
    import random as rnd

    from pipeline.model.training import LengthGroupedBatches

    rng = rnd.Random(3)
    lengths = [rng.randint(3, 256) for _ in range(1000)]
    sampler = LengthGroupedBatches(lengths, 8, torch.Generator().manual_seed(0))
    first, second = list(sampler), list(sampler)
    assert len(first) == len(sampler) == 125
    assert sorted(i for b in first for i in b) == list(range(1000))
    assert first != second  # a new order each epoch
    again = list(LengthGroupedBatches(lengths, 8, torch.Generator().manual_seed(0)))
    assert again == first  # the generator decides: a resumed run sees the same batches

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    shuffled = [list(range(1000))[k:k + 8] for k in range(0, 1000, 8)]
    assert padded(first) < 0.7 * padded(shuffled)


def test_group_by_length_trains(corpus):
    summary = train(_cfg(corpus, "grouped", epochs=1, group_by_length=True))
    assert summary["steps"] == -(-summary["train_windows"] // 8)
