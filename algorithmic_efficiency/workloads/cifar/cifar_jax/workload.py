"""CIFAR-10 ResNet-18 in JAX/flax.

Parameters are the flax ``params`` tree; the model state is
``{'batch_stats': ...}``, the batch-norm running statistics: updated by
``model_fn`` only in training mode with ``update_batch_norm=True``, never by
the eval.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import jax_sharding, jax_utils
from algorithmic_efficiency.workloads.cifar import data as cifar_data
from algorithmic_efficiency.workloads.cifar import input_pipeline, resnet
from algorithmic_efficiency.workloads.cifar import workload as cifar_base
from algorithmic_efficiency.workloads.cifar.cifar_jax import models
from algorithmic_efficiency.workloads.common.jax_seeds import seed_from_key


class CifarWorkload(jax_sharding.MeshWorkload, cifar_base.BaseCifarWorkload):
    """CIFAR-10 ResNet-18 in flax, NHWC (XLA's native layout on CPU and GPU).

    Data-parallel over a one-axis mesh, as MNIST: parameters and batch-norm
    statistics replicated, batches split. Batch norm then normalises with the
    statistics of the whole global batch (XLA reduces across the devices), so
    N devices compute what one does.
    """

    def __init__(self, width: int = resnet.WIDTH) -> None:
        super().__init__(width)
        self._model = models.ResNet18(width)
        self._eval_device: dict[str, dict[str, jax.Array]] | None = None

    def prepare_data(self, data_dir: str | None) -> dict[str, Any]:
        self._eval_device = None  # uploaded again on the next eval
        return super().prepare_data(data_dir)

    def rng_from_seed(self, seed: int) -> jax.Array:
        return jax.random.PRNGKey(seed)

    def init_model_fn(self, rng: jax.Array) -> tuple[Any, dict[str, Any]]:
        params, batch_stats = self.init_variables(seed_from_key(rng))
        params = self.mesh.replicate(params)
        self._param_shapes = jax_utils.param_shapes(params)
        self._param_types = jax_utils.param_types(params)
        return params, {'batch_stats': self.mesh.replicate(batch_stats)}

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        jax_sharding.check_batch_size(global_batch_size, self.mesh.count)
        # One device: NumPy batches go straight into the jitted step, which
        # copies them as part of the call. Several: split across the devices
        # on the prefetch thread, ahead of the step.
        return input_pipeline.Prefetcher(
            self.mesh.batches(self.numpy_train_batches(data_rng, data_dir, global_batch_size))
        )

    def model_fn(
        self,
        params: Any,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: dict[str, Any],
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[jax.Array, dict[str, Any]]:
        del rng, dropout_rate  # ResNet-18 has no dropout
        train = self.check_mode(mode, update_batch_norm)
        variables = {'params': params, **model_state}
        inputs = augmented_and_preprocessed_input_batch['inputs']
        if not train:
            return self._model.apply(variables, inputs, train=False), model_state
        # Training normalises with the batch's statistics; the running averages
        # move only when asked to.
        logits, updated = self._model.apply(variables, inputs, train=True, mutable=['batch_stats'])
        return logits, ({**model_state, **updated} if update_batch_norm else model_state)

    def loss_fn(
        self,
        label_batch: jax.Array,
        logits_batch: jax.Array,
        mask_batch: jax.Array | None = None,
        label_smoothing: Any = 0.0,
    ) -> dict[str, Any]:
        return jax_utils.softmax_cross_entropy(
            label_batch, logits_batch, mask_batch, label_smoothing, cifar_data.NUM_CLASSES
        )

    @functools.partial(jax.jit, static_argnums=0)
    def _eval_batch(
        self,
        params: Any,
        model_state: Any,
        inputs: jax.Array,
        targets: jax.Array,
        weights: jax.Array,
    ) -> jax.Array:
        """``[loss_sum, correct_sum, weight_sum]`` of one padded batch of uint8 images."""
        scale, offset = self.normalisation
        x = inputs.astype(jnp.float32) * scale + offset
        logits, _ = self.model_fn(
            params, {'inputs': x}, model_state, spec.ForwardPassMode.EVAL, None, False
        )
        loss = self.loss_fn(targets, logits, weights)['summed']
        correct = jnp.sum((jnp.argmax(logits, axis=-1) == targets) * weights)
        return jnp.stack([loss, correct, jnp.sum(weights)])

    def eval_model(self, params: Any, model_state: Any, rng: Any) -> dict[str, float]:
        del rng
        if self._eval_device is None:
            self._eval_device = {k: self.place_eval(v) for k, v in self.eval_arrays.items()}
        totals = {}
        for split, arrays in self._eval_device.items():
            total = jnp.zeros(3, jnp.float32)
            for x, y, w in zip(arrays['inputs'], arrays['targets'], arrays['weights'], strict=True):
                total = total + self._eval_batch(params, model_state, x, y, w)
            totals[split] = total
        # One transfer to the host for the whole eval.
        host = jax.device_get(totals)
        return self.summarise_eval({k: np.asarray(v, np.float64) for k, v in host.items()})

    def sync_device(self, params: Any) -> None:
        jax.block_until_ready(params)

    def memory_stats(self) -> dict[str, int]:
        return jax_utils.memory_stats()
