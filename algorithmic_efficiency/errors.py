"""The errors that mean bad input, in one hierarchy.

Every error this package raises for something the user gave it -- a flag, a
search space, a submission file, a data directory, a log directory, a path it
can't open -- is an :class:`AEError`. A command-line entry point prints an
``AEError`` as one line and exits 2; any other exception is a bug of ours and
keeps its traceback (exit 1). The classes stay ``ValueError`` subclasses, so
callers that caught ``ValueError`` before the hierarchy existed keep working.

Standard library only: every room may import this module. The rooms re-export
their error under the name they always had (``layout.LogDirError``,
``search.space.SearchSpaceError``, ``sweep.config.UsageError``,
``workloads.common.data.DataError``).
"""

from __future__ import annotations

import errno
import os


class AEError(ValueError):
    """Bad input: a one-line message naming the value and the fix; CLIs exit 2."""


class UsageError(AEError):
    """A flag or argument that can't be used as given."""


class SearchSpaceError(AEError):
    """An invalid search space; the message is one line naming the fix."""


class DataError(AEError):
    """Data missing or malformed; the message names the file and the fix."""


class LogDirError(AEError):
    """A log directory that can't be used as asked: it holds no runs (readers), or
    already holds runs, or is not a directory (the recorder). One-line message."""


class UserPathError(AEError):
    """A path the user named that can't be opened (missing, a directory, no permission).

    Raised with :func:`path_error` where the user's path is opened, so the OS
    error becomes bad input there, not by catching every ``OSError`` at the top
    (an ``OSError`` elsewhere -- a full disk, a bug -- is not the user's input).
    """


_PATH_FIXES = {
    errno.ENOENT: 'check the path',
    errno.ENOTDIR: 'a part of the path is a file, not a directory',
    errno.EISDIR: 'give a file, not a directory',
    errno.EACCES: 'check its permissions',
    errno.EPERM: 'check its permissions',
    errno.EROFS: 'the file system is read-only: choose a writable path',
}


def path_error(what: str, error: OSError) -> UserPathError:
    """The one-line :class:`UserPathError` for ``error`` on the user's path ``what``.

    Args:
      what: how the user named it, e.g. ``'--log_dir /x'``.
      error: the ``OSError`` from opening or creating it.
    """
    reason = error.strerror or str(error) or type(error).__name__
    # The part of the path that failed, when it is not the path itself (a parent).
    failed = os.fspath(error.filename) if error.filename else ''
    where = f' ({failed})' if failed and not what.endswith(str(failed)) else ''
    fix = _PATH_FIXES.get(error.errno, 'check the path exists and is writable')
    return UserPathError(f'{what}{where}: {reason}; {fix}')
