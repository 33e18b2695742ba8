"""SGD with Nesterov momentum for CIFAR-10 in PyTorch, batch size 128.

The same algorithm, hyperparameters and schedule as the JAX baseline
(``baselines/cifar/cifar_jax/submission.py``, which documents them):
``learning_rate`` (peak), ``one_minus_momentum``, ``weight_decay`` (PyTorch
SGD's, before momentum, on every parameter) and ``warmup_fraction`` (linear
warm-up, then cosine decay to 0 over the step hint's epochs at this batch
size). The learning rate of step ``global_step`` is set before the step, so
both frameworks follow one formula. Batch-norm statistics come in as
``model_state`` and the updated ones go out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from algorithmic_efficiency import spec

BATCH_SIZE = 128
DEFAULTS = {
    'learning_rate': 0.1,
    'one_minus_momentum': 0.1,
    'weight_decay': 5e-4,
    'warmup_fraction': 0.05,
}
STEP_HINT_BATCH_SIZE = 1024


def _hparams(hyperparameters: spec.Hyperparameters) -> dict[str, float]:
    return {**DEFAULTS, **(hyperparameters or {})}


def schedule_steps(workload: spec.Workload, batch_size: int = BATCH_SIZE) -> int:
    """Steps until the learning rate reaches 0: the step hint's epochs at this batch size."""
    hint = getattr(workload, 'step_hint', None) or 4883
    return max(1, math.ceil(hint * STEP_HINT_BATCH_SIZE / batch_size))


def warmup_steps(hp: dict[str, float], total_steps: int) -> int:
    return max(1, min(total_steps, round(hp['warmup_fraction'] * total_steps)))


def learning_rate(step: int, peak: float, warmup: int, total: int) -> float:
    """Linear warm-up (step 0 already at ``peak / warmup``) then cosine decay to 0 at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def get_batch_size(workload_name: str) -> int:
    del workload_name
    return BATCH_SIZE


def init_optimizer_state(
    workload: spec.Workload,
    model_params: torch.nn.Module,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> dict[str, Any]:
    del model_state, rng
    hp = _hparams(hyperparameters)
    total = schedule_steps(workload)
    optimizer = torch.optim.SGD(
        model_params.parameters(),
        lr=hp['learning_rate'],
        momentum=1.0 - hp['one_minus_momentum'],
        weight_decay=hp['weight_decay'],
        nesterov=True,
    )
    return {
        'optimizer': optimizer,
        'schedule': (hp['learning_rate'], warmup_steps(hp, total), total),
    }


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
    del current_params_types, hyperparameters, loss_type, eval_results
    optimizer = optimizer_state['optimizer']
    lr = learning_rate(global_step, *optimizer_state['schedule'])
    for group in optimizer.param_groups:
        group['lr'] = lr
    optimizer.zero_grad(set_to_none=True)
    logits, new_model_state = workload.model_fn(
        current_param_container, batch, model_state, spec.ForwardPassMode.TRAIN, rng, True
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
