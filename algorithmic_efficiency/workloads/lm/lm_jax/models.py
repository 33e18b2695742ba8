"""The decoder-only transformer in flax (linen); sizes in :class:`..config.LmConfig`.

Parameter names follow :func:`..init.init_params` (``block_<i>/attn/query/kernel``,
...), so the NumPy initialisation is the flax tree itself.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from algorithmic_efficiency.workloads.lm import init as lm_init
from algorithmic_efficiency.workloads.lm.config import LmConfig


def _dense(features: int, name: str, dtype: Any) -> nn.Dense:
    return nn.Dense(features, use_bias=False, name=name, dtype=dtype, param_dtype=jnp.float32)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotates interleaved pairs of ``x`` (B, S, H, Dh) by the angles' (S, Dh/2) tables."""
    pairs = x.astype(jnp.float32).reshape(*x.shape[:-1], -1, 2)
    c, s = cos[None, : x.shape[1], None, :], sin[None, : x.shape[1], None, :]
    x0, x1 = pairs[..., 0], pairs[..., 1]
    rotated = jnp.stack([x0 * c - x1 * s, x1 * c + x0 * s], axis=-1)
    return rotated.reshape(x.shape).astype(x.dtype)


class Attention(nn.Module):
    """Causal self-attention with rotary positions and QK-norm (unit-norm queries and keys,
    queries scaled by a learned temperature; no 1/sqrt(d) scaling)."""

    cfg: LmConfig
    dtype: Any

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cfg = self.cfg
        b, s, d = x.shape
        heads = (b, s, cfg.num_heads, cfg.head_dim)
        q = _dense(d, 'query', self.dtype)(x).reshape(heads)
        k = _dense(d, 'key', self.dtype)(x).reshape(heads)
        v = _dense(d, 'value', self.dtype)(x).reshape(heads)
        cos, sin = (jnp.asarray(t) for t in lm_init.rope_tables(cfg))
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        eps = cfg.qknorm_epsilon
        q = q / (jnp.linalg.norm(q, axis=-1, keepdims=True) + eps)
        k = k / (jnp.linalg.norm(k, axis=-1, keepdims=True) + eps)
        scale = self.param('attn_scale', nn.initializers.constant(cfg.attn_scale_init), ())
        q = q * scale.astype(q.dtype)
        out = jax.nn.dot_product_attention(q, k, v, is_causal=True, scale=1.0)
        return _dense(d, 'out', self.dtype)(out.reshape(b, s, d))


class Mlp(nn.Module):
    """SiLU-GLU: ``down(silu(gate) * value)``, gate and value the halves of ``up(x)``."""

    cfg: LmConfig
    dtype: Any

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        gate, value = jnp.split(_dense(2 * self.cfg.mlp_dim, 'up', self.dtype)(x), 2, axis=-1)
        return _dense(self.cfg.model_dim, 'down', self.dtype)(nn.silu(gate) * value)


class Block(nn.Module):
    """Pre-norm block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``."""

    cfg: LmConfig
    dtype: Any

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        norm = dict(epsilon=self.cfg.rmsnorm_epsilon, dtype=self.dtype, param_dtype=jnp.float32)
        attn = Attention(self.cfg, self.dtype, name='attn')
        x = x + attn(nn.RMSNorm(name='attn_norm', **norm)(x))
        return x + Mlp(self.cfg, self.dtype, name='mlp')(nn.RMSNorm(name='mlp_norm', **norm)(x))


class Transformer(nn.Module):
    """Token ids (B, S) int32 -> logits (B, S, vocab), the output projection the embedding's."""

    cfg: LmConfig
    dtype: Any = jnp.float32  # compute dtype; parameters stay float32

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        cfg = self.cfg
        embed = nn.Embed(
            cfg.vocab_size, cfg.model_dim, dtype=self.dtype, param_dtype=jnp.float32, name='embed'
        )
        x = embed(tokens)
        for i in range(cfg.num_layers):
            x = Block(cfg, self.dtype, name=f'block_{i}')(x)
        x = nn.RMSNorm(
            epsilon=cfg.rmsnorm_epsilon, dtype=self.dtype, param_dtype=jnp.float32, name='out_norm'
        )(x)
        return embed.attend(x)


def to_jax(params: dict[str, Any]) -> dict[str, Any]:
    """The NumPy tree (:func:`..init.init_params`) as JAX arrays."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(np.asarray(a)), params)
