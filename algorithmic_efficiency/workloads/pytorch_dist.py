"""PyTorch data-parallel over processes started by ``torchrun``: DDP, one device per process.

``torchrun --standalone --nproc_per_node=N algorithmic_efficiency/submission_runner.py ...``
starts N processes and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address; :class:`TorchProcesses` joins them with
``nccl`` on CUDA and ``gloo`` on the CPU (the peer hard-codes ``nccl``, so
its path can't run without GPUs). Workloads wrap their model in
``DistributedDataParallel`` (:func:`wrap_model`) and each process reads its
own shard of every global batch (:func:`shard_slice`).

Every trial gets *new* communicators (:meth:`TorchProcesses.begin_trial`),
dropped when it ends. When one process raises, it lets go of them at once;
gloo then closes its sockets and a peer blocked in a collective of the trial
fails within milliseconds ("Connection reset by peer") instead of hanging.
The trial fails everywhere and the sweep goes on over the long-lived default
group, which no trial uses. ``timeout_sec`` bounds the rest (a process stuck,
not failed). For NCCL the communicators are aborted (``ProcessGroup.abort``).

Imports torch: only PyTorch code imports this module.
"""

from __future__ import annotations

import datetime
import gc
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from algorithmic_efficiency.errors import AEError, UsageError
from algorithmic_efficiency.workloads import pytorch_utils

T = TypeVar('T')
DEFAULT_TIMEOUT_SEC = 600.0  # a collective no peer joins fails after this (a stuck process)


def shard_slice(global_batch_size: int, rank: int, world_size: int) -> slice:
    """Rank ``rank``'s rows of a global batch (contiguous, equal sizes).

    Raises:
      UsageError: one line unless the batch divides by the process count.
    """
    if global_batch_size % world_size:
        raise UsageError(
            f'the global batch size {global_batch_size} does not divide by the {world_size} '
            f'processes; choose a multiple of {world_size} or start fewer with torchrun'
        )
    per_rank = global_batch_size // world_size
    return slice(rank * per_rank, (rank + 1) * per_rank)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP (names without ``module.``, forward without collectives)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


class TorchProcesses:
    """The ``torchrun`` processes of a PyTorch run, one device each.

    Implements ``training.processes.SingleProcess``'s interface with
    ``torch.distributed`` collectives.

    Args:
      timeout_sec: how long a collective waits for a process that never joins.
    """

    def __init__(self, timeout_sec: float = DEFAULT_TIMEOUT_SEC):
        self._timeout = datetime.timedelta(seconds=timeout_sec)
        self.backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        local_rank = int(os.environ.get('LOCAL_RANK', '0'))
        if self.backend == 'nccl':
            self.device = torch.device('cuda', local_rank % torch.cuda.device_count())
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device('cpu')
        # The long-lived group: only between trials (setup, outcomes).
        dist.init_process_group(self.backend, timeout=self._timeout)
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        # Small host-side messages (clock readings, outcomes) go over gloo
        # even on GPUs: a CUDA tensor there would synchronise the device.
        self._host = dist.new_group(backend='gloo', timeout=self._timeout)
        self.trial_group: Any = None  # the trial's DDP communicator
        self._trial_host: Any = None  # the trial's host-side one

    # --- Agreement.
    def agree_max(self, values: Sequence[float]) -> list[float]:
        group = self._trial_host or self._host
        tensor = torch.tensor(list(values), dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)
        return tensor.tolist()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sums ``tensor`` over the processes in place (the trial's communicator)."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=self.trial_group)
        return tensor

    def share(self, compute: Callable[[], T]) -> T:
        payload: list[Any] = [None]
        error: BaseException | None = None
        if self.rank == 0:
            try:
                payload[0] = ('ok', compute())
            except Exception as e:  # pylint: disable=broad-except  # told to all, then raised
                error = e
                # Bad input (and an OS error) in rank 0's own words; a bug with its type.
                kind = 'bad_input' if isinstance(e, AEError) else 'error'
                one_line = isinstance(e, (AEError, OSError))
                payload[0] = (kind, str(e) if one_line else f'rank 0 failed: {e!r}')
        dist.broadcast_object_list(payload, src=0, group=self._host)
        kind, value = payload[0]
        if error is not None:
            raise error
        if kind == 'bad_input':
            raise AEError(value)
        if kind == 'error':
            raise RuntimeError(value)
        return value

    # --- Trials.
    def begin_trial(self) -> None:
        self.trial_group = dist.new_group(backend=self.backend, timeout=self._timeout)
        self._trial_host = (
            self.trial_group
            if self.backend == 'gloo'
            else dist.new_group(backend='gloo', timeout=self._timeout)
        )

    def end_trial(self, outcome: dict[str, Any]) -> list[dict[str, Any]]:
        self._release_trial_groups(abort=bool(outcome.get('failed')))
        outcomes: list[Any] = [None] * self.world_size
        dist.all_gather_object(outcomes, outcome, group=self._host)
        return outcomes

    def _release_trial_groups(self, abort: bool) -> None:
        groups = [g for g in (self.trial_group, self._trial_host) if g is not None]
        self.trial_group = self._trial_host = None
        gc.collect()  # the trial's model (DDP holds the group) and cycles go first
        for group in dict.fromkeys(groups):  # once each (gloo: the same group twice)
            if abort and self.backend == 'nccl':
                group.abort()  # unblocks NCCL kernels waiting for a peer that failed
            dist.destroy_process_group(group)
        del groups
        gc.collect()  # the last references: gloo closes its sockets here
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()  # the next trial starts with the memory free

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()

    def facts(self) -> dict[str, Any]:
        """metadata.json's ``devices.*`` and ``distributed.*`` keys."""
        kind = torch.cuda.get_device_name(self.device) if self.device.type == 'cuda' else 'cpu'
        return {
            'devices.count': self.world_size,
            'devices.kind': kind,
            'distributed.world_size': self.world_size,
            'distributed.backend': self.backend,
        }


def wrap_model(model: nn.Module, processes: TorchProcesses | None) -> nn.Module:
    """``model`` in DDP over the trial's communicator (unchanged for one process)."""
    if processes is None:
        return model
    if processes.trial_group is None:
        raise RuntimeError('TorchProcesses.begin_trial() must run before the model is built')
    device_ids = [processes.device.index] if processes.device.type == 'cuda' else None
    return DistributedDataParallel(
        model, device_ids=device_ids, process_group=processes.trial_group
    )


class ProcessesWorkload:
    """Mixin for PyTorch workloads: their processes, device, ``use_devices``, sync and memory.

    Put it before the workload's base class; the workload wraps its model with
    ``wrap_model(model, self._processes)`` and sets ``self.device``; its cached
    eval tensors (``_eval_device``) are dropped when the device changes.
    """

    _processes: TorchProcesses | None = None
    _eval_device: Any = None
    device: torch.device

    def use_devices(self, num_devices: int | None, processes: Any = None) -> dict[str, Any]:
        self._processes, self.device, facts = use_devices(self.device, num_devices, processes)
        self._eval_device = None  # copied again to the new device
        return facts

    @property
    def device_count(self) -> int:
        return self._processes.world_size if self._processes else 1

    def sync_device(self, params: nn.Module) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def memory_stats(self) -> dict[str, int]:
        return pytorch_utils.memory_stats(self.device)

    @property
    def device_kind(self) -> str:
        """``cpu``, or the CUDA device's name (metadata.json's ``devices.kind``)."""
        return torch.cuda.get_device_name(self.device) if self.device.type == 'cuda' else 'cpu'

    def batch_rows(self, global_batch_size: int) -> slice:
        """This process's rows of every global training batch (all of them for one process)."""
        p = self._processes
        return shard_slice(global_batch_size, p.rank, p.world_size) if p else slice(None)

    @property
    def eval_rows(self) -> slice:
        """This process's share of every eval batch (every ``world_size``-th row from its rank)."""
        p = self._processes
        return slice(p.rank, None, p.world_size) if p else slice(None)


def use_devices(
    device: torch.device, num_devices: int | None, processes: Any
) -> tuple[TorchProcesses | None, torch.device, dict[str, Any]]:
    """A PyTorch workload's ``use_devices``: its processes (``None``: one), device and facts.

    Raises:
      UsageError: one line when ``--num_devices`` is not the process count.
    """
    world_size = getattr(processes, 'world_size', 1)
    if num_devices is not None and num_devices != world_size:
        raise UsageError(
            f'--num_devices={num_devices} but this PyTorch run has {world_size} '
            'process(es) with one device each; start N with torchrun --standalone '
            '--nproc_per_node=N, or leave out --num_devices'
        )
    if world_size > 1:
        return processes, processes.device, processes.facts()
    kind = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    facts = {
        'devices.count': 1,
        'devices.kind': kind,
        'distributed.world_size': 1,
        'distributed.backend': 'none',
    }
    return None, device, facts
