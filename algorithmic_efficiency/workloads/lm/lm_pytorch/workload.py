"""The transformer language models in PyTorch: ``finewebedu_lm_pytorch`` and ``lm_tiny_pytorch``.

The parameter container is the ``nn.Module`` (float32 parameters); there is
no model state. On a GPU the forward pass runs under ``torch.autocast`` in
bfloat16, logits back to float32 for the loss; on the CPU in float32.
Under ``torchrun`` the model is wrapped in ``DistributedDataParallel``, each
process trains on its rows of every global batch and the eval is split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import pytorch_dist, pytorch_utils
from algorithmic_efficiency.workloads.lm import init as lm_init
from algorithmic_efficiency.workloads.lm import workload as lm_base
from algorithmic_efficiency.workloads.lm._shared import Prefetcher, default_device
from algorithmic_efficiency.workloads.lm.lm_pytorch import models


def softmax_cross_entropy(
    labels: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None, label_smoothing: float
) -> dict[str, torch.Tensor]:
    """Per-token cross-entropy of ``(B, S, V)`` logits; ``n_valid_examples`` counts tokens."""
    per_token = F.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), reduction='none',
        label_smoothing=float(label_smoothing),
    ).view(labels.shape)  # fmt: skip
    if mask is None:
        n_valid = torch.tensor(float(labels.numel()))  # a CPU scalar: no device sync
    else:
        per_token = per_token * mask
        n_valid = mask.sum()
    return {'summed': per_token.sum(), 'n_valid_examples': n_valid, 'per_example': per_token}


class _TorchLm(pytorch_dist.ProcessesWorkload):
    """The PyTorch half of an LM workload; mixed in before a :class:`..workload.BaseLmWorkload`."""

    def __init__(self, device: torch.device | None = None) -> None:
        super().__init__()
        self.device = device or default_device()

    def compute_dtype(self) -> str:
        return 'bfloat16' if self.device.type == 'cuda' else 'float32'

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == 'cuda':
            return torch.autocast('cuda', dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def on_data_changed(self) -> None:
        self._eval_device = None

    def init_model_fn(self, rng: int) -> tuple[nn.Module, None]:
        pytorch_utils.reset_peak(self.device)  # peaks per trial
        model = models.Transformer(self.cfg)
        state = lm_init.torch_state_dict(self.init_params(int(rng)), self.cfg.num_layers)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
        model = model.to(self.device)
        self._param_shapes = pytorch_utils.param_shapes(model)
        self._param_types = pytorch_utils.param_types(model)
        return pytorch_dist.wrap_model(model, self._processes), None

    def _to_torch(self, batch: dict[str, np.ndarray]) -> spec.Batch:
        out = {k: torch.from_numpy(v).long() for k, v in batch.items()}
        if self.device.type == 'cuda':
            out = {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in out.items()}
        return out

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        rows = self.batch_rows(global_batch_size)
        batches = self.numpy_train_batches(data_rng, data_dir, global_batch_size, rows)
        return Prefetcher(batches, transform=self._to_torch)

    def model_fn(
        self,
        params: nn.Module,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: Any,
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[torch.Tensor, None]:
        del model_state, rng, update_batch_norm, dropout_rate  # no dropout, no state
        inputs = augmented_and_preprocessed_input_batch['inputs']
        train = spec.is_train(mode)
        params.train(train)
        with self._autocast():
            if train:
                return params(inputs).float(), None
            with torch.no_grad():  # the module itself: no DDP collectives outside training
                return pytorch_dist.unwrap(params)(inputs).float(), None

    def loss_fn(
        self,
        label_batch: torch.Tensor,
        logits_batch: torch.Tensor,
        mask_batch: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        return softmax_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

    def _to_eval(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        rows = self.eval_rows  # several processes: each evaluates its share of every batch
        return {
            'inputs': torch.from_numpy(batch['inputs'][rows]).long().to(self.device),
            'targets': torch.from_numpy(batch['targets'][rows]).long().to(self.device),
            'weights': torch.from_numpy(batch['weights'][rows]).to(self.device),
        }

    def _eval_split(self, split: str) -> Iterator[dict[str, torch.Tensor]]:
        if self.eval_bytes() > lm_base.MAX_CACHED_EVAL_BYTES:  # read from disk every eval
            return (self._to_eval(b) for b in self.eval_batches(split))
        if self._eval_device is None:
            self._eval_device = {
                s: [self._to_eval(b) for b in self.eval_batches(s)] for s in lm_base.EVAL_SPLITS
            }
        return iter(self._eval_device[split])

    def eval_model(self, params: nn.Module, model_state: Any, rng: Any) -> dict[str, float]:
        del model_state, rng
        model = pytorch_dist.unwrap(params)  # no DDP forward: no collectives in the eval
        model.eval()
        sums = {}
        with torch.inference_mode(), self._autocast():
            for split in lm_base.EVAL_SPLITS:
                total = torch.zeros(3, dtype=torch.float64, device=self.device)
                for b in self._eval_split(split):
                    logits = model(b['inputs']).float()
                    total[0] += self.loss_fn(b['targets'], logits, b['weights'])['summed']
                    hits = torch.argmax(logits, dim=-1) == b['targets']
                    total[1] += torch.sum(hits * b['weights'])
                    total[2] += torch.sum(b['weights'])
                if self._processes is not None:
                    self._processes.all_reduce_sum(total)  # the same metrics everywhere
                sums[split] = total
        return self.summarise_eval({k: v.cpu().numpy() for k, v in sums.items()})


class FinewebEduLmWorkload(_TorchLm, lm_base.FinewebEduLm):
    """The peer's ``finewebedu_lm_pytorch``."""


class TinyLmWorkload(_TorchLm, lm_base.TinyLm):
    """``lm_tiny_pytorch``: the CPU size, on the offline corpus by default."""
