"""A data set's decoded arrays, kept as ``.npy`` files and memory-mapped on later runs.

Decoding a data set (gunzipping IDX files, parsing a CSV, decoding PNGs) is
paid on every launch, and for a user who runs hundreds of short trials, each in
a fresh process, launch cost is paid per trial. :func:`load_or_build` decodes
once and saves the arrays as ``.npy`` files; later runs memory-map them, which
costs milliseconds, copies nothing, and lets concurrent trials on one machine
share one copy of the pages (only the rows a run touches become resident).

A cache directory holds ``<name>.npy`` per array and ``key.json``, written
last: the key names the sources (file names, sizes, modification times) and
the decoding's version, so a changed source or a new decoder rebuilds it. Every
file is written under a unique temporary name and renamed into place, so
concurrent builders (a Ray fan-out launching trials at once) and readers never
see half a file; the worst case is two processes building the same cache.

Cache directories are tried in order: next to the data (the caller's choice),
then a per-user directory (``$XDG_CACHE_HOME/algorithmic_efficiency`` or
``~/.cache/algorithmic_efficiency``) when the data's directory is read-only.
If no directory can be written the decoded arrays are used uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from algorithmic_efficiency.storage import files

_log = logging.getLogger(__name__)

KEY_FILE = 'key.json'


def user_cache_dir(*parts: str) -> str:
    """``$XDG_CACHE_HOME/algorithmic_efficiency/<parts>`` (default ``~/.cache/...``)."""
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'algorithmic_efficiency', *parts)


def path_digest(path: str) -> str:
    """A short, stable name for a directory in the user cache (its absolute path's hash)."""
    return hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:16]


def file_stamps(paths: Sequence[str]) -> list[list[Any]]:
    """``[name, size, mtime_ns]`` per file: what identifies a source in a key."""
    stamps = []
    for path in paths:
        st = os.stat(path)
        stamps.append([os.path.basename(path), st.st_size, st.st_mtime_ns])
    return stamps


def _json_round_trip(key: dict) -> dict:
    # key.json holds lists where the caller may have used tuples: compare like with like.
    return json.loads(json.dumps(key, sort_keys=True))


def read_cache(
    directory: str, key: dict, mmap: Collection[str] = ()
) -> dict[str, np.ndarray] | None:
    """The cached arrays if ``directory`` holds a complete cache for ``key``, else None.

    Arrays named in ``mmap`` are read-only memory maps; the others are read
    into memory. A missing, stale or damaged cache is a miss, never an error.
    """
    try:
        with open(os.path.join(directory, KEY_FILE), encoding='utf-8') as f:
            stored = json.load(f)
        if stored.get('key') != _json_round_trip(key):
            return None
        arrays = {}
        for name, spec in stored['arrays'].items():
            empty = not all(spec['shape'])  # an empty file can't be mapped
            array = np.load(
                os.path.join(directory, f'{name}.npy'),
                mmap_mode='r' if name in mmap and not empty else None,
                allow_pickle=False,
            )
            # A plain ndarray view (the map stays open through .base): np.memmap
            # would make every slice and gather a memmap too.
            array = np.asarray(array)
            if str(array.dtype) != spec['dtype'] or list(array.shape) != spec['shape']:
                return None
            arrays[name] = array
        return arrays
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_cache(directory: str, key: dict, arrays: dict[str, np.ndarray]) -> None:
    """Saves ``arrays`` and then ``key.json`` into ``directory``; raises OSError if it can't."""
    os.makedirs(directory, exist_ok=True)
    # Invalidate first: a reader must not pair an old key with new arrays.
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(directory, KEY_FILE))
    suffix = f'.{os.getpid()}.tmp'  # unique per process: concurrent builders don't collide
    for name, array in arrays.items():
        path = os.path.join(directory, f'{name}.npy')
        with files.atomic_write(path, 'wb', tmp_path=path + suffix) as f:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
    stored = {
        'key': _json_round_trip(key),
        'arrays': {n: {'dtype': str(a.dtype), 'shape': list(a.shape)} for n, a in arrays.items()},
    }
    path = os.path.join(directory, KEY_FILE)
    with files.atomic_write(path, tmp_path=path + suffix) as f:
        json.dump(stored, f, indent=1, sort_keys=True)


def load_or_build(
    directories: Sequence[str],
    key: dict,
    build: Callable[[], dict[str, np.ndarray]],
    mmap: Collection[str] = (),
) -> tuple[dict[str, np.ndarray], str | None]:
    """The arrays from the first directory whose cache matches ``key``, else built and cached.

    Args:
      directories: candidate cache directories, most preferred first.
      key: JSON-serialisable identity of the source and of the decoding.
      build: decodes the source; called only on a miss (its errors propagate).
      mmap: names of the arrays to memory-map rather than read.

    Returns:
      ``(arrays, directory)``: ``directory`` is the cache used, or None when
      none could be written (then the arrays are the freshly built ones).
    """
    for directory in directories:
        arrays = read_cache(directory, key, mmap)
        if arrays is not None:
            return arrays, directory
    built = build()
    errors = []
    for directory in directories:
        try:
            write_cache(directory, key, built)
        except OSError as e:
            errors.append(f'{directory}: {e.strerror or e}')
            continue
        arrays = read_cache(directory, key, mmap)
        if arrays is not None:
            _log.info('Cached the decoded data in %s', directory)
            return arrays, directory
    _log.warning(
        'Could not cache the decoded data (%s); every run decodes it again',
        '; '.join(errors) or 'cache unreadable after writing',
    )
    return built, None
