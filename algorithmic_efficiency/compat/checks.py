"""Submissions this runner refuses up front, with one line saying why.

A JAX submission built on ``jax.pmap`` (states replicated per device with
``flax.jax_utils.replicate``, batches reshaped to ``(devices, per_device, ...)``)
is the peer's pre-2025 API; its own runner no longer runs it (it moved to
``jax.jit`` with shardings, see ``algoperf.jax_sharding_utils``), and neither
does this one. Running it would fail deep inside a trace, so it is detected
from the source before anything runs.
"""

from __future__ import annotations

import ast


def find_pmap(source: str) -> int | None:
    """The first line that uses ``pmap`` (``jax.pmap``, ``from jax import pmap``), or None.

    Comments and strings don't count: the source is parsed, not searched.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # the import reports it properly
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == 'pmap':
            return node.lineno
        if isinstance(node, ast.ImportFrom) and any(a.name == 'pmap' for a in node.names):
            return node.lineno
    return None


def pmap_message(path: str, line: int) -> str:
    """The one-line refusal for a pmap-based submission."""
    return (
        f"submission '{path}' uses jax.pmap (line {line}): pmap-based submissions with "
        'replicated states are not supported (the AlgoPerf runner dropped them too); port it '
        'to jax.jit with algoperf.jax_sharding_utils shardings (README "Running AlgoPerf '
        'submissions")'
    )
