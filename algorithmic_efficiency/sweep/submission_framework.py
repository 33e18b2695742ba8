"""A submission written for one framework, run on the other's workload, is refused up front.

A JAX submission on ``mnist_pytorch`` used to be accepted, and every trial
then failed with a cryptic ``TypeError`` deep inside the framework. After the
import, the names the submission module holds tell which frameworks it uses
(modules by their name, imported functions and classes by their module). A
submission that uses only the other framework is refused in one line naming
the workload to use; one that uses both, or neither, is left alone.
"""

from __future__ import annotations

import types
from typing import Any

from algorithmic_efficiency.sweep.config import UsageError

# The top-level packages that mark a submission as written for a framework.
FRAMEWORK_PACKAGES = {'jax': {'jax', 'jaxlib', 'flax', 'optax'}, 'pytorch': {'torch'}}
FRAMEWORK_TITLES = {'jax': 'JAX', 'pytorch': 'PyTorch'}


def _roots(module: Any) -> set[str]:
    """The top-level packages `module`'s names come from."""
    out = set()
    for value in list(vars(module).values()):
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(
            value, '__module__', None)
        if isinstance(name, str):
            out.add(name.partition('.')[0])
    return out


def frameworks_used(module: Any) -> set[str]:
    """The frameworks whose packages `module`'s top-level names come from."""
    roots = _roots(module)
    return {fw for fw, packages in FRAMEWORK_PACKAGES.items() if roots & packages}


def check(module: Any, path: str, framework: str | None) -> None:
    """Raises UsageError if the submission uses only the framework other than `framework`."""
    if framework not in FRAMEWORK_PACKAGES:
        return
    used = frameworks_used(module)
    if not used or framework in used:
        return
    other = sorted(used)[0]
    imports = ', '.join(sorted(FRAMEWORK_PACKAGES[other] & _roots(module)))
    raise UsageError(
        f"submission '{path}' is written for {FRAMEWORK_TITLES[other]} (it imports {imports}) "
        f'but the workload is {FRAMEWORK_TITLES[framework]}; run it on the {other} workload '
        f'(e.g. --workload=mnist_{other}), or give a {FRAMEWORK_TITLES[framework]} submission'
    )
