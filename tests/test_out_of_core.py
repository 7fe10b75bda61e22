"""Out-of-core training data (data.out_of_core): the training split stays in a memory-mapped Arrow cache,
cleaned, preprocessed and tokenised by worker processes, with the rows, splits and report of the in-memory
path."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import toy_frame

SAMPLE = "sentiment140/training.sample.csv"
S140_COLUMNS = {
    "text_column": "5",
    "label_column": "0",
    "encoding": "latin-1",
    "label_map": {"0": "negative", "4": "positive", "2": "skip"},
}


@pytest.fixture()
def s140_file(tmp_path):
    """5,000 rows of the Sentiment140 sample in its own headerless latin-1 layout, plus an empty text, a row
    without a label and a neutral row the label map skips."""
    from sentiq.data import data_dir

    source = data_dir() / SAMPLE
    if not source.is_file():
        pytest.skip("the Sentiment140 sample is not on this machine")
    lines = source.read_bytes().splitlines(keepends=True)
    rng = np.random.default_rng(0)
    picked = [lines[i] for i in sorted(rng.choice(len(lines), 5000, replace=False))]
    extra = [
        b'"0","1","d","NO_QUERY","u",""\n',
        b'"","2","d","NO_QUERY","u","no label here"\n',
        b'"2","3","d","NO_QUERY","u","neutral, skipped"\n',
    ]
    path = tmp_path / "s140-5k.csv"
    path.write_bytes(b"".join(picked[:2500] + extra + picked[2500:]))
    return path


def _split_texts(d, seed, **kw):
    from sentiq.data import load_from, split_from
    from sentiq.data.arrow import load_arrow_splits

    memory = split_from(load_from(d), d, seed)
    disk = load_arrow_splits(d, seed, num_proc=2, **kw)
    return memory, disk


@pytest.mark.parametrize("sizes", [{}, {"validation_size": 0.0}, {"max_train_samples": 900, "max_eval_samples": 300}])
def test_splits_and_report_match_the_in_memory_path(s140_file, sizes):
    from sentiq.config import DataConfig
    from sentiq.data import build_report, load_from, split_from

    d = DataConfig(source=str(s140_file), **S140_COLUMNS, **sizes)
    memory, disk = _split_texts(d, 42)
    assert list(disk.train["text"]) == memory.train["text"].tolist()  # the same rows, in the same order
    assert list(disk.train["label"]) == memory.train["label"].tolist()
    pd.testing.assert_frame_equal(disk.validation, memory.validation[["text", "label"]])
    pd.testing.assert_frame_equal(disk.test, memory.test[["text", "label"]])
    loaded = load_from(d)
    expected = build_report(loaded, split_from(loaded, d, 42)).to_dict()
    assert disk.report.to_dict() == expected
    assert expected["dropped_empty"] == 1 and expected["dropped_missing_label"] == 1 and expected["skipped"] == {"2": 1}


def test_a_label_outside_the_map_is_named(tmp_path):
    from sentiq.config import DataConfig
    from sentiq.data.arrow import load_arrow_splits
    from sentiq.errors import UnknownLabelError

    frame = toy_frame(60).assign(label=lambda f: f["label"].map({"positive": "pos", "negative": "neg"}))
    frame.loc[7, "label"] = "meh"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UnknownLabelError, match=r"\['meh'\]"):
        load_arrow_splits(
            DataConfig(source=str(tmp_path / "t.csv"), label_map={"pos": "positive", "neg": "negative"}), 1
        )


def test_out_of_core_fine_tuning_trains_from_the_token_cache(tiny_config, s140_file, tmp_path, monkeypatch, caplog):
    """The whole `train` workflow with the training split on disk: same split sizes as in memory, one example per
    row from the tokenised Arrow cache (tokenised by 2 worker processes), a model that predicts."""
    import logging

    from sentiq.data import build_report, load_from, split_from
    from sentiq.inference.predictor import Predictor
    from sentiq.workflows import train

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path / "cache"))
    settings = {
        "data.source": str(s140_file),
        **{f"data.{k}": v for k, v in S140_COLUMNS.items()},
        "data.validation_size": 0.1,
        "data.test_size": 0.2,
        "preprocess": "tweet",
        "training.epochs": 1,
        "training.max_steps": 6,
        "evaluation.important_words": 0,
        "evaluation.calibrate": False,
        "data.num_proc": 2,
    }
    with caplog.at_level(logging.INFO, logger="sentiq"):
        disk = train(tiny_config(**settings, **{"data.out_of_core": True}), tmp_path / "disk")
    assert "out-of-core training data: 3600 training rows on disk" in caplog.text
    assert re.search(r"tokenized 3600 texts into 3600 windows in [\d.]+ s \(on disk: ", caplog.text)
    assert (tmp_path / "cache" / "datasets").is_dir()
    cfg = tiny_config(**settings)
    loaded = load_from(cfg.data)
    in_memory = split_from(loaded, cfg.data, cfg.seed)
    assert disk.data_report.to_dict() == build_report(loaded, in_memory).to_dict()  # the same splits, in memory
    assert sum(disk.data_report.counts["train"].values()) == len(in_memory.train) == 3600
    assert disk.metrics["n"] == len(in_memory.test) == 1000
    history = json.loads((tmp_path / "disk" / "history.json").read_text())
    assert any(h.get("step") == 6 for h in history)
    assert Predictor.load(tmp_path / "disk").predict(["i love it", "awful"])[0].label in {"positive", "negative"}


def test_auto_keeps_small_files_in_memory(tiny_config, tmp_path):
    from sentiq.data.arrow import wants_out_of_core

    cfg = tiny_config()
    assert cfg.data.out_of_core == "auto" and not wants_out_of_core(cfg.data)
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(64 * 2**20)  # sparse: the size decides, not the contents
    assert wants_out_of_core(cfg.data.model_copy(update={"source": str(big)}))


def test_arrow_lengths_follow_the_order_rows_are_read():
    """After sort/select the table reads its rows through an index mapping: the lengths the length-grouped
    sampler batches by must follow it as the labels do (they were the unsorted column's)."""
    import datasets

    from sentiq.training.finetune import ArrowEncodedDataset

    ids = [[1] * n for n in (3, 9, 1, 5)]
    table = datasets.Dataset.from_dict({"input_ids": ids, "labels": [0, 1, 0, 1], "length": [3, 9, 1, 5]})
    for encoded in (ArrowEncodedDataset(table).sorted_by_length(), ArrowEncodedDataset(table.select([2, 0]))):
        rows = [encoded[i] for i in range(len(encoded))]
        assert list(encoded.lengths) == [len(row["input_ids"]) for row in rows]
        assert list(encoded.labels) == [row["labels"] for row in rows]
