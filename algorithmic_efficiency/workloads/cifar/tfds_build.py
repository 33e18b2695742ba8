"""CIFAR-10 from a tensorflow-datasets ``array_record`` build, without TensorFlow.

``DIR/cifar10/<version>/`` (or ``DIR`` holding its ``dataset_info.json``) is
read with tensorflow-datasets' data sources (no TensorFlow) and its PNGs are
decoded with Pillow: the ``[tfds]`` extra. Every problem is a one-line
``DataError`` naming the build. :mod:`.data` makes the arrays a ``CifarData``;
this module reads CIFAR-10's shapes from :mod:`.constants`, never :mod:`.data`
(no import circle).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re

import numpy as np

from algorithmic_efficiency.workloads.cifar.constants import (
    DOWNLOAD_HINT,
    IMAGE_SHAPE,
    NUM_CLASSES,
    TFDS_NAME,
)
from algorithmic_efficiency.workloads.common.data import DataError


def _version_key(name: str):
    return tuple(int(p) for p in name.split('.'))


def find_build(data_dir: str) -> str | None:
    """DIR/cifar10/<highest version>/ with a dataset_info.json, or DIR itself."""
    if os.path.isfile(os.path.join(data_dir, 'dataset_info.json')):
        return data_dir
    root = os.path.join(data_dir, TFDS_NAME)
    if not os.path.isdir(root):
        return None
    versions = [
        v
        for v in os.listdir(root)
        if re.fullmatch(r'\d+\.\d+\.\d+', v)
        and os.path.isfile(os.path.join(root, v, 'dataset_info.json'))
    ]
    return os.path.join(root, max(versions, key=_version_key)) if versions else None


def _read_tfds_split(builder, split: str, build_dir: str) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    from PIL import Image  # pylint: disable=import-outside-toplevel

    # Decoding the PNGs here with Pillow: tfds' own decoder would want TensorFlow.
    source = builder.as_data_source(split=split, decoders={'image': tfds.decode.SkipDecoding()})
    examples = source.__getitems__(list(range(len(source))))
    images = np.empty((len(examples),) + IMAGE_SHAPE, np.uint8)
    for i, example in enumerate(examples):
        with Image.open(io.BytesIO(example['image'])) as image:
            pixels = np.asarray(image)
        if pixels.dtype != np.uint8 or pixels.shape != IMAGE_SHAPE:
            raise DataError(
                f'{build_dir}: {split} example {i} decodes to a {pixels.dtype} image of shape '
                f'{pixels.shape}, expected 32x32x3 uint8'
            )
        images[i] = pixels
    labels = np.fromiter((e['label'] for e in examples), np.int64, len(examples))
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f'{build_dir}: {split} labels outside 0-9 (min {labels.min()}, max {labels.max()})'
        )
    return images, labels.astype(np.int32)


def read_build(build_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) of a build.

    Raises:
      DataError: not an array_record build, a package missing, or unreadable;
        the message names the directory and the fix.
    """
    info_path = os.path.join(build_dir, 'dataset_info.json')
    try:
        with open(info_path, encoding='utf-8') as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(
            f'{info_path}: unreadable dataset_info.json ({e}); rebuild the dataset'
        ) from e
    if not isinstance(info, dict):
        raise DataError(f'{info_path}: not a tensorflow-datasets dataset_info.json object')
    file_format = info.get('fileFormat', 'tfrecord')  # absent means tfrecord
    if file_format != 'array_record':
        raise DataError(
            f"{build_dir} is a {file_format} build; reading it needs TensorFlow: pip install "
            f"tensorflow, or rebuild with file_format='array_record' (or use the python "
            f'version: {DOWNLOAD_HINT})'
        )
    missing = [
        m
        for m in ('tensorflow_datasets', 'array_record', 'PIL')
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise DataError(
            f'{build_dir} is a tensorflow-datasets build but {missing[0]} is not installed: '
            f"pip install 'algorithmic_efficiency[tfds]' (or use the python version: "
            f'{DOWNLOAD_HINT})'
        )
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

    try:
        # Reads exactly this directory from its dataset_info.json/features.json;
        # never downloads, and needs no registered builder code.
        builder = tfds.builder_from_directory(build_dir)
        features = builder.info.features
        image, label = features['image'], features['label']
        if (
            tuple(image.shape) != IMAGE_SHAPE
            or np.dtype(image.np_dtype) != np.uint8
            or getattr(label, 'num_classes', None) != NUM_CLASSES
        ):
            raise DataError(
                f'{build_dir}: features image {image.shape} {image.np_dtype}, label {label!r}; '
                f'expected CIFAR-10: image (32, 32, 3) uint8, label ClassLabel(10)'
            )
        missing_splits = {'train', 'test'} - set(builder.info.splits.keys())
        if missing_splits:
            raise DataError(
                f'{build_dir}: no {"/".join(sorted(missing_splits))} split; expected train and test'
            )
        train_images, train_labels = _read_tfds_split(builder, 'train', build_dir)
        test_images, test_labels = _read_tfds_split(builder, 'test', build_dir)
    except DataError:
        raise
    except Exception as e:  # pylint: disable=broad-except
        # tfds raises many kinds (FileNotFoundError for a missing shard, KeyError
        # for a missing feature, ...): keep the cause attached, say it in one line.
        detail = (str(e).splitlines() or [''])[0]
        raise DataError(
            f'{build_dir}: cannot read this tensorflow-datasets build ({type(e).__name__}: '
            f'{detail}); rebuild it or use the python version ({DOWNLOAD_HINT})'
        ) from e
    return train_images, train_labels, test_images, test_labels
