"""The shared workload helpers the LM uses, imported in this one place.

They live in ``workloads/common`` (no workload imports another). The
framework-bound ones (``seed_from_key`` needs JAX, ``default_device`` needs
PyTorch) are imported on first call, so importing this module imports neither.
"""

from __future__ import annotations

from typing import Any

from algorithmic_efficiency.workloads.common.data import DataError, index_stream
from algorithmic_efficiency.workloads.common.prefetch import Prefetcher

__all__ = ['DataError', 'Prefetcher', 'default_device', 'index_stream', 'seed_from_key']


def seed_from_key(rng: Any) -> int:
    """``PRNGKey(seed)`` -> ``seed``, for the NumPy initialisation (imports JAX)."""
    from algorithmic_efficiency.workloads.common.jax_seeds import seed_from_key as f

    return f(rng)


def default_device() -> Any:
    """CUDA when there is one, else the CPU (imports PyTorch)."""
    from algorithmic_efficiency.workloads.common.torch_devices import default_device as f

    return f()
