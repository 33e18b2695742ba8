"""The runner's working directory survives a submission that changes it.

Relative paths (``--log_dir=logs``, ``--data_dir``) are resolved against the
working directory whenever a file is opened, and metadata.json records them
relative to it. A submission that calls ``os.chdir`` at import used to move
the whole sweep's output elsewhere. :func:`remember` notes the directory
before the submission is imported; :func:`restore` changes back after the
import and after every trial, with one warning naming where it had gone.
"""

from __future__ import annotations

import logging
import os

_log = logging.getLogger(__name__)
_remembered: list[str] = []


def remember() -> None:
    """Notes the current working directory: the sweep's own (each sweep of a program anew)."""
    _remembered[:] = [os.getcwd()]


def restore() -> bool:
    """Changes back to the remembered directory if a submission moved; whether it had."""
    if not _remembered:
        return False
    try:
        here = os.getcwd()
    except OSError:  # the directory it moved to was removed
        here = None
    if here == _remembered[0]:
        return False
    os.chdir(_remembered[0])
    _log.warning('the submission changed the working directory (to %s); the runner changed '
                 'it back, so relative paths (--log_dir, --data_dir) keep their meaning', here)
    return True
