"""AdamW with linear warm-up and cosine decay for the language models, in PyTorch.

The same algorithm, hyperparameters, batch sizes and schedule as the JAX
baseline (``baselines/lm/lm_jax/submission.py``, which documents them). The
learning rate of step ``global_step`` is set before the step, so both
frameworks follow one formula.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

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


def learning_rate(step: int, peak: float, warmup: int, total: int) -> float:
    """Linear warm-up (step 0 already at ``peak / warmup``) then cosine decay to 0 at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def get_batch_size(workload_name: str) -> int:
    return BATCH_SIZES[workload_name]


def init_optimizer_state(
    workload: spec.Workload,
    model_params: torch.nn.Module,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
    nesterov: bool = False,
) -> dict[str, Any]:
    del model_state, rng
    hp = _hparams(hyperparameters)
    total = schedule_steps(workload)
    betas = (1.0 - hp['one_minus_beta1'], hp['beta2'])
    params = model_params.parameters()
    if nesterov:
        optimizer = torch.optim.NAdam(
            params, lr=hp['learning_rate'], betas=betas, eps=EPSILON,
            weight_decay=hp['weight_decay'], decoupled_weight_decay=True,
        )  # fmt: skip
    else:
        optimizer = torch.optim.AdamW(
            params, lr=hp['learning_rate'], betas=betas, eps=EPSILON,
            weight_decay=hp['weight_decay'],
        )  # fmt: skip
    schedule = (hp['learning_rate'], warmup_steps(hp, total), total)
    return {'optimizer': optimizer, 'schedule': schedule}


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
    logits, _ = workload.model_fn(
        current_param_container, batch, model_state, spec.ForwardPassMode.TRAIN, rng, False
    )
    loss_dict = workload.loss_fn(batch['targets'], logits)
    (loss_dict['summed'] / loss_dict['n_valid_examples']).backward()
    optimizer.step()
    return optimizer_state, current_param_container, model_state


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
