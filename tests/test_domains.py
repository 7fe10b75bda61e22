"""data.domains: several corpora trained on as one, each split as it would be alone, training balanced by domain."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from conftest import toy_frame
from sentiq.config import build_config
from sentiq.data import load_splits
from sentiq.errors import DataError


def write_corpus(path, n: int, tag: str, seed: int):
    frame = toy_frame(n, seed=seed)
    frame["text"] = [f"{t} {tag}{i}" for i, t in enumerate(frame["text"])]  # every text unique
    frame.to_csv(path, index=False)
    return path


def config(source, domains, **data):
    return build_config(
        {"data": {"source": str(source), "domains": domains, "test_size": 0.2, "validation_size": 0.2, **data}}
    )


@pytest.fixture()
def corpora(tmp_path):
    return write_corpus(tmp_path / "big.csv", 200, "big", 1), write_corpus(tmp_path / "small.csv", 60, "small", 2)


def alone(source):
    return load_splits(config(source, []))[1]


@pytest.mark.parametrize("how", ["downsample", "oversample"])
def test_each_domain_split_as_alone_and_balanced(corpora, how):
    big, small = corpora
    loaded, splits = load_splits(config(big, [str(small)], balance_domains=how))
    per_domain = splits.train["domain"].value_counts()
    sizes = {str(big): len(alone(big).train), str(small): len(alone(small).train)}
    target = min(sizes.values()) if how == "downsample" else max(sizes.values())
    assert per_domain.to_dict() == {str(big): target, str(small): target}
    for source in (big, small):
        own = alone(source)
        mine = {split: frame[frame["domain"] == str(source)] for split, frame in splits.items()}
        assert mine["test"]["text"].tolist() == own.test["text"].tolist()  # the specialist's very test split
        assert set(mine["train"]["text"]) <= set(own.train["text"])
        assert not set(mine["train"]["text"]) & (set(own.test["text"]) | set(own.validation["text"]))
    small_train = splits.train[splits.train["domain"] == str(small)]
    if how == "oversample":  # every training row of the small domain kept, repeated
        assert set(small_train["text"]) == set(alone(small).train["text"])
    else:
        assert not small_train["text"].duplicated().any()
    assert loaded.source == f"{big}+{small}"


def test_balance_none_keeps_every_training_row(corpora):
    big, small = corpora
    _, splits = load_splits(config(big, [str(small)], balance_domains="none"))
    assert len(splits.train) == len(alone(big).train) + len(alone(small).train)


def test_optional_absent_domain_is_skipped_with_a_note(corpora, tmp_path, caplog):
    big, small = corpora
    missing = str(tmp_path / "nowhere.csv")
    with caplog.at_level(logging.WARNING, logger="sentiq.data.domains"):
        _, splits = load_splits(config(big, [str(small), {"source": missing, "optional": True}]))
    assert set(splits.train["domain"]) == {str(big), str(small)}
    assert "nowhere.csv is not on disk" in caplog.text
    with pytest.raises(DataError):
        load_splits(config(big, [missing]))


def test_domains_accept_names_and_mappings(corpora):
    big, small = corpora
    parsed = config(big, [str(small), {"source": str(small), "text_column": 0, "optional": True}]).data.domains
    assert parsed[0].source == str(small) and not parsed[0].optional
    assert parsed[1].text_column == "0" and parsed[1].optional


def test_general_model_trains_and_evaluates_on_every_domain_test_split(corpora, tmp_path):
    from sentiq.data import evaluation_data
    from sentiq.inference import Predictor
    from sentiq.workflows import train

    big, small = corpora
    cfg = config(big, [str(small)]).model_copy(update={"approach": "tfidf", "name": "general"})
    result = train(cfg, tmp_path / "general")
    manifest = Predictor.load(result.output_dir).manifest
    frame, _ = evaluation_data(manifest, None, "test")
    assert len(frame) == len(alone(big).test) + len(alone(small).test)
    assert result.data_report.overlap["train/test"] == 0
    assert pd.Series(result.test_labels).isin(["negative", "positive"]).all()


def test_a_general_model_finds_its_domain_files_from_another_folder_and_refuses_a_changed_one(tmp_path, monkeypatch):
    # Before: only data.source was recorded absolutely; a relative domain file gave E209 from another folder.
    from sentiq.data import evaluation_data
    from sentiq.inference import Predictor
    from sentiq.workflows import train

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(data)
    write_corpus(data / "big.csv", 200, "big", 1)
    write_corpus(data / "small.csv", 60, "small", 2)
    domains = ["small.csv", {"source": "absent.csv", "optional": True}]
    cfg = config("big.csv", domains).model_copy(update={"approach": "tfidf", "name": "general"})
    model = train(cfg, tmp_path / "general").output_dir
    monkeypatch.chdir(tmp_path)
    manifest = Predictor.load(model).manifest
    frame, _ = evaluation_data(manifest, None, "test")
    assert len(frame) == len(alone(data / "big.csv").test) + len(alone(data / "small.csv").test)
    (data / "small.csv").write_text((data / "small.csv").read_text() + "an extra row,positive\n")
    with pytest.raises(DataError, match="E287"):
        evaluation_data(manifest, None, "test")
