"""Runs submissions written for the peer's API (MLCommons AlgoPerf) unchanged.

What a published AlgoPerf submission needs from its runner, and where it is:

* ``import algoperf`` / ``from algoperf import spec, jax_sharding_utils`` /
  ``from algoperf.pytorch_utils import pytorch_setup`` / ``algoperf.random_utils``:
  :mod:`~algorithmic_efficiency.compat.algoperf`, aliased by
  :func:`importer.install` only when the real ``algoperf`` is not installed;
* hyperparameters read as attributes: :class:`hyperparameters.Hyperparameters`;
* the workload API (``loss_fn`` returning a dict, ``model_fn(dropout_rate=)``,
  ``step_hint``, ``param_shapes``, ``model_params_types``, ``metrics_logger``)
  and the trial loop's ``train_state`` and ``prepare_for_eval``: this project's
  own API (``spec``, ``training.trainer``), adopted from the peer's;
* list-format search spaces: ``search.spaces``.

:func:`prepare` is what the runner calls before importing a submission.
"""

from __future__ import annotations

from algorithmic_efficiency.compat import checks, importer
from algorithmic_efficiency.compat.hyperparameters import Hyperparameters, as_hyperparameters

__all__ = [
    'Hyperparameters',
    'as_hyperparameters',
    'checks',
    'importer',
    'prepare',
    'submission_api',
    'training_complete_errors',
]

submission_api = importer.submission_api
training_complete_errors = importer.training_complete_errors


def prepare(framework: str | None) -> bool:
    """Sets up the layer for a sweep in ``framework``; True when it answers ``import algoperf``.

    Installs the ``algoperf`` alias (unless the real package is importable),
    tells ``algoperf.random_utils`` which RNG to use (the peer reads its
    ``--framework`` flag; library code here never reads flags) and, for JAX,
    registers the hyperparameters object as a pytree.
    """
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.compat.algoperf import random_utils

    random_utils.set_framework(framework)
    if framework == 'jax':
        from algorithmic_efficiency.compat import hyperparameters

        hyperparameters.register_jax_pytree()
    return importer.install()
