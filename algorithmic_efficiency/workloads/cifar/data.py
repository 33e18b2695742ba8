"""CIFAR-10 loading without TensorFlow, JAX or torch (NumPy only).

``load_cifar10(data_dir)`` returns a :class:`CifarData` of uint8 images
(N, 32, 32, 3) (NHWC, RGB) and int32 labels from, in this order:

1. the CIFAR-10 "python version", extracted: ``data_batch_1`` ... ``data_batch_5``
   and ``test_batch`` in ``DIR/cifar-10-batches-py/`` (what the archive
   extracts to, and torchvision's layout) or in ``DIR`` itself;
2. the archive itself, ``DIR/cifar-10-python.tar.gz``, read without extracting;
3. a tensorflow-datasets ``array_record`` build, ``DIR/cifar10/<version>/``
   (or ``DIR`` holding its ``dataset_info.json``), read with
   tensorflow-datasets and Pillow but without TensorFlow (extra ``[tfds]``;
   :mod:`.tfds_build`).

``python -m algorithmic_efficiency.datasets cifar10 --data_dir DIR`` downloads
and checks the archive and extracts it (1). There is no embedded sample:
``data_dir=None`` is an error saying how to get the data.

As for MNIST, the first load caches the decoded arrays as uint8/int32 ``.npy``
files (``cifar10-uint8-cache/`` next to the batches, archive or build, else in
the user's cache directory; :mod:`~algorithmic_efficiency.workloads.data_cache`)
and later loads memory-map them: no unpickling or gunzip per run, and images
that stay uint8 (the input pipeline normalises each batch).

The batch files are pickles; they are read with an unpickler that builds only
dicts, lists, strings, numbers and NumPy arrays, so a tampered file cannot run
code. Every problem is a :class:`DataError` (a ``ValueError``) whose one-line
message names the file, what was expected and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import pickle
import tarfile
import zlib

import numpy as np

from algorithmic_efficiency.workloads import data_cache
from algorithmic_efficiency.workloads.cifar import tfds_build
from algorithmic_efficiency.workloads.cifar.constants import (  # re-exported: data.NUM_CLASSES, ...
    ARCHIVE,
    BATCH_FILES,
    BATCHES_DIR,
    DOWNLOAD_HINT,
    IMAGE_SHAPE,
    NUM_CLASSES,
    NUM_PIXELS,
    NUM_TEST,
    NUM_TRAIN,
    TEST_FILE,
    TFDS_NAME,
    TRAIN_FILES,
)
from algorithmic_efficiency.workloads.common.data import DataError, check_split_arrays

try:
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # NumPy < 2
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

__all__ = ['CifarData', 'DataError', 'load_cifar10', 'read_python_batch']

# The decoded-array cache: its directory name next to the data, and the version
# of the decoding (bump it when what gets cached changes: old caches rebuild).
CACHE_DIRNAME = 'cifar10-uint8-cache'
CACHE_VERSION = 1
# How describe() names each source.
_SOURCE_NAMES = {
    'python': 'python batches',
    'archive': 'python-version archive',
    'tfds': 'tensorflow-datasets array_record build',
}
_LAYOUTS = (
    f'{", ".join(BATCH_FILES)} in DIR/{BATCHES_DIR} or DIR (the CIFAR-10 python version), '
    f'or DIR/{ARCHIVE}, or a tensorflow-datasets build DIR/{TFDS_NAME}/<version>/'
)

# The only callables a CIFAR batch pickle may name (Python 2 pickles of a dict
# holding a NumPy array): module path -> allowed objects.
_NUMPY_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'): _multiarray._reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): _multiarray._reconstruct,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('numpy.core.numeric', '_frombuffer'): _numeric._frombuffer,
    ('numpy._core.numeric', '_frombuffer'): _numeric._frombuffer,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        found = _NUMPY_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f'refusing to load {module}.{name}')
        return found


@dataclasses.dataclass(frozen=True, eq=False)
class CifarData:
    """CIFAR-10 as NumPy arrays. ``eq=False``: arrays do not compare with ==."""

    train_images: np.ndarray  # uint8, (N, 32, 32, 3), C-contiguous, in the source's order
    train_labels: np.ndarray  # int32, (N,)
    test_images: np.ndarray  # uint8, (M, 32, 32, 3)
    test_labels: np.ndarray  # int32, (M,)
    source: str  # 'python' | 'archive' | 'tfds'
    description: str
    path: str  # the directory or archive read

    def __post_init__(self):
        for split in ('train', 'test'):
            check_split_arrays(
                split, getattr(self, f'{split}_images'), getattr(self, f'{split}_labels'),
                IMAGE_SHAPE,
            )
        if self.source not in ('python', 'archive', 'tfds'):
            raise ValueError(f'unknown source {self.source!r}')

    @property
    def num_train_examples(self) -> int:
        return int(self.train_images.shape[0])

    @property
    def num_test_examples(self) -> int:
        return int(self.test_images.shape[0])

    def __repr__(self) -> str:
        return (
            f'CifarData(source={self.source!r}, train={self.num_train_examples}, '
            f'test={self.num_test_examples}, path={self.path!r})'
        )


# ---------------------------------------------------------------------------
# The python version (pickled batches), extracted or inside the archive
# ---------------------------------------------------------------------------


def _what_is(blob: bytes) -> str:
    """A hint for bytes that are not a pickle."""
    if blob[:2] == b'\x1f\x8b':
        return '; it is gzip-compressed (the archive?), not an extracted batch file'
    if blob.lstrip()[:1] in (b'<', b'{'):
        return '; it looks like an HTML/JSON page, not data (bad download?)'
    return ''


def read_python_batch(blob: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Parses one pickled CIFAR-10 batch: ``(images (N, 32, 32, 3) uint8, labels (N,) int32)``.

    Args:
      blob: the file's bytes.
      name: the file (or archive member) for messages.

    Raises:
      DataError: not a pickle, truncated, or not a CIFAR-10 batch (keys, shape, dtype, labels).
    """
    fix = f'delete it and download CIFAR-10 again ({DOWNLOAD_HINT})'
    try:
        # latin1: the files are Python 2 pickles; their str keys become str.
        batch = _SafeUnpickler(io.BytesIO(blob), encoding='latin1').load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        UnicodeDecodeError,
    ) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        truncated = isinstance(e, EOFError) or 'truncated' in detail
        kind = 'truncated pickle' if truncated else 'not a readable CIFAR-10 batch pickle'
        raise DataError(f'{name}: {kind} ({detail}){_what_is(blob)}; {fix}') from e
    if not isinstance(batch, dict):
        raise DataError(
            f'{name}: holds a pickled {type(batch).__name__}, expected the dict of a CIFAR-10 '
            f'batch (data, labels); {fix}'
        )
    batch = {k.decode('latin1') if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ('data', 'labels') if k not in batch]
    if missing:
        keys = ', '.join(sorted(map(str, batch))) or 'none'
        raise DataError(
            f"{name}: no {' or '.join(repr(k) for k in missing)} key (keys: {keys}); expected a "
            f"CIFAR-10 batch with 'data' and 'labels' (CIFAR-100 has 'fine_labels'); {fix}"
        )
    data = batch['data']
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or (data.shape[1] != NUM_PIXELS)
    ):
        got = (
            f'{data.dtype} array of shape {data.shape}'
            if isinstance(data, np.ndarray)
            else (type(data).__name__)
        )
        raise DataError(
            f"{name}: 'data' is a {got}, expected uint8 of shape (N, {NUM_PIXELS}) "
            f'(N images of 3x32x32, channel planes); {fix}'
        )
    try:
        labels = np.asarray(batch['labels'], dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as e:
        raise DataError(f"{name}: 'labels' are not integers ({e}); {fix}") from e
    if labels.shape != (data.shape[0],):
        raise DataError(
            f"{name}: {labels.size:,} labels for {data.shape[0]:,} images in 'data'; "
            f'they must match; {fix}'
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f'{name}: label {int(labels.max() if labels.max() >= NUM_CLASSES else labels.min())}'
            f' found, labels must be 0-9; {fix}'
        )
    # Rows are 1024 red, 1024 green, 1024 blue values (row-major 32x32 each).
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def _concat(parts: list) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def describe(source: str, where: str, train: int, test: int) -> str:
    text = f'CIFAR-10 {source} in {where} ({train:,} train / {test:,} test)'
    if (train, test) != (NUM_TRAIN, NUM_TEST):
        text += ' -- not the standard 50,000/10,000 split'
    return text


def _load_python_dir(directory: str) -> CifarData:
    parts = {}
    for name in BATCH_FILES:
        path = os.path.join(directory, name)
        try:
            with open(path, 'rb') as f:
                blob = f.read()
        except OSError as e:
            raise DataError(f'{path}: cannot read ({e})') from e
        parts[name] = read_python_batch(blob, path)
    train_images, train_labels = _concat([parts[n] for n in TRAIN_FILES])
    test_images, test_labels = parts[TEST_FILE]
    return CifarData(
        train_images,
        train_labels,
        test_images,
        test_labels,
        source='python',
        description=describe('python batches', directory, len(train_labels), len(test_labels)),
        path=directory,
    )


def _load_archive(path: str) -> CifarData:
    fix = f'delete it and download it again ({DOWNLOAD_HINT})'
    parts = {}
    try:
        with tarfile.open(path, 'r:gz') as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            for name in BATCH_FILES:
                member = members.get(f'{BATCHES_DIR}/{name}')
                if member is None:
                    raise DataError(
                        f'{path}: no member {BATCHES_DIR}/{name}; expected the CIFAR-10 '
                        f'python version archive ({BATCHES_DIR}/data_batch_1..5, test_batch); '
                        f'{fix}'
                    )
                blob = archive.extractfile(member).read()
                parts[name] = read_python_batch(blob, f'{path}:{member.name}')
    except DataError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        # gzip.BadGzipFile is an OSError; a cut-off stream is an EOFError or a ReadError.
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f'{path}: corrupt or truncated archive ({detail}); {fix}') from e
    train_images, train_labels = _concat([parts[n] for n in TRAIN_FILES])
    test_images, test_labels = parts[TEST_FILE]
    return CifarData(
        train_images,
        train_labels,
        test_images,
        test_labels,
        source='archive',
        description=describe('python-version archive', path, len(train_labels), len(test_labels)),
        path=path,
    )


def _load_tfds(build_dir: str) -> CifarData:
    train_images, train_labels, test_images, test_labels = tfds_build.read_build(build_dir)
    return CifarData(
        train_images,
        train_labels,
        test_images,
        test_labels,
        source='tfds',
        description=describe(
            'tensorflow-datasets array_record build', build_dir, len(train_labels), len(test_labels)
        ),
        path=build_dir,
    )


def _cached(source: str, path: str, files: list[str], load, cache: bool) -> CifarData:
    """``load()``'s data, through the decoded-array cache unless ``cache`` is False.

    ``path`` is the directory or archive read (the cache goes beside it), and
    ``files`` the sources whose names, sizes and times make the cache's key.
    """
    if not cache:
        return load()

    def build():
        d = load()
        return {
            'train_images': d.train_images,
            'train_labels': d.train_labels,
            'test_images': d.test_images,
            'test_labels': d.test_labels,
        }

    home = path if os.path.isdir(path) else os.path.dirname(path)
    directories = [
        os.path.join(home, CACHE_DIRNAME),
        data_cache.user_cache_dir('cifar10', f'{source}-{data_cache.path_digest(path)}'),
    ]
    key = {'version': CACHE_VERSION, 'source': source, 'files': data_cache.file_stamps(files)}
    arrays, _ = data_cache.load_or_build(
        directories, key, build, mmap=('train_images', 'test_images')
    )
    n, m = len(arrays['train_labels']), len(arrays['test_labels'])
    return CifarData(
        **arrays, source=source, description=describe(_SOURCE_NAMES[source], path, n, m), path=path
    )


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def load_cifar10(data_dir: str | os.PathLike | None, cache: bool = True) -> CifarData:
    """Loads CIFAR-10 from ``data_dir`` (see the module doc for the layouts, in order).

    Args:
      data_dir: the directory.
      cache: read (and on the first load write) the decoded-array cache; with
        False the source is decoded every time and nothing is written.

    Raises:
      DataError: no data_dir, no CIFAR-10 there, or a malformed file (one line).
    """
    if data_dir is None:
        raise DataError(
            f'CIFAR-10 needs --data_dir (there is no embedded sample); get it with '
            f'`{DOWNLOAD_HINT}` and pass --data_dir=DIR'
        )
    data_dir = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
    if not os.path.exists(data_dir):
        raise DataError(
            f'data_dir {data_dir} does not exist; download CIFAR-10 there with `{DOWNLOAD_HINT}`'
        )
    if not os.path.isdir(data_dir):
        raise DataError(
            f'data_dir {data_dir} is not a directory; pass the directory holding CIFAR-10'
        )
    partial = []  # (directory, missing names)
    for directory in (os.path.join(data_dir, BATCHES_DIR), data_dir):
        if not os.path.isdir(directory):
            continue
        missing = [n for n in BATCH_FILES if not os.path.isfile(os.path.join(directory, n))]
        if not missing:
            files = [os.path.join(directory, n) for n in BATCH_FILES]
            load = functools.partial(_load_python_dir, directory)
            return _cached('python', directory, files, load, cache)
        if len(missing) < len(BATCH_FILES):
            partial.append((directory, missing))
    archive = os.path.join(data_dir, ARCHIVE)
    if os.path.isfile(archive):
        return _cached(
            'archive', archive, [archive], functools.partial(_load_archive, archive), cache
        )
    build_dir = tfds_build.find_build(data_dir)
    if build_dir is not None:
        names = sorted(os.listdir(build_dir))
        files = [os.path.join(build_dir, n) for n in names]
        files = [f for f in files if os.path.isfile(f)]
        return _cached(
            'tfds', build_dir, files, functools.partial(_load_tfds, build_dir), cache
        )
    if partial:
        directory, missing = min(partial, key=lambda p: len(p[1]))
        raise DataError(
            f'{directory}: incomplete CIFAR-10 python version, missing {", ".join(missing)}; '
            f'the directory must hold {", ".join(BATCH_FILES)}; get them with `{DOWNLOAD_HINT}`'
        )
    raise DataError(
        f'data_dir {data_dir} holds no CIFAR-10: expected {_LAYOUTS}; get it with `{DOWNLOAD_HINT}`'
    )
