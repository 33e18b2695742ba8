"""The CIFAR-10 host input pipeline: pad-crop-flip, per-epoch shuffling, normalisation, prefetch."""

import gc
import threading
import time

import numpy as np
import pytest

from algorithmic_efficiency.workloads.cifar import input_pipeline as ip

MEAN = (0.49139968, 0.48215827, 0.44653124)
STD = (0.24703233, 0.24348505, 0.26158768)


def find_crop(original: np.ndarray, crop: np.ndarray):
    """The (top, left, flipped) window of the zero-padded original that equals crop, else None."""
    padded = np.pad(original, ((4, 4), (4, 4), (0, 0)))
    for top in range(9):
        for left in range(9):
            window = padded[top : top + 32, left : left + 32]
            for flipped, candidate in ((False, window), (True, window[:, ::-1])):
                if np.array_equal(candidate, crop):
                    return top, left, flipped
    return None


def test_every_output_is_a_padded_window_of_its_input_possibly_flipped():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (64, 32, 32, 3), dtype=np.uint8)  # no zeros: padding shows
    out = ip.random_crop_flip(images, np.random.default_rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    found = [find_crop(x, y) for x, y in zip(images, out, strict=True)]
    assert None not in found
    tops, lefts, flips = zip(*found, strict=True)
    assert set(tops) <= set(range(9)) and set(lefts) <= set(range(9))
    # Both flips and a spread of offsets occur; an offset other than 4 shows zero padding.
    assert 16 < sum(flips) < 48
    assert len(set(tops)) >= 6 and len(set(lefts)) >= 6
    for (top, _, _), y in zip(found, out, strict=True):
        if top < 4:
            # Columns 4..27 of a crop are inside the image for every left offset.
            assert not y[: 4 - top].any() and y[4 - top :, 4:28].all()


def test_row_offsets_are_uniform_over_many_images():
    images = np.random.default_rng(0).integers(1, 256, (4000, 32, 32, 3), dtype=np.uint8)
    rng = np.random.default_rng(7)
    out = ip.random_crop_flip(images, rng)
    # Row offset from the position of the first non-padding row of each output.
    first_row = np.argmax(out.reshape(4000, 32, -1).any(axis=2), axis=1)  # 4 - top when top < 4
    counts = np.bincount(first_row, minlength=5)
    # top in 0..3 -> first_row 4..1; top >= 4 -> 0 (5 of 9 values): expected 4000/9 each.
    assert all(abs(c - 4000 / 9) < 120 for c in counts[1:5]), counts
    assert abs(counts[0] - 4000 * 5 / 9) < 150, counts


def test_normalise_is_the_per_channel_formula():
    scale, offset = ip.normaliser(MEAN, STD)
    x = np.arange(256, dtype=np.uint8).repeat(3).reshape(1, 16, 16, 3)
    got = ip.normalise(x, scale, offset)
    expected = (x / 255.0 - np.array(MEAN)) / np.array(STD)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-6)


def batches_of(seed, n=20, batch=10, count=8, labels=None):
    images = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(n, dtype=np.int32) if labels is None else labels
    scale, offset = ip.normaliser(MEAN, STD)
    stream = ip.train_batches(images, labels, batch, seed, scale, offset)
    return [next(stream) for _ in range(count)]


def test_batches_shapes_types_and_padding_value():
    b = batches_of(3, count=1)[0]
    assert b['inputs'].shape == (10, 32, 32, 3) and b['inputs'].dtype == np.float32
    assert b['targets'].shape == (10,) and b['targets'].dtype == np.int32
    _, offset = ip.normaliser(MEAN, STD)
    # Somewhere a padded border shows: exactly the normalised value of a 0 pixel.
    assert np.isclose(b['inputs'], offset).all(axis=-1).any()


def test_a_fresh_order_every_epoch_and_nothing_dropped():
    targets = np.concatenate([b['targets'] for b in batches_of(3)])  # 8 x 10 = 4 epochs of 20
    epochs = targets.reshape(4, 20)
    for epoch in epochs:
        assert sorted(epoch) == list(range(20))
    assert len({tuple(e) for e in epochs}) == 4


def test_deterministic_per_seed_different_across_seeds():
    a, b, c = batches_of(3), batches_of(3), batches_of(4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x['inputs'], y['inputs'])
        np.testing.assert_array_equal(x['targets'], y['targets'])
    assert any(not np.array_equal(x['targets'], y['targets']) for x, y in zip(a, c, strict=True))
    # Same order but other crops: the augmentation has its own stream of the seed.
    same_order = batches_of(3, labels=np.zeros(20, np.int32))
    assert not np.array_equal(same_order[0]['inputs'], c[0]['inputs'])


def test_prefetcher_yields_the_source_in_order_on_another_thread():
    seen_threads = set()

    def transform(item):
        seen_threads.add(threading.get_ident())
        return item * 2

    out = list(ip.Prefetcher(iter(range(50)), depth=3, transform=transform))
    assert out == [2 * i for i in range(50)]
    assert seen_threads and threading.get_ident() not in seen_threads


def test_prefetcher_runs_ahead_and_stops_when_dropped():
    produced = []

    def source():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = {t.ident for t in threading.enumerate()}
    queue_ = ip.Prefetcher(source(), depth=2)
    assert next(queue_) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 4 and time.monotonic() < deadline:  # 1 taken + 2 queued + 1 waiting
        time.sleep(0.01)
    assert len(produced) == 4  # ahead by the queue's depth, and no further
    (thread,) = [t for t in threading.enumerate() if t.ident not in before]
    del queue_
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()


def test_prefetcher_raises_the_sources_error_in_the_consumer():
    def source():
        yield 1
        raise ValueError('bad batch 2')

    queue_ = ip.Prefetcher(source())
    assert next(queue_) == 1
    with pytest.raises(ValueError, match='bad batch 2'):
        next(queue_)
    with pytest.raises(StopIteration):
        next(queue_)
