"""MNIST in PyTorch."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import pytorch_dist, pytorch_utils
from algorithmic_efficiency.workloads.common.torch_devices import default_device
from algorithmic_efficiency.workloads.mnist import workload as mnist_base


class _Model(nn.Module):
    """784-128-sigmoid-10, the same network as the flax model."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(mnist_base.INPUT_SIZE, mnist_base.NUM_HIDDEN),
            nn.Sigmoid(),
            nn.Linear(mnist_base.NUM_HIDDEN, mnist_base.NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], mnist_base.INPUT_SIZE))


class MnistWorkload(pytorch_dist.ProcessesWorkload, mnist_base.BaseMnistWorkload):
    """MNIST MLP in PyTorch; the parameter container is the ``nn.Module``.

    Under ``torchrun`` (:meth:`use_devices` with several processes) the
    module is wrapped in ``DistributedDataParallel``, each process reads its
    shard of every global batch and evaluates its share of the eval split.
    """

    def __init__(self, device: torch.device | None = None) -> None:
        super().__init__()
        self.device = device or default_device()

    def init_model_fn(self, rng: int) -> tuple[nn.Module, None]:
        pytorch_utils.reset_peak(self.device)  # peaks per trial
        numpy_params = mnist_base.init_mlp_params(int(rng))
        model = _Model()
        with torch.no_grad():
            for layer, name in ((model.net[0], 'Dense_0'), (model.net[2], 'Dense_1')):
                layer.weight.copy_(torch.from_numpy(numpy_params[name]['kernel'].T.copy()))
                layer.bias.copy_(torch.from_numpy(numpy_params[name]['bias']))
        self._param_shapes = pytorch_utils.param_shapes(model)  # names without DDP's 'module.'
        self._param_types = pytorch_utils.param_types(model)
        return pytorch_dist.wrap_model(model.to(self.device), self._processes), None

    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[spec.Batch]:
        if split != 'train':
            raise ValueError(f"only the 'train' split streams batches, got '{split}'")
        device = self.device
        non_blocking = device.type == 'cuda'
        rows = self.batch_rows(global_batch_size)  # this process's share of every global batch
        for batch in self.numpy_train_batches(data_rng, data_dir, global_batch_size, rows=rows):
            yield {
                'inputs': torch.from_numpy(batch['inputs']).to(device, non_blocking=non_blocking),
                'targets': torch.from_numpy(batch['targets'])
                .long()
                .to(device, non_blocking=non_blocking),
            }

    def model_fn(
        self,
        params: nn.Module,
        augmented_and_preprocessed_input_batch: spec.Batch,
        model_state: Any,
        mode: spec.ForwardPassMode,
        rng: Any,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[torch.Tensor, Any]:
        del rng, update_batch_norm, dropout_rate  # no dropout, no batch norm
        train = spec.is_train(mode)
        params.train(train)
        with torch.set_grad_enabled(train):
            logits = params(augmented_and_preprocessed_input_batch['inputs'])
        return logits, model_state

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

    def eval_model(self, params: nn.Module, model_state: Any, rng: Any) -> dict[str, float]:
        del model_state, rng
        if self._eval_device is None:
            # Several processes: each sums its share of every batch.
            arrays = {k: v[:, self.eval_rows] for k, v in self.eval_arrays.items()}
            with warnings.catch_warnings():
                # The images may be a read-only memory map of the data cache; on the
                # CPU the tensor shares it, and it is only ever read (normalised into
                # a new tensor per batch), so torch's warning about writes is moot.
                warnings.filterwarnings('ignore', 'The given NumPy array is not writable')
                inputs = torch.from_numpy(arrays['inputs']).to(self.device)
            self._eval_device = {
                'inputs': inputs,
                'targets': torch.from_numpy(arrays['targets']).long().to(self.device),
                'weights': torch.from_numpy(arrays['weights']).to(self.device),
            }
        e = self._eval_device
        scale, offset = self.input_scale_offset
        params = pytorch_dist.unwrap(params)  # no DDP forward: no collectives in the eval
        params.eval()
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        with torch.inference_mode():
            for x, y, w in zip(e['inputs'], e['targets'], e['weights'], strict=True):
                # uint8 on the device; normalised per batch, as in training.
                logits = params(x.to(torch.float32).mul_(scale).add_(offset))
                sums[0] += self.loss_fn(y, logits, w)['summed']
                sums[1] += torch.sum((torch.argmax(logits, dim=-1) == y) * w)
                sums[2] += torch.sum(w)
        if self._processes is not None:
            self._processes.all_reduce_sum(sums)  # every process gets the same metrics
        loss_sum, correct_sum, count = sums.tolist()
        return self.summarise_eval(loss_sum, correct_sum, count)

