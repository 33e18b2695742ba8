"""What ``--overwrite`` may delete: a sweep's own folder, nothing else.

``--overwrite`` empties ``LOG_DIR/<workload>``. Policy (as ``rm`` without
``-r`` on a link, and as MLflow deletes only runs it created):

* ``LOG_DIR/<workload>`` a symbolic link: refused. Emptying it would delete
  the link's target, somewhere the user never named.
* a path that is not a folder: refused.
* a folder that holds entries but no sweep (neither ``metadata.json`` nor a
  ``run_<N>/``): refused; someone's files are there, not a sweep.
* a missing or empty folder, or one holding a sweep: emptied (the sweep's
  files and anything beside them), as documented for ``--overwrite``.

Every refusal happens before anything is written (one line, exit 2).
"""

from __future__ import annotations

import os

from algorithmic_efficiency.layout import METADATA_FILE, RUN_DIR_RE, LogDirError


def check_overwritable(workload_dir: str) -> None:
    """Raises LogDirError unless ``--overwrite`` may empty `workload_dir` (see above)."""
    if os.path.islink(workload_dir):
        raise LogDirError(
            f'--overwrite refuses {workload_dir}: it is a symbolic link (to '
            f'{os.readlink(workload_dir)}), and emptying it would delete files there; remove '
            'the link or choose another --log_dir'
        )
    if not os.path.lexists(workload_dir):
        return
    if not os.path.isdir(workload_dir):
        raise LogDirError(
            f'--overwrite refuses {workload_dir}: it is a file, not a sweep folder; move it '
            'away or choose another --log_dir'
        )
    names = os.listdir(workload_dir)
    if names and METADATA_FILE not in names and not any(map(RUN_DIR_RE.match, names)):
        shown = ', '.join(sorted(names)[:3]) + (', ...' if len(names) > 3 else '')
        raise LogDirError(
            f'--overwrite refuses {workload_dir}: it holds no sweep (no {METADATA_FILE}, no '
            f'run_<N>/) but {len(names)} other entr{"y" if len(names) == 1 else "ies"} '
            f'({shown}); move them away or choose another --log_dir'
        )
