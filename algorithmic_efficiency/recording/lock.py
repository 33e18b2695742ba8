"""One writer per sweep directory: an OS-level lock on ``LOG_DIR/<workload>`` itself.

The runner takes :class:`SweepLock` before it looks at the directory (the
"already holds runs" check, ``--resume``'s reading, ``--overwrite``'s
deleting) and holds it until the sweep ends. It is ``flock`` on the directory's
own file descriptor, so:

* no lock file is left behind, and the directory's listing is unchanged;
* the kernel releases it when the process ends, however it ends (``kill -9``
  included): a lock is never stale;
* readers (summary, status, plot, the dashboard) take no lock and may read a
  live sweep at any time.

The holder's PID is looked up in ``/proc/locks`` (Linux); elsewhere the error
says only that another process holds it.
"""

from __future__ import annotations

import errno
import fcntl
import os

from algorithmic_efficiency.layout import LogDirError
from algorithmic_efficiency.storage import files

PROC_LOCKS = '/proc/locks'


class SweepLockedError(LogDirError):
    """Another runner holds the sweep directory: one line, exit 2, nothing touched."""


def lock_holder(path: str, proc_locks: str = PROC_LOCKS) -> int | None:
    """The PID holding a ``flock`` on `path` (a file or directory), or None if unknown.

    Args:
      proc_locks: the kernel's lock table (``/proc/locks``); injectable for tests.
    """
    try:
        st = os.stat(path)
        with open(proc_locks, encoding='ascii', errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF" ("->" marks waiters).
        fields = line.split()
        if len(fields) < 6 or fields[1] != 'FLOCK' or '->' in fields:
            continue
        try:
            major, minor, inode = fields[5].split(':')
            dev = os.makedev(int(major, 16), int(minor, 16))
            if int(inode) == st.st_ino and dev == st.st_dev:
                return int(fields[4])
        except ValueError:
            continue
    return None


class SweepLock:
    """An exclusive, non-blocking ``flock`` on a sweep directory (created if missing)."""

    def __init__(self, directory: str):
        self.directory = directory
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> SweepLock:
        """Takes the lock or raises :class:`SweepLockedError` naming the holder's PID."""
        if self._fd is not None:
            return self
        files.make_user_dir(self.directory, '--log_dir')
        fd = os.open(self.directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            pid = lock_holder(self.directory)
            holder = f'PID {pid}' if pid is not None else 'another process'
            raise SweepLockedError(
                f'{self.directory} is in use by another runner ({holder}); one runner per '
                'sweep directory: wait for it to end (or stop it), or choose another --log_dir'
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Releases the lock (again: nothing); closing the descriptor releases the flock."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> SweepLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
