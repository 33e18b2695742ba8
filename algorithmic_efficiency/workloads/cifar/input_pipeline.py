"""CIFAR-10 training batches on the host, in NumPy: shuffle, pad-crop-flip, normalise, prefetch.

* Shuffling: a fresh permutation of the training examples every epoch, drawn
  from the trial's data seed (:func:`..common.data.index_stream`: batches run
  across epoch boundaries, nothing is dropped).
* Augmentation (AlgoPerf's): pad 4 pixels of zeros on each side, crop a random
  32x32 window, flip it horizontally with probability 1/2. One vectorised
  gather per batch, drawn from a second stream of the same seed, so a seed
  always gives the same batches and another seed different ones.
* Normalisation: per channel, ``(x / 255 - mean) / std``, as float32 NHWC.
* :class:`Prefetcher` runs all of that on one background thread (no worker
  processes: a 2-core machine has no core to spare for them) a few batches
  ahead, so augmentation overlaps the training step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from algorithmic_efficiency.workloads.common.data import index_stream
from algorithmic_efficiency.workloads.common.prefetch import Prefetcher  # noqa: F401  (the CIFAR workloads' name)

CROP_SIZE = 32
PADDING = 4
_AUGMENT_STREAM = 1  # the augmentation RNG is SeedSequence([seed, this])


def normaliser(mean: Sequence[float], std: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, offset)`` with ``x * scale + offset == (x / 255 - mean) / std`` per channel.

    Every framework normalises with these two float32 vectors and this one
    formula, so the inputs agree to the last bit wherever it runs.
    """
    mean_ = np.asarray(mean, np.float32)
    std_ = np.asarray(std, np.float32)
    return (1.0 / (255.0 * std_)).astype(np.float32), (-mean_ / std_).astype(np.float32)


def normalise(images: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32 NHWC, normalised per channel."""
    out = images.astype(np.float32)
    out *= scale
    out += offset
    return out


def random_crop_flip(
    images: np.ndarray, rng: np.random.Generator, padding: int = PADDING
) -> np.ndarray:
    """Pads by ``padding`` zeros, crops a random window of the original size, flips half.

    Args:
      images: (N, H, W, C), any dtype.
      rng: draws, per image, the window's top and left offsets (each uniform in
        ``0 .. 2 * padding``) and whether to flip it left-right (probability 1/2).

    Returns:
      A new (N, H, W, C) array of the same dtype.
    """
    n, h, w, c = images.shape
    ph, pw = h + 2 * padding, w + 2 * padding
    padded = np.zeros((n, ph, pw, c), images.dtype)
    padded[:, padding : padding + h, padding : padding + w] = images
    top = rng.integers(0, 2 * padding + 1, n)
    left = rng.integers(0, 2 * padding + 1, n)
    flip = rng.random(n) < 0.5
    cols = left[:, None] + np.arange(w)  # (N, W)
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    rows = np.arange(n)[:, None] * ph + top[:, None] + np.arange(h)  # (N, H) in the flat rows
    flat = (rows[:, :, None] * pw + cols[:, None, :]).ravel()
    # One gather of whole pixels: viewing each pixel's C values as one item
    # copies 3 bytes per index instead of indexing each byte (4x faster).
    pixels = padded.view(np.dtype((np.void, c * images.itemsize))).reshape(-1)
    return pixels.take(flat).view(images.dtype).reshape(n, h, w, c)


def train_batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    scale: np.ndarray,
    offset: np.ndarray,
) -> Iterator[dict[str, np.ndarray]]:
    """Endless augmented, normalised ``{'inputs' (B, 32, 32, 3) float32, 'targets' (B,) int32}``."""
    augment_rng = np.random.default_rng(np.random.SeedSequence([seed, _AUGMENT_STREAM]))
    for idx in index_stream(len(labels), batch_size, seed):
        crops = random_crop_flip(images[idx], augment_rng)
        yield {'inputs': normalise(crops, scale, offset), 'targets': labels[idx]}
