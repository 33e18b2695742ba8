"""SGD with Nesterov momentum for MNIST in PyTorch, batch size 1024.

The second submission family (beside Adam in ``baselines/mnist/mnist_pytorch``).
Hyperparameters: ``learning_rate`` and ``one_minus_momentum`` (momentum =
1 - it); search space ``baselines/mnist/sgd_nesterov/tuning_search_space.json``.
Same update as the JAX version (``optax.sgd(nesterov=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from algorithmic_efficiency import spec

DEFAULTS = {'learning_rate': 0.2, 'one_minus_momentum': 0.1}


def get_batch_size(workload_name: str) -> int:
    del workload_name
    return 1024


def init_optimizer_state(
    workload: spec.Workload,
    model_params: torch.nn.Module,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> dict[str, Any]:
    del workload, model_state, rng
    hp = {**DEFAULTS, **(hyperparameters or {})}
    optimizer = torch.optim.SGD(
        model_params.parameters(),
        lr=hp['learning_rate'],
        momentum=1.0 - hp['one_minus_momentum'],
        nesterov=True,
    )
    return {'optimizer': optimizer}


def update_params(
    workload: spec.Workload,
    current_param_container: torch.nn.Module,
    current_params_types: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    batch: dict[str, torch.Tensor],
    loss_type: spec.LossType,
    optimizer_state: dict[str, Any],
    eval_results: Any,
    global_step: int,
    rng: Any,
):
    del current_params_types, hyperparameters, loss_type, eval_results, global_step, rng
    optimizer = optimizer_state['optimizer']
    optimizer.zero_grad(set_to_none=True)
    logits, new_model_state = workload.model_fn(
        current_param_container, batch, model_state, spec.ForwardPassMode.TRAIN, None, True
    )
    loss_dict = workload.loss_fn(batch['targets'], logits)
    loss = loss_dict['summed'] / loss_dict['n_valid_examples']
    loss.backward()
    optimizer.step()
    return optimizer_state, current_param_container, new_model_state


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
