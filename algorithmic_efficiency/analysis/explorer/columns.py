"""One run's column of the frame, as every reader fills it, and its cell values.

A reader (:mod:`.log_dir`, :mod:`.hydra_runs`) turns each run into a
:class:`RunColumn`: ``(group, parameter) -> value`` for the frame's rows.
The helpers here make those values plain Python cells and fill the ``path``
group from the run's files.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from algorithmic_efficiency.errors import AEError
from algorithmic_efficiency.storage.files import natural_key

GROUPS = ('hyperparameters', 'metrics', 'dataset', 'other', 'path')
INDEX_NAMES = ('group', 'parameter')
COLUMN_NAMES = ('sweep', 'run')


class ExplorerError(AEError):
    """A folder with no runs, a missing path, ...: a one-line message naming the path."""


@dataclasses.dataclass
class RunColumn:
    """One column of the frame before it is assembled."""

    sweep: str
    run: int | str
    values: dict[tuple[str, str], Any]


def first_line(e: BaseException) -> str:
    """An exception's message in one line (its type's name if it has none)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def scalar(v: Any) -> Any:
    """A plain Python value for a cell (numpy scalars unwrapped)."""
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA or v is pd.NaT:
        return math.nan
    return v


def is_missing(v: Any) -> bool:
    """None, NA, NaT or a float NaN: a cell the run does not have."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def flatten(obj: Any, prefix: str = '') -> dict[str, Any]:
    """Nested dicts as ``a.b.c`` keys; lists and scalars are leaves."""
    if isinstance(obj, dict) and obj:
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}{k}.'))
        return out
    return {prefix[:-1]: obj} if prefix else {}


def path_matches(run_dir: str, patterns: Sequence[str]) -> dict[str, Any]:
    """Per glob: the run's one matching file, a sorted list if several, None if none.

    A glob without ``/`` matches file names anywhere below `run_dir`; one with
    ``/`` matches paths relative to it. Paths are `run_dir` joined with the
    file's relative path (relative if `run_dir` is).
    """
    if not patterns:
        return {}
    files = []
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames.sort(key=natural_key)
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), run_dir)
            files.append((rel.replace(os.sep, '/'), name))
    files.sort(key=lambda f: natural_key(f[0]))
    out = {}
    for pattern in patterns:
        hits = [
            os.path.join(run_dir, rel)
            for rel, name in files
            if fnmatch.fnmatch(rel if '/' in pattern else name, pattern)
        ]
        out[pattern] = hits[0] if len(hits) == 1 else (hits or None)
    return out


def patterns_of(query_string: str | Iterable[str] | None) -> list[str]:
    """`query_string` as a list of distinct globs.

    Raises:
      ExplorerError: an item is not a non-empty string.
    """
    if query_string is None:
        return []
    if isinstance(query_string, str):
        return [query_string]
    patterns = list(query_string)
    bad = [p for p in patterns if not isinstance(p, str) or not p]
    if bad:
        raise ExplorerError(f'query_string: globs must be non-empty strings, got {bad[0]!r}')
    return list(dict.fromkeys(patterns))
