"""PyTorch helpers shared by PyTorch workloads (imports torch: never import it from JAX code)."""

import torch


def memory_stats(device: torch.device) -> dict[str, int]:
    """The caching allocator's view of a CUDA device, as ``framework.<i>.mem.*`` columns.

    ``in_use_bytes`` is what tensors occupy (``memory_allocated``),
    ``reserved_bytes`` what the caching allocator holds from the driver
    (``memory_reserved``; NVML's ``gpu.<i>.mem.used`` is at least this), and
    the ``peak_*`` values are maxima since :func:`reset_peak` (the trial's
    start). On the CPU PyTorch keeps no such statistics: no columns.
    """
    if device.type != 'cuda':
        return {}
    i = device.index if device.index is not None else torch.cuda.current_device()
    return {
        f'framework.{i}.mem.in_use_bytes': int(torch.cuda.memory_allocated(device)),
        f'framework.{i}.mem.peak_bytes': int(torch.cuda.max_memory_allocated(device)),
        f'framework.{i}.mem.reserved_bytes': int(torch.cuda.memory_reserved(device)),
        f'framework.{i}.mem.peak_reserved_bytes': int(torch.cuda.max_memory_reserved(device)),
    }


def reset_peak(device: torch.device) -> None:
    """Starts a trial's device memory afresh (called at each trial's start).

    The previous trial's tensors are gone, but the caching allocator keeps
    their blocks reserved: they are handed back to the driver first, so the
    ``reserved`` and NVML columns describe this trial alone; then the
    ``peak_*`` statistics restart.
    """
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def set_num_threads(threads: int) -> None:
    """PyTorch's intra-op threads (a Ray trial's CPU share; Ray's OMP_NUM_THREADS=1 is too few)."""
    torch.set_num_threads(threads)
