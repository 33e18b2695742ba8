"""A one-axis device mesh for JAX workloads: batches split, parameters replicated.

One process drives every device (JAX's single-controller model): the workload
puts its parameters on the mesh *replicated* and each batch *split along its
first axis*; a submission's ``jax.jit`` step then runs data-parallel with no
change (GSPMD inserts the gradient all-reduce), and the optimizer state built
from replicated parameters is replicated too. On one device the same code runs
with trivial shardings, so there is one path for 1 or N devices (only the
batches skip an explicit ``device_put`` there: see :meth:`DeviceMesh.batches`).

Simulated CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``)
are set up before JAX starts by :mod:`.host_devices`.

Imports JAX: only JAX workloads import this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.workloads import host_devices

AXIS = 'batch'  # the mesh's one axis (the name algoperf.jax_sharding_utils uses)


def select_devices(num_devices: int | None) -> list[Any]:
    """The first ``num_devices`` of the default backend's devices (all of them for ``None``).

    Raises:
      ValueError: one line naming the count asked for, the count visible and the fix.
    """
    devices = jax.devices()
    if num_devices is None:
        return list(devices)
    if num_devices < 1:
        raise UsageError(f'--num_devices must be at least 1, got {num_devices}')
    if num_devices > len(devices):
        kind = devices[0].platform
        hint = (
            f'; on the CPU start with XLA_FLAGS={host_devices.HOST_DEVICE_COUNT_FLAG}={num_devices}'
            if kind == 'cpu'
            else ''
        )
        raise UsageError(
            f'--num_devices={num_devices} but only {len(devices)} {kind} device(s) are '
            f'visible{hint}'
        )
    return list(devices[:num_devices])


def check_batch_size(global_batch_size: int, num_devices: int) -> None:
    """Raises a one-line UsageError unless the global batch divides by the device count."""
    if global_batch_size % num_devices:
        raise UsageError(
            f'the global batch size {global_batch_size} does not divide by the {num_devices} '
            f'devices; choose a batch size that is a multiple of {num_devices} or set '
            f'--num_devices'
        )


@dataclasses.dataclass(frozen=True)
class DeviceMesh:
    """A one-axis mesh over some devices and its two shardings.

    Attributes:
      mesh: ``jax.sharding.Mesh`` with the single axis :data:`AXIS`.
      replicated: a full copy on every device (parameters, optimizer state).
      batched: the first axis split across the devices (batches).
    """

    mesh: Mesh
    replicated: NamedSharding
    batched: NamedSharding

    @classmethod
    def create(cls, devices: Sequence[Any]) -> DeviceMesh:
        mesh = Mesh(np.asarray(devices), (AXIS,))
        return cls(
            mesh, NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec(AXIS))
        )

    @property
    def devices(self) -> list[Any]:
        return list(self.mesh.devices.flat)

    @property
    def count(self) -> int:
        return self.mesh.devices.size

    @property
    def kind(self) -> str:
        """The devices' kind as JAX names it (``cpu``, ``NVIDIA H100 80GB HBM3``, ``TPU v4``)."""
        kinds = sorted({d.device_kind for d in self.devices})
        return ', '.join(kinds)

    def replicate(self, tree: Any) -> Any:
        """Every array of ``tree`` copied to every device of the mesh."""
        return jax.device_put(tree, self.replicated)

    def shard_batch(self, tree: Any) -> Any:
        """Every array of ``tree`` split along its first axis (which must divide by :attr:`count`).

        ``device_put`` is asynchronous: the copy overlaps the step running now.
        """
        return jax.device_put(tree, self.batched)

    def batches(self, numpy_batches: Iterator[Any]) -> Iterator[Any]:
        """The training batches as the step should get them.

        Several devices: each batch split along its first axis (a NumPy batch
        handed to ``jit`` would be copied whole to every device); the copy is
        asynchronous and overlaps the running step. One device: the NumPy
        batches themselves -- ``jit`` puts them on that device as part of the
        call (on the CPU without a copy), while a ``device_put`` per step cost
        about a millisecond (a 3 MB copy) on this machine, ~8 % of an MNIST
        step.
        """
        if self.count == 1:
            return numpy_batches
        return map(self.shard_batch, numpy_batches)

    def shard_axis(self, tree: Any, axis: int) -> Any:
        """Every array split along ``axis`` (e.g. axis 1 of stacked eval batches)."""
        spec = PartitionSpec(*([None] * axis), AXIS)
        return jax.device_put(tree, NamedSharding(self.mesh, spec))

    def facts(self) -> dict[str, Any]:
        """metadata.json's ``devices.*`` and ``distributed.*`` keys (one process drives all)."""
        return {
            'devices.count': self.count,
            'devices.kind': self.kind,
            'distributed.world_size': 1,
            'distributed.backend': 'none',
        }


class MeshWorkload:
    """Mixin for JAX workloads: the mesh their trials run on and ``use_devices``.

    Put it before the workload's base class; the workload places parameters
    with ``self.mesh.replicate``, batches with ``self.mesh.batches`` and eval
    arrays with ``self.mesh.shard_axis``; its cached eval arrays
    (``_eval_device``) are dropped when the mesh changes.
    """

    _mesh: DeviceMesh | None = None
    _eval_device: Any = None

    @property
    def mesh(self) -> DeviceMesh:
        """The devices the trials run on (every visible one unless :meth:`use_devices` chose)."""
        if self._mesh is None:
            self._mesh = DeviceMesh.create(select_devices(None))
        return self._mesh

    def use_devices(self, num_devices: int | None, processes: Any = None) -> dict[str, Any]:
        if processes is not None and processes.world_size > 1:
            raise UsageError(
                'JAX drives every device from one process: start the runner without torchrun '
                'and choose the devices with --num_devices'
            )
        self._mesh = DeviceMesh.create(select_devices(num_devices))
        self._eval_device = None  # placed again on the new mesh
        return self._mesh.facts()

    @property
    def device_count(self) -> int:
        return self.mesh.count

    def place_eval(self, arrays: Any) -> Any:
        """Stacked eval batches ``(num_batches, batch, ...)`` on the mesh: each batch split
        across the devices when it divides, else a full copy on every device."""
        batch = jax.tree_util.tree_leaves(arrays)[0].shape[1]
        if batch % self.mesh.count == 0:
            return self.mesh.shard_axis(arrays, 1)
        return self.mesh.replicate(arrays)
