"""Integrated gradients for fine-tuned transformers (captum), attributed to the word embeddings.

The path is integrated over ``inputs_embeds`` (captum's ``IntegratedGradients``), not with a
hook on the embedding layer (``LayerIntegratedGradients``): the same attribution, but the
model is never modified, so a service can predict with it in another thread meanwhile (a
hook on the shared layer broke those predictions: issue 15).

The baseline keeps the special tokens ([CLS], [SEP]) and replaces every other token by
padding; positions and attention mask are those of the text. By completeness the token
attributions sum to logit(text) - logit(baseline) of the explained class; the reported
``delta`` is how far the numerical integral is from that (more ``n_steps``, smaller delta).
Sub-word tokens are summed into the words that contain them.
"""

from __future__ import annotations

import numpy as np
import torch

from sentiq.errors import Errors, ModelError
from sentiq.explanations.words import split_words, unit_of_position


def _token_spans(tokenizer, text: str, encoded) -> list[tuple[int, int]]:
    if "offset_mapping" in encoded:
        return [tuple(map(int, pair)) for pair in encoded["offset_mapping"][0].tolist()]
    # A tokenizer without offsets: give each token the next place its text occurs.
    spans, cursor, lowered = [], 0, text.lower()
    for token in tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist()):
        piece = token.removeprefix("##").removeprefix("▁").lower()
        at = lowered.find(piece, cursor) if piece and token not in tokenizer.all_special_tokens else -1
        spans.append((at, at + len(piece)) if at >= 0 else (0, 0))
        cursor = at + len(piece) if at >= 0 else cursor
    return spans


def explain_integrated_gradients(
    model,
    text: str,
    target: int,
    *,
    language: str = "en",
    n_steps: int = 50,
    internal_batch_size: int | None = None,
    max_tokens: int | None = None,
) -> tuple[list, dict]:
    """``max_tokens`` caps the tokens explained (default the model's ``max_length``; words past it weigh 0
    and ``truncated`` is set); ``internal_batch_size`` caps the path points run at once (memory)."""
    from captum.attr import IntegratedGradients

    network, tokenizer = getattr(model, "model", None), getattr(model, "tokenizer", None)
    if network is None or tokenizer is None or not hasattr(network, "get_input_embeddings"):
        raise ModelError(Errors.E301)
    if network.training:
        network.eval()
    length = min(model.max_length, max_tokens) if max_tokens else model.max_length
    try:
        encoded = tokenizer(text, truncation=True, max_length=length, return_tensors="pt", return_offsets_mapping=True)
    except (NotImplementedError, TypeError, ValueError):  # slow tokenizers have no offsets
        encoded = tokenizer(text, truncation=True, max_length=length, return_tensors="pt")
    device = next(network.parameters()).device
    ids = encoded["input_ids"].to(device)
    mask = encoded["attention_mask"].to(device)
    special = torch.tensor(
        tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True),
        dtype=torch.bool,
        device=device,
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline = torch.where(special, ids[0], torch.full_like(ids[0], pad)).unsqueeze(0)

    def forward(inputs_embeds, attention_mask):
        return network(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits.float()

    with torch.no_grad():
        embed = network.get_input_embeddings()
        inputs, baselines = embed(ids), embed(baseline)
    attributions, delta = IntegratedGradients(forward).attribute(
        inputs,
        baselines=baselines,
        target=target,
        additional_forward_args=(mask,),
        n_steps=n_steps,
        internal_batch_size=internal_batch_size or n_steps,
        return_convergence_delta=True,
    )
    per_token = attributions.sum(dim=-1)[0].detach().float().cpu().numpy()
    with torch.no_grad():
        logit, baseline_logit = forward(torch.cat([inputs, baselines]), mask.repeat(2, 1))[:, target].tolist()

    spans = split_words(text, language)
    owner = unit_of_position(spans, len(text))
    weights = np.zeros(len(spans))
    covered_to = 0
    for value, (start, end) in zip(per_token, _token_spans(tokenizer, text, encoded)):
        if end > start and start < len(text) and owner[start] >= 0:
            weights[owner[start]] += value
            covered_to = max(covered_to, end)
    return (
        [(s.word, s.start, s.end, float(w)) for s, w in zip(spans, weights)],
        {
            "logit": logit,
            "baseline_logit": baseline_logit,
            "sum_of_attributions": float(per_token.sum()),
            "delta": float(delta.abs().max()),
            "n_steps": n_steps,
            "truncated": any(s.start >= covered_to for s in spans) if spans else False,
        },
    )
