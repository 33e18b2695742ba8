"""A submission's ``os._exit`` ends its trial (failed), not the runner.

``os._exit`` ends the process at once: no ``finally``, no message. At import
it ended the runner with the submission's exit code and no word; inside a
trial it left ``trial.json`` saying ``running`` (``stale``), and every
``--resume`` died the same way. While the submission's code runs (its import
and each trial), :func:`guard` replaces ``os._exit`` in this process with one
that raises :class:`SubmissionExit` instead, which the import check and the
trial loop report like any other failure (one line; the trial ``failed``).

Only this process is guarded: a child forked meanwhile (a data-loader worker)
still exits with the real ``os._exit``. A process killed otherwise (a signal,
a segfault, the OOM killer) is the business of
:mod:`~algorithmic_efficiency.recording.resume_checks` (failed after two deaths).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


class SubmissionExit(BaseException):  # noqa: N818
    """The submission called ``os._exit``; a BaseException so ``except Exception`` can't eat it."""


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """``os._exit`` raises :class:`SubmissionExit` in this process for the block."""
    real_exit, owner = os._exit, os.getpid()

    def _exit(code: int = 0) -> None:
        if os.getpid() != owner:  # a forked child: let it go as it asks
            real_exit(code)
        raise SubmissionExit(f'the submission called os._exit({code}); it may not end the '
                             'runner (raise an exception, or TrainingCompleteError to stop early)')

    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real_exit
