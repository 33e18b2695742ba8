"""Finding runs: the walk below a folder for both layouts the explorer reads.

* a ``--log_dir`` sweep: ``run_<N>/`` holding ``trial.json`` or
  ``metrics.csv``, or the runner's ``metadata.json`` (one naming a workload);
* a Hydra multirun: ``multirun.yaml``, or numbered job folders with
  ``.hydra/``;
* a single Hydra run: a folder with ``.hydra/``.

The walk stops at each sweep found (its trials are not more sweeps) and is
bounded (:data:`MAX_DEPTH` levels, :data:`MAX_DIRS` folders) so that a broad
folder never hangs the dashboard. It only looks at names; what a sweep holds
is read by :mod:`.log_dir` (through the analysis loader) and :mod:`.hydra_runs`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.analysis.explorer.columns import ExplorerError
from algorithmic_efficiency.layout import METRICS_FILE, RUN_DIR_RE, TRIAL_FILE
from algorithmic_efficiency.storage.files import natural_key

HYDRA_DIR = '.hydra'
HYDRA_FILES = ('config.yaml', 'overrides.yaml', 'hydra.yaml')
MULTIRUN_FILE = 'multirun.yaml'
# The walk for runs: how deep below the given folder, and how many directories at most.
MAX_DEPTH = 6
MAX_DIRS = 20000
SKIP_DIRS = frozenset({'__pycache__', 'node_modules', 'site-packages'})


@dataclasses.dataclass
class Found:
    """What :func:`find` saw below one folder."""

    log_dir_sweeps: list[str] = dataclasses.field(default_factory=list)
    # Hydra sweep directory -> its job directories (a single run: [itself]).
    hydra_sweeps: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    single_runs: set[str] = dataclasses.field(default_factory=set)
    warnings: list[str] = dataclasses.field(default_factory=list)


def scandir(path: str) -> list[os.DirEntry] | None:
    """The folder's entries, or None if it cannot be listed."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _holds_trial(path: str) -> bool:
    return any(os.path.isfile(os.path.join(path, n)) for n in (TRIAL_FILE, METRICS_FILE))


def _is_log_dir_sweep(path: str, entries: list[os.DirEntry]) -> bool:
    """A runner sweep: run_<N>/ with a trial or metrics file, or the runner's metadata.json."""
    if any(RUN_DIR_RE.match(e.name) and _is_dir(e) and _holds_trial(e.path) for e in entries):
        return True
    # Another tool may leave a metadata.json too: the runner's names its workload.
    return 'workload' in loader.read_metadata(path)


def _has_hydra_dir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, HYDRA_DIR))


def _looks_like_multirun(entries: list[os.DirEntry]) -> bool:
    """A multirun sweep whose multirun.yaml is missing: numbered children with .hydra/."""
    return any(e.name.isdigit() and _is_dir(e) and _has_hydra_dir(e.path) for e in entries)


def find(root: str) -> Found:
    """Walks `root` (at most MAX_DEPTH levels, MAX_DIRS directories) for both layouts."""
    found = Found()
    stack = [(root, 0)]
    visited = 0
    while stack:
        path, depth = stack.pop()
        visited += 1
        if visited > MAX_DIRS:
            found.warnings.append(
                f"{root}: stopped looking for runs after {MAX_DIRS} directories; "
                'pass a narrower folder'
            )
            break
        entries = scandir(path)
        if entries is None:
            found.warnings.append(f'{path}: cannot be listed; skipped')
            continue
        names = {e.name for e in entries}
        if _is_log_dir_sweep(path, entries):
            found.log_dir_sweeps.append(path)
            continue  # its run_<N>/ are trials, not more sweeps
        if MULTIRUN_FILE in names or _looks_like_multirun(entries):
            _add_multirun(found, path, entries)
        elif HYDRA_DIR in names and os.path.isdir(os.path.join(path, HYDRA_DIR)):
            parent = os.path.dirname(os.path.abspath(path))
            if os.path.basename(path).isdigit() and path == root:
                # One job of a multirun passed on its own: its sweep is the parent.
                found.hydra_sweeps.setdefault(parent, []).append(path)
            elif not any(path in jobs for jobs in found.hydra_sweeps.values()):
                found.hydra_sweeps.setdefault(path, []).append(path)
                found.single_runs.add(path)
        if depth >= MAX_DEPTH:
            continue
        children = [
            e.path
            for e in entries
            if _is_dir(e) and not e.name.startswith('.') and e.name not in SKIP_DIRS
        ]
        # Depth-first, in natural order (the stack pops the last pushed first).
        for child in sorted(children, key=natural_key, reverse=True):
            stack.append((child, depth + 1))
    return found


def _add_multirun(found: Found, path: str, entries: list[os.DirEntry]) -> None:
    jobs = [e.path for e in entries if _is_dir(e) and (e.name.isdigit() or _has_hydra_dir(e.path))]
    found.hydra_sweeps.setdefault(path, [])
    for job in jobs:
        if job not in found.hydra_sweeps[path]:
            found.hydra_sweeps[path].append(job)
        if not _has_hydra_dir(job):
            found.warnings.append(
                f'{job}: a job folder of a Hydra multirun without {HYDRA_DIR}/; '
                'listed with what it holds'
            )


def check_root(path: str) -> str:
    """`path` normalised, if it is a folder that can hold runs.

    Raises:
      ExplorerError: `path` is missing, a file, or a single trial's directory.
    """
    root = os.path.normpath(os.fspath(path))  # 'multirun/3/' names job 3 too
    if not os.path.exists(root):
        raise ExplorerError(f"'{root}' does not exist; pass a --log_dir or a Hydra multirun folder")
    if not os.path.isdir(root):
        raise ExplorerError(f"'{root}' is a file, not a folder; pass the folder holding the runs")
    name = os.path.basename(os.path.normpath(root))
    if RUN_DIR_RE.match(name) and _holds_trial(root):
        raise ExplorerError(
            f"'{root}' is a single trial's directory; pass its sweep "
            f"'{os.path.dirname(os.path.normpath(root))}' or the --log_dir above it"
        )
    return root


def walk_files(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every file below `root` the explorer could read (``.hydra/`` included), with its stat.

    Bounded like :func:`find`, two levels deeper (a run's own folders).
    """
    stack = [(root, 0)]
    seen = 0
    while stack:
        path, depth = stack.pop()
        seen += 1
        if seen > MAX_DIRS:
            return
        for e in scandir(path) or []:
            try:
                if e.is_dir():
                    hidden = e.name.startswith('.') and e.name != HYDRA_DIR
                    if depth < MAX_DEPTH + 2 and e.name not in SKIP_DIRS and not hidden:
                        stack.append((e.path, depth + 1))
                elif e.is_file():
                    yield e.path, e.stat()
            except OSError:
                continue
