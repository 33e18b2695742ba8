"""``algoperf.pytorch_utils``: the device setup PyTorch submissions ask for at import."""

from __future__ import annotations

import os

import torch


def pytorch_setup() -> tuple[bool, int, torch.device, int]:
    """``(use_pytorch_ddp, rank, device, n_gpus)``, as submissions unpack it.

    DDP is on when the process was started by ``torchrun`` (``LOCAL_RANK`` set);
    this runner starts one process, so it is normally ``False`` and the rank 0.
    The device is ``cuda:<rank>`` when CUDA is available, else the CPU.
    """
    use_ddp = 'LOCAL_RANK' in os.environ
    rank = int(os.environ['LOCAL_RANK']) if use_ddp else 0
    device = torch.device(f'cuda:{rank}' if torch.cuda.is_available() else 'cpu')
    return use_ddp, rank, device, torch.cuda.device_count()
