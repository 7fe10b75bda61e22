"""Adversarial training on the word embeddings (FGM, PGD).

After the normal backward pass the word-embedding matrix is moved a small step along
its gradient (the direction that raises the loss most), the loss on the same batch is
computed again and its gradients are added, then the embeddings are restored. The
model thus also learns from slightly "worst-case" inputs, which often helps small or
noisy training sets (Miyato et al. 2017, FGM; Madry et al. 2018 / Zhu et al. 2020, PGD).

* FGM: one step ``r = epsilon * g / ||g||``.
* PGD: ``steps`` steps of size ``alpha``, each projected back into the L2 ball of radius
  ``epsilon`` around the clean embeddings; only the last step's gradients are kept
  (added to the clean ones), as in the usual PGD-for-NLP recipe.

Each attack takes ``backward``: a function that computes the loss on the current batch
and back-propagates it (the Trainer supplies one that honours gradient accumulation).
"""

from __future__ import annotations

from typing import Callable

import torch


class EmbeddingAttack:
    """Shared plumbing: the embedding matrix, its clean copy, the perturbation step."""

    def __init__(self, model: torch.nn.Module, *, epsilon: float):
        self.model = model
        self.epsilon = epsilon

    @property
    def weight(self) -> torch.nn.Parameter:
        return self.model.get_input_embeddings().weight

    def _step(self, size: float) -> bool:
        """Move the embeddings ``size`` along their gradient; False when there is no usable gradient."""
        grad = self.weight.grad
        if grad is None:
            return False
        norm = torch.linalg.vector_norm(grad.float())
        if not torch.isfinite(norm) or norm == 0:
            return False
        self.weight.data.add_((size / norm) * grad.to(self.weight.dtype))
        return True

    def attack(self, backward: Callable[[], None]) -> None:
        raise NotImplementedError


class FGM(EmbeddingAttack):
    """Fast gradient method: one perturbation of norm ``epsilon``."""

    def attack(self, backward: Callable[[], None]) -> None:
        clean = self.weight.data.clone()
        try:
            if self._step(self.epsilon):
                backward()
        finally:
            self.weight.data.copy_(clean)


class PGD(EmbeddingAttack):
    """Projected gradient descent: ``steps`` steps of size ``alpha`` inside the ``epsilon`` ball."""

    def __init__(self, model: torch.nn.Module, *, epsilon: float, alpha: float, steps: int):
        super().__init__(model, epsilon=epsilon)
        self.alpha = alpha
        self.steps = steps

    def _project(self, clean: torch.Tensor) -> None:
        delta = self.weight.data - clean
        norm = torch.linalg.vector_norm(delta.float())
        if norm > self.epsilon:
            self.weight.data.copy_(clean + delta * (self.epsilon / norm))

    def attack(self, backward: Callable[[], None]) -> None:
        clean = self.weight.data.clone()
        params = [p for p in self.model.parameters() if p.requires_grad]
        clean_grads = [None if p.grad is None else p.grad.clone() for p in params]
        try:
            for step in range(self.steps):
                if not self._step(self.alpha):
                    # No usable gradient: keep the clean gradients only.
                    for p, g in zip(params, clean_grads):
                        p.grad = g
                    return
                self._project(clean)
                last = step == self.steps - 1
                for p, g in zip(params, clean_grads):
                    # Intermediate steps need the gradient of the perturbed loss alone; the last one adds to the clean.
                    if last:
                        p.grad = None if g is None else g.clone()
                    elif p.grad is not None:
                        p.grad.zero_()
                backward()
        finally:
            self.weight.data.copy_(clean)


def make_attack(model: torch.nn.Module, cfg) -> EmbeddingAttack | None:
    """The attack ``training.adversarial`` names, or None."""
    if cfg.adversarial == "fgm":
        return FGM(model, epsilon=cfg.adversarial_epsilon)
    if cfg.adversarial == "pgd":
        return PGD(model, epsilon=cfg.adversarial_epsilon, alpha=cfg.pgd_alpha, steps=cfg.pgd_steps)
    return None
