"""Telemetry: what the hardware did, as flat dotted keys (``cpu.util...``, ``gpu.0.mem.used``).

* :mod:`.readings` reads CPU, memory, disk and network with psutil, once per
  eval (``snapshot``);
* :mod:`.sampler` samples CPU and GPU load in a background thread between evals
  (``Sampler``);
* :mod:`.nvml` reads the GPUs through NVML.

Collectors never write: :mod:`algorithmic_efficiency.recording` does.
"""
