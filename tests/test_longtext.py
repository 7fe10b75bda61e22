"""Truncation strategies on a real (tiny) transformer: windows at training and at prediction time."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from conftest import FILLER, NEGATIVE, POSITIVE
from sentiq.config import build_config
from sentiq.errors import ConfigError
from sentiq.inference import Predictor
from sentiq.labels import LabelSet
from sentiq.models import windows
from sentiq.models.transformer import TransformerClassifier
from sentiq.training.finetune import EncodedDataset
from sentiq.workflows import train


def long_text(seed: int, n_words: int = 90) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(FILLER + POSITIVE + NEGATIVE) for _ in range(n_words))


@pytest.fixture()
def classifier(tiny_bert):
    return TransformerClassifier.from_encoder(str(tiny_bert), LabelSet(("negative", "positive")), max_length=16)


def test_head_gives_what_plain_truncation_gives(classifier):
    texts = [long_text(0), "great film", long_text(1, 14)]
    expected = classifier.tokenizer(texts, truncation=True, max_length=16)["input_ids"]
    encoded = classifier.encode(texts)
    assert encoded["input_ids"] == expected
    assert encoded["owners"].tolist() == [0, 1, 2]


def test_tail_and_head_plus_tail_keep_the_specials_around_the_chosen_tokens(classifier):
    text = long_text(2)
    content = classifier.tokenizer(text, add_special_tokens=False)["input_ids"]
    cls, sep = classifier.tokenizer.cls_token_id, classifier.tokenizer.sep_token_id
    classifier.truncation = "tail"
    assert classifier.encode([text])["input_ids"] == [[cls] + content[-14:] + [sep]]
    classifier.truncation, classifier.window_options = "head+tail", {"head_tokens": 4}
    assert classifier.encode([text])["input_ids"] == [[cls] + content[:4] + content[-10:] + [sep]]


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_chunk_pooling_equals_pooling_the_windows_predicted_one_by_one(classifier, pooling):
    classifier.truncation, classifier.window_options = "chunks", {"stride": 5, "pooling": pooling}
    texts = [long_text(3), "awful plot", long_text(4, 40)]
    encoded = classifier.encode(texts)
    assert len(encoded["input_ids"]) > len(texts)
    pooled = classifier.predict_proba(texts, batch_size=3)

    classifier.model.eval()
    with torch.inference_mode():
        one_by_one = np.vstack(
            [
                torch.softmax(classifier.model(input_ids=torch.tensor([ids])).logits, -1).numpy()
                for ids in encoded["input_ids"]
            ]
        )
    by_hand = windows.pool(one_by_one, encoded["owners"], len(texts), method=pooling)
    np.testing.assert_allclose(pooled, by_hand, atol=1e-5)
    assert pooled.shape == (3, 2)


def test_progress_over_windows_counts_texts(classifier):
    """The IMDB recipe's test prediction used to report 47,875 of 47,875 for 25,000 reviews."""
    classifier.truncation, classifier.window_options = "chunks", {"stride": 5}
    texts = [long_text(5), "awful plot", long_text(6, 40), "fine"]
    assert len(classifier.encode(texts)["input_ids"]) > len(texts)
    seen = []
    classifier.predict_proba(texts, batch_size=2, progress=lambda phase, done, total: seen.append((done, total)))
    assert {total for _, total in seen} == {len(texts)} and seen[-1] == (len(texts), len(texts))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_chunks_make_one_training_example_per_window_with_the_texts_label(classifier):
    classifier.truncation, classifier.window_options = "chunks", {"stride": 7}
    texts = [long_text(5), "great film"]
    dataset = EncodedDataset.from_texts(classifier, texts, [1, 0])
    n_windows = len(
        windows.window_starts(len(classifier.tokenizer(texts[0], add_special_tokens=False)["input_ids"]), 14, 7)
    )
    assert len(dataset) == n_windows + 1
    assert dataset.labels == [1] * n_windows + [0]
    assert all(len(ids) <= 16 for ids in dataset.input_ids)


def test_the_strategy_is_stored_in_the_manifest_and_applied_by_the_predictor(tiny_config, tmp_path):
    cfg = tiny_config(
        **{
            "training.truncation": "chunks",
            "training.max_length": 12,
            "training.chunk_stride": 4,
            "training.chunk_pooling": "max",
            "training.epochs": 2,
        }
    )
    train(cfg, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "sentiq.json").read_text())
    assert manifest["truncation"] == "chunks"
    assert manifest["window"] == {"head_tokens": None, "stride": 4, "pooling": "max"}

    predictor = Predictor.load(tmp_path / "m")
    assert (predictor.model.truncation, predictor.model.window_options["pooling"]) == ("chunks", "max")
    text = long_text(6, 30)
    encoded = predictor.model.encode([text])
    window_rows = predictor.model.predict_proba(
        [predictor.model.tokenizer.decode(ids[1:-1]) for ids in encoded["input_ids"]]
    )
    np.testing.assert_allclose(
        predictor.predict_proba([text], calibrated=False), window_rows[[window_rows.max(1).argmax()]], atol=1e-5
    )


def test_predict_truncation_trains_on_one_window_and_predicts_with_all(tiny_config, tmp_path, monkeypatch):
    from sentiq.training import finetune

    seen = {}
    run = finetune.run_classifier_training

    def spy(model, train_set, val_set, cfg, **kwargs):
        seen.update(strategy=model.truncation, examples=len(train_set))
        return run(model, train_set, val_set, cfg, **kwargs)

    monkeypatch.setattr(finetune, "run_classifier_training", spy)
    cfg = tiny_config(
        **{
            "training.truncation": "head+tail",
            "training.predict_truncation": "chunks",
            "training.max_length": 8,
            "training.chunk_stride": 3,
            "training.epochs": 1,
        }
    )
    result = train(cfg, tmp_path / "m")
    assert seen["strategy"] == "head+tail"
    assert seen["examples"] == sum(result.data_report.counts["train"].values())  # one window per text

    manifest = json.loads((tmp_path / "m" / "sentiq.json").read_text())
    assert (manifest["truncation"], manifest["window"]["stride"]) == ("chunks", 3)
    assert manifest["config"]["training"]["truncation"] == "head+tail"
    predictor = Predictor.load(tmp_path / "m")
    text = long_text(7, 30)
    assert len(predictor.model.encode([text])["input_ids"]) > 1  # every window of a long text is read
    # The report's test figures describe the model as it predicts (chunks), not as it trained.
    from sentiq.workflows import evaluate

    again, _ = evaluate(tmp_path / "m", report_dir=tmp_path / "eval", important_words=False, fairness=False)
    assert again["log_loss"] == pytest.approx(result.metrics["log_loss"], abs=1e-6)


def test_window_settings_that_cannot_fit_are_refused():
    with pytest.raises(ConfigError, match="head_tokens"):
        build_config({"training": {"max_length": 64, "head_tokens": 64}})
    with pytest.raises(ConfigError, match="chunk_stride"):
        build_config({"training": {"max_length": 64, "chunk_stride": 100}})
    with pytest.raises(ConfigError, match="truncation"):
        build_config({"training": {"truncation": "middle"}})
