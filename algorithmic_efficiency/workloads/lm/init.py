"""The transformer's initial weights, drawn in NumPy from the trial's seed.

Both frameworks load these arrays, so one seed gives the same network in JAX
and PyTorch. The tree is flax's layout (``Dense`` kernels ``(in, out)``);
:func:`torch_state_dict` maps it onto the PyTorch module's names (``Linear``
weights ``(out, in)``).

Initialisation (the peer's): every projection and the embedding normal with
std 0.02; the two residual outputs (attention ``out``, MLP ``down``) with
0.02 / sqrt(2 * layers); RMSNorm scales 1; the attention temperature
log2(L^2 - L).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from algorithmic_efficiency.workloads.lm.config import LmConfig


def _normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    # float32 draws directly: the embedding of the real model is 51M numbers.
    out = rng.standard_normal(shape, dtype=np.float32)
    out *= np.float32(std)
    return out


def init_params(cfg: LmConfig, seed: int) -> dict[str, Any]:
    """The parameters as a nested dict of float32 arrays, drawn in a fixed order."""
    rng = np.random.default_rng(seed)
    d, f, std = cfg.model_dim, cfg.mlp_dim, cfg.init_std
    params: dict[str, Any] = {'embed': {'embedding': _normal(rng, (cfg.vocab_size, d), std)}}
    for i in range(cfg.num_layers):
        params[f'block_{i}'] = {
            'attn_norm': {'scale': np.ones(d, np.float32)},
            'attn': {
                'query': {'kernel': _normal(rng, (d, d), std)},
                'key': {'kernel': _normal(rng, (d, d), std)},
                'value': {'kernel': _normal(rng, (d, d), std)},
                'out': {'kernel': _normal(rng, (d, d), cfg.residual_init_std)},
                'attn_scale': np.asarray(cfg.attn_scale_init, np.float32),
            },
            'mlp_norm': {'scale': np.ones(d, np.float32)},
            'mlp': {
                'up': {'kernel': _normal(rng, (d, 2 * f), std)},
                'down': {'kernel': _normal(rng, (f, d), cfg.residual_init_std)},
            },
        }
    params['out_norm'] = {'scale': np.ones(d, np.float32)}
    return params


def torch_state_dict(params: dict[str, Any], num_layers: int) -> dict[str, np.ndarray]:
    """The flax-layout tree as the PyTorch model's ``state_dict`` (kernels transposed)."""
    out = {'embed.weight': params['embed']['embedding']}
    for i in range(num_layers):
        b, p = f'blocks.{i}.', params[f'block_{i}']
        out[b + 'attn_norm.weight'] = p['attn_norm']['scale']
        out[b + 'mlp_norm.weight'] = p['mlp_norm']['scale']
        for name in ('query', 'key', 'value', 'out'):
            out[f'{b}attn.{name}.weight'] = np.ascontiguousarray(p['attn'][name]['kernel'].T)
        out[b + 'attn.attn_scale'] = p['attn']['attn_scale']
        for name in ('up', 'down'):
            out[f'{b}mlp.{name}.weight'] = np.ascontiguousarray(p['mlp'][name]['kernel'].T)
    out['out_norm.weight'] = params['out_norm']['scale']
    return out


def rope_tables(cfg: LmConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(cos, sin)`` of the rotary angles, each ``(seq_len, head_dim // 2)`` float32.

    Pair ``j`` of a head (its elements ``2j`` and ``2j + 1``, the interleaved
    layout of the peer and of Llama's reference code) turns by ``position *
    theta ** (-2j / head_dim)``. Computed once here, in float64, so both
    frameworks rotate by exactly the same numbers.
    """
    half = cfg.head_dim // 2
    inv_freq = cfg.rope_theta ** (-np.arange(half, dtype=np.float64) * 2 / cfg.head_dim)
    angles = np.outer(np.arange(cfg.seq_len, dtype=np.float64), inv_freq)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
