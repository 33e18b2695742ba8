"""Building the hierarchical frame: every run below some folders, one column each.

:func:`load` walks each folder (:mod:`.walk`), reads its ``--log_dir``
sweeps (:mod:`.log_dir`) and Hydra sweeps (:mod:`.hydra_runs`) and
assembles their columns; :func:`load_folder` is the one-folder form that
raises on a folder without runs. The frame's shape is described in
:mod:`algorithmic_efficiency.analysis.explorer`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from algorithmic_efficiency.analysis.explorer import walk
from algorithmic_efficiency.analysis.explorer.columns import (
    COLUMN_NAMES,
    GROUPS,
    INDEX_NAMES,
    ExplorerError,
    RunColumn,
    first_line,
    patterns_of,
)
from algorithmic_efficiency.analysis.explorer.hydra_runs import hydra_key, hydra_runs
from algorithmic_efficiency.analysis.explorer.log_dir import log_dir_runs
from algorithmic_efficiency.storage.files import natural_key

_log = logging.getLogger(__name__)


@dataclasses.dataclass
class Loaded:
    """What :func:`load` read from one or more folders.

    Attributes:
      frame: the hierarchical frame (see :mod:`algorithmic_efficiency.analysis.explorer`).
      evals: one row per eval of every log-dir trial (``load_runs`` columns),
        with ``sweep`` set to the frame's level-0 key and ``run`` its level-1
        key; Hydra runs have no eval rows.
      warnings: damaged or unexpected files (an unreadable YAML, a job without
        ``.hydra``), one line each; the runs around them are still loaded.
      errors: folders that gave nothing (missing, no runs), one line each.
      notes: facts worth showing (e.g. both layouts found in one folder).
    """

    frame: pd.DataFrame
    evals: pd.DataFrame
    warnings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def assemble(runs: list[RunColumn]) -> pd.DataFrame:
    """The frame of `runs`: rows ``(group, parameter)`` in GROUPS order, NaN where absent."""
    rows: dict[tuple[str, str], None] = {}
    for group in GROUPS:
        for r in runs:
            for k in r.values:
                if k[0] == group:
                    rows.setdefault(k, None)
    row_keys = list(rows)
    data = np.full((len(row_keys), len(runs)), np.nan, dtype=object)
    where = {k: i for i, k in enumerate(row_keys)}
    for j, r in enumerate(runs):
        for k, v in r.values.items():
            data[where[k], j] = v
    if row_keys:
        index = pd.MultiIndex.from_tuples(row_keys, names=INDEX_NAMES)
    else:
        index = pd.MultiIndex.from_arrays([[], []], names=INDEX_NAMES)
    if runs:
        columns = pd.MultiIndex.from_tuples([(r.sweep, r.run) for r in runs], names=COLUMN_NAMES)
    else:
        columns = pd.MultiIndex.from_arrays([[], []], names=COLUMN_NAMES)
    return pd.DataFrame(data, index=index, columns=columns)


class _CaptureWarnings(logging.Handler):
    """Collects this thread's warnings from the project's loggers (damaged files)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


def _unique_key(key: str, taken: set[str], fallback: str) -> str:
    if key not in taken:
        return key
    if fallback not in taken:
        return fallback
    n = 2
    while f'{fallback} ({n})' in taken:
        n += 1
    return f'{fallback} ({n})'


@dataclasses.dataclass
class _Reading:
    """What the folders read so far gave (one :func:`load` call)."""

    runs: list[RunColumn] = dataclasses.field(default_factory=list)
    evals: list[pd.DataFrame] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    taken: set[str] = dataclasses.field(default_factory=set)


def load(paths: str | Sequence[str], query_string: str | Iterable[str] | None = None) -> Loaded:
    """Reads every run under `paths` (folders) into a :class:`Loaded`; never raises for data.

    A folder that is missing or holds no runs becomes a line in
    ``Loaded.errors``; damaged files a line in ``Loaded.warnings``. Level-0
    keys that two folders share get the folder's path in front.

    Args:
      paths: one folder or several.
      query_string: a glob (``'*.npy'``) or a list of globs (``['*.npy',
        '*.log']``): each run's matching files become ``path`` rows.

    Raises:
      ExplorerError: `query_string` is not a glob or list of globs.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    patterns = patterns_of(query_string)
    capture = _CaptureWarnings()
    pkg_log = logging.getLogger('algorithmic_efficiency')
    pkg_log.addHandler(capture)
    reading = _Reading()
    try:
        for path in paths:
            _load_path(path, patterns, reading)
    finally:
        pkg_log.removeHandler(capture)
    for w in reading.warnings:  # the analysis loader logged its own (captured) ones already
        _log.warning('%s', w)
    warnings = reading.warnings + capture.messages
    evals = reading.evals
    evals_df = pd.concat(evals, ignore_index=True, sort=False) if evals else pd.DataFrame()
    return Loaded(
        assemble(reading.runs),
        evals_df,
        list(dict.fromkeys(warnings)),
        reading.errors,
        reading.notes,
    )


def _load_path(path: str, patterns: list[str], reading: _Reading) -> None:
    try:
        root = walk.check_root(path)
        found = walk.find(root)
        reading.warnings.extend(found.warnings)
        n_runs = _load_found(root, found, patterns, reading)
    except ExplorerError as e:
        reading.errors.append(str(e))
        return
    if not found.log_dir_sweeps and not found.hydra_sweeps:
        reading.errors.append(
            f"no runs found in '{root}': expected a --log_dir "
            '(<workload>/run_<N>/metrics.csv, metadata.json) or a Hydra multirun '
            '(multirun/<date>/<time>/<job>/.hydra/config.yaml)'
        )
    elif found.log_dir_sweeps and found.hydra_sweeps:
        reading.notes.append(
            f'{root}: mixed layouts: {len(found.log_dir_sweeps)} --log_dir sweep(s) and '
            f'{len(found.hydra_sweeps)} Hydra sweep(s), {n_runs} runs, shown together'
        )


def _load_found(root: str, found: walk.Found, patterns: list[str], reading: _Reading) -> int:
    n = 0
    for sweep_dir in found.log_dir_sweeps:
        rel = os.path.relpath(sweep_dir, root)
        key = os.path.basename(os.path.abspath(sweep_dir)) if rel == '.' else rel
        key = _unique_key(key, reading.taken, os.path.normpath(sweep_dir))
        reading.taken.add(key)
        try:
            sweep_runs, sweep_evals = log_dir_runs(sweep_dir, key, patterns)
        except ValueError as e:  # LogDirError: vanished between the walk and the read
            reading.warnings.append(f'{sweep_dir}: {first_line(e)}')
            continue
        if not sweep_runs:
            reading.notes.append(f'{sweep_dir}: a sweep with no trial yet')
        reading.runs.extend(sweep_runs)
        n += len(sweep_runs)
        if len(sweep_evals):
            reading.evals.append(sweep_evals)
    for sweep_dir in sorted(found.hydra_sweeps, key=natural_key):
        jobs = found.hydra_sweeps[sweep_dir]
        key = _unique_key(hydra_key(sweep_dir, root), reading.taken, os.path.normpath(sweep_dir))
        reading.taken.add(key)
        single = sweep_dir in found.single_runs
        sweep_runs = hydra_runs(sweep_dir, jobs, key, patterns, single, reading.warnings)
        reading.runs.extend(sweep_runs)
        n += len(sweep_runs)
    return n


def load_folder(path: str, query_string: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Every run under `path` as one hierarchical DataFrame.

    Args:
      path: a ``--log_dir`` (or one ``LOG_DIR/<workload>``), a Hydra
        ``multirun/`` folder (or one ``<date>/<time>`` sweep of it), or any
        folder holding those (searched up to 6 levels down).
      query_string: a glob or a list of globs (``"*.npy"``, ``["*.npy",
        "*.log"]``); each run's matching files become ``('path', <glob>)``
        rows: the file's path (`path` joined with its place in the run's
        folder), a sorted list if several match, NaN if none.

    Returns:
      The frame (see :mod:`algorithmic_efficiency.analysis.explorer`).
      Warnings about damaged files (also logged) are in
      ``frame.attrs['warnings']``, notes (mixed layouts) in ``frame.attrs['notes']``.

    Raises:
      ExplorerError: `path` is missing, a file, a single trial's directory,
        or holds no runs.
    """
    loaded = load([path], query_string)
    if loaded.errors:
        raise ExplorerError(loaded.errors[0])
    frame = loaded.frame
    frame.attrs['warnings'] = list(loaded.warnings)
    frame.attrs['notes'] = list(loaded.notes)
    return frame


class FileLoader:
    """The peer tool's spelling: ``FileLoader(query_string='*.npy').load_folder(path)``."""

    def __init__(self, query_string: str | Iterable[str] | None = None):
        self.query_string = query_string

    def load_folder(self, path: str) -> pd.DataFrame:
        """See :func:`load_folder`."""
        return load_folder(path, self.query_string)
