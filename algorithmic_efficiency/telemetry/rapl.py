"""CPU package energy from Linux RAPL (``/sys/class/powercap/intel-rapl*``).

Each package domain ``intel-rapl:<n>`` holds ``energy_uj``, a counter of
microjoules that wraps to 0 after ``max_energy_range_uj``. Only the top-level
(package) domains are read: their subdomains (``intel-rapl:<n>:<m>``: cores,
uncore, DRAM on some CPUs) are parts of the package's energy (DRAM aside),
and adding them would count it twice. AMD's ``amd-rapl`` powercap
tree is read the same way. ``energy_uj`` is often readable by root only (a
2020 CVE); unreadable domains are skipped, so the caller sees RAPL as absent.

The root directory is an argument, so tests build a fake sysfs tree.
"""

from __future__ import annotations

import dataclasses
import os
import re

POWERCAP_ROOT = '/sys/class/powercap'
# Package domains only: intel-rapl:0, intel-rapl:1 (not intel-rapl:0:0), amd-rapl:0.
_PACKAGE_RE = re.compile(r'^(intel|amd)-rapl:\d+$')


@dataclasses.dataclass(frozen=True)
class Domain:
    """A readable RAPL package domain."""

    name: str  # e.g. 'intel-rapl:0'
    label: str  # its 'name' file, e.g. 'package-0'
    energy_path: str
    max_range_uj: int  # the counter wraps to 0 after this value


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding='ascii') as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _read_label(path: str, default: str) -> str:
    try:
        with open(path, encoding='ascii') as f:
            return f.read().strip() or default
    except (OSError, UnicodeDecodeError):
        return default


def find_domains(root: str = POWERCAP_ROOT) -> list[Domain]:
    """The package domains under `root` whose counter and range can be read."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    out = []
    for name in names:
        if not _PACKAGE_RE.match(name):
            continue
        path = os.path.join(root, name)
        energy_path = os.path.join(path, 'energy_uj')
        max_range = _read_int(os.path.join(path, 'max_energy_range_uj'))
        if _read_int(energy_path) is None or not max_range or max_range <= 0:
            continue  # unreadable (permissions) or a range we can't unwrap with
        out.append(
            Domain(name, _read_label(os.path.join(path, 'name'), name), energy_path, max_range)
        )
    return out


def counter_delta(before: int, after: int, max_range_uj: int) -> int:
    """Microjoules between two readings of one counter, across at most one wrap.

    The counter climbs to ``max_energy_range_uj`` and starts again at 0, so a
    reading below the previous one means it wrapped once (intervals here are
    seconds; a package needs tens of minutes at full power to wrap at all).
    """
    if after >= before:
        return after - before
    return max_range_uj - before + after


class RaplCounter:
    """Reads the package counters; :meth:`read` returns each domain's raw microjoules."""

    def __init__(self, root: str = POWERCAP_ROOT):
        self.domains = find_domains(root)

    def read(self) -> list[int | None]:
        return [_read_int(d.energy_path) for d in self.domains]

    def joules_between(self, before: list[int | None], after: list[int | None]) -> float | None:
        """Energy of all packages between two :meth:`read` results; None if a reading failed."""
        total = 0
        for domain, b, a in zip(self.domains, before, after, strict=True):
            if b is None or a is None:
                return None
            total += counter_delta(b, a, domain.max_range_uj)
        return total / 1e6
