"""``algoperf.jax_sharding_utils``: shardings over one mesh of all devices (axis ``batch``).

JAX submissions jit their step with ``in_shardings``/``out_shardings`` from
here: parameters and optimizer state replicated, batches split along their
first axis. On one device both are trivial; on several the batch's first
dimension must divide by the device count.

The mesh and shardings are built once per device set (the peer rebuilds them
on every call, and submissions call these every step).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = 'batch'


@functools.lru_cache(maxsize=8)
def _shardings(devices: tuple) -> tuple[NamedSharding, NamedSharding]:
    mesh = Mesh(np.array(devices), (AXIS,))
    return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec(AXIS))


def get_replicate_sharding() -> NamedSharding:
    """A sharding that keeps a full copy on every device."""
    return _shardings(tuple(jax.devices()))[0]


def get_batch_dim_sharding() -> NamedSharding:
    """A sharding that splits the first axis across the devices."""
    return _shardings(tuple(jax.devices()))[1]


def shard_along_batch_dim(tree: Any) -> Any:
    """Puts every array of ``tree`` on the devices, split along its first axis."""
    sharding = get_batch_dim_sharding()
    return jax.tree.map(lambda x: jax.device_put(x, sharding), tree)


def replicate(tree: Any) -> Any:
    """Puts a full copy of every array of ``tree`` on every device."""
    sharding = get_replicate_sharding()
    return jax.tree.map(lambda x: jax.device_put(x, sharding), tree)


def display_shard_info(x: jax.Array) -> None:
    """Prints where each shard of ``x`` lives (a debugging aid)."""
    for shard in x.addressable_shards:
        print(f'shard.device: {shard.device}, index: {shard.index}, '
              f'replica_id: {shard.replica_id}.')
