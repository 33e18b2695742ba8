"""The CIFAR ResNet-18, framework-free: its layers, their names, and its initial weights.

Both frameworks build the same network from :func:`block_specs` and load the
weights :func:`init_variables` draws in NumPy from the trial's seed, so the
same seed gives the same network in JAX and in PyTorch (as MNIST does).

The architecture is AlgoPerf's CIFAR ResNet-18 (ResNet v1 for 32x32 inputs):
a 3x3 stride-1 stem (no max-pool), four stages of two basic blocks (two 3x3
convolutions each, batch norm after every convolution, a 1x1 projection with
batch norm where the shape changes), global average pooling and a dense layer.
Convolutions have no bias. The last batch norm of each residual branch starts
with scale 0, so every block starts as the identity.

Names follow flax (``Conv_init``, ``ResNetBlock_3/BatchNorm_1/scale``, ...);
the PyTorch model uses the same module names, so the two parameter trees map
one to one (see :func:`torch_state_dict`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

STAGE_SIZES = (2, 2, 2, 2)
WIDTH = 64  # channels of the stem and the first stage; doubled at each later stage
NUM_CLASSES = 10
# Batch norm: running = MOMENTUM * running + (1 - MOMENTUM) * batch (flax's
# convention; PyTorch's ``momentum`` is 1 - this), as AlgoPerf.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
DENSE_INIT_STDDEV = 1e-2  # flax's nn.initializers.normal() default, as AlgoPerf
# Standard deviation of a standard normal truncated to [-2, 2]: lecun_normal
# divides by it so the truncated draw keeps variance 1 / fan_in.
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class BlockSpec(NamedTuple):
    name: str  # 'ResNetBlock_<k>'
    in_channels: int
    out_channels: int
    stride: int
    projection: bool  # a 1x1 convolution + batch norm on the shortcut


def block_specs(width: int = WIDTH) -> list[BlockSpec]:
    """The eight basic blocks in order (their names, channels, strides)."""
    specs, in_channels = [], width
    for stage, size in enumerate(STAGE_SIZES):
        out_channels = width * 2**stage
        for j in range(size):
            stride = 2 if stage > 0 and j == 0 else 1
            projection = stride != 1 or in_channels != out_channels
            specs.append(
                BlockSpec(
                    f'ResNetBlock_{len(specs)}', in_channels, out_channels, stride, projection
                )
            )
            in_channels = out_channels
    return specs


def _lecun_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """flax's default kernel init: a truncated normal with variance 1 / fan_in.

    ``shape`` is flax's (kh, kw, in, out) or (in, out); fan_in is all but the last.
    """
    fan_in = int(np.prod(shape[:-1]))
    draw = rng.standard_normal(shape)
    outside = np.abs(draw) > 2.0
    while outside.any():  # resample the tails: a normal truncated to [-2, 2]
        draw[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(draw) > 2.0
    std = math.sqrt(1.0 / fan_in) / _TRUNCATED_NORMAL_STDDEV
    return (draw * std).astype(np.float32)


def _batch_norm(
    channels: int, scale: float = 1.0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    params = {
        'scale': np.full(channels, scale, np.float32),
        'bias': np.zeros(channels, np.float32),
    }
    stats = {'mean': np.zeros(channels, np.float32), 'var': np.ones(channels, np.float32)}
    return params, stats


def init_variables(seed: int, width: int = WIDTH) -> tuple[dict, dict]:
    """The initial ``(params, batch_stats)`` as nested dicts of float32 arrays, flax layout.

    Kernels are (kh, kw, in, out) for convolutions and (in, out) for the dense
    layer. Draws happen in a fixed order from ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    params: dict = {}
    stats: dict = {}
    params['Conv_init'] = {'kernel': _lecun_normal(rng, (3, 3, 3, width))}
    params['BatchNorm_init'], stats['BatchNorm_init'] = _batch_norm(width)
    for spec in block_specs(width):
        p: dict = {}
        s: dict = {}
        p['Conv_0'] = {'kernel': _lecun_normal(rng, (3, 3, spec.in_channels, spec.out_channels))}
        p['BatchNorm_0'], s['BatchNorm_0'] = _batch_norm(spec.out_channels)
        p['Conv_1'] = {'kernel': _lecun_normal(rng, (3, 3, spec.out_channels, spec.out_channels))}
        p['BatchNorm_1'], s['BatchNorm_1'] = _batch_norm(spec.out_channels, scale=0.0)
        if spec.projection:
            p['Conv_proj'] = {
                'kernel': _lecun_normal(rng, (1, 1, spec.in_channels, spec.out_channels))
            }
            p['BatchNorm_proj'], s['BatchNorm_proj'] = _batch_norm(spec.out_channels)
        params[spec.name], stats[spec.name] = p, s
    features = block_specs(width)[-1].out_channels
    params['Dense_0'] = {
        'kernel': (rng.standard_normal((features, NUM_CLASSES)) * DENSE_INIT_STDDEV).astype(
            np.float32
        ),
        'bias': np.zeros(NUM_CLASSES, np.float32),
    }
    return params, stats


def _flatten(tree: dict, prefix: str = '') -> dict[str, np.ndarray]:
    out = {}
    for key, value in tree.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            out.update(_flatten(value, name + '.'))
        else:
            out[name] = value
    return out


def torch_state_dict(params: dict, batch_stats: dict) -> dict[str, np.ndarray]:
    """The same weights as a PyTorch ``state_dict`` of NumPy arrays (module names as flax's).

    Convolution kernels become (out, in, kh, kw), the dense kernel (out, in);
    batch norm ``scale``/``bias``/``mean``/``var`` become
    ``weight``/``bias``/``running_mean``/``running_var``.
    """
    renames = {'scale': 'weight', 'mean': 'running_mean', 'var': 'running_var'}
    out = {}
    for name, value in {**_flatten(params), **_flatten(batch_stats)}.items():
        module, _, leaf = name.rpartition('.')
        if leaf == 'kernel':
            value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
            leaf = 'weight'
        out[f'{module}.{renames.get(leaf, leaf)}'] = np.ascontiguousarray(value)
    return out


def num_parameters(params: dict) -> int:
    return sum(v.size for v in _flatten(params).values())
