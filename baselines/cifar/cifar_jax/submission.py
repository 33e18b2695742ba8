"""SGD with Nesterov momentum for CIFAR-10 in JAX (optax), batch size 128.

Hyperparameters (all four used, identically in the PyTorch baseline):

* ``learning_rate``: the peak learning rate;
* ``one_minus_momentum``: Nesterov momentum is ``1 - one_minus_momentum``;
* ``weight_decay``: L2, added to the gradient before momentum (PyTorch SGD's
  ``weight_decay``), on every parameter;
* ``warmup_fraction``: the share of the schedule spent warming up linearly
  from ``learning_rate / warmup_steps`` to ``learning_rate``; a cosine decay
  to 0 follows. The schedule lasts the workload's step hint scaled to this
  batch size (AlgoPerf's 4,883 steps at batch 1,024 = 100 epochs), then stays at 0.

With ``--tuning_ruleset=self`` the defaults below apply (the classic CIFAR
recipe: 0.1, momentum 0.9, 5e-4). One jitted step serves every trial: the
hyperparameters live in the optimizer state, so trial 2 onward doesn't
recompile, and the step number is an argument, not a constant. Batch-norm
statistics come in as ``model_state`` and the updated ones go out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import optax

from algorithmic_efficiency import spec

BATCH_SIZE = 128
DEFAULTS = {
    'learning_rate': 0.1,
    'one_minus_momentum': 0.1,
    'weight_decay': 5e-4,
    'warmup_fraction': 0.05,
}
# What the workload's step hint is counted at (AlgoPerf: 4,883 steps at 1,024).
STEP_HINT_BATCH_SIZE = 1024


def _hparams(hyperparameters: spec.Hyperparameters) -> dict[str, float]:
    return {**DEFAULTS, **(hyperparameters or {})}


def schedule_steps(workload: spec.Workload, batch_size: int = BATCH_SIZE) -> int:
    """Steps until the learning rate reaches 0: the step hint's epochs at this batch size."""
    hint = getattr(workload, 'step_hint', None) or 4883
    return max(1, math.ceil(hint * STEP_HINT_BATCH_SIZE / batch_size))


def warmup_steps(hp: dict[str, float], total_steps: int) -> int:
    return max(1, min(total_steps, round(hp['warmup_fraction'] * total_steps)))


def learning_rate(step, peak, warmup, total):
    """Linear warm-up (step 0 already at ``peak / warmup``) then cosine decay to 0 at ``total``."""
    step = jnp.asarray(step, jnp.float32)
    warm = peak * (step + 1.0) / warmup
    progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1.0), 0.0, 1.0)
    cosine = peak * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
    return jnp.where(step < warmup, warm, cosine)


def _sgd(learning_rate: float, momentum: float, weight_decay: float):
    return optax.chain(
        optax.add_decayed_weights(weight_decay),
        optax.trace(decay=momentum, nesterov=True),
        optax.scale_by_learning_rate(learning_rate),
    )


def get_batch_size(workload_name: str) -> int:
    del workload_name
    return BATCH_SIZE


def init_optimizer_state(
    workload: spec.Workload,
    model_params: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> dict[str, Any]:
    del model_state, rng
    hp = _hparams(hyperparameters)
    total = schedule_steps(workload)
    tx = optax.inject_hyperparams(_sgd)(
        learning_rate=hp['learning_rate'],
        momentum=1.0 - hp['one_minus_momentum'],
        weight_decay=hp['weight_decay'],
    )
    return {
        'optimizer': tx.init(model_params),
        'schedule': {
            'peak': jnp.asarray(hp['learning_rate'], jnp.float32),
            'warmup': jnp.asarray(warmup_steps(hp, total), jnp.float32),
            'total': jnp.asarray(total, jnp.float32),
        },
    }


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2, 3))
def _train_step(
    workload: spec.Workload,
    optimizer_state: dict[str, Any],
    params: Any,
    model_state: Any,
    batch: dict[str, jax.Array],
    step: jax.Array,
):
    # The update rule reads its hyperparameters from the state, so any
    # instance of the transform works here.
    tx = optax.inject_hyperparams(_sgd)(learning_rate=0.0, momentum=0.0, weight_decay=0.0)

    def loss_fn(p):
        logits, new_state = workload.model_fn(
            p, batch, model_state, spec.ForwardPassMode.TRAIN, None, True
        )
        loss = workload.loss_fn(batch['targets'], logits)
        return loss['summed'] / loss['n_valid_examples'], new_state

    (_, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    opt_state = optimizer_state['optimizer']
    schedule = optimizer_state['schedule']
    opt_state.hyperparams['learning_rate'] = learning_rate(
        step, schedule['peak'], schedule['warmup'], schedule['total']
    )
    updates, opt_state = tx.update(grads, opt_state, params)
    new_optimizer_state = {'optimizer': opt_state, 'schedule': schedule}
    return new_optimizer_state, optax.apply_updates(params, updates), new_model_state


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
    del current_params_types, hyperparameters, loss_type, eval_results, rng
    return _train_step(
        workload, optimizer_state, current_param_container, model_state, batch, global_step
    )


def data_selection(
    workload: spec.Workload,
    input_queue: Iterator[dict[str, Any]],
    optimizer_state: Any,
    current_param_container: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    global_step: int,
    rng: Any,
) -> dict[str, Any]:
    del workload, optimizer_state, current_param_container, model_state, hyperparameters
    del global_step, rng
    return next(input_queue)
