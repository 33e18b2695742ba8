"""Whole-file writes that readers never see half-done, and tolerant JSON reads.

One definition each, used by the recorder (writes while a sweep runs) and by
analysis (reads a live sweep, writes summaries and plots):

* :func:`atomic_write` — write a temporary file in the same directory, then
  ``os.replace`` it over the target: a reader sees the old file or the new
  one, never a mix; a crash leaves at worst a stray ``*.tmp``.
* :func:`write_json` — :func:`atomic_write` of a JSON document.
* :func:`read_json` / :func:`read_json_object` — strict and tolerant reads.
* :func:`fsync_dir` — make a rename in a directory durable.
* :func:`natural_key` — sort ``run_2`` before ``run_10``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
from collections.abc import Iterator
from typing import IO, Any

from algorithmic_efficiency.errors import UserPathError, path_error

_log = logging.getLogger(__name__)
# No space left on the device, or over the user's quota: the disk is full for us.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def make_user_dir(path: str, what: str) -> str:
    """Creates a directory the user named (with its parents); checks it can be written.

    The boundary where an OS error on the user's path becomes bad input (exit 2)
    rather than a bug; a full disk stays an ``OSError`` (no fault of the path).

    Args:
      path: the directory.
      what: how the user named it, for the message (e.g. ``'--out'``).

    Returns:
      ``path``.

    Raises:
      UserPathError: it can't be created or written; one line naming it and the fix.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        if is_disk_full(e):
            raise
        raise path_error(f'{what} {path}', e) from e
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserPathError(f'{what} {path}: not writable; check its permissions')
    return path


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is an ``OSError`` saying the disk (or the quota) is full."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def with_filename(error: OSError, path: str) -> OSError:
    """`error` naming `path` (``os.write`` and file objects' writes name no file)."""
    if error.filename is not None or error.errno is None:
        return error
    named = type(error)(error.errno, error.strerror, path)
    named.__cause__ = error
    return named
_DIGITS = re.compile(r'(\d+)', re.ASCII)


@contextlib.contextmanager
def atomic_write(
    path: str, mode: str = 'w', tmp_path: str | None = None, fsync: bool = False
) -> Iterator[IO]:
    """Opens a temporary sibling of `path` for writing; replaces `path` with it on success.

    Args:
      mode: ``'w'`` (text, UTF-8, no newline translation) or ``'wb'``.
      tmp_path: the temporary file (default ``<path>.tmp``); in the same
        directory, so the rename is atomic.
      fsync: flush the data to the disk before the rename (survives power loss).
    """
    tmp = tmp_path or f'{path}.tmp'
    kwargs = {} if 'b' in mode else {'encoding': 'utf-8', 'newline': ''}
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise with_filename(e, path)  # noqa: B904  (chained to e already)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def fsync_dir(dirname: str) -> None:
    """Flushes `dirname`'s entries (a rename into it) to the disk; best effort."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to fsync a directory: nothing more to do
    finally:
        os.close(fd)


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_write(path) as f:
        f.write(text)


def write_json(path: str, obj: Any) -> None:
    """Writes `obj` as indented JSON to `path` atomically (key order kept)."""
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=str, allow_nan=True)
        f.write('\n')


def strict_json(obj: Any) -> Any:
    """`obj` with every non-finite float replaced by None, so it is valid JSON (RFC 8259).

    A top-level key whose value was non-finite gets a ``<key>_text`` sibling
    holding the textual value (``'nan'``, ``'inf'``, ``'-inf'``): a diverged
    trial's ``final_loss`` is ``null`` with ``final_loss_text: "nan"`` beside it.
    """

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    if not isinstance(obj, dict):
        return clean(obj)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out[key] = clean(value)
        if isinstance(value, float) and not math.isfinite(value):
            out[f'{key}_text'] = str(value)
    return out


def read_json(path: str) -> Any:
    """The JSON document at `path` (raises ``OSError`` / ``ValueError``)."""
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def read_json_object(path: str) -> dict[str, Any] | None:
    """A JSON object, or None (with a warning) if missing, half-written or not an object."""
    try:
        obj = read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        _log.warning('%s: unreadable (%s); ignoring it', path, e)
        return None
    if not isinstance(obj, dict):
        _log.warning('%s: not a JSON object; ignoring it', path)
        return None
    return obj


def natural_key(text: str) -> list:
    """Sort key: digit runs as numbers (``run_2`` before ``run_10``), path parts in order."""
    key = []
    for part in text.split(os.sep):
        key.append(
            tuple((0, int(t), '') if t.isdigit() else (1, 0, t) for t in _DIGITS.split(part) if t)
        )
    return key
