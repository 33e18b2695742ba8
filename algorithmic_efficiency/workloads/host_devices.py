"""Simulated CPU devices for JAX, set in the environment before JAX's backend starts.

XLA reads ``XLA_FLAGS`` and ``PJRT_NPROC`` once, when the first JAX call
creates its CPU client, so these run in ``sweep.run`` before the submission
(which imports JAX) is loaded. Framework-free: nothing here imports JAX.

Two rules: a user's ``XLA_FLAGS`` is never replaced (a flag is *appended*,
and only if the user did not set a host device count themselves), and
nothing is set for a single device.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping

HOST_DEVICE_COUNT_FLAG = '--xla_force_host_platform_device_count'
# Threads of XLA's CPU client per simulated device. XLA's CPU all-reduce blocks
# a pool thread per device until every device arrives; with a pool of one
# thread per core (2 here) and 2 devices a step deadlocks in most runs
# (XLA aborts after 40 s). 3 threads still hung 1 run in 2; 4 per 2 devices
# ran 12 of 12 (jax 0.10.2).
THREADS_PER_DEVICE = 2


def host_device_count(environ: MutableMapping[str, str]) -> int | None:
    """The host device count set in ``XLA_FLAGS``, if any."""
    match = re.search(HOST_DEVICE_COUNT_FLAG + r'=(\d+)', environ.get('XLA_FLAGS', ''))
    return int(match.group(1)) if match else None


def prepare(environ: MutableMapping[str, str], num_devices: int | None) -> int | None:
    """Sets up ``environ`` for ``num_devices`` simulated CPU devices; returns the count in force.

    Appends ``--xla_force_host_platform_device_count`` to ``XLA_FLAGS`` when
    ``num_devices`` > 1 and the user set no count (theirs wins: a too-small one
    is reported by ``jax_sharding.select_devices``). With more than one host
    device, gives XLA's CPU client enough threads (``PJRT_NPROC``, unless the
    user set it) that its all-reduce cannot starve. Harmless on GPU or TPU
    machines: only the host (CPU) platform reads the count.
    """
    count = host_device_count(environ)
    if count is None and num_devices is not None and num_devices > 1:
        current = environ.get('XLA_FLAGS', '')
        environ['XLA_FLAGS'] = f'{current} {HOST_DEVICE_COUNT_FLAG}={num_devices}'.strip()
        count = num_devices
    if count is not None and count > 1:
        threads = max(os.cpu_count() or 1, THREADS_PER_DEVICE * count)
        environ.setdefault('PJRT_NPROC', str(threads))
    return count
