"""JAX helpers shared by JAX workloads (imports JAX: never import it from torch code)."""

import jax

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
