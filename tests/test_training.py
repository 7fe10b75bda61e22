"""Fine-tuning behaviour on a tiny random BERT: learning, guards, resume, reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentiq.errors import CollapseError, ConfigError, DivergenceError, ModelError, SingleClassError
from sentiq.inference import Predictor
from sentiq.workflows import train, work_dir_for


def test_overfits_a_handful_of_examples(tiny_config, tmp_path):
    cfg = tiny_config(**{"training.epochs": 15})
    result = train(cfg, tmp_path / "m")
    assert result.metrics["accuracy"] >= 0.9
    predictor = Predictor.load(tmp_path / "m")
    preds = predictor.predict(["great wonderful superb", "awful terrible worst"])
    assert [p.label for p in preds] == ["positive", "negative"]


def test_model_directory_contract(trained_model):
    manifest = json.loads((trained_model / "sentiq.json").read_text())
    assert manifest["approach"] == "finetune"
    assert manifest["labels"] == ["negative", "positive"]
    assert manifest["preprocess"] == {"name": "review", "version": 1}
    assert manifest["max_length"] == 32 and manifest["truncation"] == "head"
    assert manifest["config"]["training"]["learning_rate"] == 1e-3
    assert "accuracy" in manifest["metrics"] and "transformers" in manifest["versions"]
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "config.yaml",
        "history.json",
        "data_report.json",
        "report/report.html",
        "report/metrics.json",
    ):
        assert (trained_model / name).is_file(), name
    config = json.loads((trained_model / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert not work_dir_for(trained_model).exists()


def test_save_load_identical_and_batch_equals_one_by_one(trained_model):
    texts = ["i love this film <br /> it was great", "boring and awful", "the plot", "sad bad dull movie was it"]
    a = Predictor.load(trained_model).predict_proba(texts)
    b = Predictor.load(trained_model).predict_proba(texts)
    np.testing.assert_array_equal(a, b)
    single = np.vstack([Predictor.load(trained_model).predict_proba([t]) for t in texts])
    np.testing.assert_allclose(a, single, atol=1e-5)


def test_predictions_keep_input_order_and_carry_all_scores(trained_model):
    predictor = Predictor.load(trained_model)
    texts = ["great", "awful terrible worst bad film and plot so dull", "love it"]
    preds = predictor.predict(texts)
    proba = predictor.predict_proba(texts)
    for pred, row in zip(preds, proba):
        assert set(pred.scores) == {"negative", "positive"}
        assert abs(sum(pred.scores.values()) - 1) < 1e-5
        assert pred.score == pytest.approx(row.max()) and pred.label == predictor.labels[int(row.argmax())]


def test_pipeline_loads_saved_model_with_real_labels(trained_model):
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(trained_model), device="cpu")
    out = clf(["great wonderful film", "awful boring plot"])
    assert {o["label"] for o in out} <= {"negative", "positive"}


def test_same_seed_reproduces_the_same_model(tiny_config, tmp_path):
    cfg = tiny_config(**{"training.epochs": 2})
    texts = ["great film", "awful plot", "the movie was so dull"]
    train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b")
    np.testing.assert_array_equal(
        Predictor.load(tmp_path / "a").predict_proba(texts), Predictor.load(tmp_path / "b").predict_proba(texts)
    )


def test_collapse_guard_fires_on_seed_001_learning_rate(tiny_config, tmp_path, caplog):
    # Seed 001: a too-high learning rate collapses the model to one class.
    cfg = tiny_config(
        **{
            "training.learning_rate": 1e-2,
            "training.epochs": 3,
            "training.max_grad_norm": 0,
            "training.eval_steps": 3,
            "training.on_collapse": "warn",
        }
    )
    with caplog.at_level("WARNING"):
        result = train(cfg, tmp_path / "warned")
    assert any("collapse guard" in w for w in result.warnings)
    assert "learning rate" in caplog.text
    manifest = json.loads((tmp_path / "warned" / "sentiq.json").read_text())
    assert any("collapse guard" in w for w in manifest["warnings"])

    stop = tiny_config(
        **{
            "training.learning_rate": 1e-2,
            "training.epochs": 3,
            "training.max_grad_norm": 0,
            "training.eval_steps": 3,
            "training.on_collapse": "stop",
        }
    )
    with pytest.raises(CollapseError, match="collapse guard"):
        train(stop, tmp_path / "stopped")
    assert not (tmp_path / "stopped").exists()


def test_nan_loss_stops_with_a_clear_message(tiny_config, tmp_path, monkeypatch):
    import torch

    from sentiq.models import transformer

    original = transformer.TransformerClassifier.from_encoder.__func__

    def poisoned(cls, *args, **kwargs):
        model = original(cls, *args, **kwargs)
        with torch.no_grad():
            model.model.classifier.weight.fill_(float("nan"))
        return model

    monkeypatch.setattr(transformer.TransformerClassifier, "from_encoder", classmethod(poisoned))
    with pytest.raises(DivergenceError, match="diverged"):
        train(tiny_config(), tmp_path / "nan")
    assert not (tmp_path / "nan").exists()


def test_resume_continues_from_the_last_checkpoint(tiny_config, tmp_path, monkeypatch):
    from transformers import TrainerCallback

    from sentiq.training import finetune

    class Interrupt(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    cfg = tiny_config(**{"training.epochs": 2, "training.eval_steps": 4})
    real_trainer = finetune._SentiqTrainer

    def interrupted(*args, **kwargs):
        kwargs["callbacks"] = kwargs["callbacks"] + [Interrupt()]
        return real_trainer(*args, **kwargs)

    monkeypatch.setattr(finetune, "_SentiqTrainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    assert list((work_dir_for(tmp_path / "m") / "checkpoints").glob("checkpoint-4"))
    monkeypatch.setattr(finetune, "_SentiqTrainer", real_trainer)
    train(cfg, tmp_path / "m", resume=True)
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert history[-1]["step"] > 4
    assert (tmp_path / "m" / "sentiq.json").is_file()


def test_class_weights_and_early_stopping_run(tiny_config, tmp_path):
    cfg = tiny_config(
        **{
            "training.class_weights": "balanced",
            "training.early_stopping_patience": 1,
            "training.eval_steps": 2,
            "training.epochs": 20,
            "training.learning_rate": 1e-4,
        }
    )
    result = train(cfg, tmp_path / "m")
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    steps_per_epoch = 9  # 76 training rows / batch 8
    assert history[-1]["step"] < 20 * steps_per_epoch  # stopped early
    assert result.metrics["n"] > 0


def test_unknown_class_weight_label_is_refused(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="unknown labels"):
        train(tiny_config(**{"training.class_weights": "{neutral: 2.0}"}), tmp_path / "m")


def test_single_class_training_set_is_refused(tiny_config, tmp_path):
    from conftest import toy_frame

    frame = toy_frame(40)
    frame["label"] = "positive"
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SingleClassError, match="single class"):
        train(tiny_config(**{"data.source": str(path)}), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_missing_model_path_is_a_clear_error(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="model folder .* does not exist"):  # when the config is built
        train(tiny_config(**{"model": str(tmp_path / "nope")}), tmp_path / "m")
    with pytest.raises(ModelError):
        Predictor.load(tmp_path / "nope")


def test_existing_output_is_not_overwritten(trained_model, tiny_config):
    with pytest.raises(ConfigError, match="already exists"):
        train(tiny_config(), trained_model)


def test_training_seed_redraws_the_training_randomness_on_the_same_split(tiny_config):
    import torch

    from sentiq.data import load_splits
    from sentiq.data.augment import augmented_training_split
    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier

    augment = {"training.augment.ops": "[swap, delete]", "training.augment.n_per_example": 2}
    default, same, other = (
        tiny_config(**augment),
        tiny_config(**augment, **{"training.seed": 42}),
        tiny_config(**augment, **{"training.seed": 7}),
    )
    assert (default.training_seed, other.training_seed) == (42, 7)
    splits = [load_splits(cfg)[1] for cfg in (default, other)]
    for name in ("train", "validation", "test"):  # the split follows the top-level seed only
        assert getattr(splits[0], name).equals(getattr(splits[1], name))

    def head(cfg):
        model = TransformerClassifier.from_config(cfg, LabelSet(("negative", "positive")))
        return torch.cat([p.detach().flatten() for p in model.model.classifier.parameters()])

    assert torch.equal(head(default), head(same)) and not torch.equal(head(default), head(other))
    texts = [augmented_training_split(splits[0].train, cfg)["text"].tolist() for cfg in (default, same, other)]
    assert texts[0] == texts[1] and texts[0] != texts[2]


@pytest.mark.parametrize(("rows", "batch_size"), [(0, 4), (1, 4), (7, 2), (130, 4), (5000, 32), (20011, 16)])
def test_seeded_length_grouped_order_is_the_trainers_in_numpy(rows, batch_size):
    """The numpy order holds no Python list per row and draws exactly the Trainer's batches (ties included), so
    a seed trains as before; every row appears once."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from sentiq.training.finetune import SeededLengthGroupedSampler

    lengths = np.random.default_rng(rows).integers(1, 40, rows)  # many ties
    sampler = SeededLengthGroupedSampler(batch_size, lengths=lengths, seed=3)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        ours = list(sampler)
        if rows == 0:
            assert ours == []
            continue
        expected = get_length_grouped_indices(
            lengths.tolist(), batch_size, generator=torch.Generator().manual_seed(3 + epoch)
        )
        assert ours == expected
        assert sorted(ours) == list(range(rows)) and all(type(i) is int for i in ours[:5])
