"""The shared workload helpers the LM uses, imported in this one place.

They live in ``workloads/mnist`` and ``workloads/cifar`` today and are moving
to ``workloads/common``; when they do, only the imports below change. The
framework-bound ones (``seed_from_key`` needs JAX, ``default_device`` needs
PyTorch) are imported on first call, so importing this module imports neither.
"""

from __future__ import annotations

from typing import Any

from algorithmic_efficiency.workloads.cifar.input_pipeline import Prefetcher
from algorithmic_efficiency.workloads.mnist.data import DataError
from algorithmic_efficiency.workloads.mnist.workload import index_stream

__all__ = ['DataError', 'Prefetcher', 'default_device', 'index_stream', 'seed_from_key']


def seed_from_key(rng: Any) -> int:
    """``PRNGKey(seed)`` -> ``seed``, for the NumPy initialisation (imports JAX)."""
    from algorithmic_efficiency.workloads.mnist.mnist_jax.workload import seed_from_key as f

    return f(rng)


def default_device() -> Any:
    """CUDA when there is one, else the CPU (imports PyTorch)."""
    from algorithmic_efficiency.workloads.mnist.mnist_pytorch.workload import default_device as f

    return f()
