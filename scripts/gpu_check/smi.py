"""What ``nvidia-smi`` says about the machine: the GPU's name, the driver, the driver's CUDA.

This is the check's one view of the hardware that doesn't go through the project's own
code (NVML via ``pynvml``) or a framework, so the names the runs record can be compared
against it. The parsers take text so tests feed them recorded ``nvidia-smi`` output.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

QUERY_FIELDS = ('name', 'driver_version', 'memory.total', 'power.limit')
QUERY = ['--query-gpu=' + ','.join(QUERY_FIELDS), '--format=csv,noheader,nounits']
_CUDA_RE = re.compile(r'CUDA Version:\s*([0-9.]+)')


@dataclasses.dataclass(frozen=True)
class GpuInfo:
    """The first GPU as ``nvidia-smi`` reports it.

    Attributes:
      name: e.g. ``NVIDIA H100 80GB HBM3`` (what NVML and the frameworks call it too).
      driver: the driver version, e.g. ``570.124.06``.
      cuda: the newest CUDA the driver supports (``nvidia-smi``'s header), or ``''``.
      memory_mib: total memory (MiB).
      power_limit_watts: the board's power limit (W), or None when not reported.
      count: how many GPUs the machine has.
    """

    name: str
    driver: str
    cuda: str
    memory_mib: float
    power_limit_watts: float | None
    count: int


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # '[N/A]', '[Not Supported]'
        return None


def parse(query_csv: str, banner: str) -> GpuInfo | None:
    """The first GPU from ``nvidia-smi --query-gpu=...`` CSV and the plain ``nvidia-smi`` text.

    Returns:
      None when the CSV lists no GPU.
    """
    lines = [line for line in query_csv.splitlines() if line.strip()]
    if not lines:
        return None
    fields = [f.strip() for f in lines[0].split(',')]
    if len(fields) != len(QUERY_FIELDS):
        return None
    name, driver, memory, power = fields
    match = _CUDA_RE.search(banner)
    return GpuInfo(
        name=name,
        driver=driver,
        cuda=match.group(1) if match else '',
        memory_mib=_number(memory) or 0.0,
        power_limit_watts=_number(power),
        count=len(lines),
    )


def _run(args: list[str]) -> str | None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def query() -> GpuInfo | None:
    """The machine's first GPU, or None without ``nvidia-smi`` or when NVML fails."""
    exe = shutil.which('nvidia-smi')
    if exe is None:
        return None
    csv_text = _run([exe, *QUERY])
    if csv_text is None:  # "NVIDIA-SMI has failed ...": driver not loaded, NVML broken
        return None
    return parse(csv_text, _run([exe]) or '')
