"""CIFAR-10 ResNet-18 in PyTorch.

The parameter container is the ``nn.Module``. The model state is a dict of
its batch-norm running statistics (``<module>.running_mean`` /
``.running_var``): the module's own buffers, so reading it costs nothing and
it is always current. ``model_fn`` updates them only in training mode with
``update_batch_norm=True``, the eval never does; a model state that is not the
module's own (a saved copy, say) is copied into the module first, so the state
passed in is the state used, as in JAX.

Inputs are NCHW tensors in the channels-last memory format (a view of the
pipeline's NHWC arrays, no copy): oneDNN's convolutions on the CPU are ~1.4x
faster so than in NCHW-contiguous.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import pytorch_dist, pytorch_utils
from algorithmic_efficiency.workloads.cifar import input_pipeline, resnet
from algorithmic_efficiency.workloads.cifar import workload as cifar_base
from algorithmic_efficiency.workloads.cifar.cifar_pytorch import models
from algorithmic_efficiency.workloads.common.torch_devices import default_device

ModelState = dict[str, torch.Tensor]


def batch_norm_state(model: nn.Module) -> ModelState:
    """The model's batch-norm running statistics, by buffer name (the tensors themselves)."""
    return {
        name: buffer
        for name, buffer in model.named_buffers()
        if name.endswith(('.running_mean', '.running_var'))
    }


def _use_state(model: nn.Module, model_state: ModelState | None) -> ModelState:
    """The module's own state, after copying ``model_state`` into it if it is another one."""
    own = batch_norm_state(model)
    if model_state is None or model_state is own:
        return own
    if model_state.keys() != own.keys():
        raise ValueError(
            'model_state does not match this model: it must be the dict init_model_fn or '
            'model_fn returned (batch-norm running_mean/running_var by name)'
        )
    with torch.no_grad():
        for name, buffer in own.items():
            if model_state[name] is not buffer:
                buffer.copy_(model_state[name])
    return own


class CifarWorkload(pytorch_dist.ProcessesWorkload, cifar_base.BaseCifarWorkload):
    """CIFAR-10 ResNet-18 in PyTorch.

    Under ``torchrun`` the model is wrapped in ``DistributedDataParallel`` and
    each process trains on its rows of every (augmented) global batch; batch
    norm normalises with each process's own rows (as DDP does without
    ``SyncBatchNorm``, which has no CPU kernel), and DDP keeps rank 0's running
    statistics on every process. The eval is split across the processes.
    """

    def __init__(self, width: int = resnet.WIDTH, device: torch.device | None = None) -> None:
        super().__init__(width)
        self.device = device or default_device()
        self._eval_device: dict[str, dict[str, torch.Tensor]] | None = None
        self._state_of: dict[int, ModelState] = {}  # id(model) -> its batch-norm buffers

    def prepare_data(self, data_dir: str | None) -> dict[str, Any]:
        self._eval_device = None
        return super().prepare_data(data_dir)

    def init_model_fn(self, rng: int) -> tuple[nn.Module, ModelState]:
        pytorch_utils.reset_peak(self.device)  # peaks per trial
        params, batch_stats = self.init_variables(int(rng))
        model = models.ResNet18(self.width)
        state = {
            k: torch.from_numpy(v) for k, v in resnet.torch_state_dict(params, batch_stats).items()
        }
        for name, buffer in model.named_buffers():
            if name.endswith('num_batches_tracked'):
                state[name] = torch.zeros_like(buffer)
        model.load_state_dict(state, strict=True)
        model = model.to(self.device, memory_format=torch.channels_last)
        self._param_shapes = pytorch_utils.param_shapes(model)
        self._param_types = pytorch_utils.param_types(model)
        state = batch_norm_state(model)  # names without DDP's 'module.'
        return pytorch_dist.wrap_model(model, self._processes), state

    def _to_torch(self, batch: dict[str, np.ndarray]) -> spec.Batch:
        """NHWC NumPy -> NCHW channels-last tensors on the device (on the prefetch thread)."""
        inputs = torch.from_numpy(batch['inputs']).permute(0, 3, 1, 2)
        targets = torch.from_numpy(batch['targets']).long()
        if self.device.type == 'cuda':
            inputs = inputs.pin_memory().to(self.device, non_blocking=True)
            targets = targets.pin_memory().to(self.device, non_blocking=True)
        return {'inputs': inputs, 'targets': targets}

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        batches = self.numpy_train_batches(data_rng, data_dir, global_batch_size)
        if self._processes is not None:
            # Every process augments the whole global batch (the same draws as
            # one process) and keeps its rows: N processes train on exactly
            # what one would.
            rows = self.batch_rows(global_batch_size)
            batches = ({k: v[rows] for k, v in b.items()} for b in batches)
        return input_pipeline.Prefetcher(batches, transform=self._to_torch)

    def model_fn(
        self,
        params: nn.Module,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: ModelState | None,
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[torch.Tensor, ModelState]:
        del rng, dropout_rate  # ResNet-18 has no dropout
        train = self.check_mode(mode, update_batch_norm)
        state = _use_state(pytorch_dist.unwrap(params), model_state)
        inputs = augmented_and_preprocessed_input_batch['inputs']
        params.train(train)
        if not train:
            with torch.no_grad():  # the module itself: no DDP collectives outside training
                return pytorch_dist.unwrap(params)(inputs), state
        norms = [m for m in params.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        try:
            # Without running statistics to track, training-mode batch norm
            # normalises with the batch's statistics and updates nothing.
            for m in norms:
                m.track_running_stats = update_batch_norm
            logits = params(inputs)
        finally:
            for m in norms:
                m.track_running_stats = True
        return logits, state

    def loss_fn(
        self,
        label_batch: torch.Tensor,
        logits_batch: torch.Tensor,
        mask_batch: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        return pytorch_utils.softmax_cross_entropy(
            label_batch, logits_batch, mask_batch, label_smoothing
        )

    def _eval_tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        if self._eval_device is None:
            rows = self.eval_rows  # several processes: each evaluates its share of every batch
            self._eval_device = {
                split: {
                    'inputs': torch.from_numpy(a['inputs'][:, rows]).to(self.device),
                    'targets': torch.from_numpy(a['targets'][:, rows]).long().to(self.device),
                    'weights': torch.from_numpy(a['weights'][:, rows]).to(self.device),
                }
                for split, a in self.eval_arrays.items()
            }
        return self._eval_device

    def eval_model(
        self, params: nn.Module, model_state: ModelState | None, rng: Any
    ) -> dict[str, float]:
        del rng
        params = pytorch_dist.unwrap(params)  # no DDP forward: no collectives in the eval
        _use_state(params, model_state)
        scale, offset = (torch.from_numpy(v).to(self.device) for v in self.normalisation)
        params.eval()
        sums = {}
        with torch.inference_mode():
            for split, e in self._eval_tensors().items():
                total = torch.zeros(3, dtype=torch.float64, device=self.device)
                for x, y, w in zip(e['inputs'], e['targets'], e['weights'], strict=True):
                    inputs = (x.float() * scale + offset).permute(0, 3, 1, 2)
                    logits = params(inputs)
                    total[0] += self.loss_fn(y, logits, w)['summed']
                    total[1] += torch.sum((torch.argmax(logits, dim=-1) == y) * w)
                    total[2] += torch.sum(w)
                if self._processes is not None:
                    self._processes.all_reduce_sum(total)  # the same metrics everywhere
                sums[split] = total
        return self.summarise_eval({k: v.cpu().numpy() for k, v in sums.items()})

