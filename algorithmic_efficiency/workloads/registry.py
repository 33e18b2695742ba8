"""Workload names -> ``module:Class``, imported only when asked for.

Keeping the table as strings means listing or validating names never imports
JAX or PyTorch; only :func:`load_workload` imports the one framework needed.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from algorithmic_efficiency import spec
from algorithmic_efficiency.errors import UsageError


class WorkloadEntry(NamedTuple):
    target: str  # 'package.module:ClassName'
    framework: str  # 'jax' | 'pytorch'


WORKLOADS: dict[str, WorkloadEntry] = {
    'cifar10_jax': WorkloadEntry(
        'algorithmic_efficiency.workloads.cifar.cifar_jax.workload:CifarWorkload', 'jax'
    ),
    'cifar10_pytorch': WorkloadEntry(
        'algorithmic_efficiency.workloads.cifar.cifar_pytorch.workload:CifarWorkload', 'pytorch'
    ),
    'finewebedu_lm_jax': WorkloadEntry(
        'algorithmic_efficiency.workloads.lm.lm_jax.workload:FinewebEduLmWorkload', 'jax'
    ),
    'finewebedu_lm_pytorch': WorkloadEntry(
        'algorithmic_efficiency.workloads.lm.lm_pytorch.workload:FinewebEduLmWorkload', 'pytorch'
    ),
    'lm_tiny_jax': WorkloadEntry(
        'algorithmic_efficiency.workloads.lm.lm_jax.workload:TinyLmWorkload', 'jax'
    ),
    'lm_tiny_pytorch': WorkloadEntry(
        'algorithmic_efficiency.workloads.lm.lm_pytorch.workload:TinyLmWorkload', 'pytorch'
    ),
    'mnist_jax': WorkloadEntry(
        'algorithmic_efficiency.workloads.mnist.mnist_jax.workload:MnistWorkload', 'jax'
    ),
    'mnist_pytorch': WorkloadEntry(
        'algorithmic_efficiency.workloads.mnist.mnist_pytorch.workload:MnistWorkload', 'pytorch'
    ),
}

# Both defined in the contract, which training and analysis may import; named here too.
FRAMEWORKS = spec.FRAMEWORKS
base_name = spec.submission_workload_name


def check_workload(name: str, framework: str) -> WorkloadEntry:
    """Validates a workload name against the framework, importing nothing.

    Raises:
      UsageError: one line naming the bad value and the valid choices.
    """
    if framework not in FRAMEWORKS:
        raise UsageError(f"Unknown framework '{framework}'; choose one of: {', '.join(FRAMEWORKS)}")
    entry = WORKLOADS.get(name)
    if entry is None:
        raise UsageError(f"Unknown workload '{name}'; known: {', '.join(sorted(WORKLOADS))}")
    if entry.framework != framework:
        matching = sorted(n for n, e in WORKLOADS.items() if e.framework == framework)
        raise UsageError(
            f"Workload '{name}' is a {entry.framework} workload but --framework="
            f"{framework}; {framework} workloads: {', '.join(matching)}"
        )
    return entry


def load_workload(name: str, framework: str) -> spec.Workload:
    """Imports and instantiates a workload after :func:`check_workload`."""
    entry = check_workload(name, framework)
    module_name, class_name = entry.target.split(':')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if (e.name or '').startswith('algorithmic_efficiency'):
            raise
        extra = 'jax_cpu' if framework == 'jax' else 'pytorch_cpu'
        raise UsageError(
            f"Workload '{name}' needs the '{e.name}' package, which is not installed; "
            f"install it with: pip install -e '.[{extra}]'"
        ) from e
    return getattr(module, class_name)()
