"""Point readings of the machine with psutil (and NVML), as flat dotted keys.

:func:`snapshot` gives one row of readings; the background
:class:`~algorithmic_efficiency.telemetry.sampler.Sampler` builds its interval
statistics from the same readers. A reading this machine cannot provide is an
absent key, never NaN and never an exception. Nothing here writes files, and
importing the module starts nothing (no thread, no NVML): ``pynvml`` is
imported lazily by :mod:`algorithmic_efficiency.telemetry.nvml`.

Keys (units): ``cpu.util.avg_percent_since_last`` (%, system-wide),
``cpu.freq.current`` (GHz), ``temp.<sensor>.current`` (degC),
``mem.{total,available,used}`` (bytes), ``mem.percent_used`` (%),
``disk.{read,write}_bytes_since_boot``, ``net.bytes_{sent,recv}_since_boot``,
``proc.rss_bytes`` (bytes), ``proc.cpu.avg_percent_since_last`` (% of one
core), ``proc.num_threads``, ``gpu.count``; per visible GPU ``i``:
``gpu.<i>.compute.util`` and ``gpu.<i>.mem.util`` (fractions 0-1),
``gpu.<i>.mem.{total,used,free}`` (MiB), ``gpu.<i>.temp.current`` (degC),
``gpu.<i>.power.current_watts`` (W); ``gpu.avg.<metric>`` for each of those
and ``gpu.total.power.current_watts``.

System CPU % comes from ``psutil.cpu_times()`` deltas rather than
``psutil.cpu_percent()``, whose first call in a process reads a meaningless
value and whose baseline is shared with any other caller.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from algorithmic_efficiency.telemetry import nvml as _gpu

_log = logging.getLogger(__name__)
_SENSOR_UNSAFE = re.compile(r'[^A-Za-z0-9_-]')

Clock = Callable[[], float]  # monotonic seconds

_proc: psutil.Process | None = None  # Recreated after a fork (pid changes).
_snap_lock = threading.Lock()
_snap_prev: tuple | None = None  # (pid, cpu reading, process reading).


@contextlib.contextmanager
def best_effort(what: str):
    """Turns any error of one reader into absent keys (logged at debug)."""
    try:
        yield
    except Exception as e:  # noqa: BLE001  (telemetry must never raise)
        _log.debug('telemetry: %s unavailable: %s', what, e)


def read_cpu() -> tuple[float, float] | None:
    """System-wide (busy, total) CPU seconds summed over all cores."""
    try:
        t = psutil.cpu_times()
    except Exception:  # noqa: BLE001
        return None
    # Linux also counts guest time inside user/nice; drop it from the total
    # so it is not counted twice (psutil's own cpu_percent does the same).
    total = sum(t) - getattr(t, 'guest', 0.0) - getattr(t, 'guest_nice', 0.0)
    idle = t.idle + getattr(t, 'iowait', 0.0)
    return total - idle, total


def cpu_percent(prev, cur) -> float | None:
    """Busy share between two read_cpu() readings; None if no tick elapsed."""
    if prev is None or cur is None or cur[1] - prev[1] <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * (cur[0] - prev[0]) / (cur[1] - prev[1])))


def proc_percent(prev, cur) -> float | None:
    """Process CPU % (may exceed 100 on several cores) between two readings."""
    if prev is None or cur is None or cur[1] - prev[1] <= 0:
        return None
    return max(0.0, 100.0 * (cur[0] - prev[0]) / (cur[1] - prev[1]))


def _process() -> psutil.Process:
    global _proc
    if _proc is None or _proc.pid != os.getpid():
        _proc = psutil.Process()
    return _proc


def read_proc_cpu(clock: Clock = time.monotonic) -> tuple[float, float] | None:
    """(user + system CPU seconds of this process, `clock()`)."""
    try:
        t = _process().cpu_times()
        return t.user + t.system, clock()
    except Exception:  # noqa: BLE001
        return None


def read_point(row: dict, clock: Clock = time.monotonic) -> tuple[float, float] | None:
    """Adds the psutil point readings to ``row``; returns the process CPU (as read_proc_cpu).

    Every source is guarded separately so one failing reader (a container
    hiding /sys, a platform without sensors) only drops its own keys.
    """
    with best_effort('cpu_freq'):
        freq = psutil.cpu_freq()
        if freq is not None and freq.current:
            row['cpu.freq.current'] = freq.current / 1000.0
    sensors = getattr(psutil, 'sensors_temperatures', None)  # Linux/BSD only.
    if sensors is not None:
        with best_effort('sensors_temperatures'):
            for name, entries in sensors().items():
                values = [e.current for e in entries if e.current is not None]
                if values:
                    key = f'temp.{_SENSOR_UNSAFE.sub("_", name)}.current'
                    row[key] = float(max(values + [row.get(key, -math.inf)]))
    with best_effort('virtual_memory'):
        vm = psutil.virtual_memory()
        row['mem.total'] = vm.total
        row['mem.available'] = vm.available
        row['mem.used'] = vm.used
        row['mem.percent_used'] = float(vm.percent)
    with best_effort('disk_io_counters'):
        disk = psutil.disk_io_counters()
        if disk is not None:
            row['disk.read_bytes_since_boot'] = disk.read_bytes
            row['disk.write_bytes_since_boot'] = disk.write_bytes
    with best_effort('net_io_counters'):
        net = psutil.net_io_counters()
        if net is not None:
            row['net.bytes_sent_since_boot'] = net.bytes_sent
            row['net.bytes_recv_since_boot'] = net.bytes_recv
    with best_effort('process'):
        proc = _process()
        with proc.oneshot():  # One /proc read for all three.
            row['proc.rss_bytes'] = proc.memory_info().rss
            row['proc.num_threads'] = proc.num_threads()
            t = proc.cpu_times()
        return t.user + t.system, clock()
    return None


def finite_only(row: dict) -> dict[str, float]:
    """Drops NaN/inf so a broken reading is an absent key, never NaN."""
    return {k: v for k, v in row.items() if not (isinstance(v, float) and not math.isfinite(v))}


def snapshot() -> dict[str, float]:
    """Point-in-time readings with flat dotted keys; never raises.

    ``cpu.util.avg_percent_since_last`` and ``proc.cpu.avg_percent_since_last``
    cover the time since the previous snapshot() call in this process and are
    absent on the first call. No interval statistics (see the Sampler).
    """
    global _snap_prev
    try:
        row: dict[str, Any] = {}
        cpu = read_cpu()
        proc = read_point(row)
        pid = os.getpid()
        with _snap_lock:
            prev, _snap_prev = _snap_prev, (pid, cpu, proc)
        if prev is not None and prev[0] == pid:
            for key, value in (
                ('cpu.util.avg_percent_since_last', cpu_percent(prev[1], cpu)),
                ('proc.cpu.avg_percent_since_last', proc_percent(prev[2], proc)),
            ):
                if value is not None:
                    row[key] = value
        nvml = _gpu.get_nvml()
        handles = _gpu.visible_devices(nvml) if nvml is not None else []
        row['gpu.count'] = len(handles)
        if handles:
            _gpu.add_aggregates(row, _gpu.read_devices(nvml, handles))
        return finite_only(row)
    except Exception:  # noqa: BLE001  (never take a training run down)
        _log.exception('telemetry.snapshot failed')
        return {'gpu.count': 0}
