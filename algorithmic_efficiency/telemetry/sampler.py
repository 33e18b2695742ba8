"""Hardware telemetry for the per-eval metrics rows (collectors only).

Each metrics row describes the *training interval since the previous eval*,
not the eval itself. The runner drives a :class:`Sampler` like this::

    with telemetry.Sampler(interval_sec=1.0) as sampler:  # start = 1st interval
        for ...:
            train_step(...)
            if time_to_eval:
                row = sampler.end_interval()  # right BEFORE the eval
                row.update(evaluate(...))
                sampler.begin_interval()      # right AFTER the eval

:func:`snapshot` gives point readings only; :func:`gpu_info` describes the
GPUs for metadata.json. All keys are flat and dotted (``mem.used``,
``gpu.0.compute.util``); a reading this machine cannot provide is an absent
key, never NaN and never an exception. Nothing here writes files, and
importing the module starts nothing (no thread, no NVML): ``pynvml`` is
imported lazily by :mod:`algorithmic_efficiency.telemetry.nvml`.

Columns (units): ``cpu.util.avg_percent_since_last`` (%, system-wide),
``cpu.util.interval_{mean,max}_percent`` (%, Sampler only),
``cpu.freq.current`` (GHz), ``temp.<sensor>.current`` (degC),
``mem.{total,available,used}`` (bytes), ``mem.percent_used`` (%),
``disk.{read,write}_bytes_since_boot``, ``net.bytes_{sent,recv}_since_boot``,
``proc.rss_bytes`` (bytes), ``proc.cpu.avg_percent_since_last`` (% of one
core), ``proc.num_threads``, ``gpu.count``; per visible GPU ``i``:
``gpu.<i>.compute.util`` and ``gpu.<i>.mem.util`` (fractions 0-1),
``gpu.<i>.mem.{total,used,free}`` (MiB), ``gpu.<i>.temp.current`` (degC),
``gpu.<i>.power.current_watts`` (W); Sampler only:
``gpu.<i>.compute.util.interval_{mean,max}``,
``gpu.<i>.power.interval_{mean,max}_watts``, ``gpu.<i>.energy.trial_joules``
(J since start()); ``gpu.avg.<metric>`` for each of those and
``gpu.total.{power.current_watts,energy.trial_joules}``.

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
from typing import Any

import psutil

from algorithmic_efficiency.telemetry import nvml as _gpu
from algorithmic_efficiency.telemetry.nvml import (
    _reset_nvml_for_tests,  # noqa: F401  (for tests)
    gpu_info,
)

__all__ = ['Sampler', 'gpu_info', 'snapshot']

_log = logging.getLogger(__name__)
_SENSOR_UNSAFE = re.compile(r'[^A-Za-z0-9_-]')

_proc: psutil.Process | None = None  # Recreated after a fork (pid changes).
_snap_lock = threading.Lock()
_snap_prev: tuple | None = None  # (pid, cpu reading, process reading).


@contextlib.contextmanager
def _best_effort(what: str):
    """Turns any error of one reader into absent keys (logged at debug)."""
    try:
        yield
    except Exception as e:  # noqa: BLE001  (telemetry must never raise)
        _log.debug('telemetry: %s unavailable: %s', what, e)


def _read_cpu() -> tuple[float, float] | None:
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


def _cpu_percent(prev, cur) -> float | None:
    """Busy share between two _read_cpu() readings; None if no tick elapsed."""
    if prev is None or cur is None or cur[1] - prev[1] <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * (cur[0] - prev[0]) / (cur[1] - prev[1])))


def _proc_percent(prev, cur) -> float | None:
    """Process CPU % (may exceed 100 on several cores) between two readings."""
    if prev is None or cur is None or cur[1] - prev[1] <= 0:
        return None
    return max(0.0, 100.0 * (cur[0] - prev[0]) / (cur[1] - prev[1]))


def _process() -> psutil.Process:
    global _proc
    if _proc is None or _proc.pid != os.getpid():
        _proc = psutil.Process()
    return _proc


def _read_proc_cpu() -> tuple[float, float] | None:
    """(user + system CPU seconds of this process, monotonic time)."""
    try:
        t = _process().cpu_times()
        return t.user + t.system, time.monotonic()
    except Exception:  # noqa: BLE001
        return None


def _read_point(row: dict) -> tuple[float, float] | None:
    """Adds the psutil point readings to ``row``; returns the process CPU.

    Every source is guarded separately so one failing reader (a container
    hiding /sys, a platform without sensors) only drops its own keys.
    """
    with _best_effort('cpu_freq'):
        freq = psutil.cpu_freq()
        if freq is not None and freq.current:
            row['cpu.freq.current'] = freq.current / 1000.0
    sensors = getattr(psutil, 'sensors_temperatures', None)  # Linux/BSD only.
    if sensors is not None:
        with _best_effort('sensors_temperatures'):
            for name, entries in sensors().items():
                values = [e.current for e in entries if e.current is not None]
                if values:
                    key = f'temp.{_SENSOR_UNSAFE.sub("_", name)}.current'
                    row[key] = float(max(values + [row.get(key, -math.inf)]))
    with _best_effort('virtual_memory'):
        vm = psutil.virtual_memory()
        row['mem.total'] = vm.total
        row['mem.available'] = vm.available
        row['mem.used'] = vm.used
        row['mem.percent_used'] = float(vm.percent)
    with _best_effort('disk_io_counters'):
        disk = psutil.disk_io_counters()
        if disk is not None:
            row['disk.read_bytes_since_boot'] = disk.read_bytes
            row['disk.write_bytes_since_boot'] = disk.write_bytes
    with _best_effort('net_io_counters'):
        net = psutil.net_io_counters()
        if net is not None:
            row['net.bytes_sent_since_boot'] = net.bytes_sent
            row['net.bytes_recv_since_boot'] = net.bytes_recv
    with _best_effort('process'):
        proc = _process()
        with proc.oneshot():  # One /proc read for all three.
            row['proc.rss_bytes'] = proc.memory_info().rss
            row['proc.num_threads'] = proc.num_threads()
            t = proc.cpu_times()
        return t.user + t.system, time.monotonic()
    return None


def _finite(row: dict) -> dict[str, float]:
    """Drops NaN/inf so a broken reading is an absent key, never NaN."""
    return {k: v for k, v in row.items()
            if not (isinstance(v, float) and not math.isfinite(v))}


def snapshot() -> dict[str, float]:
    """Point-in-time readings with flat dotted keys; never raises.

    ``cpu.util.avg_percent_since_last`` and ``proc.cpu.avg_percent_since_last``
    cover the time since the previous snapshot() call in this process and are
    absent on the first call. No interval statistics (see :class:`Sampler`).
    """
    global _snap_prev
    try:
        row: dict[str, Any] = {}
        cpu = _read_cpu()
        proc = _read_point(row)
        pid = os.getpid()
        with _snap_lock:
            prev, _snap_prev = _snap_prev, (pid, cpu, proc)
        if prev is not None and prev[0] == pid:
            for key, value in (
                    ('cpu.util.avg_percent_since_last', _cpu_percent(prev[1], cpu)),
                    ('proc.cpu.avg_percent_since_last',
                     _proc_percent(prev[2], proc))):
                if value is not None:
                    row[key] = value
        nvml = _gpu.get_nvml()
        handles = _gpu.visible_devices(nvml) if nvml is not None else []
        row['gpu.count'] = len(handles)
        if handles:
            _gpu.add_aggregates(row, _gpu.read_devices(nvml, handles))
        return _finite(row)
    except Exception:  # noqa: BLE001  (never take a training run down)
        _log.exception('telemetry.snapshot failed')
        return {'gpu.count': 0}


class _Stat:
    """Running count / mean / max of one sampled series."""

    __slots__ = ('max', 'n', 'total')

    def __init__(self):
        self.n, self.total, self.max = 0, 0.0, -math.inf

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.max = max(self.max, value)


class Sampler:
    """Samples CPU and GPU load in a daemon thread between evals.

    The thread wakes every ``interval_sec`` and reads only
    ``psutil.cpu_times()`` and, per visible GPU, NVML utilisation and power,
    which keeps it far below 1 % of a core at 1 Hz. Everything else is read
    once per row in :meth:`end_interval`. Interval statistics cover
    begin_interval() .. end_interval(); ``energy.trial_joules`` covers the
    whole trial since start(), evals included.

    The thread and the caller share the accumulators under one lock; the
    (slow) reads happen outside it and only the folding in happens inside.

    Args:
        interval_sec: Seconds between the thread's samples (> 0).
    """

    def __init__(self, interval_sec: float = 1.0):
        if not interval_sec > 0:
            raise ValueError(f'interval_sec must be > 0, got {interval_sec!r}')
        self._interval = float(interval_sec)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu_done = 0.0  # Thread CPU seconds of previous start/stop runs.
        self._cpu_live = 0.0  # time.thread_time() of the running thread.
        self._n_samples = 0  # Thread samples taken (for the benchmark).
        self._nvml: Any = None
        self._handles: list = []
        self._set_up = False  # Devices resolved and energy baselines taken.
        # Interval state (guarded by _lock); begin_interval() resets it and
        # bumps _gen so a thread sample straddling the reset is dropped.
        self._gen = 0
        self._cpu0 = self._proc0 = self._last_cpu = None
        self._cpu_stat = _Stat()
        self._gpu_stats: list[dict[str, _Stat]] = []
        # Trial state: per-GPU energy, {'base_mj'} (counter) or
        # {'joules', 'last': (t, watts)} (power integration fallback).
        self._energy: list[dict] = []

    @property
    def cpu_seconds(self) -> float:
        """CPU time used by the sampler thread itself (its thread_time())."""
        return self._cpu_done + self._cpu_live

    def start(self) -> Sampler:
        """Starts the sampling thread and records the trial baselines."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._set_up_trial()
        self.begin_interval()
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=self._run, name='telemetry-sampler', daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops and joins the thread; calling it again does nothing."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop_event.set()
        # The wait is an Event, so this returns at once unless an NVML call
        # hangs; the thread is a daemon, so that cannot block process exit.
        thread.join(timeout=10.0)
        if thread.is_alive():
            _log.warning('telemetry sampler thread did not stop within 10 s')
        self._cpu_done += self._cpu_live
        self._cpu_live = 0.0

    def __enter__(self) -> Sampler:  # noqa: PYI034  (typing.Self is 3.11+)
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _set_up_trial(self) -> None:
        """Resolves the visible GPUs and takes the trial energy baselines."""
        nvml = _gpu.get_nvml()
        handles = _gpu.visible_devices(nvml) if nvml is not None else []
        self._nvml, self._handles = nvml, handles
        self._energy = [self._energy_baseline(i, h)
                        for i, h in enumerate(handles)]
        self._set_up = True

    def _energy_baseline(self, i: int, handle: Any) -> dict:
        try:
            mj = _gpu.energy_millijoules(self._nvml, handle)
            if mj is not None:
                return {'base_mj': mj}
        except Exception as e:  # noqa: BLE001  (any NVML error: integrate)
            _gpu.warn_once(i, e)
        state = {'joules': 0.0, 'last': None}
        # If this fails, the first successful sample becomes the start point.
        with _best_effort('GPU power at start'):
            watts = _gpu.read_device(self._nvml, handle, full=False).get(
                'power.current_watts')
            if watts is not None:
                state['last'] = (time.monotonic(), watts)
        return state

    def begin_interval(self) -> None:
        """Marks the start of a training interval (call right after an eval)."""
        if not self._set_up:  # Used without start(): still report GPUs.
            self._set_up_trial()
        cpu, proc, now = _read_cpu(), _read_proc_cpu(), time.monotonic()
        with self._lock:
            self._gen += 1
            self._cpu0, self._proc0 = cpu, proc
            self._last_cpu = (cpu, now) if cpu is not None else None
            self._cpu_stat = _Stat()
            self._gpu_stats = [
                {'compute.util': _Stat(), 'power.current_watts': _Stat()}
                for _ in self._handles
            ]

    def _fold(self, cpu, now: float, gpus: list, closing: bool) -> None:
        """Adds one sample to the accumulators; caller holds the lock."""
        last = self._last_cpu
        # The closing sample of end_interval() may cover only a sliver of time
        # (a few clock ticks: a noisy 0 or 100 %); use it only when it is the
        # interval's sole CPU sample or spans at least half a period.
        use_cpu = (cpu is not None and last is not None and now > last[1] and
                   (not closing or self._cpu_stat.n == 0 or
                    now - last[1] >= 0.5 * self._interval))
        pct = _cpu_percent(last[0], cpu) if use_cpu else None
        if pct is not None:  # None: no clock tick yet, keep the baseline.
            self._cpu_stat.add(pct)
            self._last_cpu = (cpu, now)
        for stats, reading in zip(self._gpu_stats, gpus, strict=False):
            for metric, stat in stats.items():
                if reading is not None and metric in reading:
                    stat.add(reading[metric])

    def _integrate_energy(self, gpus: list, now: float) -> None:
        """Trapezoid power integration for GPUs without an energy counter."""
        for state, reading in zip(self._energy, gpus, strict=False):
            watts = (reading or {}).get('power.current_watts')
            if 'joules' not in state or watts is None:
                continue
            last = state['last']
            if last is not None:
                if now <= last[0]:
                    continue  # Out of order (thread vs end_interval): skip.
                state['joules'] += 0.5 * (last[1] + watts) * (now - last[0])
            state['last'] = (now, watts)

    def _sample(self) -> None:
        with self._lock:
            gen = self._gen
        cpu, now = _read_cpu(), time.monotonic()
        gpus = (_gpu.read_devices(self._nvml, self._handles, full=False)
                if self._handles else [])
        with self._lock:
            if gen == self._gen:
                self._fold(cpu, now, gpus, closing=False)
            self._integrate_energy(gpus, now)
            self._n_samples += 1

    def _run(self) -> None:
        deadline = time.monotonic()
        try:
            while True:
                deadline += self._interval
                delay = deadline - time.monotonic()
                if delay < 0:  # Fell behind (suspend, overload): no burst.
                    deadline, delay = time.monotonic(), 0.0
                if self._stop_event.wait(delay):
                    return
                try:
                    self._sample()
                except Exception:  # noqa: BLE001  (keep sampling regardless)
                    _log.exception('telemetry sampler: sample failed')
                self._cpu_live = time.thread_time()
        finally:
            self._cpu_live = time.thread_time()

    def end_interval(self) -> dict[str, float]:
        """Returns the row's telemetry (call right BEFORE an eval).

        A fresh snapshot plus statistics over the samples taken since
        :meth:`begin_interval` (or :meth:`start`), including one taken now so
        an interval shorter than ``interval_sec`` still has data. The
        accumulators are not reset here: call begin_interval() after the eval.
        Never raises.
        """
        try:
            return self._end_interval()
        except Exception:  # noqa: BLE001  (never take a training run down)
            _log.exception('telemetry end_interval failed')
            return {'gpu.count': len(self._handles)}

    def _end_interval(self) -> dict[str, float]:
        if not self._set_up:
            self.begin_interval()  # Without start(): point readings only.
        row: dict[str, Any] = {}
        cpu = _read_cpu()
        proc = _read_point(row)
        gpus = []
        if self._handles:
            gpus = _gpu.read_devices(
                self._nvml, self._handles,
                energy=['base_mj' in s for s in self._energy])
        now = time.monotonic()
        with self._lock:
            self._fold(cpu, now, gpus, closing=True)
            self._integrate_energy(gpus, now)
            cpu0, proc0, cpu_stat = self._cpu0, self._proc0, self._cpu_stat
            gpu_stats = [{m: (s.n, s.total, s.max) for m, s in d.items()}
                         for d in self._gpu_stats]
            joules = [s['joules'] if s.get('last') else None
                      for s in self._energy]
            cpu_n, cpu_total, cpu_max = cpu_stat.n, cpu_stat.total, cpu_stat.max
        # These keys are always present in a Sampler row, None (an empty CSV
        # field) when an interval was too short to measure (no clock tick,
        # e.g. one cached step): a column that came and went would make the
        # CSV header depend on timing.
        row['cpu.util.avg_percent_since_last'] = _cpu_percent(cpu0, cpu)
        row['proc.cpu.avg_percent_since_last'] = _proc_percent(proc0, proc)
        row['cpu.util.interval_mean_percent'] = cpu_total / cpu_n if cpu_n else None
        row['cpu.util.interval_max_percent'] = cpu_max if cpu_n else None
        row['gpu.count'] = len(self._handles)
        names = {'compute.util': ('compute.util.interval_mean',
                                  'compute.util.interval_max'),
                 'power.current_watts': ('power.interval_mean_watts',
                                         'power.interval_max_watts')}
        for i, reading in enumerate(gpus):
            if reading is None:
                continue  # Errored in this row: all its keys are absent.
            for metric, (n, total, peak) in gpu_stats[i].items():
                if n:
                    reading[names[metric][0]] = total / n
                    reading[names[metric][1]] = peak
            if '_energy_mj' in reading:
                delta = reading['_energy_mj'] - self._energy[i]['base_mj']
                if delta >= 0:  # A driver reload resets the counter.
                    reading['energy.trial_joules'] = delta / 1000.0
            elif joules[i] is not None:
                reading['energy.trial_joules'] = joules[i]
        _gpu.add_aggregates(row, gpus)
        return _finite(row)
