"""The transformer language models in JAX/flax: ``finewebedu_lm_jax`` and ``lm_tiny_jax``.

Parameters are the flax ``params`` tree (float32); there is no model state.
On a GPU the forward pass computes in bfloat16 (parameters cast per step,
logits back to float32 for the loss), on the CPU in float32.
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
from algorithmic_efficiency.workloads.lm import workload as lm_base
from algorithmic_efficiency.workloads.lm._shared import Prefetcher, seed_from_key
from algorithmic_efficiency.workloads.lm.lm_jax import models


def softmax_cross_entropy(
    labels: jax.Array, logits: jax.Array, mask: jax.Array | None, label_smoothing: float
) -> dict[str, jax.Array]:
    """Per-token cross-entropy of ``(B, S, V)`` logits; ``n_valid_examples`` counts tokens."""
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    target = jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    per_token = -target
    # (1 - a) * CE(target) + a * CE(uniform); a may be traced (a submission's jitted value).
    if not isinstance(label_smoothing, int | float) or label_smoothing:
        per_token = (1.0 - label_smoothing) * per_token - label_smoothing * log_probs.mean(-1)
    if mask is None:
        n_valid = jnp.asarray(labels.size, jnp.float32)
    else:
        per_token = per_token * mask
        n_valid = mask.sum()
    return {'summed': per_token.sum(), 'n_valid_examples': n_valid, 'per_example': per_token}


class _JaxLm(jax_sharding.MeshWorkload):
    """The JAX half of an LM workload; mixed in before a :class:`..workload.BaseLmWorkload`."""

    _model: models.Transformer | None = None

    def compute_dtype(self) -> str:
        return 'bfloat16' if self.mesh.devices[0].platform == 'gpu' else 'float32'

    def on_data_changed(self) -> None:
        self._eval_device = None
        self._model = None

    @property
    def model(self) -> models.Transformer:
        if self._model is None:
            self._model = models.Transformer(self.cfg, jnp.dtype(self.compute_dtype()))
        return self._model

    def rng_from_seed(self, seed: int) -> jax.Array:
        return jax.random.PRNGKey(seed)

    def init_model_fn(self, rng: jax.Array) -> tuple[Any, None]:
        params = self.mesh.replicate(models.to_jax(self.init_params(seed_from_key(rng))))
        self._param_shapes = jax_utils.param_shapes(params)
        self._param_types = jax_utils.param_types(params)
        return params, None

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        jax_sharding.check_batch_size(global_batch_size, self.mesh.count)
        return Prefetcher(
            self.mesh.batches(self.numpy_train_batches(data_rng, data_dir, global_batch_size))
        )

    def model_fn(
        self,
        params: Any,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: Any,
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[jax.Array, None]:
        del model_state, mode, rng, update_batch_norm, dropout_rate  # no dropout, no state
        dtype = self.model.dtype
        if dtype != jnp.float32:
            params = jax.tree_util.tree_map(lambda p: p.astype(dtype), params)
        inputs = augmented_and_preprocessed_input_batch['inputs']
        logits = self.model.apply({'params': params}, inputs)
        return logits.astype(jnp.float32), None

    def loss_fn(
        self,
        label_batch: jax.Array,
        logits_batch: jax.Array,
        mask_batch: jax.Array | None = None,
        label_smoothing: Any = 0.0,
    ) -> dict[str, Any]:
        return softmax_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

    @functools.partial(jax.jit, static_argnums=0)
    def _eval_batch(self, params: Any, batch: dict[str, jax.Array]) -> jax.Array:
        """``[loss_sum, correct_sum, token_count]`` of one padded batch."""
        logits, _ = self.model_fn(params, batch, None, spec.ForwardPassMode.EVAL, None, False)
        w = batch['weights']
        loss = self.loss_fn(batch['targets'], logits, w)['summed']
        correct = jnp.sum((jnp.argmax(logits, axis=-1) == batch['targets']) * w)
        return jnp.stack([loss, correct, jnp.sum(w)])

    def _eval_split(self, split: str) -> Iterator[dict[str, jax.Array]]:
        if self.eval_bytes() > lm_base.MAX_CACHED_EVAL_BYTES:  # read from disk every eval
            return (self.place_eval(b) for b in self.eval_batches(split))
        if self._eval_device is None:
            self._eval_device = {
                s: [self.place_eval(b) for b in self.eval_batches(s)] for s in lm_base.EVAL_SPLITS
            }
        return iter(self._eval_device[split])

    def place_eval(self, batch: dict[str, np.ndarray]) -> Any:
        return self.mesh.shard_batch(batch) if len(batch['inputs']) % self.mesh.count == 0 else (
            self.mesh.replicate(batch))

    def eval_model(self, params: Any, model_state: Any, rng: Any) -> dict[str, float]:
        del model_state, rng
        totals = {}
        for split in lm_base.EVAL_SPLITS:
            total = jnp.zeros(3, jnp.float32)
            for batch in self._eval_split(split):
                total = total + self._eval_batch(params, batch)
            totals[split] = total
        host = jax.device_get(totals)  # one transfer for the whole eval
        return self.summarise_eval({k: np.asarray(v, np.float64) for k, v in host.items()})

    def sync_device(self, params: Any) -> None:
        jax.block_until_ready(params)

    def memory_stats(self) -> dict[str, int]:
        return jax_utils.memory_stats()


class FinewebEduLmWorkload(_JaxLm, lm_base.FinewebEduLm):
    """The peer's ``finewebedu_lm_jax``."""


class TinyLmWorkload(_JaxLm, lm_base.TinyLm):
    """``lm_tiny_jax``: the CPU size, on the offline corpus by default."""
