"""NAdamW with warmup + cosine decay in PyTorch, against the AlgoPerf API (compatibility tests).

Written for this project, it uses the API surface of the peer's external-tuning
PyTorch NAdamW baseline: ``import torch.distributed.nn``, ``from algoperf
import spec``, ``pytorch_setup()`` at import; the schedule from
``workload.step_hint``; hyperparameters as attributes, optional ones tested
with ``hasattr``; ``model_fn(dropout_rate=...)`` with keywords; the dict
``loss_fn`` with ``mask_batch=batch.get('weights')`` and label smoothing;
gradient clipping; ``workload.metrics_logger`` with the gradient norm;
``train_state`` and ``prepare_for_eval``.
"""

from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed.nn as dist_nn
from algoperf import spec
from algoperf.pytorch_utils import pytorch_setup
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

USE_PYTORCH_DDP = pytorch_setup()[0]
LOG_EVERY = 5


def init_optimizer_state(
    workload: spec.Workload,
    model_params: spec.ParameterContainer,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    rng: spec.RandomState,
) -> spec.OptimizerState:
    del model_state, rng
    optimizer = torch.optim.NAdam(
        model_params.parameters(),
        lr=hyperparameters.learning_rate,
        betas=(1.0 - hyperparameters.one_minus_beta1, hyperparameters.beta2),
        eps=1e-8,
        weight_decay=hyperparameters.weight_decay,
        decoupled_weight_decay=True,
    )
    warmup_steps = int(hyperparameters.warmup_factor * workload.step_hint)
    warmup = LinearLR(optimizer, start_factor=1e-10, end_factor=1.0, total_iters=warmup_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=max(workload.step_hint - warmup_steps, 1))
    scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[warmup_steps])
    return {'optimizer': optimizer, 'scheduler': scheduler}


def update_params(
    workload: spec.Workload,
    current_param_container: spec.ParameterContainer,
    current_params_types: spec.ParameterTypeTree,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    batch: dict[str, spec.Tensor],
    loss_type: spec.LossType,
    optimizer_state: spec.OptimizerState,
    eval_results: list[tuple[int, float]],
    global_step: int,
    rng: spec.RandomState,
    train_state: dict[str, Any] | None = None,
) -> spec.UpdateReturn:
    del current_params_types, loss_type, train_state, eval_results
    current_model = current_param_container
    current_model.train()
    optimizer_state['optimizer'].zero_grad()
    logits_batch, new_model_state = workload.model_fn(
        params=current_model,
        augmented_and_preprocessed_input_batch=batch,
        model_state=model_state,
        mode=spec.ForwardPassMode.TRAIN,
        rng=rng,
        update_batch_norm=True,
        dropout_rate=hyperparameters.dropout_rate,
    )
    label_smoothing = (
        hyperparameters.label_smoothing if hasattr(hyperparameters, 'label_smoothing') else 0.0
    )
    grad_clip = hyperparameters.grad_clip if hasattr(hyperparameters, 'grad_clip') else None
    loss_dict = workload.loss_fn(
        label_batch=batch['targets'],
        logits_batch=logits_batch,
        mask_batch=batch.get('weights'),
        label_smoothing=label_smoothing,
    )
    summed_loss, n_valid_examples = loss_dict['summed'], loss_dict['n_valid_examples']
    if USE_PYTORCH_DDP:
        summed_loss = dist_nn.all_reduce(summed_loss)
        n_valid_examples = dist_nn.all_reduce(n_valid_examples)
    loss = summed_loss / n_valid_examples
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(current_model.parameters(), max_norm=grad_clip)
    optimizer_state['optimizer'].step()
    optimizer_state['scheduler'].step()
    if global_step % LOG_EVERY == 0 and workload.metrics_logger is not None:
        with torch.no_grad():
            grads = [p.grad.detach() for p in current_model.parameters() if p.grad is not None]
            grad_norm = torch.norm(torch.stack([torch.norm(g, 2) for g in grads]), 2)
        workload.metrics_logger.append_scalar_metrics(
            {'loss': loss.item(), 'grad_norm': grad_norm.item()}, global_step
        )
    return optimizer_state, current_param_container, new_model_state


def prepare_for_eval(
    workload: spec.Workload,
    current_param_container: spec.ParameterContainer,
    current_params_types: spec.ParameterTypeTree,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    loss_type: spec.LossType,
    optimizer_state: spec.OptimizerState,
    eval_results: list[tuple[int, float]],
    global_step: int,
    rng: spec.RandomState,
) -> spec.UpdateReturn:
    del workload, current_params_types, hyperparameters, loss_type, eval_results
    del global_step, rng
    return optimizer_state, current_param_container, model_state


def get_batch_size(workload_name):
    if workload_name == 'mnist':
        return 16
    raise ValueError(f'Unsupported workload name: {workload_name}.')


def data_selection(
    workload: spec.Workload,
    input_queue: Iterator[dict[str, spec.Tensor]],
    optimizer_state: spec.OptimizerState,
    current_param_container: spec.ParameterContainer,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    global_step: int,
    rng: spec.RandomState,
) -> dict[str, spec.Tensor]:
    del workload, optimizer_state, current_param_container, model_state, hyperparameters
    del global_step, rng
    return next(input_queue)
