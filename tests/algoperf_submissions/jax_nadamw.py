"""NAdamW with warmup + cosine decay in JAX, against the AlgoPerf API, for the compatibility tests.

Written for this project, it uses the API surface of the peer's external-tuning
JAX NAdamW baseline: ``import chex``, ``from algoperf import
jax_sharding_utils, spec``; the schedule from ``workload.step_hint``; the
optimizer state initialised from ``workload.param_shapes`` (``shape_tuple``);
the hyperparameters as attributes, optional ones tested with ``hasattr``; a
step jitted *inside* ``update_params`` with replicated/batch shardings and
donated buffers; ``model_fn(dropout_rate=...)``; the dict ``loss_fn`` with a
mask and label smoothing; ``workload.metrics_logger``; ``train_state`` and
``prepare_for_eval``.
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax
from algoperf import jax_sharding_utils, spec

LOG_EVERY = 5


class ClipState(NamedTuple):
    """The last step's gradient norm, kept in the optimizer state (a chex-typed pytree)."""

    grad_norm: chex.Array


def _schedule(step_hint: int, hyperparameters) -> optax.Schedule:
    warmup_steps = int(hyperparameters.warmup_factor * step_hint)
    warmup = optax.linear_schedule(0.0, hyperparameters.learning_rate, warmup_steps)
    cosine = optax.cosine_decay_schedule(
        hyperparameters.learning_rate, max(step_hint - warmup_steps, 1)
    )
    return optax.join_schedules([warmup, cosine], [warmup_steps])


def init_optimizer_state(
    workload: spec.Workload,
    model_params: spec.ParameterContainer,
    model_state: spec.ModelAuxiliaryState,
    hyperparameters: spec.Hyperparameters,
    rng: spec.RandomState,
) -> spec.OptimizerState:
    del model_params, model_state, rng
    opt_init_fn, opt_update_fn = optax.nadamw(
        learning_rate=_schedule(workload.step_hint, hyperparameters),
        b1=1.0 - hyperparameters.one_minus_beta1,
        b2=hyperparameters.beta2,
        eps=1e-8,
        weight_decay=hyperparameters.weight_decay,
    )
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape_tuple), workload.param_shapes)
    state = (opt_init_fn(zeros), ClipState(grad_norm=jnp.zeros([])))
    return state, opt_update_fn


def train_step(workload, opt_update_fn, model_state, optimizer_state, params, batch, rng,
               grad_clip, label_smoothing, dropout_rate):
    def loss_fn(p):
        logits, new_model_state = workload.model_fn(
            p, batch, model_state, spec.ForwardPassMode.TRAIN, rng,
            update_batch_norm=True, dropout_rate=dropout_rate,
        )
        loss_dict = workload.loss_fn(
            label_batch=batch['targets'], logits_batch=logits,
            mask_batch=batch.get('weights'), label_smoothing=label_smoothing,
        )
        return loss_dict['summed'], (loss_dict['n_valid_examples'], new_model_state)

    (summed, (n_valid, new_model_state)), grad = jax.value_and_grad(loss_fn, has_aux=True)(params)
    loss = summed / n_valid
    grad = jax.tree.map(lambda g: g / n_valid, grad)
    grad_norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grad)))
    if grad_clip is not None:
        scale = jnp.clip(grad_clip / (grad_norm + 1e-6), 0.0, 1.0)
        grad = jax.tree.map(lambda g: g * scale, grad)
    inner_state, _ = optimizer_state
    updates, inner_state = opt_update_fn(grad, inner_state, params)
    new_state = (inner_state, ClipState(grad_norm=grad_norm))
    return new_state, optax.apply_updates(params, updates), new_model_state, loss, grad_norm


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
    del current_params_types, loss_type, eval_results, train_state
    optimizer_state, opt_update_fn = optimizer_state
    label_smoothing = (
        hyperparameters.label_smoothing if hasattr(hyperparameters, 'label_smoothing') else 0.0
    )
    grad_clip = hyperparameters.grad_clip if hasattr(hyperparameters, 'grad_clip') else None
    replicated = jax_sharding_utils.get_replicate_sharding()
    sharded = jax_sharding_utils.get_batch_dim_sharding()
    step = jax.jit(
        train_step,
        static_argnums=(0, 1),
        donate_argnums=(2, 3, 4),
        in_shardings=(replicated, replicated, replicated, sharded, replicated, replicated,
                      replicated, replicated),
        out_shardings=(replicated,) * 5,
    )
    new_state, new_params, new_model_state, loss, grad_norm = step(
        workload, opt_update_fn, model_state, optimizer_state, current_param_container, batch,
        rng, grad_clip, label_smoothing, hyperparameters.dropout_rate,
    )
    if global_step % LOG_EVERY == 0 and workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics(
            {'loss': loss.item(), 'grad_norm': grad_norm.item()}, global_step
        )
    return (new_state, opt_update_fn), new_params, new_model_state


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
