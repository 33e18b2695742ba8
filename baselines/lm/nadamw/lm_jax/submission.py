"""NAdamW (AdamW with Nesterov momentum) for the language models, in JAX (optax.nadamw).

Everything but the update rule is the AdamW baseline's
(``baselines/lm/lm_jax/submission.py``: hyperparameters, batch sizes,
warm-up and cosine schedule), loaded from that file so the two cannot drift.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from algorithmic_efficiency import spec

_HERE = os.path.dirname(os.path.abspath(__file__))
_PATH = os.path.join(_HERE, '..', '..', 'lm_jax', 'submission.py')
_spec = importlib.util.spec_from_file_location('lm_jax_adamw_baseline', _PATH)
_adamw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_adamw)

get_batch_size = _adamw.get_batch_size
data_selection = _adamw.data_selection


def init_optimizer_state(
    workload: spec.Workload,
    model_params: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> Any:
    return _adamw.init_optimizer_state(
        workload, model_params, model_state, hyperparameters, rng, nesterov=True
    )


def update_params(
    workload: spec.Workload,
    current_param_container: Any,
    current_params_types: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    batch: dict[str, Any],
    loss_type: spec.LossType,
    optimizer_state: Any,
    eval_results: Any,
    global_step: int,
    rng: Any,
):
    return _adamw.update_params(
        workload, current_param_container, current_params_types, model_state, hyperparameters,
        batch, loss_type, optimizer_state, eval_results, global_step, rng, nesterov=True,
    )  # fmt: skip
