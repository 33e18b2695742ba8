"""Adam on MNIST written against the AlgoPerf API (PyTorch), for the compatibility tests.

Written for this project, it uses exactly the API surface of the peer's MNIST
PyTorch development submission and adds the optional parts published
submissions use: ``from algoperf import spec`` and ``pytorch_setup`` imports,
hyperparameters as attributes, ``get_batch_size`` keyed by the framework-free
name, keyword ``model_fn``/``loss_fn`` calls with the dict loss, a
``train_state`` parameter, ``prepare_for_eval`` and ``workload.metrics_logger``.

The model work per step equals the project's PyTorch baseline (Adam, batch
1024, mean cross-entropy): ``benchmarks/bench_algoperf_compat.py`` compares
the two.
"""

from collections.abc import Iterator
from typing import Any

import torch
from algoperf import spec
from algoperf.pytorch_utils import pytorch_setup

USE_PYTORCH_DDP, RANK, DEVICE, N_GPUS = pytorch_setup()
LOG_EVERY = 10  # steps between metrics_logger rows


def get_batch_size(workload_name):
    batch_sizes = {'mnist': 1024}
    return batch_sizes[workload_name]


def init_optimizer_state(
    workload: spec.Workload,
    model_params: spec.ParameterContainer,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    rng: spec.RandomState,
) -> spec.OptimizerState:
    del model_state, workload, rng
    return {
        'optimizer': torch.optim.Adam(
            model_params.parameters(),
            lr=hyperparameters.learning_rate,
            betas=(1.0 - hyperparameters.one_minus_beta_1, 0.999),
            eps=hyperparameters.epsilon,
        ),
        'prepared': 0,  # prepare_for_eval calls, logged through metrics_logger
    }


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
    del hyperparameters, loss_type, current_params_types, eval_results
    current_model = current_param_container
    current_model.train()
    optimizer_state['optimizer'].zero_grad(set_to_none=True)
    output, new_model_state = workload.model_fn(
        params=current_model,
        augmented_and_preprocessed_input_batch=batch,
        model_state=model_state,
        mode=spec.ForwardPassMode.TRAIN,
        rng=rng,
        update_batch_norm=True,
    )
    loss_dict = workload.loss_fn(label_batch=batch['targets'], logits_batch=output)
    loss = loss_dict['summed'] / loss_dict['n_valid_examples']
    loss.backward()
    optimizer_state['optimizer'].step()
    if global_step % LOG_EVERY == 0 and workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics(
            {
                'loss': loss.item(),
                'submission_time': train_state['accumulated_submission_time'],
            },
            global_step,
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
    del current_params_types, hyperparameters, loss_type, eval_results, rng
    optimizer_state['prepared'] += 1
    if workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics(
            {'prepared': optimizer_state['prepared']}, global_step
        )
    return optimizer_state, current_param_container, model_state


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
    del optimizer_state, current_param_container, global_step, rng
    return next(input_queue)
