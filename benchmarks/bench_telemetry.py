"""Cost of the hardware telemetry: snapshot(), end_interval(), sampler thread.

Usage::

    python benchmarks/bench_telemetry.py [--calls 500] [--seconds 10]

Prints per-call latency (median / p90) of ``telemetry.snapshot()`` and
``Sampler.end_interval()``, and the sampler thread's own CPU use
(``Sampler.cpu_seconds`` / wall time, as % of one core) at 1 Hz and 10 Hz.
Target: at most 1 % of a core at 1 Hz.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# Runnable from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from algorithmic_efficiency.telemetry import sampler as telemetry  # pylint: disable=wrong-import-position

TARGET_PERCENT_AT_1HZ = 1.0


def _latency_ms(fn, calls: int) -> tuple[float, float, float]:
    """(median, p90) wall time and median CPU time of fn(), in milliseconds.

    The CPU time (this thread's) is shown too because on a shared machine the
    wall-time tail is mostly other processes preempting us.
    """
    fn()  # Warm-up: lazy NVML init, psutil.Process creation.
    wall, cpu = [], []
    for _ in range(calls):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
    wall.sort()
    return statistics.median(wall), wall[int(0.9 * (len(wall) - 1))], statistics.median(cpu)


def _thread_share(hz: float, seconds: float) -> tuple[float, int, float]:
    """(% of one core, samples taken, ms of CPU per sample) of the thread."""
    sampler = telemetry.Sampler(interval_sec=1.0 / hz)
    t0 = time.monotonic()
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    wall = time.monotonic() - t0
    samples = sampler._n_samples  # pylint: disable=protected-access
    per_sample = sampler.cpu_seconds / samples * 1e3 if samples else float('nan')
    return 100.0 * sampler.cpu_seconds / wall, samples, per_sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=500,
                        help='calls timed for each latency figure')
    parser.add_argument('--seconds', type=float, default=10.0,
                        help='wall time of each sampler-thread measurement')
    args = parser.parse_args()

    snap = _latency_ms(telemetry.snapshot, args.calls)
    sampler = telemetry.Sampler(interval_sec=1.0).start()
    try:
        end = _latency_ms(sampler.end_interval, args.calls)
    finally:
        sampler.stop()
    share_1, n_1, per_1 = _thread_share(1.0, args.seconds)
    share_10, n_10, per_10 = _thread_share(10.0, args.seconds)

    print(f'gpu.count = {telemetry.snapshot()["gpu.count"]}, '
          f'{os.cpu_count()} CPUs, {args.calls} calls, '
          f'{args.seconds:g} s per sampler run')
    print()
    print('| call                   | wall median | wall p90 | CPU median |')
    print('|------------------------|-------------|----------|------------|')
    for name, (med, p90, cpu) in (('snapshot()', snap),
                                  ('Sampler.end_interval()', end)):
        print(f'| {name:22s} | {med:8.3f} ms | {p90:5.3f} ms | {cpu:7.3f} ms |')
    print()
    print('| sampler thread | samples | CPU / sample | % of one core |')
    print('|----------------|---------|--------------|---------------|')
    print(f'| 1 Hz           | {n_1:7d} | {per_1:8.3f} ms  | '
          f'{share_1:12.4f}% |')
    print(f'| 10 Hz          | {n_10:7d} | {per_10:8.3f} ms  | '
          f'{share_10:12.4f}% |')
    print()
    ok = share_1 <= TARGET_PERCENT_AT_1HZ
    print(f'1 Hz target <= {TARGET_PERCENT_AT_1HZ:g} % of a core: '
          f'{"OK" if ok else "MISSED"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
