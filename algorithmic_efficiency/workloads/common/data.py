"""Framework-free data helpers every workload shares (NumPy only).

MNIST, CIFAR-10 and later workloads draw their training batches from
:func:`index_stream`, report every problem with their files as
:class:`DataError` and check the arrays they load with
:func:`check_split_arrays`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from algorithmic_efficiency.errors import DataError

__all__ = ['DataError', 'check_split_arrays', 'index_stream']


def index_stream(num_examples: int, batch_size: int, seed: int) -> Iterator[np.ndarray]:
    """Endless batches of example indices, with a fresh permutation every epoch.

    Batches run across epoch boundaries (the tail of one permutation is
    completed from the next) so no example is ever dropped and ``epoch`` in the
    metrics is exact: ``global_step * batch_size / num_examples``.
    """
    if num_examples < 1 or batch_size < 1:
        raise ValueError(
            f'need at least one example and a positive batch size, got '
            f'{num_examples} examples, batch size {batch_size}'
        )
    rng = np.random.default_rng(seed)
    perm = rng.permutation(num_examples)
    pos = 0
    while True:
        if pos + batch_size <= num_examples:
            yield perm[pos : pos + batch_size]
            pos += batch_size
            continue
        parts = [perm[pos:]]
        need = batch_size - (num_examples - pos)
        while True:
            perm = rng.permutation(num_examples)
            take = min(need, num_examples)
            parts.append(perm[:take])
            need -= take
            pos = take
            if need == 0:
                break
        yield np.concatenate(parts)


def check_split_arrays(
    split: str, images: np.ndarray, labels: np.ndarray, image_shape: tuple[int, ...]
) -> None:
    """Raises ``ValueError`` unless a split's arrays are what the workloads expect.

    Args:
      split: ``'train'`` or ``'test'``, for the message.
      images: C-contiguous uint8 of shape ``(N,) + image_shape``.
      labels: int32 of shape ``(N,)``.
      image_shape: one example's shape, e.g. ``(784,)`` or ``(32, 32, 3)``.

    Raises:
      ValueError: a programming error (the loaders build these arrays), not bad input.
    """
    if (
        images.dtype != np.uint8
        or images.shape[1:] != tuple(image_shape)
        or not images.flags.c_contiguous
    ):
        shape = ', '.join(map(str, ('N',) + tuple(image_shape)))
        raise ValueError(
            f'{split}_images must be a C-contiguous uint8 array of shape ({shape}); '
            f'got {images.dtype} {images.shape}'
        )
    if labels.dtype != np.int32 or labels.shape != images.shape[:1]:
        raise ValueError(
            f'{split}_labels must be int32 of shape {images.shape[:1]}; got '
            f'{labels.dtype} {labels.shape}'
        )
