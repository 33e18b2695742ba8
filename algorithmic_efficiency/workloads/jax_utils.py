"""JAX helpers shared by JAX workloads (imports JAX: never import it from torch code)."""

from typing import Any

import jax
import jax.numpy as jnp
import optax

from algorithmic_efficiency import spec

# jax Device.memory_stats() key -> our column suffix.
_MEMORY_KEYS = (('bytes_in_use', 'in_use_bytes'), ('peak_bytes_in_use', 'peak_bytes'),
                ('bytes_reserved', 'reserved_bytes'), ('bytes_limit', 'limit_bytes'))


def memory_stats() -> dict[str, int]:
    """The allocator's own view of device memory, as ``framework.<i>.mem.*`` columns.

    Next to NVML's ``gpu.<i>.mem.used`` (what the process holds from the
    driver), this tells the model's memory from the allocator's. ``i`` is the
    index in ``jax.local_devices()``. XLA's CPU client reports no statistics
    (``memory_stats()`` is None), so on the CPU there are no such columns.
    ``peak_bytes`` is the peak since the process started (XLA can't reset it).
    """
    out = {}
    for i, device in enumerate(jax.local_devices()):
        stats = device.memory_stats()
        for key, name in _MEMORY_KEYS:
            if stats and key in stats:
                out[f'framework.{i}.mem.{name}'] = int(stats[key])
    return out


# --- The peer's (AlgoPerf) workload API, shared by the JAX workloads.


def param_shapes(params: Any) -> Any:
    """The parameters' tree with ``spec.ShapeTuple`` leaves (``Workload.param_shapes``)."""
    return jax.tree_util.tree_map(lambda p: spec.ShapeTuple(p.shape), params)


def _param_type(path: tuple, ndim: int) -> spec.ParameterType:
    names = [str(getattr(k, 'key', k)) for k in path]
    leaf, module = names[-1], (names[-2] if len(names) > 1 else '')
    if leaf == 'kernel':
        return spec.ParameterType.CONV_WEIGHT if ndim > 2 else spec.ParameterType.WEIGHT
    if leaf == 'embedding':
        return spec.ParameterType.EMBEDDING
    if 'BatchNorm' in module:
        return (spec.ParameterType.BATCH_NORM_SCALE if leaf == 'scale'
                else spec.ParameterType.BATCH_NORM_BIAS)
    if 'LayerNorm' in module:
        return (spec.ParameterType.LAYER_NORM_SCALE if leaf == 'scale'
                else spec.ParameterType.LAYER_NORM_BIAS)
    return spec.ParameterType.BIAS if leaf == 'bias' else spec.ParameterType.WEIGHT


def param_types(params: Any) -> Any:
    """The parameters' tree with ``spec.ParameterType`` leaves, from flax's names."""
    return jax.tree_util.tree_map_with_path(lambda path, p: _param_type(path, p.ndim), params)


def softmax_cross_entropy(
    label_batch: jax.Array,
    logits_batch: jax.Array,
    mask_batch: jax.Array | None,
    label_smoothing: Any,
    num_classes: int,
) -> dict[str, Any]:
    """``Workload.loss_fn`` for integer labels: {'summed', 'n_valid_examples', 'per_example'}."""
    if isinstance(label_smoothing, (int, float)) and label_smoothing == 0:
        # The common case, known at trace time: no one-hot targets needed.
        losses = optax.softmax_cross_entropy_with_integer_labels(logits_batch, label_batch)
    else:  # a number or a traced value (a jitted step's argument)
        targets = optax.smooth_labels(jax.nn.one_hot(label_batch, num_classes), label_smoothing)
        losses = optax.softmax_cross_entropy(logits_batch, targets)
    if mask_batch is None:
        n_valid = losses.shape[0]
    else:
        losses = losses * mask_batch
        n_valid = jnp.sum(mask_batch)
    return {'summed': jnp.sum(losses), 'n_valid_examples': n_valid, 'per_example': losses}
