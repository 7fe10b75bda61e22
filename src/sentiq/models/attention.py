"""``attention: auto``: the faster of two attention kernels for each call, on the CPU.

PyTorch's scaled-dot-product attention (sdpa) has no fused CPU kernel for attention dropout
(with BERT's 0.1 it falls back to a math path), and its fused bfloat16 kernel is slower than
plain matmuls on short sequences: under bfloat16 autocast a MiniLM training step of 256 tokens
costs 225 ms/sample with sdpa and 178 with the eager computation below (docs/benchmarks.md,
"Training options"). So on the CPU, bfloat16 calls up to a measured length run the eager
computation (the one transformers' BERT ships, with its softmax output kept in bfloat16);
float32 calls, long sequences and every call on a GPU run sdpa. Both compute the same function:
only the kernel differs.

Registered with transformers' attention and mask interfaces under :data:`AUTO`; the mask
arrives in sdpa's boolean form, which the eager path applies with ``masked_fill``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.integrations.sdpa_attention import sdpa_attention_forward

AUTO = "sentiq_auto"
# bfloat16 calls up to these lengths take the eager path; measured on MiniLM training steps
# (benchmarks/attention_kernels.py, ms/sample, bf16): with dropout 0.1, eager 65 vs sdpa 75 at
# 128 tokens, 178 vs 225 at 256, 339 vs 414 at 384, and the same cost at 512; without dropout,
# eager 58 vs sdpa 72 at 128, 137 vs 142 at 256 (a tie), 260 vs 230 at 384. In float32 sdpa is
# as fast or faster at every length.
EAGER_BF16_MAX_LENGTH = {"dropout": 384, "no_dropout": 192}


def use_eager(query: torch.Tensor, dropout: float) -> bool:
    """Whether a call with these queries (batch, heads, length, head size) runs the eager kernel."""
    if query.device.type != "cpu" or query.dtype != torch.bfloat16:
        return False
    return query.shape[2] <= EAGER_BF16_MAX_LENGTH["dropout" if dropout > 0 else "no_dropout"]


def eager_attention(
    module: nn.Module, query, key, value, attention_mask, *, scaling: float | None = None, dropout: float = 0.0, **_
) -> tuple[torch.Tensor, torch.Tensor]:
    """Matmul, softmax, dropout, matmul: transformers' eager BERT attention, from sdpa's boolean mask.
    The softmax runs in float32 and its output returns to the queries' precision before dropout, so
    under bfloat16 autocast the large (length x length) tensors kept for backward stay bfloat16."""
    scores = torch.matmul(query, key.transpose(2, 3)) * (scaling if scaling is not None else query.size(-1) ** -0.5)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:  # True where a token may be attended to
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(value.dtype)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), probs


def auto_attention(module: nn.Module, query, key, value, attention_mask, **kwargs):
    """The attention function registered as :data:`AUTO`."""
    if use_eager(query, kwargs.get("dropout", 0.0) if module.training else 0.0):
        return eager_attention(module, query, key, value, attention_mask, **kwargs)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def implementation(setting: str | None) -> str | None:
    """The ``attn_implementation`` for a ``training.attention`` setting (auto registers :data:`AUTO`)."""
    return register() if setting == "auto" else setting


def register() -> str:
    """Make :data:`AUTO` a valid ``attn_implementation`` (idempotent); returns its name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(AUTO, auto_attention)
    AttentionMaskInterface.register(AUTO, sdpa_mask)
    return AUTO
