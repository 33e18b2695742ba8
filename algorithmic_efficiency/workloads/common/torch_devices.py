"""PyTorch device helpers shared by the PyTorch workloads (imports PyTorch)."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """The first GPU when PyTorch sees one, else the CPU."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
