"""MNIST from a tensorflow-datasets ``array_record`` build, read without TensorFlow.

Split from :mod:`.data`, which calls it when ``data_dir`` holds no IDX files:
tensorflow-datasets and PIL are imported only here, and only when such a
build is read. It reads MNIST's shapes from :mod:`.constants`, never :mod:`.data`
(no import circle).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re

import numpy as np

from algorithmic_efficiency.workloads.common.data import DataError
from algorithmic_efficiency.workloads.mnist import constants as base


def _version_key(name: str):
    return tuple(int(p) for p in name.split('.'))


def find_build(data_dir: str) -> str | None:
    """DIR/mnist/<highest version>/ with a dataset_info.json, or DIR itself."""
    if os.path.isfile(os.path.join(data_dir, 'dataset_info.json')):
        return data_dir
    mnist_dir = os.path.join(data_dir, 'mnist')
    if not os.path.isdir(mnist_dir):
        return None
    versions = [
        v
        for v in os.listdir(mnist_dir)
        if re.fullmatch(r'\d+\.\d+\.\d+', v)
        and os.path.isfile(os.path.join(mnist_dir, v, 'dataset_info.json'))
    ]
    if not versions:
        return None
    return os.path.join(mnist_dir, max(versions, key=_version_key))


def _decode_png_images(encoded: list, build_dir: str) -> np.ndarray:
    from PIL import Image  # pylint: disable=import-outside-toplevel

    images = np.empty((len(encoded), base.NUM_PIXELS), np.uint8)
    for i, png in enumerate(encoded):
        with Image.open(io.BytesIO(png)) as image:
            pixels = np.asarray(image)
        if pixels.dtype != np.uint8 or pixels.size != base.NUM_PIXELS:
            raise DataError(
                f'{build_dir}: example {i} decodes to a {pixels.dtype} '
                f'image of shape {pixels.shape}, expected 28x28 uint8'
            )
        images[i] = pixels.reshape(base.NUM_PIXELS)
    return images


def _read_tfds_split(builder, split: str, build_dir: str) -> tuple:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

    have_pil = importlib.util.find_spec('PIL') is not None
    # Decoding the PNGs ourselves with PIL is ~40% faster than letting tfds do
    # it (which also uses PIL, or OpenCV).  Without PIL, let tfds decode.
    decoders = {'image': tfds.decode.SkipDecoding()} if have_pil else None
    source = builder.as_data_source(split=split, decoders=decoders)
    examples = source.__getitems__(list(range(len(source))))
    labels = np.fromiter((e['label'] for e in examples), np.int64, len(examples))
    if have_pil:
        images = _decode_png_images([e['image'] for e in examples], build_dir)
    else:
        images = np.empty((len(examples), base.NUM_PIXELS), np.uint8)
        for i, e in enumerate(examples):
            images[i] = np.asarray(e['image'], np.uint8).reshape(base.NUM_PIXELS)
    if labels.size and (labels.min() < 0 or labels.max() >= base.NUM_CLASSES):
        raise DataError(
            f'{build_dir}: {split} labels outside 0-9 (min {labels.min()}, max {labels.max()})'
        )
    return images, labels.astype(np.int32)


def read_build(build_dir: str) -> tuple:
    """(train images, train labels, test images, test labels) of a build.

    Raises:
      DataError: not an array_record build, tensorflow-datasets missing, or
        unreadable; the message names the directory and the fix.
    """
    info_path = os.path.join(build_dir, 'dataset_info.json')
    try:
        with open(info_path, encoding='utf-8') as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(
            f'{info_path}: unreadable dataset_info.json ({e}); rebuild the dataset'
        ) from e
    file_format = info.get('fileFormat', 'tfrecord')  # absent means tfrecord
    if file_format != 'array_record':
        raise DataError(
            f"{build_dir} is a {file_format} build; reading it needs TensorFlow: "
            f"pip install tensorflow, or rebuild with file_format='array_record'"
            f' (or use the IDX files: {base.DOWNLOAD_HINT})'
        )
    try:
        import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

        if importlib.util.find_spec('array_record') is None:
            raise ModuleNotFoundError('no array_record', name='array_record')
    except ImportError as e:
        raise DataError(
            f'{build_dir} is a tensorflow-datasets build but {e.name or e} is not '
            f"installed: pip install 'algorithmic_efficiency[tfds]' (or use the "
            f'IDX files: {base.DOWNLOAD_HINT})'
        ) from e
    try:
        # builder_from_directory reads exactly this directory (any version) from
        # its dataset_info.json/features.json; it never downloads and does not
        # need the registered MNIST builder code.
        builder = tfds.builder_from_directory(build_dir)
        features = builder.info.features
        image, label = features['image'], features['label']
        if (
            tuple(image.shape) != base.IMAGE_SHAPE + (1,)
            or np.dtype(image.np_dtype) != np.uint8
            or getattr(label, 'num_classes', None) != base.NUM_CLASSES
        ):
            raise DataError(
                f'{build_dir}: features image {image.shape} '
                f'{image.np_dtype}, label {label!r}; expected MNIST: '
                f'image (28, 28, 1) uint8, label ClassLabel(10)'
            )
        missing = {'train', 'test'} - set(builder.info.splits.keys())
        if missing:
            raise DataError(
                f'{build_dir}: no {"/".join(sorted(missing))} split; expected train and test'
            )
        train_images, train_labels = _read_tfds_split(builder, 'train', build_dir)
        test_images, test_labels = _read_tfds_split(builder, 'test', build_dir)
    except DataError:
        raise
    except Exception as e:  # pylint: disable=broad-except
        # tfds raises many kinds (FileNotFoundError for a missing shard,
        # KeyError for an unexpected feature, ...): keep the cause attached.
        raise DataError(
            f'{build_dir}: cannot read this tensorflow-datasets build '
            f'({type(e).__name__}: {e}); rebuild it or use the IDX '
            f'files ({base.DOWNLOAD_HINT})'
        ) from e
    return train_images, train_labels, test_images, test_labels
