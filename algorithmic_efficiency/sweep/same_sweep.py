"""A resumed sweep runs the submission it started with (``--resume`` refuses another).

``metadata.json`` names one submission (``flags.submission_path``, as the
user may share it: relative to the working directory, else ``~/...``). A
``--resume`` with another file would mix two training algorithms in one
sweep's trials while the metadata still names the first, so it is refused
before anything is written. The recorded path is compared as a file, not as
text: the same file reached from another working directory (or through a
symbolic link) is the same submission.
"""

from __future__ import annotations

import os
from typing import Any

from algorithmic_efficiency.sweep.config import RunConfig, UsageError


def _original_cwds(flags: dict[str, Any], config: RunConfig) -> list[str]:
    """Where the original run may have run: the working directories that its relative path
    flags (``--log_dir``, ``--tuning_search_space``, ...) imply for this run's, then here."""
    out = []
    for name in ('log_dir', 'tuning_search_space', 'data_dir'):
        recorded, current = flags.get(name), getattr(config, name, None)
        if not isinstance(recorded, str) or not current or recorded.startswith(('~', os.sep)):
            continue
        parts = os.path.normpath(recorded).split(os.sep)
        here = os.path.abspath(current).split(os.sep)
        if '..' not in parts and here[-len(parts):] == parts:
            out.append(os.sep.join(here[:-len(parts)]) or os.sep)
    return [*out, os.getcwd()]


def _same_file(recorded: str, current: str, cwd: str) -> bool:
    """Whether the recorded path (relative to `cwd`, ``~/...`` or absolute) is `current`'s file."""
    full = os.path.join(cwd, os.path.expanduser(recorded))
    try:
        return os.path.samefile(full, current)
    except OSError:  # the recorded file is gone (or was relative to another directory)
        return os.path.realpath(full) == os.path.realpath(current)


def check_same_submission(config: RunConfig, previous: dict[str, Any]) -> None:
    """Refuses a ``--resume`` whose ``--submission_path`` is not the original sweep's.

    Raises:
      UsageError: naming both paths and the fix.
    """
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import redact

    flags = previous.get('flags') if isinstance(previous.get('flags'), dict) else {}
    recorded = flags.get('submission_path')
    if not isinstance(recorded, str) or not config.submission_path:
        return  # older metadata (or none recorded): nothing to compare with
    if any(_same_file(recorded, config.submission_path, cwd)
           for cwd in _original_cwds(flags, config)):
        return
    raise UsageError(
        f'--submission_path={redact.display_path(config.submission_path)} differs from the '
        f"resumed sweep's {recorded}; one sweep has one submission: resume with "
        f'--submission_path={recorded}, or use a new --log_dir'
    )
