"""Adam for MNIST in JAX (optax), batch size 1024.

Hyperparameters: ``learning_rate``, ``one_minus_beta_1`` (beta1 = 1 - it) and
``epsilon``, all three used. With ``--tuning_ruleset=self`` (no search space)
the defaults below apply.

The step is one jitted function shared by every trial: the hyperparameters
live in the optimizer state (``optax.inject_hyperparams``) rather than being
baked into the compiled code, so trial 2 onward doesn't recompile. The loss
is never fetched to the host (that would force a device sync every step).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jax
import optax

from algorithmic_efficiency import spec

DEFAULTS = {'learning_rate': 1e-3, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8}


def _hparams(hyperparameters: spec.Hyperparameters) -> dict[str, float]:
    return {**DEFAULTS, **(hyperparameters or {})}


def _adam(learning_rate: float, one_minus_beta_1: float, epsilon: float):
    return optax.inject_hyperparams(optax.adam)(
        learning_rate=learning_rate, b1=1.0 - one_minus_beta_1, eps=epsilon
    )


def get_batch_size(workload_name: str) -> int:
    del workload_name
    return 1024


def init_optimizer_state(
    workload: spec.Workload,
    model_params: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> Any:
    del model_state, rng
    return _adam(**_hparams(hyperparameters)).init(model_params)


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def _train_step(
    workload: spec.Workload,
    opt_state: Any,
    params: Any,
    model_state: Any,
    batch: dict[str, jax.Array],
):
    # The update rule reads the hyperparameters from opt_state, so any
    # instance of the transform works here.
    tx = _adam(**DEFAULTS)

    def loss_fn(p):
        logits, new_state = workload.model_fn(
            p, batch, model_state, spec.ForwardPassMode.TRAIN, None, True
        )
        loss = workload.loss_fn(batch['targets'], logits)
        return loss['summed'] / loss['n_valid_examples'], new_state

    (_, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return opt_state, optax.apply_updates(params, updates), new_model_state


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
    del current_params_types, hyperparameters, loss_type, eval_results, global_step, rng
    return _train_step(workload, optimizer_state, current_param_container, model_state, batch)


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
