"""The CIFAR ResNet-18 in PyTorch; layers and module names from :mod:`..resnet`.

Module names are flax's (``Conv_init``, ``ResNetBlock_0.BatchNorm_1``, ...) so
the weights drawn in NumPy load one to one (:func:`resnet.torch_state_dict`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from algorithmic_efficiency.workloads.cifar import resnet


def _norm(channels: int) -> nn.BatchNorm2d:
    # PyTorch's momentum weighs the new batch: 1 - flax's.
    return nn.BatchNorm2d(channels, eps=resnet.BN_EPSILON, momentum=1.0 - resnet.BN_MOMENTUM)


class ResNetBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, and the shortcut (projected if needed)."""

    def __init__(self, spec: resnet.BlockSpec) -> None:
        super().__init__()
        i, o, s = spec.in_channels, spec.out_channels, spec.stride
        self.Conv_0 = nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False)
        self.BatchNorm_0 = _norm(o)
        self.Conv_1 = nn.Conv2d(o, o, 3, padding=1, bias=False)
        self.BatchNorm_1 = _norm(o)
        self.projection = spec.projection
        if spec.projection:
            self.Conv_proj = nn.Conv2d(i, o, 1, stride=s, bias=False)
            self.BatchNorm_proj = _norm(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.BatchNorm_0(self.Conv_0(x)))
        y = self.BatchNorm_1(self.Conv_1(y))
        if self.projection:
            x = self.BatchNorm_proj(self.Conv_proj(x))
        return F.relu(x + y)


class ResNet18(nn.Module):
    """CIFAR ResNet-18: inputs (N, 3, 32, 32) float32 (any memory format), (N, 10) logits."""

    def __init__(self, width: int = resnet.WIDTH) -> None:
        super().__init__()
        self.Conv_init = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.BatchNorm_init = _norm(width)
        specs = resnet.block_specs(width)
        for spec in specs:
            self.add_module(spec.name, ResNetBlock(spec))
        self.block_names = [spec.name for spec in specs]
        self.Dense_0 = nn.Linear(specs[-1].out_channels, resnet.NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.BatchNorm_init(self.Conv_init(x)))
        for name in self.block_names:
            x = getattr(self, name)(x)
        return self.Dense_0(torch.mean(x, dim=(2, 3)))
