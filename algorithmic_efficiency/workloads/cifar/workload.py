"""CIFAR-10 ResNet-18, framework-free: properties, splits, initialisation, batches, eval data.

The JAX and PyTorch workloads subclass :class:`BaseCifarWorkload` and add only
the model, the loss and the eval loop, so both frameworks share the data, the
splits, the shuffling and augmentation, the normalisation and the initial
weights (drawn in NumPy from the trial's seed, :mod:`.resnet`).

Splits (AlgoPerf's): the official 50,000 training images are cut into
*train* (the first 45,000, in the source's order) and *validation* (the last
5,000, a tenth); *test* is the official 10,000. Every eval measures three
splits: a fixed subset of train the size of validation (``train.*``), the
validation split (the plain ``accuracy`` and ``loss``: the target is on it)
and test (``test.*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads.cifar import data as cifar_data
from algorithmic_efficiency.workloads.cifar import input_pipeline, resnet

EVAL_BATCH_SIZE = 256  # eval batch (padded, so one compiled shape); small enough for a CPU
EVAL_TRAIN_SEED = 0  # which training images form the train eval subset (the same every trial)
TARGET_SPLIT = 'validation'
EVAL_SPLITS = ('train', 'validation', 'test')
# AlgoPerf's step hint: 100 epochs of 50,000 images at batch size 1,024.
STEP_HINT = 4883
STEP_HINT_BATCH_SIZE = 1024


def metric_name(split: str, metric: str) -> str:
    """The column of ``metric`` on ``split``: plain for the target split, else ``split.metric``."""
    return metric if split == TARGET_SPLIT else f'{split}.{metric}'


def split_train_validation(num_examples: int) -> tuple[slice, slice]:
    """(train, validation) slices of the official training set: the last tenth is validation."""
    num_validation = num_examples // 10
    if num_validation < 1:
        raise cifar_data.DataError(
            f'{num_examples} training image(s): need at least 10 to hold out a validation tenth'
        )
    cut = num_examples - num_validation
    return slice(0, cut), slice(cut, num_examples)


def pad_to_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int
) -> dict[str, np.ndarray]:
    """One eval split as (num_batches, batch, ...) arrays with a 0/1 ``weights`` mask.

    The last batch is padded with zero images of weight 0, so every batch has
    one shape (JAX compiles once) and padding never counts.
    """
    n = len(labels)
    padded = -(-n // batch_size) * batch_size
    x = np.zeros((padded,) + images.shape[1:], images.dtype)
    x[:n] = images
    y = np.zeros(padded, np.int32)
    y[:n] = labels
    w = np.zeros(padded, np.float32)
    w[:n] = 1.0
    return {
        'inputs': x.reshape((-1, batch_size) + images.shape[1:]),
        'targets': y.reshape(-1, batch_size),
        'weights': w.reshape(-1, batch_size),
    }


class BaseCifarWorkload(spec.Workload):
    """AlgoPerf's CIFAR-10 ResNet-18: 0.85 validation accuracy within 3,600 s.

    Args:
      width: channels of the first stage. The workload is the real ResNet-18
        (64); tests may build a narrower one for speed, nothing else should.
    """

    def __init__(self, width: int = resnet.WIDTH) -> None:
        self.width = width
        self.eval_batch_size = EVAL_BATCH_SIZE
        self._data: cifar_data.CifarData | None = None
        self._train_x: np.ndarray | None = None
        self._train_y: np.ndarray | None = None
        self._eval_arrays: dict[str, dict[str, np.ndarray]] | None = None
        self._scale, self._offset = input_pipeline.normaliser(self.train_mean, self.train_stddev)

    # --- Properties.
    @property
    def target_value(self) -> float:
        return 0.85

    @property
    def target_split(self) -> str:
        """The eval split :attr:`target_value` is measured on (the plain metric columns)."""
        return TARGET_SPLIT

    @property
    def loss_type(self) -> spec.LossType:
        return spec.LossType.SOFTMAX_CROSS_ENTROPY

    @property
    def num_train_examples(self) -> int:
        return 45000 if self._train_y is None else len(self._train_y)

    @property
    def num_eval_examples(self) -> int:
        """Examples of the target (validation) split."""
        return 5000 if self._eval_arrays is None else self._count(TARGET_SPLIT)

    @property
    def num_eval_train_examples(self) -> int:
        return 5000 if self._eval_arrays is None else self._count('train')

    @property
    def num_test_examples(self) -> int:
        return 10000 if self._eval_arrays is None else self._count('test')

    @property
    def train_mean(self) -> tuple[float, float, float]:
        """Per-channel (R, G, B) mean of the 50,000 training images, pixels scaled to [0, 1]."""
        return (0.49139968, 0.48215827, 0.44653124)

    @property
    def train_stddev(self) -> tuple[float, float, float]:
        """Per-channel (R, G, B) standard deviation of the training images, pixels in [0, 1]."""
        return (0.24703233, 0.24348505, 0.26158768)

    @property
    def max_allowed_runtime_sec(self) -> float:
        return 3600

    @property
    def eval_period_time_sec(self) -> float:
        return 600

    @property
    def step_hint(self) -> int:
        """AlgoPerf's hint: 4,883 steps (100 epochs at batch size 1,024)."""
        return STEP_HINT

    def properties(self) -> dict[str, Any]:
        return {
            **super().properties(),
            'workload.target_split': self.target_split,
            'workload.num_eval_train_examples': self.num_eval_train_examples,
            'workload.num_test_examples': self.num_test_examples,
            'workload.step_hint': self.step_hint,
        }

    # --- Data.
    def _count(self, split: str) -> int:
        return int(self.eval_arrays[split]['weights'].sum())

    def prepare_data(self, data_dir: str | None) -> dict[str, Any]:
        data = cifar_data.load_cifar10(data_dir)
        train, validation = split_train_validation(data.num_train_examples)
        train_x, train_y = data.train_images[train], data.train_labels[train]
        num_validation = validation.stop - validation.start
        subset = np.sort(
            np.random.default_rng(EVAL_TRAIN_SEED).choice(
                len(train_y), num_validation, replace=False
            )
        )
        splits = {
            'train': (train_x[subset], train_y[subset]),
            'validation': (data.train_images[validation], data.train_labels[validation]),
            'test': (data.test_images, data.test_labels),
        }
        if not len(data.test_labels):
            raise cifar_data.DataError(f'{data.path}: the test split is empty')
        batch_size = min(self.eval_batch_size, max(len(y) for _, y in splits.values()))
        self._data = data
        self._train_x, self._train_y = train_x, train_y
        self._eval_arrays = {
            name: pad_to_batches(x, y, batch_size) for name, (x, y) in splits.items()
        }
        return {
            'data.source': data.source,
            'data.description': data.description,
            'data.path': data.path,
            'data.num_train_examples': len(train_y),
            'data.num_eval_examples': num_validation,
            'data.num_eval_train_examples': num_validation,
            'data.num_test_examples': data.num_test_examples,
        }

    def _ensure_data(self, data_dir: str | None) -> None:
        if self._data is None:
            self.prepare_data(data_dir)

    def numpy_train_batches(
        self, data_seed: int, data_dir: str | None, global_batch_size: int
    ) -> Iterator[dict[str, np.ndarray]]:
        """Endless augmented ``{'inputs' (B, 32, 32, 3) float32, 'targets'}`` NumPy batches."""
        self._ensure_data(data_dir)
        return input_pipeline.train_batches(
            self._train_x, self._train_y, global_batch_size, data_seed, self._scale, self._offset
        )

    @property
    def eval_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        """Per split (``train``, ``validation``, ``test``): uint8 images in padded batches."""
        if self._eval_arrays is None:
            raise RuntimeError('prepare_data() must run before eval')
        return self._eval_arrays

    @property
    def normalisation(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, offset)``: float32 inputs are ``uint8 * scale + offset`` per channel."""
        return self._scale, self._offset

    def init_variables(self, seed: int) -> tuple[dict, dict]:
        """The initial ``(params, batch_stats)`` in NumPy (flax layout), from the trial's seed."""
        return resnet.init_variables(seed, self.width)

    @staticmethod
    def check_mode(mode: spec.ForwardPassMode, update_batch_norm: bool) -> bool:
        """Whether ``mode`` is training; refuses to update batch norm in eval mode."""
        if mode == spec.ForwardPassMode.EVAL and update_batch_norm:
            raise ValueError(
                'update_batch_norm=True with ForwardPassMode.EVAL: batch-norm statistics are '
                'never updated in eval; pass update_batch_norm=False'
            )
        return mode == spec.ForwardPassMode.TRAIN

    @staticmethod
    def summarise_eval(sums: dict[str, np.ndarray]) -> dict[str, float]:
        """``{split: [loss_sum, correct_sum, count]}`` -> the metrics, target split first."""
        out: dict[str, float] = {}
        for split in (TARGET_SPLIT,) + tuple(s for s in EVAL_SPLITS if s != TARGET_SPLIT):
            loss_sum, correct_sum, count = (float(v) for v in sums[split])
            out[metric_name(split, 'accuracy')] = correct_sum / count
            out[metric_name(split, 'loss')] = loss_sum / count
        return out
