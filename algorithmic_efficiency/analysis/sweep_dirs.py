"""Where a ``--log_dir``'s sweeps and trials are, by the runner's directory names.

A sweep directory (``LOG_DIR/<workload>``) holds ``metadata.json`` or
``run_<N>/`` directories with a ``trial.json`` or ``metrics.csv``. Part of
:mod:`algorithmic_efficiency.analysis.loader` (which re-exports these), kept
apart because it needs no pandas: the runner's TensorBoard hook reads a
sweep's metadata at sweep start through :func:`read_metadata` without it.
"""

from __future__ import annotations

import os
from typing import Any

from algorithmic_efficiency.layout import (
    METADATA_FILE,
    METRICS_FILE,
    RUN_DIR_RE,
    STUDY_DIR_RE,
    TRIAL_FILE,
    LogDirError,
)
from algorithmic_efficiency.storage import files


def run_dirs(workload_dir: str) -> list[tuple[int, str]]:
    """(run_idx, path) of every run_<N> directory holding a trial or metrics file."""
    found = []
    try:
        names = os.listdir(workload_dir)
    except OSError:
        return []
    for name in names:
        m = RUN_DIR_RE.match(name)
        path = os.path.join(workload_dir, name)
        if (
            m
            and os.path.isdir(path)
            and any(os.path.exists(os.path.join(path, n)) for n in (TRIAL_FILE, METRICS_FILE))
        ):
            found.append((int(m.group(1)), path))
    return sorted(found)


def is_workload_dir(path: str) -> bool:
    """A sweep directory: it holds metadata.json or a trial's run_<N>/."""
    return os.path.isfile(os.path.join(path, METADATA_FILE)) or bool(run_dirs(path))


def _child_dirs(path: str) -> list[str]:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    return [
        os.path.join(path, n)
        for n in names
        if not n.startswith('.') and os.path.isdir(os.path.join(path, n))
    ]


def study_dirs(log_dir: str) -> list[tuple[int, str]]:
    """``(k, path)`` of each ``study_<k>/`` directory of `log_dir` (``--num_studies``), by k."""
    found = []
    for path in _child_dirs(log_dir):
        m = STUDY_DIR_RE.match(os.path.basename(path))
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


def find_workload_dirs(log_dir: str) -> list[str]:
    """The sweep directories of `log_dir`: itself if it is one, else its children that are.

    A sweep directory (``LOG_DIR/<workload>``) holds ``metadata.json`` or
    ``run_<N>/`` directories with a ``trial.json`` or ``metrics.csv``. Only the
    runner's layout is searched (one level down, or two through the
    ``study_<k>/`` directories of ``--num_studies``), so pointing a command at a
    broad directory such as ``/tmp`` never picks up (or writes summaries into)
    unrelated directories that happen to look like runs further down.

    Raises:
      LogDirError: `log_dir` is missing, is a file, is a single trial's
        directory, or holds no sweep (naming any found one level deeper).
    """
    root = os.fspath(log_dir)
    if not os.path.exists(root):
        raise LogDirError(f"'{root}' does not exist; pass the --log_dir of a sweep")
    if not os.path.isdir(root):
        raise LogDirError(f"'{root}' is a file, not a directory; pass the --log_dir of a sweep")
    if is_workload_dir(root):
        return [root]
    if RUN_DIR_RE.match(os.path.basename(os.path.normpath(root))) and any(
        os.path.exists(os.path.join(root, n)) for n in (TRIAL_FILE, METRICS_FILE)
    ):
        raise LogDirError(
            f"'{root}' is a single trial's directory; pass its sweep "
            f"'{os.path.dirname(os.path.normpath(root))}' or the --log_dir above it"
        )
    children = _child_dirs(root)
    found = [d for d in children if is_workload_dir(d)]
    # A folder of studies: LOG_DIR/study_<k>/<workload>/, in study order.
    found += [d for _, s in study_dirs(root) for d in _child_dirs(s) if is_workload_dir(d)]
    if found:
        return found
    deeper = sorted({d for c in children for d in _child_dirs(c) if is_workload_dir(d)})
    if deeper:
        dirs = sorted({os.path.dirname(d) for d in deeper})
        hint = ', '.join(f"'{d}'" for d in dirs[:3]) + (', ...' if len(dirs) > 3 else '')
        raise LogDirError(
            f"no sweep directly in '{root}'; log directories one level down: {hint}. "
            'Pass one of those'
        )
    raise LogDirError(
        f"no runs found in '{root}': expected LOG_DIR/<workload>/metadata.json or "
        'LOG_DIR/<workload>/run_<N>/metrics.csv as written by submission_runner.py --log_dir'
    )


def read_metadata(workload_dir: str) -> dict[str, Any]:
    """The sweep's ``metadata.json`` as a dict; {} if missing, damaged or not an object.

    Quiet, for probing a directory (is it the runner's sweep?);
    :func:`algorithmic_efficiency.analysis.loader.load` reads it again and
    warns about a damaged file.
    """
    try:
        obj = files.read_json(os.path.join(workload_dir, METADATA_FILE))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}
