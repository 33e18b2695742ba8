"""The background telemetry ``Sampler``: interval statistics between evals.

Each metrics row describes the *training interval since the previous eval*,
not the eval itself. The runner drives a :class:`Sampler` like this::

    with telemetry.Sampler(interval_sec=1.0) as sampler:  # start = 1st interval
        for ...:
            train_step(...)
            if time_to_eval:
                row = sampler.end_interval()  # right BEFORE the eval
                row.update(evaluate(...))
                sampler.begin_interval()      # right AFTER the eval

A row holds the point readings of :mod:`.readings` (taken at
:meth:`Sampler.end_interval`) plus, over the interval's samples:
``cpu.util.interval_{mean,max}_percent`` (%),
``gpu.<i>.compute.util.interval_{mean,max}``,
``gpu.<i>.power.interval_{mean,max}_watts``, ``gpu.<i>.energy.trial_joules``
(J since start()), and their ``gpu.avg.*`` / ``gpu.total.*`` aggregates.

The sampler's clock and its wait between samples are injectable, so tests
drive it without sleeping. :func:`snapshot` and :func:`gpu_info` (for
metadata.json) are importable from here too, as before.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from algorithmic_efficiency.telemetry import nvml as _gpu
from algorithmic_efficiency.telemetry import readings
from algorithmic_efficiency.telemetry.nvml import (
    _reset_nvml_for_tests,  # noqa: F401  (for tests)
    gpu_info,
)
from algorithmic_efficiency.telemetry.readings import snapshot

__all__ = ['Sampler', 'gpu_info', 'snapshot']

_log = logging.getLogger(__name__)


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
        clock: Monotonic seconds: sample times, power integration, process
            CPU %. Default ``time.monotonic``.
        wait: ``wait(timeout) -> bool``: blocks up to `timeout` seconds
            between samples and returns True to stop the thread (it also stops
            once :meth:`stop` was called). Default: wait on the stop event.
    """

    def __init__(
        self,
        interval_sec: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ):
        if not interval_sec > 0:
            raise ValueError(f'interval_sec must be > 0, got {interval_sec!r}')
        self._interval = float(interval_sec)
        self._clock = clock
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._wait = wait or self._stop_event.wait
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
        self._thread = threading.Thread(target=self._run, name='telemetry-sampler', daemon=True)
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
        self._energy = [self._energy_baseline(i, h) for i, h in enumerate(handles)]
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
        with readings.best_effort('GPU power at start'):
            watts = _gpu.read_device(self._nvml, handle, full=False).get('power.current_watts')
            if watts is not None:
                state['last'] = (self._clock(), watts)
        return state

    def begin_interval(self) -> None:
        """Marks the start of a training interval (call right after an eval)."""
        if not self._set_up:  # Used without start(): still report GPUs.
            self._set_up_trial()
        clock = self._clock
        cpu, proc, now = readings.read_cpu(), readings.read_proc_cpu(clock), clock()
        with self._lock:
            self._gen += 1
            self._cpu0, self._proc0 = cpu, proc
            self._last_cpu = (cpu, now) if cpu is not None else None
            self._cpu_stat = _Stat()
            self._gpu_stats = [
                {'compute.util': _Stat(), 'power.current_watts': _Stat()} for _ in self._handles
            ]

    def _fold(self, cpu, now: float, gpus: list, closing: bool) -> None:
        """Adds one sample to the accumulators; caller holds the lock."""
        last = self._last_cpu
        # The closing sample of end_interval() may cover only a sliver of time
        # (a few clock ticks: a noisy 0 or 100 %); use it only when it is the
        # interval's sole CPU sample or spans at least half a period.
        use_cpu = (
            cpu is not None
            and last is not None
            and now > last[1]
            and (not closing or self._cpu_stat.n == 0 or now - last[1] >= 0.5 * self._interval)
        )
        pct = readings.cpu_percent(last[0], cpu) if use_cpu else None
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

    def sample(self) -> None:
        """Takes one background sample (the thread calls this every ``interval_sec``)."""
        with self._lock:
            gen = self._gen
        cpu, now = readings.read_cpu(), self._clock()
        gpus = _gpu.read_devices(self._nvml, self._handles, full=False) if self._handles else []
        with self._lock:
            if gen == self._gen:
                self._fold(cpu, now, gpus, closing=False)
            self._integrate_energy(gpus, now)
            self._n_samples += 1

    def _run(self) -> None:
        clock = self._clock
        deadline = clock()
        try:
            while True:
                deadline += self._interval
                delay = deadline - clock()
                if delay < 0:  # Fell behind (suspend, overload): no burst.
                    deadline, delay = clock(), 0.0
                if self._wait(delay) or self._stop_event.is_set():
                    return
                try:
                    self.sample()
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
        cpu = readings.read_cpu()
        proc = readings.read_point(row, self._clock)
        gpus = []
        if self._handles:
            gpus = _gpu.read_devices(
                self._nvml, self._handles, energy=['base_mj' in s for s in self._energy]
            )
        now = self._clock()
        with self._lock:
            self._fold(cpu, now, gpus, closing=True)
            self._integrate_energy(gpus, now)
            cpu0, proc0, cpu_stat = self._cpu0, self._proc0, self._cpu_stat
            gpu_stats = [{m: (s.n, s.total, s.max) for m, s in d.items()} for d in self._gpu_stats]
            joules = [s['joules'] if s.get('last') else None for s in self._energy]
            cpu_n, cpu_total, cpu_max = cpu_stat.n, cpu_stat.total, cpu_stat.max
        # These keys are always present in a Sampler row, None (an empty CSV
        # field) when an interval was too short to measure (no clock tick,
        # e.g. one cached step): a column that came and went would make the
        # CSV header depend on timing.
        row['cpu.util.avg_percent_since_last'] = readings.cpu_percent(cpu0, cpu)
        row['proc.cpu.avg_percent_since_last'] = readings.proc_percent(proc0, proc)
        row['cpu.util.interval_mean_percent'] = cpu_total / cpu_n if cpu_n else None
        row['cpu.util.interval_max_percent'] = cpu_max if cpu_n else None
        row['gpu.count'] = len(self._handles)
        names = {
            'compute.util': ('compute.util.interval_mean', 'compute.util.interval_max'),
            'power.current_watts': ('power.interval_mean_watts', 'power.interval_max_watts'),
        }
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
        return readings.finite_only(row)
