"""JAX seeds shared by the JAX workloads (imports JAX: never import it from PyTorch code)."""

from __future__ import annotations

import jax
import numpy as np


def seed_from_key(rng: jax.Array) -> int:
    """Maps ``PRNGKey(seed)`` back to ``seed`` (its last word) for NumPy initialisation."""
    return int(np.asarray(jax.random.key_data(rng)).ravel()[-1])
