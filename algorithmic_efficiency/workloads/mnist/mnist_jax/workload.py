"""MNIST in JAX/flax."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import jax_sharding, jax_utils
from algorithmic_efficiency.workloads.common.jax_seeds import seed_from_key
from algorithmic_efficiency.workloads.mnist import workload as mnist_base


class _Model(nn.Module):
    """784-128-sigmoid-10; weights come from :func:`mnist_base.init_mlp_params`."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape((x.shape[0], mnist_base.INPUT_SIZE))
        x = nn.Dense(mnist_base.NUM_HIDDEN)(x)
        x = nn.sigmoid(x)
        return nn.Dense(mnist_base.NUM_CLASSES)(x)


class MnistWorkload(jax_sharding.MeshWorkload, mnist_base.BaseMnistWorkload):
    """MNIST MLP in flax; parameters are ``{'params': {...}}`` pytrees.

    Data-parallel over a one-axis mesh (:mod:`..jax_sharding`): parameters are
    replicated on every device and each batch is split across them, so a
    submission's ``jax.jit`` step runs on 1 or N devices unchanged.
    """

    host_normalised_batches = False  # uint8 batches, normalised on the device

    def __init__(self) -> None:
        super().__init__()
        self._model = _Model()

    def rng_from_seed(self, seed: int) -> jax.Array:
        return jax.random.PRNGKey(seed)

    def init_model_fn(self, rng: jax.Array) -> tuple[Any, None]:
        numpy_params = mnist_base.init_mlp_params(seed_from_key(rng))
        params = self.mesh.replicate({'params': numpy_params})
        self._param_shapes = jax_utils.param_shapes(params)
        self._param_types = jax_utils.param_types(params)
        return params, None

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        jax_sharding.check_batch_size(global_batch_size, self.mesh.count)
        # uint8 pixels go to the device (a quarter of float32's bytes) and XLA
        # normalises them, asynchronously: measured faster than gathering rows
        # of a normalised float32 copy, which would cost 188 MB on full MNIST.
        # On one device the batch stays NumPy (the jitted calls copy it); on
        # several it is split across them first, and stays split.
        batches = self.numpy_train_batches(data_rng, data_dir, global_batch_size, normalise=False)
        for batch in self.mesh.batches(batches):
            yield {'inputs': self._normalise(batch['inputs']), 'targets': batch['targets']}

    @functools.partial(jax.jit, static_argnums=0)
    def _normalise(self, images: jax.Array) -> jax.Array:
        scale, offset = self.input_scale_offset
        return images.astype(jnp.float32) * scale + offset

    def model_fn(
        self,
        params: Any,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: Any,
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[jax.Array, Any]:
        del mode, rng, update_batch_norm, dropout_rate  # no dropout, no batch norm
        logits = self._model.apply(params, augmented_and_preprocessed_input_batch['inputs'])
        return logits, model_state

    def loss_fn(
        self,
        label_batch: jax.Array,
        logits_batch: jax.Array,
        mask_batch: jax.Array | None = None,
        label_smoothing: Any = 0.0,
    ) -> dict[str, Any]:
        return jax_utils.softmax_cross_entropy(
            label_batch, logits_batch, mask_batch, label_smoothing, mnist_base.NUM_CLASSES
        )

    @functools.partial(jax.jit, static_argnums=0)
    def _eval_sums(
        self, params: Any, inputs: jax.Array, targets: jax.Array, weights: jax.Array
    ) -> jax.Array:
        """Sums of loss, correct predictions and weights over all eval batches, in one call."""

        def one_batch(carry, batch):
            x, y, w = batch
            # uint8 on the device (a quarter of float32's memory), normalised
            # per batch inside the compiled eval.
            logits = self._model.apply(params, self._normalise(x))
            loss = self.loss_fn(y, logits, w)['summed']
            correct = jnp.sum((jnp.argmax(logits, axis=-1) == y) * w)
            return carry + jnp.stack([loss, correct, jnp.sum(w)]), None

        sums, _ = jax.lax.scan(one_batch, jnp.zeros(3, jnp.float32), (inputs, targets, weights))
        return sums

    def eval_model(self, params: Any, model_state: Any, rng: Any) -> dict[str, float]:
        del model_state, rng
        if self._eval_device is None:
            self._eval_device = self.place_eval(self.eval_arrays)
        e = self._eval_device
        loss_sum, correct_sum, count = np.asarray(
            self._eval_sums(params, e['inputs'], e['targets'], e['weights']), dtype=np.float64
        )
        return self.summarise_eval(loss_sum, correct_sum, count)

    def sync_device(self, params: Any) -> None:
        jax.block_until_ready(params)

    def memory_stats(self) -> dict[str, int]:
        return jax_utils.memory_stats()
