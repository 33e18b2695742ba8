"""The decoder-only transformer in PyTorch; sizes in :class:`..config.LmConfig`.

Module names follow :func:`..init.torch_state_dict`, so the NumPy
initialisation loads one to one and the network equals the flax one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from algorithmic_efficiency.workloads.lm import init as lm_init
from algorithmic_efficiency.workloads.lm.config import LmConfig


def _linear(n_in: int, n_out: int) -> nn.Linear:
    return nn.Linear(n_in, n_out, bias=False)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates interleaved pairs of ``x`` (B, S, H, Dh) by the angles' (S, Dh/2) tables."""
    pairs = x.float().unflatten(-1, (-1, 2))
    c, s = cos[None, : x.shape[1], None, :], sin[None, : x.shape[1], None, :]
    x0, x1 = pairs[..., 0], pairs[..., 1]
    return torch.stack([x0 * c - x1 * s, x1 * c + x0 * s], dim=-1).flatten(-2).type_as(x)


class Attention(nn.Module):
    """Causal self-attention with rotary positions and QK-norm (as the flax model)."""

    def __init__(self, cfg: LmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.model_dim
        self.query, self.key, self.value, self.out = (_linear(d, d) for _ in range(4))
        self.attn_scale = nn.Parameter(torch.tensor(cfg.attn_scale_init))

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        b, s, d = x.shape
        heads = (b, s, cfg.num_heads, cfg.head_dim)
        q, k = self.query(x).view(heads), self.key(x).view(heads)
        v = self.value(x).view(heads)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        eps = cfg.qknorm_epsilon
        q = q / (torch.linalg.vector_norm(q, dim=-1, keepdim=True) + eps)
        k = k / (torch.linalg.vector_norm(k, dim=-1, keepdim=True) + eps)
        q = q * self.attn_scale.to(q.dtype)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, scale=1.0
        )
        return self.out(out.transpose(1, 2).reshape(b, s, d))


class Mlp(nn.Module):
    """SiLU-GLU: ``down(silu(gate) * value)``, gate and value the halves of ``up(x)``."""

    def __init__(self, cfg: LmConfig) -> None:
        super().__init__()
        self.up = _linear(cfg.model_dim, 2 * cfg.mlp_dim)
        self.down = _linear(cfg.mlp_dim, cfg.model_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * value)


class Block(nn.Module):
    """Pre-norm block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, cfg: LmConfig) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(cfg.model_dim, eps=cfg.rmsnorm_epsilon)
        self.attn = Attention(cfg)
        self.mlp_norm = nn.RMSNorm(cfg.model_dim, eps=cfg.rmsnorm_epsilon)
        self.mlp = Mlp(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class Transformer(nn.Module):
    """Token ids (B, S) int64 -> logits (B, S, vocab); the output projection is the embedding."""

    def __init__(self, cfg: LmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.model_dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.out_norm = nn.RMSNorm(cfg.model_dim, eps=cfg.rmsnorm_epsilon)
        cos, sin = lm_init.rope_tables(cfg)
        # Not parameters and not saved: rebuilt from the config.
        self.register_buffer('rope_cos', torch.from_numpy(cos), persistent=False)
        self.register_buffer('rope_sin', torch.from_numpy(sin), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin)
        return F.linear(self.out_norm(x), self.embed.weight)  # tied
