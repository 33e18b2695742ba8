"""PyTorch helpers shared by PyTorch workloads (imports torch: never import it from JAX code)."""

import torch
import torch.nn.functional as F

from algorithmic_efficiency import spec


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


def set_num_threads(threads: int, interop: int | None = None) -> None:
    """PyTorch's intra-op threads (a Ray trial's CPU share; Ray's OMP_NUM_THREADS=1 is too few).

    `interop`: its inter-op threads too; settable only before its first parallel work.
    """
    torch.set_num_threads(threads)
    if interop is not None:
        try:
            torch.set_num_interop_threads(interop)
        except RuntimeError:  # parallel work started already: the pool keeps its size
            pass


# --- The peer's (AlgoPerf) workload API, shared by the PyTorch workloads.


def param_shapes(model: torch.nn.Module) -> dict[str, spec.ShapeTuple]:
    """``{name: spec.ShapeTuple}`` of the model's parameters (``Workload.param_shapes``)."""
    return {name: spec.ShapeTuple(p.shape) for name, p in model.named_parameters()}


def _param_type(module: torch.nn.Module, name: str, p: torch.Tensor) -> spec.ParameterType:
    kinds = spec.ParameterType
    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
        return kinds.BATCH_NORM_SCALE if name == 'weight' else kinds.BATCH_NORM_BIAS
    if isinstance(module, torch.nn.LayerNorm):
        return kinds.LAYER_NORM_SCALE if name == 'weight' else kinds.LAYER_NORM_BIAS
    if isinstance(module, torch.nn.Embedding):
        return kinds.EMBEDDING
    if name == 'bias':
        return kinds.BIAS
    return kinds.CONV_WEIGHT if p.ndim > 2 else kinds.WEIGHT


def param_types(model: torch.nn.Module) -> dict[str, spec.ParameterType]:
    """``{name: spec.ParameterType}`` of the model's parameters, from their modules."""
    out = {}
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            out[f'{module_name}.{name}' if module_name else name] = _param_type(module, name, p)
    return out


def softmax_cross_entropy(
    label_batch: torch.Tensor,
    logits_batch: torch.Tensor,
    mask_batch: torch.Tensor | None,
    label_smoothing: float,
) -> dict[str, torch.Tensor]:
    """``Workload.loss_fn`` for integer labels: {'summed', 'n_valid_examples', 'per_example'}."""
    losses = F.cross_entropy(
        logits_batch, label_batch, reduction='none', label_smoothing=float(label_smoothing)
    )
    if mask_batch is None:
        # A CPU scalar tensor: dividing a CUDA loss by it needs no copy to the device
        # (copying a count to the device would wait for it every step).
        n_valid = torch.tensor(losses.shape[0])
    else:
        losses = losses * mask_batch
        n_valid = mask_batch.sum()
    return {'summed': losses.sum(), 'n_valid_examples': n_valid, 'per_example': losses}
