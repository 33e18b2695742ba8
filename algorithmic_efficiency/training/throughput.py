"""The efficiency columns of every row (``throughput.*``), over the interval since the last eval.

* ``throughput.examples_per_sec``: examples (sequences, images) trained per
  second of submission time;
* ``throughput.tokens_per_sec``: the same in tokens, for workloads whose
  examples are token sequences (``tokens_per_example``);
* ``throughput.model_flops_per_step``: the model's FLOPs of one training step,
  counted analytically by the workload (``model_flops_per_step``; the LM's is
  ``6 N + 12 L S D`` per token, :mod:`..workloads.lm.config`);
* ``throughput.mfu``: model FLOP/s achieved / the devices' peak FLOP/s
  (:mod:`..telemetry.peak_flops`), ``devices.count`` devices.

Rates use submission time, so the first interval includes compilation; a
workload without a FLOP count leaves the last two empty.
"""

from __future__ import annotations

import math
from typing import Any

from algorithmic_efficiency.telemetry import peak_flops

PREFIX = 'throughput.'


def device_facts(workload: Any, device_info: dict[str, Any]) -> dict[str, Any]:
    """metadata.json's ``devices.peak_flops`` (per device) and ``devices.peak_flops_source``."""
    dtype = _dtype(workload)
    value, source = peak_flops.device_peak(str(device_info.get('devices.kind', 'cpu')), dtype)
    return {'devices.peak_flops': value, 'devices.peak_flops_source': source,
            'devices.peak_flops_dtype': dtype}


def _dtype(workload: Any) -> str:
    compute = getattr(workload, 'compute_dtype', None)
    return compute() if callable(compute) else 'float32'


def _device_kind(workload: Any) -> str:
    mesh = getattr(workload, 'mesh', None)  # JAX workloads
    if mesh is not None:
        return mesh.kind
    # PyTorch workloads name their device (workloads.pytorch_dist): no framework import here.
    return str(getattr(workload, 'device_kind', 'cpu'))


class Meter:
    """Turns (step, submission time) at each eval into the ``throughput.*`` columns."""

    def __init__(self, workload: Any, batch_size: int) -> None:
        self.batch_size = batch_size
        self.tokens_per_example = getattr(workload, 'tokens_per_example', None)
        count = getattr(workload, 'model_flops_per_step', None)
        self.flops_per_step = count(batch_size) if callable(count) else None
        devices = max(1, int(getattr(workload, 'device_count', 1) or 1))
        peak, _ = peak_flops.device_peak(_device_kind(workload), _dtype(workload))
        self.peak = peak * devices
        self._last = (0, 0.0)

    def columns(self, step: int, accumulated: float) -> dict[str, Any]:
        last_step, last_time = self._last
        self._last = (step, accumulated)
        seconds = accumulated - last_time
        rate = (step - last_step) * self.batch_size / seconds if seconds > 0 else math.nan
        out: dict[str, Any] = {f'{PREFIX}examples_per_sec': rate}
        if self.tokens_per_example:
            out[f'{PREFIX}tokens_per_sec'] = rate * self.tokens_per_example
        if self.flops_per_step:
            out[f'{PREFIX}model_flops_per_step'] = self.flops_per_step
            achieved = rate / self.batch_size * self.flops_per_step
            out[f'{PREFIX}mfu'] = achieved / self.peak if self.peak > 0 else math.nan
        return out
