"""SGD with Nesterov momentum for MNIST in JAX (optax), batch size 1024.

The second submission family (beside Adam in ``baselines/mnist/mnist_jax``),
so that two training algorithms can be scored against each other.
Hyperparameters: ``learning_rate`` and ``one_minus_momentum`` (momentum =
1 - it); search space ``baselines/mnist/sgd_nesterov/tuning_search_space.json``.
The update is PyTorch's ``SGD(nesterov=True)`` exactly (``buf = m * buf + g``,
step ``-lr * (g + m * buf)``), so the two frameworks' curves are comparable.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jax
import optax

from algorithmic_efficiency import spec

DEFAULTS = {'learning_rate': 0.2, 'one_minus_momentum': 0.1}


def _hparams(hyperparameters: spec.Hyperparameters) -> dict[str, float]:
    return {**DEFAULTS, **(hyperparameters or {})}


def _sgd(learning_rate: float, one_minus_momentum: float):
    # inject_hyperparams: the values live in the optimizer state, so every
    # trial shares one compiled step.
    return optax.inject_hyperparams(optax.sgd)(
        learning_rate=learning_rate, momentum=1.0 - one_minus_momentum, nesterov=True
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
    del workload, model_state, rng
    return _sgd(**_hparams(hyperparameters)).init(model_params)


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def _train_step(
    workload: spec.Workload,
    opt_state: Any,
    params: Any,
    model_state: Any,
    batch: dict[str, jax.Array],
):
    tx = _sgd(**DEFAULTS)  # reads the trial's values from opt_state

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
