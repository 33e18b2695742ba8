"""Small CIFAR-10 data sets in the real on-disk formats, written by the tests.

* :func:`py2_pickle` writes a batch exactly as the CIFAR-10 "python version"
  files are (Python 2 ``cPickle`` protocol 2: ``str`` keys and a NumPy uint8
  array whose bytes are a Python 2 ``str``), without Python 2;
* :func:`write_python_version` writes ``cifar-10-batches-py/`` and, if asked,
  the ``cifar-10-python.tar.gz`` archive holding it;
* :func:`write_tfds_build` writes a tensorflow-datasets ``array_record`` build
  of ``cifar10`` without TensorFlow.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile

import numpy as np

BATCHES_DIR = 'cifar-10-batches-py'
TRAIN_FILES = [f'data_batch_{i}' for i in range(1, 6)]


def _str(s: bytes) -> bytes:
    # SHORT_BINSTRING / BINSTRING: a Python 2 str.
    return b'U' + bytes([len(s)]) + s if len(s) < 256 else b'T' + struct.pack('<i', len(s)) + s


def _int(i: int) -> bytes:
    if 0 <= i < 256:
        return b'K' + bytes([i])
    if 0 <= i < 65536:
        return b'M' + struct.pack('<H', i)
    return b'J' + struct.pack('<i', i)


def _ndarray_u8(a: np.ndarray) -> bytes:
    """numpy.core.multiarray._reconstruct(ndarray, (0,), 'b') then BUILD with its state."""
    assert a.dtype == np.uint8 and a.ndim == 2
    dtype = (
        b'cnumpy\ndtype\n' + _str(b'u1') + _int(0) + _int(1) + b'\x87R'
        + b'(' + _int(3) + _str(b'|') + b'NNN' + _int(-1) + _int(-1) + _int(0) + b'tb'
    )  # fmt: skip
    return (
        b'cnumpy.core.multiarray\n_reconstruct\n' + b'cnumpy\nndarray\n'
        + _int(0) + b'\x85' + _str(b'b') + b'\x87R'
        + b'(' + _int(1) + _int(a.shape[0]) + _int(a.shape[1]) + b'\x86' + dtype
        + b'\x89' + _str(a.tobytes()) + b'tb'
    )  # fmt: skip


def py2_pickle(batch: dict) -> bytes:
    """A dict of str -> (bytes | list of int | 2-D uint8 array) as Python 2 cPickle writes it."""
    out = bytearray(b'\x80\x02}(')
    for key, value in batch.items():
        out += _str(key.encode())
        if isinstance(value, np.ndarray):
            out += _ndarray_u8(value)
        elif isinstance(value, list):
            out += b'](' + b''.join(_int(int(v)) for v in value) + b'e'
        else:
            out += _str(value)
    return bytes(out + b'u.')


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 images (N, 32, 32, 3) and labels 0-9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def batch_blob(images: np.ndarray, labels, label: str = 'training batch') -> bytes:
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # R, G, B planes
    return py2_pickle(
        {
            'batch_label': label.encode(),
            'labels': [int(v) for v in labels],
            'data': np.ascontiguousarray(planes),
            'filenames': [],
        }
    )


def write_python_version(
    root, num_train: int = 100, num_test: int = 50, seed: int = 0, archive: bool = False
) -> dict:
    """``root/cifar-10-batches-py/`` (or only the archive) with random images.

    Returns:
      ``{'train': (images, labels), 'test': (images, labels)}`` as written, in order.
    """
    train = make_images(num_train, seed)
    test = make_images(num_test, seed + 1)
    files = {}
    for i, rows in enumerate(np.array_split(np.arange(num_train), 5)):
        files[TRAIN_FILES[i]] = batch_blob(train[0][rows], train[1][rows])
    files['test_batch'] = batch_blob(*test, label='testing batch 1 of 1')
    files['batches.meta'] = py2_pickle({'label_names': [], 'num_vis': [3072]})
    os.makedirs(root, exist_ok=True)
    if archive:
        with tarfile.open(os.path.join(root, 'cifar-10-python.tar.gz'), 'w:gz') as tar:
            for name, blob in files.items():
                info = tarfile.TarInfo(f'{BATCHES_DIR}/{name}')
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    else:
        os.makedirs(os.path.join(root, BATCHES_DIR), exist_ok=True)
        for name, blob in files.items():
            with open(os.path.join(root, BATCHES_DIR, name), 'wb') as f:
                f.write(blob)
    return {'train': train, 'test': test}


def write_tfds_build(root, num_train: int = 60, num_test: int = 20, seed: int = 0) -> dict:
    """``root/cifar10/3.0.2/``: an array_record build made without TensorFlow."""
    import tensorflow_datasets as tfds
    from PIL import Image

    written = {'train': make_images(num_train, seed), 'test': make_images(num_test, seed + 1)}

    def png(image):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format='PNG')
        return buffer.getvalue()

    class Cifar10(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        VERSION = tfds.core.Version('3.0.2')

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        'id': tfds.features.Text(),
                        'image': tfds.features.Image(shape=(32, 32, 3)),
                        'label': tfds.features.ClassLabel(num_classes=10),
                    }
                ),
                supervised_keys=('image', 'label'),
            )

        def _split_generators(self, dl_manager):
            return {s: self._generate_examples(s) for s in written}

        def _generate_examples(self, split):
            images, labels = written[split]
            for i, (image, label) in enumerate(zip(images, labels, strict=True)):
                # Encoded bytes: tfds' own PNG encoder needs TensorFlow.
                yield i, {'id': f'{split}_{i}', 'image': png(image), 'label': int(label)}

    Cifar10(data_dir=str(root), file_format='array_record').download_and_prepare()
    return written
