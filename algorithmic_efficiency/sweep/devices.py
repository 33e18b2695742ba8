"""The run's processes and devices, from the sweep's side: ``torchrun`` or one process.

See README "Multiple devices" and ``training.processes`` (how the processes
agree once joined).
"""

from __future__ import annotations

import os
from typing import Any

from algorithmic_efficiency.sweep.config import CheckedInputs, UsageError
from algorithmic_efficiency.training import submission_api


def join_processes(inputs: CheckedInputs) -> Any:
    """The run's processes: ``torchrun``'s, joined (PyTorch), else this one alone."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.training import processes

    world_size = launched_world_size(os.environ)
    if world_size <= 1:
        return processes.SingleProcess()
    if inputs.framework != 'pytorch':
        raise UsageError(
            f'torchrun started {world_size} processes, but JAX drives every device from one '
            'process: run the runner with python, and choose devices with --num_devices'
        )
    if inputs.ray is not None:
        raise UsageError(
            '--ray_address runs each trial in a Ray actor of its own; start the runner '
            'with python, not torchrun'
        )
    from algorithmic_efficiency.workloads import pytorch_dist  # torch: this run's anyway

    return pytorch_dist.TorchProcesses()


def launched_world_size(environ: Any) -> int:
    """The process count ``torchrun`` announced in ``WORLD_SIZE`` (1 when not started by it)."""
    try:
        return int(environ.get('WORLD_SIZE', '1'))
    except ValueError:
        return 1


def check_batch_size(submission: Any, workload_name: str, device_count: int) -> None:
    """The global batch must split evenly over the devices (one line, before any trial)."""
    if device_count <= 1:
        return
    try:
        batch_size = submission_api.batch_size(submission, workload_name)
    except Exception:  # noqa: BLE001  (the trial reports the submission's own failure)
        return
    if batch_size % device_count:
        raise UsageError(
            f'the submission\'s global batch size {batch_size} does not divide by the '
            f'{device_count} devices; use a multiple of {device_count} or set --num_devices'
        )
