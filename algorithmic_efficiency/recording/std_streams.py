"""The runner's stdin, stdout and stderr survive a submission that closes them.

A submission that runs ``os.close(1)`` left the runner printing its end
table into a closed descriptor (exit 2, "Bad file descriptor"), and worse,
the next file the runner opened took descriptor 1, so whatever was printed
next would have gone into that file (a ``metrics.csv``). So before the
submission is imported, :func:`protect` keeps duplicates of descriptors
0, 1 and 2; after the import and after every trial, :func:`restore` puts
back any the submission closed (with one warning), so the console and the
files stay apart.
"""

from __future__ import annotations

import fcntl
import logging
import os

_log = logging.getLogger(__name__)
STD_NAMES = {0: 'stdin', 1: 'stdout', 2: 'stderr'}
# Saved duplicates live at or above this descriptor, away from what a program opens first.
_SAVED_FROM = 100
_saved: dict[int, int] = {}


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def protect() -> None:
    """Keeps close-on-exec duplicates of descriptors 0-2 (once; the open ones)."""
    for fd in STD_NAMES:
        if fd not in _saved and _is_open(fd):
            _saved[fd] = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _SAVED_FROM)


def restore() -> list[int]:
    """Reopens each of descriptors 0-2 that was closed since :func:`protect`; returns them."""
    restored = []
    for fd, saved in _saved.items():
        if not _is_open(fd) and _is_open(saved):
            os.dup2(saved, fd, inheritable=True)
            restored.append(fd)
    for fd in restored:
        _log.warning('the submission closed %s (descriptor %d); the runner restored it',
                     STD_NAMES[fd], fd)
    return restored
