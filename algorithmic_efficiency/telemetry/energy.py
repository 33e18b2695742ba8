"""Energy over the timed intervals: what ``energy.submission_joules`` counts.

A trial's submission time is the sum of its timed intervals (evals
excluded, ``training/trainer.py``); :class:`EnergyMeter` sums energy over the
same intervals: :meth:`begin` where the trainer starts the timer after an eval,
:meth:`end` where it stops it for the next one. Sources, added together:

* ``nvml``: each visible GPU's energy counter
  (``nvmlDeviceGetTotalEnergyConsumption``, Volta and newer);
* ``rapl``: each CPU package's RAPL counter (:mod:`.rapl`), where readable.

With neither, :attr:`EnergyMeter.sources` is empty and nothing is reported
(the column is absent, not 0). ``metadata.json`` records the sources a sweep
found as ``energy.sources``.
"""

from __future__ import annotations

import logging
from typing import Any

from algorithmic_efficiency.layout import SUBMISSION_ENERGY_COLUMN
from algorithmic_efficiency.telemetry import nvml as _gpu
from algorithmic_efficiency.telemetry import rapl

COLUMN = SUBMISSION_ENERGY_COLUMN
METADATA_KEY = 'energy.sources'

_log = logging.getLogger(__name__)


def _gpu_counters(nvml: Any) -> list:
    """The visible GPUs' handles whose energy counter can be read."""
    if nvml is None:
        return []
    handles = []
    for i, handle in enumerate(_gpu.visible_devices(nvml)):
        try:
            if _gpu.energy_millijoules(nvml, handle) is not None:
                handles.append(handle)
        except Exception as e:  # noqa: BLE001  (any NVML error: no counter on that GPU)
            _gpu.warn_once(i, e)
    return handles


class EnergyMeter:
    """Sums GPU and CPU-package energy over begin/end intervals.

    Args:
      rapl_root: the powercap directory (a fake tree in tests).
      nvml: the ``pynvml`` module, or None for no GPUs; by default the one
        telemetry uses (``nvml.get_nvml()``).
    """

    def __init__(self, rapl_root: str | None = None, nvml: Any = 'default'):
        self._nvml = _gpu.get_nvml() if nvml == 'default' else nvml
        self._handles = _gpu_counters(self._nvml)
        self._rapl = rapl.RaplCounter(rapl_root or rapl.POWERCAP_ROOT)
        self.sources = [
            name for name, found in (('nvml', self._handles), ('rapl', self._rapl.domains)) if found
        ]
        self.joules = 0.0 if self.sources else None  # None: not measured
        self._start: tuple[list, list] | None = None

    def _read(self) -> tuple[list, list]:
        gpus = []
        for i, handle in enumerate(self._handles):
            try:
                gpus.append(_gpu.energy_millijoules(self._nvml, handle))
            except Exception as e:  # noqa: BLE001
                _gpu.warn_once(i, e)
                gpus.append(None)
        return gpus, self._rapl.read()

    def begin(self) -> None:
        """A timed interval starts."""
        if self.sources:
            self._start = self._read()

    def end(self) -> float | None:
        """A timed interval ends: adds its energy; returns the total so far (None: unmeasured).

        An interval with a failed reading adds nothing (and is logged): the
        total then undercounts, which the log says, rather than stopping.
        """
        if not self.sources or self._start is None:
            return self.joules
        (gpu0, cpu0), (gpu1, cpu1) = self._start, self._read()
        self._start = None
        joules = self._rapl.joules_between(cpu0, cpu1) if self._rapl.domains else 0.0
        for a, b in zip(gpu0, gpu1, strict=True):
            if a is None or b is None or joules is None:
                joules = None
                break
            joules += max(0, b - a) / 1000.0  # mJ; the NVML counter does not wrap (64-bit)
        if joules is None:
            _log.warning('energy: a counter could not be read; this interval is not counted')
            return self.joules
        self.joules += joules
        return self.joules


def sources(rapl_root: str | None = None, nvml: Any = 'default') -> list[str]:
    """The energy sources readable here (``metadata.json``'s ``energy.sources``)."""
    return EnergyMeter(rapl_root, nvml).sources
