"""The CIFAR ResNet-18 in flax (NHWC); layers and names from :mod:`..resnet`."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from algorithmic_efficiency.workloads.cifar import resnet


class ResNetBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, and the shortcut (projected if needed)."""

    spec: resnet.BlockSpec
    train: bool  # batch statistics (True) or the running averages (False)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        conv = functools.partial(nn.Conv, use_bias=False)
        norm = functools.partial(
            nn.BatchNorm,
            use_running_average=not self.train,
            momentum=resnet.BN_MOMENTUM,
            epsilon=resnet.BN_EPSILON,
        )
        out, stride = self.spec.out_channels, (self.spec.stride,) * 2
        y = conv(out, (3, 3), stride, padding=((1, 1), (1, 1)), name='Conv_0')(x)
        y = nn.relu(norm(name='BatchNorm_0')(y))
        y = conv(out, (3, 3), padding=((1, 1), (1, 1)), name='Conv_1')(y)
        y = norm(name='BatchNorm_1')(y)
        if self.spec.projection:
            x = conv(out, (1, 1), stride, padding='VALID', name='Conv_proj')(x)
            x = norm(name='BatchNorm_proj')(x)
        return nn.relu(x + y)


class ResNet18(nn.Module):
    """CIFAR ResNet-18: inputs (N, 32, 32, 3) float32, outputs (N, 10) logits."""

    width: int = resnet.WIDTH

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        x = nn.Conv(self.width, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, name='Conv_init')(
            x
        )
        x = nn.BatchNorm(
            use_running_average=not train,
            momentum=resnet.BN_MOMENTUM,
            epsilon=resnet.BN_EPSILON,
            name='BatchNorm_init',
        )(x)
        x = nn.relu(x)
        for spec in resnet.block_specs(self.width):
            x = ResNetBlock(spec, train, name=spec.name)(x)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(resnet.NUM_CLASSES, name='Dense_0')(x)
