"""AdamW with linear warm-up and cosine decay for the language models, in JAX (optax).

Hyperparameters (the same in the PyTorch baseline and the NAdamW variants,
``baselines/lm/nadamw``):

* ``learning_rate``: the peak learning rate;
* ``one_minus_beta1``: Adam's ``beta1`` is ``1 - one_minus_beta1``;
* ``beta2``: Adam's second-moment decay;
* ``weight_decay``: decoupled (AdamW's), multiplied by the learning rate, on
  every parameter;
* ``warmup_fraction``: the share of the schedule spent warming up linearly
  from ``learning_rate / warmup_steps``; a cosine decay to 0 follows at the
  workload's step hint, then the rate stays 0.

Batch size: 16 sequences for ``lm_tiny`` (2,048 tokens a step), 256 for
``finewebedu_lm`` (262,144 tokens, GPT-2 small's order). The hyperparameters
live in the optimizer state, so one jitted step serves every trial.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import optax

from algorithmic_efficiency import spec

BATCH_SIZES = {'lm_tiny': 16, 'finewebedu_lm': 256}
DEFAULTS = {
    'learning_rate': 3e-3,
    'one_minus_beta1': 0.1,
    'beta2': 0.95,
    'weight_decay': 0.1,
    'warmup_fraction': 0.05,
}
EPSILON = 1e-8


def _hparams(hyperparameters: spec.Hyperparameters) -> dict[str, float]:
    return {**DEFAULTS, **(hyperparameters or {})}


def schedule_steps(workload: spec.Workload) -> int:
    return max(1, int(getattr(workload, 'step_hint', None) or 1000))


def warmup_steps(hp: dict[str, float], total_steps: int) -> int:
    return max(1, min(total_steps, round(hp['warmup_fraction'] * total_steps)))


def learning_rate(step, peak, warmup, total):
    """Linear warm-up (step 0 already at ``peak / warmup``) then cosine decay to 0 at ``total``."""
    step = jnp.asarray(step, jnp.float32)
    warm = peak * (step + 1.0) / warmup
    progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1.0), 0.0, 1.0)
    return jnp.where(step < warmup, warm, peak * 0.5 * (1.0 + jnp.cos(jnp.pi * progress)))


def _transform(nesterov: bool):
    rule = optax.nadamw if nesterov else optax.adamw
    return optax.inject_hyperparams(functools.partial(rule, eps=EPSILON))


def get_batch_size(workload_name: str) -> int:
    return BATCH_SIZES[workload_name]


def init_optimizer_state(
    workload: spec.Workload,
    model_params: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
    nesterov: bool = False,
) -> dict[str, Any]:
    del model_state, rng
    hp = _hparams(hyperparameters)
    total = schedule_steps(workload)
    tx = _transform(nesterov)(
        learning_rate=hp['learning_rate'],
        b1=1.0 - hp['one_minus_beta1'],
        b2=hp['beta2'],
        weight_decay=hp['weight_decay'],
    )
    opt_state = tx.init(model_params)
    # Strongly typed float32 hyperparameters: the step writes float32 ones back, and a weakly
    # typed start would compile the step a second time at step 2.
    for name, value in opt_state.hyperparams.items():
        opt_state.hyperparams[name] = jnp.asarray(value, jnp.float32)
    state = {
        'optimizer': opt_state,
        'schedule': {
            'peak': jnp.asarray(hp['learning_rate'], jnp.float32),
            'warmup': jnp.asarray(warmup_steps(hp, total), jnp.float32),
            'total': jnp.asarray(total, jnp.float32),
        },
    }
    # On the parameters' devices and mesh (replicated): the step returns its state there, and a
    # state placed elsewhere at the start would compile the step a second time at step 2.
    sharding = jax.tree_util.tree_leaves(model_params)[0].sharding
    return jax.device_put(state, sharding)


@functools.partial(jax.jit, static_argnums=(0, 1), donate_argnums=(2, 3))
def train_step(workload, nesterov, optimizer_state, params, batch, step):
    """One AdamW (or NAdamW) step on the mean per-token loss."""
    tx = _transform(nesterov)(learning_rate=0.0, b1=0.0, b2=0.0, weight_decay=0.0)

    def loss_fn(p):
        logits, _ = workload.model_fn(p, batch, None, spec.ForwardPassMode.TRAIN, None, False)
        loss = workload.loss_fn(batch['targets'], logits)
        return loss['summed'] / loss['n_valid_examples']

    grads = jax.grad(loss_fn)(params)
    opt_state, schedule = optimizer_state['optimizer'], optimizer_state['schedule']
    opt_state.hyperparams['learning_rate'] = learning_rate(
        step, schedule['peak'], schedule['warmup'], schedule['total']
    )
    updates, opt_state = tx.update(grads, opt_state, params)
    return {'optimizer': opt_state, 'schedule': schedule}, optax.apply_updates(params, updates)


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
    nesterov: bool = False,
):
    del current_params_types, hyperparameters, loss_type, eval_results, rng
    optimizer_state, params = train_step(
        workload, nesterov, optimizer_state, current_param_container, batch, global_step
    )
    return optimizer_state, params, model_state


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
