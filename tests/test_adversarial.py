"""FGM / PGD on the word embeddings: the attacks restore what they touch, and training still learns."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from sentiq.config import build_config
from sentiq.errors import ConfigError
from sentiq.inference import Predictor
from sentiq.labels import LabelSet
from sentiq.models.transformer import TransformerClassifier
from sentiq.training.adversarial import FGM, PGD
from sentiq.workflows import train


@pytest.fixture()
def batch_and_model(tiny_bert):
    clf = TransformerClassifier.from_encoder(str(tiny_bert), LabelSet(("negative", "positive")), max_length=16)
    batch = clf.tokenizer(["great film", "awful boring plot"], padding=True, return_tensors="pt")
    # eval(): no dropout, so the clean and perturbed losses differ only by the perturbation
    return clf.model.eval(), batch, torch.tensor([1, 0])


def _loss(model, batch, labels):
    return F.cross_entropy(model(**batch).logits, labels)


def _clean_grads(model, batch, labels):
    model.zero_grad()
    _loss(model, batch, labels).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("make", [lambda m: FGM(m, epsilon=0.5), lambda m: PGD(m, epsilon=0.5, alpha=0.2, steps=3)])
def test_attack_restores_embeddings_and_adds_the_perturbed_gradient(batch_and_model, make):
    model, batch, labels = batch_and_model
    before = model.get_input_embeddings().weight.detach().clone()
    clean = _clean_grads(model, batch, labels)
    perturbed_losses = []

    def backward():
        loss = _loss(model, batch, labels)
        perturbed_losses.append(loss.item())
        loss.backward()

    make(model).attack(backward)
    torch.testing.assert_close(model.get_input_embeddings().weight, before, rtol=0, atol=0)
    assert len(perturbed_losses) == (3 if isinstance(make(model), PGD) else 1)
    # The perturbation raises the loss (it follows the gradient) and its gradient is added to the clean one.
    assert perturbed_losses[-1] > _loss(model, batch, labels).item()
    name = "classifier.weight"
    assert not torch.allclose(model.get_parameter(name).grad, clean[name])


def test_pgd_stays_inside_the_epsilon_ball(batch_and_model):
    model, batch, labels = batch_and_model
    weight = model.get_input_embeddings().weight
    clean_weight = weight.detach().clone()
    _clean_grads(model, batch, labels)
    norms = []

    def backward():
        norms.append(torch.linalg.vector_norm(weight.detach() - clean_weight).item())
        _loss(model, batch, labels).backward()

    PGD(model, epsilon=0.25, alpha=0.2, steps=4).attack(backward)
    assert norms[0] == pytest.approx(0.2, rel=1e-3)
    assert max(norms) <= 0.25 + 1e-4 and norms[-1] == pytest.approx(0.25, rel=1e-3)


def test_no_gradient_means_no_attack(batch_and_model):
    model, _, _ = batch_and_model
    model.zero_grad(set_to_none=True)
    calls = []
    FGM(model, epsilon=1.0).attack(lambda: calls.append(1))
    PGD(model, epsilon=1.0, alpha=0.3, steps=2).attack(lambda: calls.append(1))
    assert calls == []


def test_the_trainer_attacks_once_per_training_step(tiny_config, tmp_path, monkeypatch):
    calls = []
    real_attack = FGM.attack

    def counting(self, backward):
        calls.append(1)
        return real_attack(self, backward)

    monkeypatch.setattr(FGM, "attack", counting)
    cfg = tiny_config(**{"training.adversarial": "fgm", "training.adversarial_epsilon": 0.02, "training.epochs": 1})
    train(cfg, tmp_path / "m")
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert len(calls) == max(entry["step"] for entry in history) > 0


@pytest.mark.slow  # 15 epochs at two or four passes per step
@pytest.mark.parametrize("method", ["fgm", "pgd"])
def test_adversarial_training_runs_and_still_learns_the_toy_set(tiny_config, tmp_path, method):
    # The tiny model's embedding rows have norms near 0.1: epsilon is scaled down to match
    # (MiniLM's rows are about 10x longer, 1.07 on average, hence the default 1.0 there).
    cfg = tiny_config(
        **{
            "training.adversarial": method,
            "training.adversarial_epsilon": 0.02,
            "training.pgd_alpha": 0.01,
            "training.pgd_steps": 2,
            "training.epochs": 15,
        }
    )
    result = train(cfg, tmp_path / method)
    assert result.metrics["accuracy"] >= 0.9
    preds = Predictor.load(tmp_path / method).predict(["great wonderful superb", "awful terrible worst"])
    assert [p.label for p in preds] == ["positive", "negative"]


def test_bad_adversarial_settings_are_refused():
    with pytest.raises(ConfigError, match="adversarial"):
        build_config({"training": {"adversarial": "fast"}})
    with pytest.raises(ConfigError, match="adversarial_epsilon"):
        build_config({"training": {"adversarial_epsilon": 0}})
