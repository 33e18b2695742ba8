"""A device's peak FLOP/s, the denominator of model-FLOPs utilisation (``throughput.mfu``).

GPUs: NVIDIA's datasheet figures, dense (no structured sparsity), by model
name and compute dtype (:data:`GPU_PEAKS`). CPUs: measured once per process by
a float32 matrix-multiply micro-benchmark through NumPy's BLAS (the best of a
few timed products), since no table covers every CPU; on a loaded machine it
measures what this process can have, not the silicon's peak, and says so.
Recorded in ``metadata.json`` as ``devices.peak_flops`` and
``devices.peak_flops_source``.
"""

from __future__ import annotations

import functools
import time

import numpy as np

# (name fragment, FLOP/s in bfloat16 (fp16 where the GPU has no bf16), FLOP/s in float32),
# dense. First match wins, so the specific names come before the general ones.
# Sources: NVIDIA datasheets -- H100 (SXM5 / PCIe), H200, A100 (SXM4/PCIe), V100
# (SXM2 / PCIe), L4, L40S, T4.
GPU_PEAKS: tuple[tuple[str, float, float], ...] = (
    ('H100 PCIe', 756.0e12, 51.2e12),
    ('H100', 989.4e12, 66.9e12),  # SXM5 (HBM3)
    ('H200', 989.4e12, 66.9e12),
    ('A100', 312.0e12, 19.5e12),
    ('V100 PCIe', 112.0e12, 14.0e12),  # fp16 tensor cores (no bf16)
    ('V100', 125.0e12, 15.7e12),  # SXM2, fp16 tensor cores
    ('L40S', 362.05e12, 91.6e12),
    ('L4', 121.0e12, 30.3e12),
    ('T4', 65.0e12, 8.1e12),  # fp16 tensor cores
)
CPU_MATMUL_SIZE = 512
CPU_MATMUL_REPEATS = 5


def gpu_peak(device_name: str, dtype: str) -> tuple[float, str] | None:
    """``(FLOP/s, source)`` from the table, or None for a GPU it doesn't know."""
    for fragment, low_precision, fp32 in GPU_PEAKS:
        if fragment.lower() in device_name.lower():
            value = fp32 if dtype == 'float32' else low_precision
            return value, f'table: NVIDIA datasheet, {fragment} {dtype} dense'
    return None


@functools.cache
def cpu_peak(size: int = CPU_MATMUL_SIZE, repeats: int = CPU_MATMUL_REPEATS) -> tuple[float, str]:
    """``(FLOP/s, source)`` measured: ``2 n^3`` FLOPs per float32 ``n x n`` product, best time.

    About 0.1 s at start-up; cached for the process.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # warm-up: threads started, pages touched
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    flops = 2.0 * size**3 / max(best, 1e-9)
    return flops, (
        f'measured: NumPy float32 {size}x{size} matmul, best of {repeats}, at start-up '
        '(a loaded machine measures less than its peak)'
    )


def device_peak(device_kind: str, dtype: str) -> tuple[float, str]:
    """Peak FLOP/s of one device of ``device_kind`` (JAX's or PyTorch's name) in ``dtype``."""
    if device_kind and device_kind.lower() not in ('cpu', 'unknown'):
        found = gpu_peak(device_kind, dtype)
        if found is not None:
            return found
        return float('nan'), f'unknown: {device_kind} is not in the table'
    return cpu_peak()
